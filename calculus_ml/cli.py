"""Command-line front end: ``calculus-ml`` (or ``python -m calculus_ml``).

Thin by design: it parses arguments, calls the public API and prints. Mistakes a user can make
end with one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
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
    return parser


def _add_handout(commands) -> None:
    from .handout import FORMATS

    handout = commands.add_parser(
        "handout",
        help="build lesson handouts from derivations/*.toml",
        description="Build a handout (a spec file, or the name of a shipped one) or all of them, "
        "with figures beside it; nothing is written unless everything succeeds.",
    )
    handout.add_argument("spec", nargs="?", metavar="SPEC_OR_NAME",
                         help="a .toml spec, or a name such as 03-chain-rule or chain-rule")
    handout.add_argument("--all", action="store_true", help="every shipped handout")
    handout.add_argument("--list", action="store_true", help="list the shipped handouts")
    handout.add_argument("--format", choices=FORMATS, default="markdown",
                         help="output format (default: markdown)")
    handout.add_argument("--out", default="handouts", metavar="DIR",
                         help="output folder (default: ./handouts)")


def _run_handout(args: argparse.Namespace) -> str:
    from . import handout

    if args.list:
        return "\n".join(handout.names())
    if bool(args.spec) == bool(args.all):
        raise CalculusMLError("give one SPEC_OR_NAME or --all (see --list)")
    chosen = handout.names() if args.all else [args.spec]
    paths = handout.write([handout.build(name) for name in chosen], args.out, args.format)
    return "\n".join(str(p) for p in paths)


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

    loss = _derive_loss(args)
    if loss is None:
        if args.expr is None or not args.wrt:
            raise CalculusMLError("give EXPR with --wrt VAR ..., or --loss NAME")
        return _render(derive(args.expr, args.wrt, data=args.data, reduce=args.reduce), args.format)
    return _loss_report(loss, args, _derive_data(args, loss))


def _derive_loss(args: argparse.Namespace):
    """The loss ``derive`` was asked about (catalogue or EXPR with --penalty, second-order flags
    or data), or None for a plain derivative."""
    from . import losses

    custom = (args.penalty, args.hessian, args.convexity, args.solve, args.csv, args.values)
    if args.loss is None:
        if args.option:
            raise CalculusMLError("--option goes with --loss NAME")
        if not any(custom):
            return None
        if args.expr is None or not args.wrt or not args.data:
            raise CalculusMLError("a loss needs EXPR, --params and --data (or --loss NAME)")
        return losses.Loss(args.expr, args.wrt, args.data, reduce=args.reduce or "mean",
                           regularization=args.penalty)
    fixed = [flag for flag, value in (("EXPR", args.expr), ("--wrt/--params", args.wrt),
             ("--data", args.data), ("--reduce", args.reduce), ("--penalty", args.penalty))
             if value]
    if fixed:
        raise CalculusMLError(f"give EXPR or --loss NAME, not both: a catalogue loss fixes "
                              f"{', '.join(fixed)}")
    return losses.get(args.loss, **dict(_assignment(item, _option_value) for item in args.option))


def _derive_data(args: argparse.Namespace, loss) -> dict | None:
    """The data for numeric answers (--csv or --values) with --set hyperparameters, or None."""
    import numpy as np

    from .datasets import data_for_loss, read_csv

    if args.csv and args.values:
        raise CalculusMLError("give data by --csv or by --values, not both")
    if args.csv:
        if not args.x or not args.y:
            raise CalculusMLError("--csv needs --x COL ... and --y COL")
        data = data_for_loss(loss, read_csv(args.csv, [*args.x, args.y]), args.x, args.y)
    elif args.values:
        data = {name: np.array(value, dtype=float) for name, value in
                (_assignment(item, _numbers) for item in args.values)}
    else:
        return None
    data.update(_assignment(item, float) for item in args.set)
    return data


def _assignment(item: str, convert) -> tuple[str, object]:
    """``NAME=VALUE`` as ``(name, convert(value))``."""
    name, sep, value = item.partition("=")
    try:
        if not sep or not name.strip():
            raise ValueError
        return name.strip(), convert(value.strip())
    except ValueError:
        raise CalculusMLError(f"expected NAME=VALUE, not {item!r}") from None


def _numbers(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


def _option_value(text: str) -> bool | int | str:
    """A catalogue option's value: true/false, an integer, or the text itself."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return int(text) if text.lstrip("-").isdigit() else text


