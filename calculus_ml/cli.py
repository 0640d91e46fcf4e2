"""Command-line front end: ``calculus-ml`` (or ``python -m calculus_ml``).

Thin by design: it parses arguments, calls the public API and prints. Mistakes a user can make
end with one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .errors import CalculusMLError

FORMATS = ("text", "latex", "markdown", "json")

MSE_EXAMPLE = {
    "expr": "(y - (m*x + b))**2",
    "wrt": ["m", "b"],
    "data": ["x", "y"],
    "reduce": "mean",
}
"""The built-in example: the mean squared error of the regression line y = m x + b."""

DERIVE_EXAMPLES = """\
examples:
  calculus-ml derive "4*x^3 - x^2 + 3*x" --wrt x
  calculus-ml derive "(3*x^2 + 10*x)^3" --wrt x --format latex
  calculus-ml derive "4*x^2*y + 3*x + y" --wrt x y
  calculus-ml derive "(y - (m*x + b))^2" --wrt m b --data x y --reduce mean
  calculus-ml derive "-y*log(sigmoid(w*x + b)) - (1 - y)*log(1 - sigmoid(w*x + b))" \\
      --wrt w b --data x y --format json
"""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line and exit status 2."""

    def error(self, message: str):  # noqa: D102 - argparse hook
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``calculus-ml`` argument parser (also used to document the CLI)."""
    parser = _Parser(
        prog="calculus-ml",
        description="Step-by-step, machine-checked derivatives of machine-learning losses.",
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    derive = commands.add_parser(
        "derive",
        help="differentiate an expression step by step",
        description="Differentiate EXPR step by step; every step is checked against sympy.diff.",
        epilog=DERIVE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    derive.add_argument("expr", metavar="EXPR", help="the expression, e.g. '(3*x^2 + 10*x)^3'")
    derive.add_argument(
        "--wrt", nargs="+", required=True, metavar="VAR", help="variable(s) to differentiate by"
    )
    derive.add_argument(
        "--data",
        nargs="+",
        metavar="NAME",
        help="per-sample data names: EXPR is one data point's term, summed over i = 1..n",
    )
    derive.add_argument(
        "--reduce", choices=("mean", "sum"), help="combine the terms by mean (default) or sum"
    )
    _add_format(derive)

    demo = commands.add_parser(
        "demo",
        help="the built-in example: the regression line's mean squared error",
        description="Derive the gradient of the regression line's mean squared error, "
        "J(m, b) = (1/n) Σᵢ (yᵢ − (m xᵢ + b))², step by step.",
    )
    _add_format(demo)
    return parser


def _add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="output format (default: text)"
    )


def _version() -> str:
    from . import __version__

    return f"calculus-ml {__version__}"


def _render(derivation, fmt: str) -> str:
    return {
        "text": derivation.to_text,
        "latex": derivation.to_latex,
        "markdown": derivation.to_markdown,
        "json": derivation.to_json,
    }[fmt]()


def _run_derive(args: argparse.Namespace) -> str:
    from .derivation import derive

    derivation = derive(args.expr, args.wrt, data=args.data, reduce=args.reduce)
    return _render(derivation, args.format)


def _run_demo(args: argparse.Namespace) -> str:
    from .derivation import derive

    example = MSE_EXAMPLE
    derivation = derive(
        example["expr"], example["wrt"], data=example["data"], reduce=example["reduce"]
    )
    return _render(derivation, args.format)


_COMMANDS = {"derive": _run_derive, "demo": _run_demo}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        output = _COMMANDS[args.command](args)
    except CalculusMLError as error:
        print(f"calculus-ml: error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    sys.stdout.write(output if output.endswith("\n") else output + "\n")
    return 0
