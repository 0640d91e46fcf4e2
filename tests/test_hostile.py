"""Hostile inputs: every one ends in a result or the package's own error, in bounded time and
memory, and none runs code.

The inputs go to the parser, to ``derive``, to ``compile_gradient`` and its ``grad`` (catalogue
and custom losses, bad parameters and data) and to the command line (``derive``, ``losses``,
``fit``). They run in batches, each in a fresh interpreter whose address space is capped
(``resource.setrlimit``) and with a time budget of ``TIME_LIMIT`` seconds, so a test that
finds a hang or a memory blow-up fails instead of stalling the suite. Every input is asserted:

* no code ran: payloads that would create a canary file never do;
* the outcome is a result or a :class:`~calculus_ml.errors.CalculusMLError`; on the command
  line, exit status 0, or 2 with one line on stderr, never a traceback;
* it took at most ``SECONDS`` (the budget plus the longest piece of work it cannot interrupt).
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # 146 inputs in memory-capped interpreters: about half a minute

ROOT = Path(__file__).resolve().parents[1]
MEMORY_BYTES = 1536 << 20
TIME_LIMIT = 2.0
"""The package's time budget inside the batches (``calculus_ml.symbolic.TIME_LIMIT``)."""
SECONDS = 12.0
"""Most wall-clock seconds one input may take (the budget, plus slack for a busy machine)."""

BIG = "(a+b+c+d+e1+f+g+h+x)**100"
INJECT = "__import__('os').system('touch {canary}')"
OPEN = "open('{canary}', 'w')"
MAXES = " + ".join(f"max(x, a{k}, b{k}, c{k}, d{k})" for k in range(30))

PARSE = [
    INJECT,
    OPEN,
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__",
    "eval(\"" + OPEN + "\")",
    "exec('import os')",
    "lambda: " + OPEN,
    "[" + OPEN + " for _ in (1,)]",
    "f'{{x}}'",
    "'abc'",
    "x if x else y",
    "x @ y",
    "9**9**9",
    "10**10**10",
    "x**(10**100)",
    "x**100**100",
    "1e999",
    "1_000_000_000**100",
    "(" * 60 + "x" + ")" * 60,
    "-" * 1000 + "x",
    "x+" * 600 + "x",
    "x" * 3000,
    "sin(cos(tan(sin(cos(tan(sin(x)))))))",
    "exp(exp(exp(exp(exp(2)))))",
    "log(log(log(log(log(99)))))",
    "sqrt(2**4000)",
    "factorial(10**6)",
    "x\x00",
    "x\u202e+1",
    "1/(x-x)",
    "log(0)",
    "sqrt(-1)",
    "max(I, x)",
    "x**2 + \u0445",  # Cyrillic ha beside Latin x
    "x\u0445**2",  # one name, two scripts
    "\u03bf + o",  # Greek omicron beside Latin o
    "\u0441os(x)",  # Cyrillic es in a function name
    "\uff58**2 + \U0001d465",  # fullwidth and mathematical x: both are x
]

