"""The learning commands: ``check`` (a learner's answer and steps) and ``derive --hints``.

``check`` exits 0 when the answer (and every step) is right and 1 when it is wrong -- a result,
printed like any other; a mistake in the input is exit 2, as everywhere.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import CalculusMLError

__all__ = ["run_check", "run_hints", "add_check"]

CHECK_EXAMPLES = """\
examples:
  calculus-ml check "(3*x^2 + 10*x)^3" --wrt x --answer "3*(3*x^2 + 10*x)^2*(6*x + 10)"
  calculus-ml check "cos(x)" --answer "sin(x)"
  calculus-ml check "(3*x^2 + 10*x)^3" --steps "3*(3*x^2 + 10*x)^2*(6*x + 10)" \\
      "(6*x + 10)*(27*x^4 + 180*x^3 + 300*x^2)"
  calculus-ml check "(y - (m*x + b))^2" --wrt m --data x y --answer "-2/n*(y - (m*x + b))*x"
"""


def add_check(commands) -> None:
    """Register the ``check`` command."""
    check = commands.add_parser(
        "check", help="check a learner's derivative (and steps): exit 0 right, 1 wrong",
        description="Check a derivative of EXPR: say whether it is right, where it differs, and "
        "which classic mistake gives exactly that answer. Exit status 0 when right, 1 when "
        "wrong, 2 on bad input.",
        epilog=CHECK_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("expr", metavar="EXPR", help="the function, e.g. '(3*x^2 + 10*x)^3'")
    check.add_argument("--wrt", metavar="VAR", help="the variable (optional with one name)")
    check.add_argument("--answer", metavar="TEXT", help="the learner's derivative")
    check.add_argument("--steps", nargs="+", metavar="TEXT",
                       help="the learner's derivative, then each step claimed equal to the last")
    check.add_argument("--data", nargs="+", metavar="NAME",
                       help="per-sample data names (the answer is one point's summand, n points)")
    check.add_argument("--reduce", choices=("mean", "sum"), help="mean (default) or sum")
    check.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                       help="output format (default: text)")


def run_check(args: argparse.Namespace) -> tuple[str, int]:
    """The verdict, and the exit status: 0 right, 1 wrong."""
    from ..learning import check_answer, check_steps

    if bool(args.answer) == bool(args.steps):
        raise CalculusMLError("give the learner's derivative with --answer TEXT or --steps TEXT ...")
    options = {"data": args.data, "reduce": args.reduce}
    if args.steps:
        verdict = check_steps(args.expr, args.steps, args.wrt, **options)
    else:
        verdict = check_answer(args.expr, args.answer, args.wrt, **options)
    shown = {"text": verdict.to_text, "markdown": verdict.to_markdown,
             "json": verdict.to_json}[args.format]()
    return shown, 0 if verdict.correct else 1


def run_hints(derivation, *, interactive: bool | None = None) -> str:
    """Each variable's hints: on a terminal one step per Enter, otherwise all at once."""
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
    out = []
    for var in derivation.variables:
        out.append(f"Hints for d/d{var}" + (" (press Enter for each step)" if interactive else ""))
        for hint in derivation.hints(var):
            question, revealed = hint.to_text().rsplit("\n", 1)
            out.append(question)
            if interactive:
                print("\n".join(out), flush=True)
                out = []
                input()
            out.append(revealed)
    return "\n".join(out)