def _loss_report(loss, args: argparse.Namespace, data: dict | None) -> str:
    """The derivation, then notes, matrix form and what was asked: Hessian, convexity, closed
    form, and on data the minimiser and the largest stable learning rate."""
    import numpy as np
    import sympy

    from .analysis import is_quadratic

    J = sympy.Symbol("J")
    sections: list[tuple[str, object]] = []  # (heading, [text or (label, maths)] or ClosedForm)
    if loss.notes:
        sections.append(("Notes", list(loss.notes)))
    if loss.matrix_gradient:
        sections.append(("Matrix form", [(sympy.Derivative(J, sympy.Symbol(k)), v)
                                         for k, v in loss.matrix_gradient.items()]))
    if args.hessian:
        sections.append(("Hessian", [(sympy.Symbol("H"), loss.hessian())]))
    if args.convexity:
        sections.append(("Convexity", [str(loss.convexity(data))]))
    if args.solve:
        sections.append(("Closed form", loss.closed_form()))
    if data is not None and (args.solve or args.hessian) and is_quadratic(loss):
        items: list = []
        if args.solve:
            items += [(sympy.Symbol(name), sympy.Matrix(v) if np.ndim(v) else sympy.Float(v, 8))
                      for name, v in loss.solve(**data).items()]
        bound = loss.learning_rate_bound(**data)
        if bound is not None:
            items += ["Largest stable learning rate of gradient descent, 2/λ_max:",
                      (sympy.Symbol("eta_max"), sympy.Float(bound, 6))]
        sections.append(("On the data", items))
    if args.format == "json":
        return _json_report(loss, sections)
    parts = [_render(loss.derive(), args.format)]
    parts += [_section(args.format, heading, items) for heading, items in sections]
    return "\n\n".join(part.rstrip("\n") for part in parts)


def _json_report(loss, sections: list) -> str:
    import json

    import sympy

    from .render.latex import latex

    doc = loss.derive().to_dict()
    for heading, items in sections:
        key = heading.lower().replace(" ", "_")
        doc[key] = items.to_dict() if hasattr(items, "to_dict") else [
            item if isinstance(item, str) else
            {"label": sympy.sstr(item[0]), "math": sympy.sstr(item[1]), "latex": latex(item[1])}
            for item in items
        ]
    return json.dumps(doc, indent=2, ensure_ascii=False)


def _section(fmt: str, heading: str, items) -> str:
    """A heading and its items (sentences, or ``label = maths``) in a text format; a closed
    form renders itself."""
    from .render.latex import escape_text, latex
    from .render.text import equation

    if hasattr(items, "to_text"):
        renderers = {"text": items.to_text, "latex": items.to_latex, "markdown": items.to_markdown}
        return renderers[fmt]()
    lines = {"text": [heading, "─" * len(heading)], "markdown": [f"### {heading}"],
             "latex": [rf"\paragraph{{{escape_text(heading)}.}}"]}[fmt]
    for item in items:
        if isinstance(item, str):
            lines.append(escape_text(item) if fmt == "latex" else item)
        elif fmt == "text":
            lines.append(equation(item))
        elif fmt == "latex":
            lines.append(rf"\[ {latex(item[0])} = {latex(item[1])} \]")
        else:
            lines.append(f"$${latex(item[0])} = {latex(item[1])}$$")
    return "\n".join(lines)


def _run_losses(args: argparse.Namespace) -> str:
    from . import losses

    rows = []
    for name in losses.names():
        entry = losses.describe(name)
        options = ", ".join(f"{k}={v!r}" for k, v in entry.options.items())
        rows.append(f"{name:<20} {entry.description}" + (f"  [{options}]" if options else ""))
    return "\n".join(rows)


def _run_demo(args: argparse.Namespace) -> str:
    from .derivation import derive

    example = MSE_EXAMPLE
    derivation = derive(
        example["expr"], example["wrt"], data=example["data"], reduce=example["reduce"]
    )
    from .handout import demo

    steps, report = _render(derivation, args.format), demo(args.out)
    if args.format != "text":  # keep stdout one clean document; the report goes beside it
        print(report, file=sys.stderr)
        return steps
    return steps.rstrip("\n") + "\n\n" + report


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
    from matplotlib.figure import Figure

    from . import plotting

    target, *names = [k for k, v in data.items() if getattr(v, "ndim", 0) >= 1]
    one = len(names) == 1 and data[names[0]].size == data[target].size
    figure = Figure(figsize=(10 if one else 5, 4), layout="constrained")
    axes = figure.subplots(1, 2 if one else 1, squeeze=False)[0]
    plotting.loss_history(fit, ax=axes[0])
    if one:
        plotting.fitted_line(data[names[0]].ravel(), data[target], model=fit, ax=axes[1])
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    try:
        plotting.save(figure, path, formats=(fmt,))
    except ValueError as error:
        raise CalculusMLError(f"cannot write {path}: {error}") from None


_COMMANDS = {"derive": _run_derive, "demo": _run_demo, "fit": _run_fit, "losses": _run_losses,
             "handout": _run_handout}


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
