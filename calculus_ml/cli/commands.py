"""What each ``calculus-ml`` command does: call the public API and return the text to print.

Each ``run_*`` function takes the parsed arguments; a mistake a user can make raises a
:class:`~calculus_ml.errors.CalculusMLError`, which :func:`calculus_ml.cli.main` prints as one line.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import CalculusMLError
from .learning import run_hints
from .parser import MSE_EXAMPLE

def run_handout(args: argparse.Namespace) -> str:
    from .. import handout

    if args.list:
        return "\n".join(handout.names())
    if bool(args.spec) == bool(args.all):
        raise CalculusMLError("give one SPEC_OR_NAME or --all (see --list)")
    chosen = handout.names() if args.all else [args.spec]
    paths = handout.write([handout.build(name) for name in chosen], args.out, args.format,
                          index=args.all)
    return "\n".join(str(p) for p in paths)


def _render(derivation, args: argparse.Namespace) -> str:
    """The derivation in ``args.format`` at its own level of detail; text in ASCII when the
    output cannot encode Unicode (``args.ascii``); HTML as a standalone page."""
    if args.format == "text":
        return derivation.to_text(ascii=getattr(args, "ascii", False))
    if args.format == "html":
        from ..render.html import page

        return page("Derivation", derivation.to_html())
    return {"markdown": derivation.to_markdown, "latex": derivation.to_latex,
            "json": derivation.to_json}[args.format]()


def run_derive(args: argparse.Namespace) -> str:
    from ..derivation import derive

    loss = _derive_loss(args)
    if loss is None:
        if args.expr is None:
            raise CalculusMLError("give EXPR with --wrt VAR ..., or --loss NAME")
        if args.hints and args.order != 1:
            raise CalculusMLError("--hints shows a first derivative: drop --order")
        derivation = derive(args.expr, args.wrt, data=args.data, reduce=args.reduce,
                            order=args.order, detail=args.detail)
        if args.hints:
            return run_hints(derivation)
        return _render(derivation, args)
    return _loss_report(loss, args, _derive_data(args, loss))


def _derive_loss(args: argparse.Namespace):
    """The loss ``derive`` was asked about (catalogue or EXPR with --penalty, second-order flags
    or data), or None for a plain derivative."""
    from .. import losses

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

    from ..datasets import data_for_loss, read_csv

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

    from ..analysis import is_quadratic

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
    derivation = loss.derive(detail=args.detail)
    if args.format == "html":
        from ..render.html import page

        parts = [derivation.to_html()] + [_section(args, h, items) for h, items in sections]
        return page(f"Derivative of {loss.name}", "\n".join(parts))
    parts = [_render(derivation, args)] + [_section(args, h, items) for h, items in sections]
    return "\n\n".join(part.rstrip("\n") for part in parts)


def _json_report(loss, sections: list) -> str:
    import json

    import sympy

    from ..render.latex import latex

    doc = loss.derive().to_dict()
    for heading, items in sections:
        key = heading.lower().replace(" ", "_")
        doc[key] = items.to_dict() if hasattr(items, "to_dict") else [
            item if isinstance(item, str) else
            {"label": sympy.sstr(item[0]), "math": sympy.sstr(item[1]), "latex": latex(item[1])}
            for item in items
        ]
    return json.dumps(doc, indent=2, ensure_ascii=False)


def _section(args: argparse.Namespace, heading: str, items) -> str:
    """A heading and its items (sentences, or ``label = maths``) in a text format; a closed
    form renders itself."""
    from ..render import html, markdown
    from ..render.latex import display, escape_text
    from ..render.text import equation

    fmt, ascii = args.format, getattr(args, "ascii", False)
    if hasattr(items, "to_text"):
        renderers = {"text": lambda: items.to_text(ascii=ascii), "latex": items.to_latex,
                     "markdown": items.to_markdown, "html": items.to_html}
        return renderers[fmt]()
    lines = {"text": [heading, ("-" if ascii else "─") * len(heading)],
             "markdown": [f"### {heading}"], "html": [f"<h3>{html.escape(heading)}</h3>"],
             "latex": [rf"\paragraph{{{escape_text(heading)}.}}"]}[fmt]
    for item in items:
        if isinstance(item, str):
            lines.append({"latex": escape_text, "html": html.paragraph}.get(fmt, str)(item))
        elif fmt == "text":
            lines.append(equation(item, ascii=ascii))
        elif fmt == "html":
            lines.append(html.equation(item))
        elif fmt == "latex":
            lines.append(display(item))
        else:
            lines.append(markdown.display(item))
    return "\n".join(lines)


def run_losses(args: argparse.Namespace) -> str:
    from .. import losses

    rows = []
    for name in losses.names():
        entry = losses.describe(name)
        options = ", ".join(f"{k}={v!r}" for k, v in entry.options.items())
        rows.append(f"{name:<20} {entry.description}" + (f"  [{options}]" if options else ""))
    return "\n".join(rows)


def run_demo(args: argparse.Namespace) -> str:
    from ..derivation import derive

    example = MSE_EXAMPLE
    derivation = derive(example["expr"], example["wrt"], data=example["data"],
                        reduce=example["reduce"], detail=args.detail)
    from ..handout import demo

    steps, report = _render(derivation, args), demo(args.out)
    if args.format != "text":  # keep stdout one clean document; the report goes beside it
        print(report, file=sys.stderr)
        return steps
    return steps.rstrip("\n") + "\n\n" + report


def run_fit(args: argparse.Namespace) -> str:
    import warnings

    from ..datasets import data_for_loss, read_csv
    from ..errors import ConvergenceWarning
    from ..optimize import GradientDescent

    loss = _fit_loss(args.loss, len(args.x))
    if args.data is not None:
        from ..numeric.distributed import read_table

        if args.plot or args.standardize:
            raise CalculusMLError("--plot and --standardize need the data in memory: use --csv")
        table = read_table(args.data, [*args.x, args.y])
    else:
        table = read_csv(args.csv, [*args.x, args.y])
    data = data_for_loss(loss, table, args.x, args.y)
    for item in args.set:
        name, _, value = item.partition("=")
        try:
            data[name.strip()] = float(value)
        except ValueError:
            raise CalculusMLError(f"--set takes NAME=VALUE with a number, not {item!r}") from None
    fit = GradientDescent(loss, learning_rate=args.lr, max_iter=args.max_iter, tol=args.tol,
                          method=args.method, batch_size=args.batch_size,
                          random_state=args.seed, standardize=args.standardize,
                          backend=args.backend)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            fit.fit(**data)
        except ValueError as error:  # the estimator's own checks: a usage error here
            if isinstance(error, CalculusMLError):
                raise
            name, _, rest = str(error).partition(" ")
            raise CalculusMLError(f"{_FIT_FLAGS.get(name, name)} {rest}") from None
    for warning in caught:
        print(f"calculus-ml: warning: {warning.message}", file=sys.stderr)
    if args.plot:
        _save_fit_plot(fit, data, args.plot)
    return fit.summary(closed_form=_closed_form(loss, data))


_FIT_FLAGS = {"learning_rate": "--lr", "max_iter": "--max-iter", "tol": "--tol",
              "method": "--method", "batch_size": "--batch-size"}
"""The estimator's parameters as the options that set them, for its error messages."""


def _fit_loss(name: str, n_features: int):
    """A catalogue loss (its ``vector=True`` form for several features), else the lesson's."""
    from .. import losses

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

    from .. import plotting

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