DERIVE = [
    ("(x+a)**50/(x+b)**50", "x", {}),
    (BIG, "a", {"data": ["x"]}),
    ("log((x+a+b+c+d+f+g)**100)", "x", {}),
    ("(x+a)**100*(x+b)**100*(x+c)**100", "x", {}),
    ("sqrt((x+a+b+c+d)**99)", "x", {}),
    ("max(x,a,b,c,d,f,g,h)", "x", {}),
    ("min(x,a,b,c,d,f,g,h,k,l,m,p,q)", "x", {}),
    ("(a+b+c+d+x)**20", "a", {"data": ["x"]}),
    ("(y - (a*x + b + c))**100", ["a", "b", "c"], {"data": ["x", "y"]}),
    ("((x+a)**50 - (x+b)**50)/((x+a)**50 + (x+b)**50)", "x", {}),
    ("(x+a+b+c)**100 - (x+a+b+c)**100 + x", "x", {}),
    ("((x+1)**100)**10", "x", {}),
    ("exp(x)**100*exp(-x)**99", "x", {}),
    ("tan(x)**100/sin(x)**100", "x", {}),
    ("(sigmoid(x)+softplus(x)+tanh(x)+a)**60", "x", {}),
    ("log(x)**100*sqrt(x)**99", "x", {}),
    ("x**x**x**x", "x", {}),
    ("sigmoid(sigmoid(sigmoid(sigmoid(sigmoid(sigmoid(x))))))", "x", {}),
    ("abs(abs(abs(abs(abs(abs(x-1)-2)-3)-4)-5)-6)", "x", {}),
    ("max(x,1)*max(x,2)*max(x,3)*max(x,4)*max(x,5)*max(x,6)", "x", {}),
    ("sign(x)*sign(x-1)*sign(x-2)*sign(x-3)*sign(x-4)", "x", {}),
    (MAXES, "x", {}),
    ("max(p*x, a, b, c, d) + max(p*x, f, g, h, k)", "p", {"data": ["x"]}),
    (" + ".join(f"max(p*x, a{k})" for k in range(8)), "p", {"data": ["x"]}),
    ("(a+b+c+x)**15*(a-b+c-x)**15", "a", {"data": ["x"]}),
    ("(a+b+c+d+e1+f+g+h+x+y)**100*(a-b+c-d+e1-f+g-h+x-y)**100", "a", {"data": ["x", "y"]}),
    (" * ".join(f"(x+a{k})**{k}" for k in range(1, 40)), "x", {}),
    ("relu(2*acosh(sigmoid(x)))", "x", {}),
    ("sign(log(min(tan(3), tan(x)), 2))", "x", {}),
    ("max(acosh(sigmoid(x)), 0)", "x", {}),
    ("sqrt(-x**2 - 1)", "x", {}),
    ("acosh(x)*asin(x)", "x", {}),
    ("log(-exp(x))", "x", {}),
    ("\uff58**2", "\uff58", {}),
    ("x**2", "\u0445", {}),
    ("x**2", INJECT, {}),
    ("x*y", "x", {"data": [INJECT]}),
    ("x**2", [], {}),
    ("x**2", 123, {}),
    (None, "x", {}),
    ("x*y", "x", {"data": ["y"], "reduce": "max"}),
    ("x*y", "x", {"data": ["x"]}),
    ("(x+a+b+c+d)**12", "x", {"time_limit": 1e-9}),
]

