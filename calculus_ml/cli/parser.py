"""The ``calculus-ml`` argument parser: commands, options and their help texts.

It imports nothing heavy: building it (``--help``, and every run) loads no SymPy.
"""

from __future__ import annotations

import argparse

from .learning import add_check

FORMATS = ("text", "latex", "markdown", "html", "json")
DETAILS = ("standard", "full", "brief")
"""``calculus_ml.derivation.DETAILS``, written here so that building the parser loads no SymPy."""

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
  calculus-ml derive --loss mse --solve --values x=100,200,250,325,400 y=275,300,550,525,700
  calculus-ml derive --loss polynomial --option degree=3 --hessian --convexity
  calculus-ml derive "(y - (m*x + b))^2" --params m b --data x y --penalty "lam*m^2" \\
      --solve --csv films.csv --x budget --y revenue --set lam=0.1
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
    derive.add_argument(
        "expr", nargs="?", metavar="EXPR", help="the expression, e.g. '(3*x^2 + 10*x)^3'"
    )
    derive.add_argument(
        "--wrt", "--params", nargs="+", metavar="VAR",
        help="variable(s) to differentiate by (a loss's parameters)",
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
    derive.add_argument("--order", type=int, default=1, metavar="N",
                        help="the N-th derivative (with several --wrt names, every partial of "
                        "order N: 2 gives the Hessian), each stage step by step")
    derive.add_argument("--hints", action="store_true",
                        help="one step at a time: a question, then the step (Enter for the next "
                        "on a terminal)")
    _add_loss_options(derive)

    commands.add_parser(
        "losses", help="list the loss catalogue",
        description="List the named losses of the catalogue (use one with derive --loss NAME).",
    )

    demo = commands.add_parser(
        "demo",
        help="the built-in example: the regression line's mean squared error",
        description="Derive the gradient of the regression line's mean squared error, "
        "J(m, b) = (1/n) Σᵢ (yᵢ − (m xᵢ + b))², step by step; fit the five films by gradient "
        "descent beside the closed form; write a handout with its figures.",
    )
    _add_format(demo)
    demo.add_argument("--out", default="calculus_ml_demo", metavar="DIR",
                      help="folder for the handout (default: ./calculus_ml_demo)")
    _add_handout(commands)
    _add_fit(commands)
    add_check(commands)
    return parser


def _add_handout(commands) -> None:
    from ..handout import FORMATS

    handout = commands.add_parser(
        "handout",
        help="build lesson handouts from derivations/*.toml",
        description="Build a handout (a spec file, or the name of a shipped one) or all of them, "
        "with figures beside it; nothing is written unless everything succeeds.",
    )
    handout.add_argument("spec", nargs="?", metavar="SPEC_OR_NAME",
                         help="a .toml spec, or a name such as 03-chain-rule or chain-rule")
    handout.add_argument("--all", action="store_true",
                         help="every shipped handout, and an index page linking them")
    handout.add_argument("--list", action="store_true", help="list the shipped handouts")
    handout.add_argument("--format", choices=FORMATS, default="markdown",
                         help="output format (default: markdown)")
    handout.add_argument("--out", default="handouts", metavar="DIR",
                         help="output folder (default: ./handouts)")


def _learning_rate(text: str) -> float | str:
    """``--lr``: a number, or ``auto``."""
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number or auto, not {text!r}") from None


def _seed(text: str) -> int:
    """``--seed``: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"an integer >= 0, not {text!r}")
    return value


def _add_fit(commands) -> None:
    fit = commands.add_parser(
        "fit",
        help="fit a loss's parameters to columns of a CSV file by gradient descent",
        description="Fit a loss's parameters to columns of a CSV file (with a header row) by "
        "gradient descent; print them beside the closed-form answer where the loss has one.",
    )
    fit.add_argument("--loss", required=True, metavar="NAME", help="the loss, e.g. mse, logistic")
    source = fit.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv", metavar="FILE", help="the data, with a header row")
    source.add_argument("--data", metavar="GLOB", help="data beyond memory: CSV or Parquet files "
                        "(a quoted glob, e.g. 'big/*.parquet'), read and fitted with Dask")
    fit.add_argument("--x", nargs="+", required=True, metavar="COL", help="feature column(s)")
    fit.add_argument("--y", required=True, metavar="COL", help="target column")
    fit.add_argument("--lr", type=_learning_rate, default="auto", metavar="RATE",
                     help="learning rate (default: auto, chosen by the method; a rate makes "
                     "'auto' gradient descent)")
    fit.add_argument("--method", default="auto", help="auto (default: newton for a smooth "
                     "loss without --lr, else gd), newton, lbfgs, gd, sgd, minibatch, momentum, "
                     "nesterov or adam")
    fit.add_argument("--max-iter", type=int, default=1000, metavar="N",
                     help="most iterations (default: 1000)")
    fit.add_argument("--tol", type=float, default=1e-6, metavar="TOL",
                     help="stop when the gradient norm is at most TOL (default: 1e-6)")
    fit.add_argument("--batch-size", type=int, metavar="N",
                     help="rows per step for minibatch (default: 32), momentum, nesterov, adam "
                     "or gd (default: all rows)")
    fit.add_argument("--seed", type=_seed, metavar="N",
                     help="the seed of the rows' order for sgd and mini-batches (default: a "
                     "new order each run)")
    fit.add_argument("--backend", choices=("numpy", "numba"), default="numpy",
                     help="the compiled code (default: numpy); numba (pip install "
                     "\"calculus_ml[fast]\") also runs each sgd epoch as one compiled loop")
    fit.add_argument("--standardize", action="store_true",
                     help="fit on standardized features; parameters in original units")
    fit.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="a hyperparameter's value, e.g. --set lam=0.1")
    fit.add_argument("--plot", metavar="OUT.png",
                     help="write the loss per iteration (and the fitted line, for one feature)")


def _add_loss_options(derive: argparse.ArgumentParser) -> None:
    group = derive.add_argument_group(
        "losses", "derive a loss of the catalogue (--loss) or EXPR as a loss over --data, with "
        "its Hessian, convexity and closed form; numeric answers need data (--csv or --values)",
    )
    group.add_argument("--loss", metavar="NAME", help="a loss of the catalogue (see: losses)")
    group.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                       help="a catalogue loss's option, e.g. --option degree=3")
    group.add_argument("--penalty", metavar="TEXT",
                       help="a penalty on the parameters, not summed over data, e.g. 'lam*m^2'")
    group.add_argument("--hessian", action="store_true", help="the Hessian of J")
    group.add_argument("--convexity", action="store_true", help="whether J is convex, and why")
    group.add_argument("--solve", action="store_true",
                       help="the minimiser in closed form, step by step (and on the data)")
    group.add_argument("--csv", metavar="FILE", help="data: a CSV file with a header row")
    group.add_argument("--x", nargs="+", metavar="COL", help="with --csv: feature column(s)")
    group.add_argument("--y", metavar="COL", help="with --csv: target column")
    group.add_argument("--values", nargs="+", metavar="NAME=V1,V2,...",
                       help="data inline, one list per data name, e.g. x=1,2,3 y=2,4,7")
    group.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                       help="a hyperparameter's value, e.g. --set lam=0.1")


def _add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=FORMATS, default="text",
        help="output format (default: text; html is a standalone page)",
    )
    parser.add_argument(
        "--detail", choices=DETAILS, default="standard",
        help="standard (default): every rule, trivial steps told in their parent's sentence; "
        "full: every step; brief: one line per rule",
    )


def _version() -> str:
    from .. import __version__

    return f"calculus-ml {__version__}"
