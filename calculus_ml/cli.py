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
    _add_fit(commands)
    return parser


def _add_fit(commands) -> None:
    fit = commands.add_parser(
        "fit",
        help="fit a loss's parameters to columns of a CSV file by gradient descent",
        description="Fit a loss's parameters to columns of a CSV file (with a header row) by "
        "gradient descent; print them beside the closed-form answer where the loss has one.",
    )
    fit.add_argument("--loss", required=True, metavar="NAME", help="the loss, e.g. mse, logistic")
    fit.add_argument("--csv", required=True, metavar="FILE", help="the data, with a header row")
    fit.add_argument("--x", nargs="+", required=True, metavar="COL", help="feature column(s)")
    fit.add_argument("--y", required=True, metavar="COL", help="target column")
    fit.add_argument("--lr", type=float, default=0.01, help="learning rate (default: 0.01)")
    fit.add_argument("--method", default="gd", help="gd (default), sgd, minibatch, momentum, "
                     "nesterov or adam")
    fit.add_argument("--max-iter", type=int, default=1000, metavar="N",
                     help="most iterations (default: 1000)")
    fit.add_argument("--standardize", action="store_true",
                     help="fit on standardized features; parameters in original units")
    fit.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="a hyperparameter's value, e.g. --set lam=0.1")
    fit.add_argument("--plot", metavar="OUT.png",
                     help="write the loss per iteration (and the fitted line, for one feature)")


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


def _run_fit(args: argparse.Namespace) -> str:
    import warnings

    from .datasets import data_for_loss, read_csv
    from .errors import ConvergenceWarning
    from .optimize import GradientDescent

    loss = _fit_loss(args.loss, len(args.x))
    data = data_for_loss(loss, read_csv(args.csv, [*args.x, args.y]), args.x, args.y)
    for item in args.set:
        name, _, value = item.partition("=")
        try:
            data[name.strip()] = float(value)
        except ValueError:
            raise CalculusMLError(f"--set takes NAME=VALUE with a number, not {item!r}") from None
    fit = GradientDescent(loss, learning_rate=args.lr, max_iter=args.max_iter,
                          method=args.method, standardize=args.standardize)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            fit.fit(**data)
        except ValueError as error:  # the estimator's own checks: a usage error here
            if isinstance(error, CalculusMLError):
                raise
            raise CalculusMLError(str(error)) from None
    for warning in caught:
        print(f"calculus-ml: warning: {warning.message}", file=sys.stderr)
    if args.plot:
        _save_fit_plot(fit, data, args.plot)
    return fit.summary(closed_form=_closed_form(loss, data))


def _fit_loss(name: str, n_features: int):
    """A catalogue loss (its ``vector=True`` form for several features), else the lesson's."""
    from . import losses
    from .datasets import lesson_loss

    if not hasattr(losses, "get"):
        return lesson_loss(name)
    takes_vector = "vector" in losses.describe(name).options  # also rejects unknown names
    return losses.get(name, vector=True) if n_features > 1 and takes_vector else losses.get(name)


def _closed_form(loss, data) -> dict | None:
    """``loss.solve(**data)`` as ``{name: value}`` where it exists and applies, else None."""
    solve = getattr(loss, "solve", None)
    try:
        result = solve(**data) if solve is not None else None
    except (CalculusMLError, ValueError, ArithmeticError, NotImplementedError):
        return None
    if not isinstance(result, dict):
        return None
    return {getattr(k, "name", k): v for k, v in result.items()}


def _save_fit_plot(fit, data: dict, path: str) -> None:
    """Loss per iteration (and data with the fitted line, for one feature), written atomically."""
    import os
    import tempfile

    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    target, *names = [k for k, v in data.items() if getattr(v, "ndim", 0) >= 1]
    y, features = data[target], {k: data[k] for k in names}
    one = len(features) == 1 and next(iter(features.values())).size == y.size
    figure = Figure(figsize=(10 if one else 5, 4), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 2 if one else 1, squeeze=False)[0]
    axes[0].plot(fit.loss_history_)
    axes[0].set(xlabel="iteration", ylabel="loss J", title="Loss per iteration")
    if one:
        (name, x), = features.items()
        x = x.ravel()
        grid = np.linspace(x.min(), x.max(), 200)
        line = fit.predict(**{name: grid.reshape(-1, 1) if data[name].ndim == 2 else grid})
        axes[1].scatter(x, y, s=12, label="data")
        axes[1].plot(grid, line, color="C1", label="fitted")
        axes[1].set(xlabel=name, ylabel=target, title="Fitted model")
        axes[1].legend()
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    temp = None
    try:
        handle, temp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".part")
        with os.fdopen(handle, "wb") as out:
            figure.savefig(out, format=fmt)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)  # mkstemp's 0600 would hide the figure from others
        os.replace(temp, path)
    except (OSError, ValueError) as error:
        if temp is not None and os.path.exists(temp):
            os.unlink(temp)
        raise CalculusMLError(f"cannot write {path}: {error}") from None


_COMMANDS = {"derive": _run_derive, "demo": _run_demo, "fit": _run_fit}


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