MSE = {"catalogue": "mse"}
POWER = {"expr": "(y - (a*x + b + c))**60", "params": ["a", "b", "c"], "data": ["x", "y"]}
XY = {"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 7.0]}
GRAD = [
    (POWER, [0.1, 0.2, 0.3], XY),
    ({"expr": "(y - (a + b*x)**50)**2", "params": ["a", "b"], "data": ["x", "y"]}, [0, 0], XY),
    ({"expr": "(y - dot(w, x))**90", "params": ["w"], "data": ["x", "y"]},
     [0.1, 0.2], {"x": [[1, 2], [3, 4]], "y": [1, 2]}),
    ({"expr": BIG, "params": ["a"], "data": ["x"]}, [0.0], {"x": [1.0], "b": 0, "c": 0, "d": 0,
                                                           "e1": 0, "f": 0, "g": 0, "h": 0}),
    ({"expr": "max(x,a,b,c,d,f,g,h)*y", "params": ["a"], "data": ["y"]}, [0.0], XY),
    ({"expr": MAXES.replace("max(x,", "max(p*x,"), "params": ["p"], "data": ["x"]}, [0.0],
     {"x": [1.0]}),
    ({"expr": INJECT, "params": ["x"], "data": ["y"]}, [0.0], XY),
    (MSE, [1.0], XY),
    (MSE, [1.0, 2.0, 3.0], XY),
    (MSE, ["a", "b"], XY),
    (MSE, "abc", XY),
    (MSE, {"m": "abc", "b": 1}, XY),
    (MSE, {"m": 1}, XY),
    (MSE, {"m": 1, "b": 2, INJECT: 3}, XY),
    (MSE, [[1.0], [2.0], [3.0]], XY),
    (MSE, [1.0, 2.0], {"x": [1.0, math.nan, 3.0], "y": [1, 2, 3]}),
    (MSE, [1.0, 2.0], {"x": [1.0, math.inf, 3.0], "y": [1, 2, 3]}),
    (MSE, [1.0, 2.0], {"x": [1.0, 2.0], "y": [1, 2, 3]}),
    (MSE, [1.0, 2.0], {"x": [], "y": []}),
    (MSE, [1.0, 2.0], {"x": ["a", "b"], "y": [1, 2]}),
    (MSE, [1.0, 2.0], {"x": [[1, 2], [3]], "y": [1, 2]}),
    (MSE, [1.0, 2.0], {"x": [[1.0, 2.0], [3.0, 4.0]], "y": [1, 2]}),
    (MSE, [1.0, 2.0], {"x": [1.0, 2.0]}),
    (MSE, [1.0, 2.0], {"x": [1.0], "y": [1.0], INJECT: [1.0]}),
    ({"catalogue": "ridge"}, [1.0, 2.0], {**XY, "lam": math.nan}),
    ({"catalogue": "ridge"}, [1.0, 2.0], {**XY, "lam": "abc"}),
    ({"catalogue": "logistic", "options": {"vector": True}}, [1.0], {"x": [[1, 2]], "y": [1]}),
    ({"catalogue": "polynomial", "options": {"degree": 10**6}}, [0.0], XY),
    ({"catalogue": "softmax", "options": {"k": 10**6}}, [0.0], XY),
    ({"catalogue": INJECT}, [0.0], XY),
]

SOLVE = ["derive", "--loss", "mse", "--solve", "--values"]
FIT = ["fit", "--loss", "mse", "--csv", "{dir}/films.csv", "--x", "x", "--y", "y"]
CLI = [
    ["derive", INJECT, "--wrt", "x"],
    ["derive", "x**2", "--wrt", INJECT],
    ["derive", "x*y", "--wrt", "x", "--data", INJECT],
    ["derive", "(x+a)**50/(x+b)**50", "--wrt", "x"],
    ["derive", BIG, "--wrt", "a", "--data", "x"],
    ["derive", "max(x,a,b,c,d,f,g,h)", "--wrt", "x"],
    ["derive", "relu(2*acosh(sigmoid(x)))", "--wrt", "x"],
    ["derive", "x**2 + \u0445", "--wrt", "x"],
    ["derive", "\uff58**2", "--wrt", "\uff58", "--format", "json"],
    ["derive", "x", "--wrt", "x", "--format", "evil"],
    ["derive", "--loss", INJECT],
    ["derive", "--loss", "polynomial", "--option", "degree=100000"],
    ["derive", "--loss", "polynomial", "--option", f"degree={INJECT}"],
    ["derive", "--loss", "softmax", "--option", "k=-3"],
    [*SOLVE, "x=1e308,-1e308,1", "y=1,2,3"],
    [*SOLVE, "x=1e200,-1e200,1", "y=1,2,3"],
    [*SOLVE, "x=nan,1,2", "y=1,2,3"],
    [*SOLVE, "x=inf,1,2", "y=1,2,3"],
    [*SOLVE, "x=1,2", "y=1,2,3"],
    [*SOLVE, "x=a,b,c", "y=1,2,3"],
    [*SOLVE, f"x={INJECT}", "y=1"],
    [*SOLVE, "x=1,1,1", "y=1,2,3"],
    ["derive", "--loss", "ridge", "--solve", "--values", "x=1,2,3", "y=1,2,4", "--set", "lam=nan"],
    ["derive", "(y-(a*x+b+c))**60", "--params", "a", "b", "c", "--data", "x", "y", "--hessian",
     "--solve", "--values", "x=1,2,3", "y=1,2,3"],
    ["losses"],
    FIT,
    [*FIT[:4], "{dir}/huge.csv", *FIT[5:]],
    [*FIT[:4], "{dir}/text.csv", *FIT[5:]],
    [*FIT[:4], "{dir}/nan.csv", *FIT[5:]],
    [*FIT[:4], "{dir}/missing.csv", *FIT[5:]],
    [*FIT[:6], INJECT, *FIT[7:]],
    [*FIT, "--lr", "nan"],
    [*FIT, "--method", INJECT],
    [*FIT, "--set", f"lam={INJECT}"],
    ["fit", "--loss", INJECT, "--csv", "{dir}/films.csv", "--x", "x", "--y", "y"],
]

CSV = {
    "films.csv": "x,y\n1,2\n2,4\n3,7\n4,8\n",
    "huge.csv": "x,y\n1e308,1\n-1e308,2\n1,3\n",
    "text.csv": "x,y\nabc,1\n2,2\n",
    "nan.csv": "x,y\nnan,1\n2,2\n",
}

CASES = ([("parse", text) for text in PARSE] + [("derive", *case) for case in DERIVE]
         + [("grad", *case) for case in GRAD] + [("cli", argv) for argv in CLI])

WORKER = r"""
import contextlib, io, json, sys, time, traceback, warnings

import calculus_ml as cm
from calculus_ml import cli, losses, symbolic

symbolic.TIME_LIMIT = float(sys.argv[1])


def loss_of(spec):
    if "catalogue" in spec:
        return losses.get(spec["catalogue"], **spec.get("options", {}))
    return cm.Loss(spec["expr"], spec["params"], spec["data"])


def command(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.main(argv)
        except SystemExit as exit:  # argparse's usage errors
            status = exit.code
    lines = err.getvalue().splitlines()
    warned = all(line.startswith("calculus-ml: warning:") for line in lines)
    if status == 0 and warned or status == 2 and len(lines) == 1 and "Traceback" not in lines[0]:
        return ("ok" if status == 0 else "error"), (lines or [out.getvalue()[:80]])[0]
    return "crash", f"exit {status}, stderr {err.getvalue()[-600:]!r}"


def run(kind, *args):
    if kind == "parse":
        return "ok", str(cm.parse_expression(args[0]))
    if kind == "derive":
        expr, wrt, options = args
        return "ok", str(cm.derive(expr, wrt, **options).results)
    if kind == "grad":
        spec, params, data = args
        return "ok", str(cm.compile_gradient(loss_of(spec)).grad(params, **data))
    return command(args[0])


for case in json.load(sys.stdin):
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", RuntimeWarning)
            outcome, detail = run(*case)
    except cm.CalculusMLError as error:
        outcome, detail = "error", f"{type(error).__name__}: {str(error).splitlines()[0]}"
    except BaseException:
        outcome, detail = "crash", traceback.format_exc()[-1500:]
    seconds = time.perf_counter() - start
    print(json.dumps({"outcome": outcome, "detail": detail[:300], "seconds": seconds}),
          flush=True)
"""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def _filled(value, places: dict[str, str]):
    """``value`` with ``{canary}`` and ``{dir}`` filled in, through lists and dicts."""
    if isinstance(value, str):
        for key, text in places.items():
            value = value.replace("{" + key + "}", text)
        return value
    if isinstance(value, (list, tuple)):
        return [_filled(v, places) for v in value]
    if isinstance(value, dict):
        return {_filled(k, places): _filled(v, places) for k, v in value.items()}
    return value


def run_batch(cases: list, places: dict[str, str], timeout: float,
              time_limit: float = TIME_LIMIT) -> list[dict]:
    """Run ``cases`` in a fresh, memory-capped interpreter with the package's time budget set to
    ``time_limit``; one result per case, in order."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, str(time_limit)], input=json.dumps(_filled(cases, places)),
        capture_output=True, text=True, timeout=timeout, preexec_fn=_limit_memory,
        cwd=places["dir"], env=env,
    )
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    missing = len(cases) - len(results)
    assert missing == 0, f"the batch died after {len(results)} inputs: {proc.stderr[-2000:]}"
    return results


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("hostile")
    for name, text in CSV.items():
        (folder / name).write_text(text)
    return {"canary": str(folder / "canary"), "dir": str(folder)}


@pytest.fixture(scope="module")
def outcomes(places) -> list[dict]:
    results = []
    for start in range(0, len(CASES), 40):
        batch = CASES[start:start + 40]
        results += run_batch(batch, places, timeout=60 + SECONDS * len(batch))
    assert not Path(places["canary"]).exists(), "an input ran code: the canary file exists"
    return results


def _label(case) -> str:
    return f"{case[0]}-" + json.dumps(case[1:], ensure_ascii=True)[:60]


def test_the_corpus_is_large():
    assert len(CASES) >= 120 and {case[0] for case in CASES} == {"parse", "derive", "grad", "cli"}


@pytest.mark.parametrize("index", range(len(CASES)), ids=[_label(c) for c in CASES])
def test_a_hostile_input_ends_cleanly_and_in_time(outcomes, places, index):
    result = outcomes[index]
    assert result["outcome"] in ("ok", "error"), result["detail"]
    assert result["seconds"] < SECONDS, result
    assert not Path(places["canary"]).exists()


EXPECTED = {key if key[0] == "grad" else (key[0], json.dumps(key[1])): want for key, want in {
    ("derive", "max(x,a,b,c,d,f,g,h)"): "BudgetError",
    ("derive", MAXES): "BudgetError",
    ("derive", "(x+a+b+c+d)**12"): "BudgetError",
    ("derive", "max(p*x, a, b, c, d) + max(p*x, f, g, h, k)"): "BudgetError",
    # real nowhere: DomainError, an ExpressionError
    ("derive", "relu(2*acosh(sigmoid(x)))"): "DomainError",
    ("derive", "sign(log(min(tan(3), tan(x)), 2))"): "DomainError",
    ("derive", "max(acosh(sigmoid(x)), 0)"): "DomainError",
    ("parse", "x**2 + \u0445"): "ExpressionError",
    ("parse", "x\u0445**2"): "ExpressionError",
    ("parse", "\u03bf + o"): "ExpressionError",
    ("derive", "x**2"): "ExpressionError",
    ("grad", json.dumps(MSE)): "DataError",
}.items()}
"""The error some inputs must end in (``(kind, first argument)``; every case of it)."""


def test_the_named_inputs_end_in_their_error(outcomes):
    for case, result in zip(CASES, outcomes):
        want = EXPECTED.get((case[0], json.dumps(case[1])))
        if want is not None:
            assert result["detail"].startswith(want), (case, result)


def test_item_one_reproducers_finish_with_a_result(outcomes):
    results = {case[1]: result for case, result in zip(CASES, outcomes) if case[0] == "derive"}
    for text in ("(x+a)**50/(x+b)**50", BIG, "log((x+a+b+c+d+f+g)**100)",
                 "(x+a)**100*(x+b)**100*(x+c)**100", "sqrt((x+a+b+c+d)**99)", "(a+b+c+d+x)**20",
                 "\uff58**2"):
        assert results[text]["outcome"] == "ok", results[text]


def test_the_command_line_refuses_overflow(outcomes):
    for case, result in zip(CASES, outcomes):
        if case[0] == "cli" and "x=1e308,-1e308,1" in case[1]:
            assert result["outcome"] == "error" and "overflow" in result["detail"], result


def test_the_real_command_line_prints_one_line(places):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for argv in (["derive", "max(x,a,b,c,d,f,g,h)", "--wrt", "x"],
                 [*SOLVE, "x=1e308,-1e308,1", "y=1,2,3"]):
        proc = subprocess.run([sys.executable, "-m", "calculus_ml", *argv], capture_output=True,
                              text=True, timeout=60, preexec_fn=_limit_memory, env=env)
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("calculus-ml: error:")


@pytest.mark.slow
def test_item_one_reproducers_within_the_default_budget(places):
    """The issue's reproducers with the package's default time budget (10 s)."""
    cases = [("derive", text, wrt, options) for text, wrt, options in DERIVE[:8]]
    cases.append(("grad", POWER, [0.1, 0.2, 0.3], XY))
    results = run_batch(cases, places, timeout=240, time_limit=10.0)
    for case, result in zip(cases, results):
        assert result["outcome"] in ("ok", "error") and result["seconds"] < 15, (case, result)


if __name__ == "__main__":  # the table of outcomes: python tests/test_hostile.py
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for name, text in CSV.items():
            Path(folder, name).write_text(text)
        spots = {"canary": str(Path(folder, "canary")), "dir": folder}
        for case, result in zip(CASES, run_batch(CASES, spots, timeout=3600)):
            print(f"{result['seconds']:6.2f} s  {result['outcome']:5}  {_label(case)[:70]:70}  "
                  f"{result['detail'][:110]!r}")
