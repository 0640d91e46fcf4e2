"""The ``derivation`` Sphinx directive, built with ``sphinx.testing`` on the roots in tests/roots."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("sphinx")

import sympy  # noqa: E402
from docutils import nodes  # noqa: E402
from sphinx.cmd.build import build_main  # noqa: E402

import calculus_ml as cm  # noqa: E402
from calculus_ml import sphinxext  # noqa: E402
from calculus_ml.errors import ExpressionError  # noqa: E402

pytestmark = pytest.mark.slow  # each test builds a small Sphinx project
from calculus_ml.render.base import views  # noqa: E402
from calculus_ml.render.latex import latex  # noqa: E402
from calculus_ml.render.walk import entries  # noqa: E402

pytest_plugins = ("sphinx.testing.fixtures",)

ROOTS = Path(__file__).parent / "roots"


@pytest.fixture
def build(make_app, tmp_path):
    """Build a copy of ``tests/roots/test-NAME`` with a builder; return the application."""

    def run(name: str, buildername: str = "html", **kwargs):
        source = tmp_path / name
        shutil.copytree(ROOTS / f"test-{name}", source)
        app = make_app(buildername, srcdir=source, freshenv=True, **kwargs)
        app.build()
        return app

    return run


def _derivations(app) -> list[sphinxext.derivation]:
    return list(app.env.get_doctree("index").findall(sphinxext.derivation))


def _blocks(node: nodes.Element, kind: str) -> list[nodes.math_block]:
    return [b for b in node.findall(nodes.math_block) if f"derivation-{kind}" in b["classes"]]


# The expressions of tests/roots/test-derivation/index.rst, built here independently of the parser.
x, y, m, b = sympy.symbols("x y m b", real=True)


def test_one_math_block_per_step_shown(build):
    app = build("derivation")
    linear, chain, partials, gradient, hessian = _derivations(app)
    for node, (text, wrt) in ((linear, ("4*x + 15", "x")), (chain, ("(3*x^2 + 10*x)^3", "x"))):
        derivation = cm.derive(text, wrt)
        shown = sum(len(entries(root, "standard")) for _, root in derivation)
        assert len(_blocks(node, "step")) == shown
        assert len(_blocks(node, "result")) == 1
        assert all(b.astext().strip() for b in node.findall(nodes.math_block))
    assert not _blocks(partials, "step") and len(_blocks(partials, "result")) == 2
    assert len(_blocks(gradient, "gradient")) == 1 and len(_blocks(hessian, "hessian")) == 1
    assert "WARNING" not in app.warning.getvalue()


def test_results_match_sympy_diff(build):
    app = build("derivation")
    linear, chain, partials, *_ = _derivations(app)

    def shown(f, var, result):
        return f"{latex(sympy.Derivative(f, var))} = {latex(result)}"

    # where the tidy form is sympy.diff's own, the LaTeX is exactly sympy.diff's
    f = 4 * x + 15
    assert _blocks(linear, "result")[0].astext() == shown(f, x, sympy.diff(f, x))
    f = 4 * x**2 * y + 3 * x + y
    texts = [block.astext() for block in _blocks(partials, "result")]
    assert texts == [shown(f, v, sympy.diff(f, v)) for v in (x, y)]
    # elsewhere the result shown is the derivation's, which equals sympy.diff
    f = (3 * x**2 + 10 * x) ** 3
    result = cm.derive("(3*x^2 + 10*x)^3", "x").results[x]
    assert sympy.expand(result - sympy.diff(f, x)) == 0
    assert _blocks(chain, "result")[0].astext() == shown(f, x, result)


def test_hessian_of_the_mse_matches_sympy():
    derivation = cm.derive("(y - (m*x + b))^2", ["m", "b"], data=["x", "y"])
    n = 3  # the MSE written out by hand for three points, differentiated by sympy
    xs, ys = sympy.symbols(f"x1:{n + 1}", real=True), sympy.symbols(f"y1:{n + 1}", real=True)
    mse = sum((yi - (m * xi + b)) ** 2 for xi, yi in zip(xs, ys)) / n
    expected = sympy.hessian(mse, (m, b))
    got = sphinxext.hessian(derivation)
    size = next(s for s in got.free_symbols if s.name == "n")

    def written_out(expr):
        expr = expr.xreplace({size: n}).doit()
        return expr.replace(
            lambda e: isinstance(e, sympy.Indexed),
            lambda e: {"x": xs, "y": ys}[e.base.label.name][int(e.indices[0]) - 1],
        )

    assert sympy.simplify(got.applyfunc(written_out) - expected) == sympy.zeros(2, 2)


def test_name_is_a_label_for_ref(build):
    app = build("derivation")
    labels = app.env.domaindata["std"]["labels"]
    assert labels["chain-example"] == ("index", "chain-example", "Derivative of (3*x^2 + 10*x)^3")
    html = (app.outdir / "index.html").read_text(encoding="utf-8")
    assert 'href="#chain-example"' in html and 'id="chain-example"' in html
    assert "Derivative of (3*x^2 + 10*x)^3</span></a>" in html


def test_latex_builder_has_the_label_and_maths(build):
    app = build("derivation", "latex")
    tex = next(app.outdir.glob("*.tex")).read_text(encoding="utf-8")
    assert r"\label{\detokenize{index:chain-example}}" in tex
    assert r"\hyperref[\detokenize{index:chain-example}]" in tex
    assert r"\frac{d}{d x}\left[x^{2}\right] = 2 x" in tex
    assert "WARNING" not in app.warning.getvalue()


def test_text_builder_shows_rules(build):
    app = build("derivation", "text")
    text = (app.outdir / "index.txt").read_text(encoding="utf-8")
    assert "Chain rule." in text and "Power rule." in text


def test_default_show_config(build):
    app = build("derivation", confoverrides={"calculus_ml_default_show": "result"})
    linear, chain, *_ = _derivations(app)
    assert not _blocks(linear, "step") and not _blocks(chain, "step")
    assert len(_blocks(chain, "result")) == 1


def test_verify_config_is_passed_on(build, monkeypatch):
    def refuse(self, **kwargs):
        raise AssertionError("verify was called")

    monkeypatch.setattr(cm.Derivation, "verify", refuse)
    app = build("derivation", confoverrides={"calculus_ml_verify": False})
    assert len(_derivations(app)) == 5


def test_bad_directives_warn_with_document_and_line(build):
    app = build("derivation-bad")
    warnings = app.warning.getvalue()
    lines = (app.srcdir / "index.rst").read_text(encoding="utf-8").splitlines()
    starts = [k for k, line in enumerate(lines, 1) if line.startswith(".. derivation::")]
    expected = ["names may not start with", "does not occur", ":wrt:", "directive", "not both"]
    assert len(starts) == len(expected)
    for line, message in zip(starts, expected):
        hits = [w for w in warnings.splitlines() if f"index.rst:{line}:" in w]
        assert hits and message in hits[0], (line, message, warnings)
    assert 'invalid option value: (option: "show"' in warnings
    assert not list(app.env.get_doctree("index").findall(sphinxext.derivation))


def test_warning_is_error_fails_the_build(tmp_path, capsys):
    source = tmp_path / "src"
    shutil.copytree(ROOTS / "test-derivation-bad", source)
    status = build_main(["-W", "-q", "-b", "html", str(source), str(tmp_path / "out")])
    assert status != 0
    assert "index.rst:4" in capsys.readouterr().err


def test_loss_option(make_app, tmp_path):
    from calculus_ml import losses

    name = losses.names()[0]
    source = tmp_path / "src"
    source.mkdir()
    (source / "conf.py").write_text('extensions = ["calculus_ml.sphinxext"]\n')
    (source / "index.rst").write_text(
        f"Loss\n====\n\n.. derivation::\n   :loss: {name}\n   :show: result\n\n"
        ".. derivation::\n   :loss: no-such-loss\n"
    )
    app = make_app("html", srcdir=source, freshenv=True)
    app.build()
    (node,) = _derivations(app)
    derivation = losses.get(name).derive()
    assert [b.astext() for b in _blocks(node, "result")] == [
        f"{latex(sympy.Derivative(derivation.expression, v))} = {latex(r)}"
        for v, r in derivation.results.items()
    ]
    assert "index.rst:8:" in app.warning.getvalue()


def test_detail_option(make_app, tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "conf.py").write_text('extensions = ["calculus_ml.sphinxext"]\n')
    directives = "".join(f".. derivation:: 4*x + 15\n   :wrt: x\n   :detail: {level}\n\n"
                         for level in ("full", "standard", "brief"))
    (source / "index.rst").write_text(f"Detail\n======\n\n{directives}")
    app = make_app("html", srcdir=source, freshenv=True)
    app.build()
    full, standard, brief = _derivations(app)
    root = cm.derive("4*x + 15", "x")["x"]
    assert len(_blocks(full, "step")) == len(views(root))
    assert len(_blocks(standard, "step")) == len(entries(root, "standard")) < len(views(root))
    assert not _blocks(brief, "step") and len(list(brief.findall(nodes.math))) >= 3
    assert "The derivative of the constant" in standard.astext()
    assert "WARNING" not in app.warning.getvalue()


def test_loss_option_calls_the_catalogue(make_app, tmp_path, monkeypatch):
    from calculus_ml import losses

    mse = losses.Loss("(y - (m*x + b))^2", params=["m", "b"], data=["x", "y"], title="MSE")

    def get(name):  # fails as the catalogue does
        if name != "mse":
            raise ExpressionError(f"unknown loss {name!r}")
        return mse

    monkeypatch.setattr(losses, "get", get)
    source = tmp_path / "src"
    source.mkdir()
    (source / "conf.py").write_text('extensions = ["calculus_ml.sphinxext"]\n')
    (source / "index.rst").write_text(
        "Loss\n====\n\n.. derivation::\n   :loss: mse\n   :name: the-mse\n\n"
        ".. derivation::\n   :loss: nope\n\n"
        ".. derivation::\n   :loss: mse\n   :wrt: m\n"
    )
    app = make_app("html", srcdir=source, freshenv=True)
    app.build()
    (node,) = _derivations(app)
    expected = mse.derive()
    assert len(_blocks(node, "step")) == sum(len(entries(root, "standard")) for _, root in expected)
    assert app.env.domaindata["std"]["labels"]["the-mse"][2] == "Derivative of MSE"
    warnings = app.warning.getvalue()
    assert "index.rst:8: WARNING: derivation: unknown loss 'nope'" in warnings
    assert "index.rst:11: WARNING: derivation: a :loss: fixes wrt" in warnings


def test_names_option():
    assert sphinxext.names_option("m, b  w") == ["m", "b", "w"]
    with pytest.raises(ValueError):
        sphinxext.names_option(" , ")
