"""Hostile handout specs, data files, labels and command lines: nothing runs, hangs or crashes.

The cases run in batches, each batch in a fresh interpreter under a memory cap
(``resource.setrlimit``) and a timeout, which reports every case's outcome and time as one JSON
line. A case passes when no injected payload ran (the canary file a payload would create does
not exist), it ended as it should — the package's own error, on one line of at most about 300
characters (exit status 2 from the command line), or a clean result — and it took at most
:data:`SECONDS`. ``pytest -s`` prints every case with its outcome and time.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # 92 cases in a memory-capped interpreter, and a killed build

ROOT = Path(__file__).resolve().parents[1]
MEMORY = 1536 << 20
"""The address-space cap of every interpreter running cases (1.5 GiB)."""
SECONDS = 10.0
"""The most one case may take (generous: the machine may be busy)."""
BATCH_TIMEOUT = 300
MESSAGE = 320
"""The longest message allowed: 300 characters and the command line's ``calculus-ml: error:``."""
CANARY = "CANARY"
"""The file an injected payload would create, in the folder of the cases."""

BASE = """title = "T"
[data]
x = [1, 2, 3]
y = [2, 4, 7]
[[section]]
heading = "H"
"""
BINARY = BASE.replace("y = [2, 4, 7]", "y = [0, 1, 1]")
CSV = BASE.replace("x = [1, 2, 3]\ny = [2, 4, 7]", 'csv = "{}"') + 'loss = "mse"\n'
PAYLOAD = f"__import__('os').system('touch {CANARY}')"
MARKUP = ("<script>alert(1)</script> <img src=x onerror=alert(1)> [click](javascript:alert(1)) "
          "<javascript:alert(1)> &lt;b&gt; \\\\immediate\\\\write18{{touch " + CANARY + "}} "
          "`code` $x$ # not a heading | pipe")


@dataclass
class Case:
    """One hostile input: what to run, what must come of it, and the files it needs."""

    name: str
    kind: str  # spec | cli | api
    expect: str  # the error's class name, "ok", or "exit 2" for the command line
    match: str = ""
    toml: str = ""
    argv: list = field(default_factory=list)
    call: dict = field(default_factory=dict)
    files: list = field(default_factory=list)  # (what, name, argument) set up before the run
    spec_name: str = "spec"


def spec(name, expect, toml, match="", files=(), spec_name="spec"):
    return Case(name, "spec", expect, match, toml=toml, files=list(files), spec_name=spec_name)


def cli(name, argv, match, files=()):
    return Case(name, "cli", "exit 2", match, argv=argv, files=list(files))


def api(name, expect, match="", **call):
    return Case(name, "api", expect, match, call=call)


DEEP = "[" * 3000 + "]" * 3000
SLICES = BASE + 'expression = "x*y"\n[[section.plot]]\nkind = "slices"\n'
LOGISTIC = {"x": [1.0, 2.0, 3.0, 4.0]}

CASES = [
    # -- 2: what used to end in a traceback ------------------------------------------------------
    spec("title nested 3,000 deep", "SpecError", f"title = {DEEP}\n", "nested too deeply"),
    spec("inline table nested 3,000 deep", "SpecError", "title = " + "{a=" * 3000 + "1"
         + "}" * 3000 + "\n", "nested too deeply"),
    spec("slope at 1e9999", "SpecError", BASE + 'expression = "x**2"\ntext = "{slope:x=1e9999}"',
         "not a finite number"),
    spec("value at nan", "SpecError", BASE + 'expression = "x**2"\ntext = "{value:x=nan}"',
         "not a finite number"),
    spec("random_state = 'abc'", "SpecError", BASE + 'loss = "mse"\nfit = { random_state = "abc" }',
         "fit.random_state: must be a whole number"),
    spec("xlim = [-1e308, 1e308]", "SpecError", BASE + 'loss = "mse"\n[[section.plot]]\n'
         'kind = "cost_curve"\nxlim = [-1e308, 1e308]', "xlim[1]: must be between"),
    spec("{bound} of a non-quadratic loss", "SpecError", BASE + 'loss = "mae"\ntext = "{bound}"',
         "{bound}: this loss has no largest stable learning rate"),
    spec("{math:D(J, pi)}", "SpecError", BASE + 'loss = "mse"\ntext = "{math:D(J, pi)}"',
         "pi is not a variable"),
    spec("loss table without expression", "SpecError", BASE + 'loss = { params = ["m"], '
         'data = ["x"] }', r"spec.toml: section[1].loss.expression: missing"),
    spec("{walk:²:b}", "SpecError", BASE + 'loss = "mse"\nwalk = { param = "b", learning_rate = '
         '0.1, steps = 3, fixed = { m = 1 } }\ntext = "{walk:²:b}"', "write {walk:K:NAME}"),
    spec("plot kind is a list", "SpecError", BASE + 'loss = "mse"\n[[section.plot]]\nkind = ["x"]',
         "must be one of"),
    spec("fitted_line of softmax", "SpecError", BASE.replace("y = [2, 4, 7]", "y1 = [1, 0, 0]\n"
         "y2 = [0, 1, 0]\ny3 = [0, 0, 1]") + 'loss = "softmax"\n[[section.plot]]\n'
         'kind = "fitted_line"', "needs a loss whose prediction has one feature"),
    spec("fit method is a list", "SpecError", BASE + 'loss = "mse"\nfit = { method = ["gd"] }',
         "fit.method: must be one of"),
    spec("learning_rate = 'fast'", "SpecError", BASE + 'loss = "mse"\n'
         'fit = { learning_rate = "fast" }', "fit.learning_rate: must be a finite number"),
    spec("integer of 5,000 digits", "SpecError", BASE.replace("1, 2, 3", "1" * 5000),
         "not valid TOML: Exceeds the limit"),
    spec("data value of 400 digits", "SpecError", BASE.replace("1, 2, 3", "1, 2, " + "9" * 400),
         "data.x[3]: must be a finite number"),
    spec("{walk:<5,000 digits>:b}", "SpecError", BASE + 'loss = "mse"\nwalk = { param = "b", '
         'learning_rate = 0.1, steps = 3, fixed = { m = 1 } }\ntext = "{walk:' + "9" * 5000
         + ':b}"', "write {walk:K:NAME}"),
    spec("spec not UTF-8", "SpecError", "", "not UTF-8 text",
         files=[("bytes", "spec.toml", "title = \"\xff\xfe\"")]),
    spec("spec of 2 MB", "SpecError", "", "larger than",
         files=[("sparse", "spec.toml", 2 << 20)]),
    spec("custom loss expression as a number", "SpecError", BASE + 'loss = { expression = 5, '
         'params = ["m"], data = ["x"] }', "loss.expression: must be text"),
    # -- 3: spec files stay in their folder ------------------------------------------------------
    spec("csv symlink to /etc/passwd", "SpecError", CSV.format("data/p.csv"), "leads outside",
         files=[("symlink", "data/p.csv", "/etc/passwd")]),
    spec("csv symlink to /dev/zero", "SpecError", CSV.format("z.csv"), "leads outside",
         files=[("symlink", "z.csv", "/dev/zero")]),
    spec("csv FIFO", "SpecError", CSV.format("f.csv"), "not a regular file",
         files=[("fifo", "f.csv", "")]),
    spec("csv ../secret.csv", "SpecError", CSV.format("../secret.csv"), "inside the spec's folder"),
    spec(r"csv ..\..\x.csv", "SpecError", CSV.format(r"..\\..\\x.csv"), "inside the spec's folder"),
    spec("csv C:/x.csv", "SpecError", CSV.format("C:/x.csv"), "inside the spec's folder"),
    spec("csv /etc/passwd", "SpecError", CSV.format("/etc/passwd"), "inside the spec's folder"),
    spec("csv through a symlinked folder", "SpecError", CSV.format("etc/passwd"), "leads outside",
         files=[("symlink", "etc", "/etc")]),
    spec("csv is a folder", "SpecError", CSV.format("data"), "not a regular file",
         files=[("write", "data/a.csv", "x,y\n1,2\n")]),
    spec("csv of 5 MB", "SpecError", CSV.format("big.csv"), "larger than",
         files=[("sparse", "big.csv", 5 << 20)]),
    spec("csv cell is not echoed", "SpecError", CSV.format("s.csv"),
         "line 3, column 'y': a value that is not a finite number",
         files=[("write", "s.csv", "x,y\n1,2\n2,hunter2-password\n")]),
    spec("csv with a NUL byte", "SpecError", CSV.format("n.csv"),
         "line 2, column 'y': a value that is not a finite number",
         files=[("bytes", "n.csv", "x,y\n1,\x002\n")]),
    spec("csv of 20,000 rows", "SpecError", CSV.format("rows.csv"), "at most 10,000 rows",
         files=[("write", "rows.csv", "x,y\n" + "1,2\n" * 20_000)]),
    spec("csv field of 200,000 characters", "SpecError", CSV.format("f.csv"),
         "field larger than field limit", files=[("write", "f.csv", "z" * 200_000 + ",y\n1,2\n")]),
    spec("csv header of 100,000 characters", "SpecError", CSV.format("h.csv").replace(
         'csv = "h.csv"', 'csv = "h.csv"\ncolumns = { x = "a" }'), "no column 'a'",
         files=[("write", "h.csv", "z" * 100_000 + ",y\n1,2\n")]),
    spec("spec is a symlink to /etc/passwd", "SpecError", "", "not valid TOML",
         files=[("symlink", "spec.toml", "/etc/passwd")]),
    spec("csv symlink loop", "SpecError", CSV.format("a.csv"), "cannot read",
         files=[("symlink", "a.csv", "b.csv"), ("symlink", "b.csv", "a.csv")]),
    spec("csv not UTF-8", "SpecError", CSV.format("b.csv"), "not UTF-8 text",
         files=[("bytes", "b.csv", "x,y\n\xff\xfe,1\n")]),
    spec("LaTeX in the handout's name", "SpecError", BASE + 'expression = "x**2"',
         "is not a handout name", spec_name=r"x}\typeout{INJECTED}\iffalse{"),
    api("handout name ../../evil", "HandoutError", "is not a handout name", call="rename",
        to="../../evil"),
    # -- 4: markup is text -----------------------------------------------------------------------
    spec("markup in every text field", "ok", f'title = "{MARKUP}"\nsummary = "{MARKUP}"\n'
         f'goals = ["{MARKUP}"]\n' + BASE.split("\n", 1)[1].replace('"H"', f'"{MARKUP}"')
         + f'expression = "x**2"\ntext = "{MARKUP}"\nafter = "{MARKUP}"\n[[section.plot]]\n'
         f'kind = "tangent"\nat = 1\ncaption = "{MARKUP}"\n'),
    spec("newline in a heading", "SpecError", BASE.replace('"H"', '"H\\n# Fake title"'),
         "heading: must be one line"),
    spec("newline in the title", "SpecError", BASE.replace('"T"', '"T\\n# Fake"'),
         "title: must be one line"),
    spec("terminal escape in text", "SpecError", BASE + 'expression = "x"\ntext = "\\u001b[2J"',
         "control character U+001B"),
    spec("right-to-left override in a heading", "SpecError",
         BASE.replace('"H"', '"H \\u202egnp.exe"'), "control character U+202E"),
    spec("code in an expression", "SpecError", BASE + f'expression = "{PAYLOAD}"',
         "bad expression"),
    spec("code in {math:...}", "SpecError", BASE + f'expression = "x"\ntext = "{{math:{PAYLOAD}}}"',
         "bad expression"),
    spec("code in a custom loss", "SpecError", BASE + f'loss = {{ expression = "{PAYLOAD}", '
         'params = ["m"], data = ["x"] }', "section[1].loss"),
    # -- 5: every value has a bound --------------------------------------------------------------
    spec("{math:D(<8,000 spaces>x}", "SpecError", BASE + 'expression = "x"\ntext = "{math:D('
         + " " * 8000 + 'x}"', "bad expression"),
    spec("{value:x=2|>400000000}", "SpecError", BASE + 'expression = "x"\n'
         'text = "{value:x=2|>400000000}"', "widths and precisions above 99"),
    spec("max_iter = 1e9", "SpecError", BASE + 'loss = "mse"\nfit = { max_iter = 1e9 }',
         "max_iter: must be a whole number from 1 to 20,000"),
    spec("max_iter = 1000000000", "SpecError", BASE + 'loss = "mse"\n'
         'fit = { max_iter = 1000000000 }', "from 1 to 20,000"),
    spec("sgd for 20,000 epochs", "SpecError", BASE + 'loss = "mse"\n'
         'fit = { method = "sgd", max_iter = 20000 }', "60,000 gradient steps"),
    spec("19 fits of 5,000 iterations", "SpecError", BASE + ('loss = "mse"\n'
         'fit = { max_iter = 5000 }\n[[section]]\nheading = "H"\n') * 19, "too many"),
    spec("2,000 slice curves", "SpecError", SLICES + "values = [" + ", ".join(["1"] * 2000) + "]",
         "at most 12 entries"),
    spec("5,000 points", "SpecError", BASE + 'expression = "x"\npoints = ['
         + ", ".join(["{ x = 1 }"] * 5000) + "]", "at most 50 entries"),
    spec("20,000 data values", "SpecError", BASE.replace("x = [1, 2, 3]", "x = [" + ", ".join(
        ["1"] * 20000) + "]"), "at most 10,000 entries"),
    spec("500 sections", "SpecError", BASE + 'expression = "x"\n'
         + '[[section]]\nheading = "H"\n' * 499, "at most 20 entries"),
    spec("1,000 placeholders", "SpecError", BASE + 'expression = "x"\ntext = "'
         + "{value:x=1} " * 1000 + '"', "at most 200 placeholders"),
    spec("text of 100,000 characters", "SpecError", BASE + f'text = "{"a" * 100_000}"',
         "at most 20,000 characters"),
    spec("2,000-character expression", "SpecError", BASE + f'expression = "{"x+" * 700}"',
         "at most 1,000 characters"),
    spec("2,000-character key", "SpecError", BASE + f'{"k" * 2000} = 1', "unknown key"),
    spec("2,000-character bad name", "SpecError", BASE + 'expression = "x"\nwrt = "'
         + "q" * 2000 + '"', "does not occur"),
    spec("polynomial of degree 1,000,000", "SpecError", BASE + 'loss = "polynomial"\n'
         "options = { degree = 1000000 }", "from 1 to 10"),
    spec("softmax of 100,000 classes", "SpecError", BASE + 'loss = "softmax"\n'
         "options = { k = 100000 }", "from 2 to 10"),
    spec("point at 1e300", "SpecError", BASE + 'expression = "x**3"\npoints = [{ x = 1e300 }]',
         "must be between"),
    spec("walk learning rate 1e300", "SpecError", BASE + 'loss = "mse"\nwalk = { param = "b", '
         "learning_rate = 1e300, steps = 3, fixed = { m = 1 } }", "must be between"),
    # -- 8: labels are data too ------------------------------------------------------------------
    spec("logistic spec with y = 5", "SpecError", BINARY.replace("[0, 1, 1]", "[0, 1, 5]")
         + 'loss = "logistic"\nfit = { learning_rate = 0.1 }', "logistic needs y to be 0 or 1"),
    spec("hinge spec with y in {0, 1}", "SpecError", BINARY + 'loss = "hinge"\n'
         "fit = { learning_rate = 0.1 }", "hinge needs y to be -1 or +1"),
    api("fit logistic y = 2", "DataError", "logistic needs y to be 0 or 1; found y = 2",
        call="fit", loss="logistic", data={**LOGISTIC, "y": [0, 1, 2, 1]}),
    api("fit logistic y = 0.5", "DataError", "found y = 0.5", call="fit", loss="logistic",
        data={**LOGISTIC, "y": [0, 0.5, 1, 1]}),
    api("fit logistic (vector) y = 3", "DataError", "found y = 3", call="fit", loss="logistic",
        options={"vector": True}, data={"x": [[1, 2], [2, 1], [3, 3], [0, 1]], "y": [0, 1, 3, 1]}),
    api("fit hinge y in {0, 1}", "DataError", "hinge needs y to be -1 or +1; found y = 0",
        call="fit", loss="hinge", data={**LOGISTIC, "y": [0, 1, 0, 1]}),
    api("fit poisson y = -1", "DataError", "poisson needs y to be at least 0; found y = -1",
        call="fit", loss="poisson", data={**LOGISTIC, "y": [0, 3, -1, 2]}),
    api("grad softmax rows not one-hot", "DataError", "found (y1, y2, y3) = (1, 1, 0)",
        call="grad", loss="softmax", data={**LOGISTIC, "y1": [1, 1, 0, 0], "y2": [0, 1, 1, 0],
                                           "y3": [0, 0, 0, 1]}),
    api("grad softmax label 2", "DataError", "(2, 0, 0)", call="grad", loss="softmax",
        data={**LOGISTIC, "y1": [2, 0, 0, 1], "y2": [0, 1, 0, 0], "y3": [0, 0, 1, 0]}),
    api("grad logistic y = -1", "DataError", "found y = -1", call="grad", loss="logistic",
        data={**LOGISTIC, "y": [0, -1, 1, 1]}),
    api("solve with labels out of domain", "DataError", "custom needs y to be 0 or 1", call="solve",
        data={**LOGISTIC, "y": [0, 1, 7, 1]}),
    api("good labels still fit", "ok", call="fit", loss="logistic",
        data={**LOGISTIC, "y": [0, 0, 1, 1]}),
    api("good one-hot labels", "ok", call="grad", loss="softmax",
        data={**LOGISTIC, "y1": [1, 0, 0, 1], "y2": [0, 1, 0, 0], "y3": [0, 0, 1, 0]}),
    api("GradientDescent('mse')", "ok", call="estimator", loss="mse"),
    api("GradientDescent('msee')", "ExpressionError", "unknown loss 'msee'", call="estimator",
        loss="msee"),
    api("GradientDescent(5)", "TypeError", "loss must be a calculus_ml.losses.Loss",
        call="estimator", loss=5),
    # -- the command line ------------------------------------------------------------------------
    cli("cli fit logistic y = 2", ["fit", "--loss", "logistic", "--csv", "l.csv", "--x", "x",
                                   "--y", "y"], "logistic needs y to be 0 or 1; found y = 2",
        files=[("write", "l.csv", "x,y\n1,0\n2,1\n3,2\n4,1\n")]),
    cli("cli fit poisson y = -3", ["fit", "--loss", "poisson", "--csv", "l.csv", "--x", "x",
                                   "--y", "y"], "found y = -3",
        files=[("write", "l.csv", "x,y\n1,0\n2,1\n3,-3\n4,1\n")]),
    cli("cli fit --csv /dev/zero", ["fit", "--loss", "mse", "--csv", "/dev/zero", "--x", "x",
                                   "--y", "y"],
        "not a regular file"),
    cli("cli fit --csv FIFO", ["fit", "--loss", "mse", "--csv", "f.csv", "--x", "x", "--y", "y"],
        "not a regular file", files=[("fifo", "f.csv", "")]),
    cli("cli handout with a csv symlink", ["handout", "spec.toml", "--out", "out"],
        "leads outside", files=[("write", "spec.toml", CSV.format("p.csv")),
                                ("symlink", "p.csv", "/etc/passwd")]),
    cli("cli fit, a loss name of 2,000 characters", ["fit", "--loss", "m" * 2000, "--csv", "a.csv",
                                                     "--x", "x", "--y", "y"], "unknown loss"),
    cli("cli fit, a CSV path of 2,000 characters", ["fit", "--loss", "mse", "--csv", "d/" * 1000,
                                                    "--x", "x", "--y", "y"], "cannot read"),
    cli("cli derive, 2,000 characters", ["derive", "+".join(["x"] * 1000) + ")", "--wrt", "x"],
        "calculus-ml: error:"),
    cli("cli handout named with LaTeX", ["handout", "a}b.toml", "--out", "out"],
        "is not a handout name", files=[("write", "a}b.toml", BASE + 'expression = "x"')]),
]


RUNNER = r'''
import contextlib, io, json, os, sys, time, traceback
cases = json.load(sys.stdin)
from calculus_ml import handout, losses
from calculus_ml.cli import main
from calculus_ml.errors import CalculusMLError
from calculus_ml.numeric import compile_gradient
from calculus_ml.optimize import GradientDescent


def api(call, folder):
    data = call.get("data", {})
    if call["call"] == "fit":
        GradientDescent(losses.get(call["loss"], **call.get("options", {})), learning_rate=0.1,
                        max_iter=20).fit(**data)
    elif call["call"] == "grad":
        loss = losses.get(call["loss"])
        compile_gradient(loss).grad([0.0] * len(loss.params), **data)
    elif call["call"] == "solve":
        losses.Loss("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], labels={"y": "binary"}
                    ).solve(**data)
    elif call["call"] == "estimator":
        GradientDescent(call["loss"])
    else:  # rename
        (folder / "h.toml").write_text('title = "T"\n[[section]]\nheading = "H"\n')
        built = handout.build(folder / "h.toml")
        built.name = call["to"]
        handout.write(built, folder / "out")


for case in cases:
    folder = __import__("pathlib").Path(case["folder"])
    os.chdir(folder)
    start = time.perf_counter()
    outcome, message = "ok", ""
    try:
        if case["kind"] == "spec":
            built = handout.build(folder / (case["spec_name"] + ".toml"))
            handout.write(built, folder / "out", ["markdown", "latex", "html"])
        elif case["kind"] == "cli":
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                status = main(case["argv"])
            outcome, message = f"exit {status}", err.getvalue()
        else:
            api(case["call"], folder)
    except CalculusMLError as error:
        outcome, message = type(error).__name__, str(error)
    except TypeError as error:
        outcome, message = "TypeError", str(error)
    except BaseException:
        outcome, message = "crash", traceback.format_exc()[-3000:]
    print(json.dumps({"name": case["name"], "outcome": outcome, "message": message,
                      "seconds": time.perf_counter() - start}), flush=True)
'''


def capped() -> None:
    """In the child, before it runs: cap its address space."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def prepare(case: Case, folder: Path) -> None:
    """The case's folder, its spec and its files (links, FIFOs, sparse or binary files)."""
    folder.mkdir(parents=True)
    if case.toml:
        (folder / f"{case.spec_name}.toml").write_text(case.toml, encoding="utf-8")
    for what, name, argument in case.files:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if what == "symlink":
            path.symlink_to(argument)
        elif what == "fifo":
            os.mkfifo(path)
        elif what == "sparse":
            with open(path, "wb") as handle:
                handle.truncate(argument)
        elif what == "bytes":
            path.write_bytes(argument.encode("latin-1"))
        else:
            path.write_text(argument, encoding="utf-8")


def run_batch(cases: list[Case], root: Path) -> dict[str, dict]:
    """Run ``cases`` in one capped interpreter; their results by name (a hang names its case)."""
    payload = []
    for k, case in enumerate(cases):
        folder = root / f"case{k:03d}"
        prepare(case, folder)
        payload.append({**case.__dict__, "folder": str(folder)})
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    try:
        run = subprocess.run([sys.executable, "-c", RUNNER], input=json.dumps(payload), env=env,
                             capture_output=True, text=True, timeout=BATCH_TIMEOUT,
                             preexec_fn=capped, cwd=root)
        lines, failure = run.stdout.splitlines(), run.stderr[-3000:]
    except subprocess.TimeoutExpired as expired:
        lines = (expired.stdout or b"").decode().splitlines()
        failure = "timed out"
    results = {r["name"]: r for r in map(json.loads, lines)}
    for case in cases:
        results.setdefault(case.name, {"name": case.name, "outcome": "not reported (the batch "
                                       f"died: {failure})", "message": "", "seconds": None})
    return results


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("hostile")
    found = run_batch(CASES, root)
    found["(root)"] = root
    found["(canary)"] = any(CANARY in files for _, _, files in os.walk(root))
    return found


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_case(results, case):
    result = results[case.name]
    print(f"\n{case.name}: {result['outcome']} in {result['seconds'] or 0:.2f} s: "
          f"{result['message'][:200]}", end="")
    assert result["outcome"] == case.expect, result["message"]
    assert case.match in result["message"]
    assert result["seconds"] <= SECONDS
    if case.expect != "ok":
        assert len(result["message"].rstrip("\n")) <= MESSAGE
        assert "\n" not in result["message"].rstrip("\n")
        assert result["message"].count(".toml:") <= 1  # the file named once
        assert "root:" not in result["message"] and "hunter2" not in result["message"]


def test_no_payload_ran(results):
    assert not results["(canary)"]


def test_markup_is_text_in_every_format(results):
    assert results["markup in every text field"]["outcome"] == "ok"
    index = next(k for k, case in enumerate(CASES) if case.name == "markup in every text field")
    out = results["(root)"] / f"case{index:03d}" / "out"
    markdown = (out / "spec.md").read_text()
    assert "<script" not in markdown and "<img" not in markdown and "<javascript" not in markdown
    assert not re.search(r"(?<!\\)\]\(javascript:", markdown) and "&lt;b&gt;" not in markdown
    assert [line for line in markdown.splitlines() if line.startswith("# ")] == [
        markdown.splitlines()[0]]
    html = (out / "spec.html").read_text()
    assert "<script" not in html and "<img src=x" not in html
    latex = (out / "spec.tex").read_text()
    assert "\\immediate" not in latex.replace("\\textbackslash{}immediate", "")


def test_the_command_line_refuses_with_one_line_and_status_2(tmp_path):
    """Real processes: a symlinked CSV and bad labels end in one line on stderr, exit 2."""
    (tmp_path / "p.csv").symlink_to("/etc/passwd")
    (tmp_path / "spec.toml").write_text(CSV.format("p.csv"))
    (tmp_path / "l.csv").write_text("x,y\n1,0\n2,1\n3,2\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    for argv, match in ((["handout", "spec.toml", "--out", "out"], "leads outside"),
                        (["fit", "--loss", "logistic", "--csv", "l.csv", "--x", "x", "--y", "y"],
                         "logistic needs y to be 0 or 1")):
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "calculus_ml", *argv], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60, preexec_fn=capped)
        assert run.returncode == 2 and run.stdout == ""
        assert run.stderr.startswith("calculus-ml: error:") and match in run.stderr
        assert run.stderr.count("\n") == 1 and "root:" not in run.stderr
        assert time.perf_counter() - start <= 3 * SECONDS


@pytest.mark.slow
def test_a_killed_build_leaves_nothing_after_the_next(tmp_path):
    """``kill -9`` in the middle of writing leaves the temporary folder; the next build into the
    same folder removes it."""
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    command = [sys.executable, "-m", "calculus_ml", "handout", "07-gradient-descent", "--out",
               str(out), "--format", "markdown"]
    child = subprocess.Popen(command, env=env, preexec_fn=capped, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while child.poll() is None and time.monotonic() < deadline:
        staged = [p for p in out.glob(".calculus-ml-*") if any(p.iterdir())] if out.is_dir() else []
        if staged:
            os.kill(child.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, "the build ended before it could be killed"
    assert list(out.glob(".calculus-ml-*")), "the killed build left nothing to clean"
    run = subprocess.run([*command[:4], "02-derivative-rules", *command[5:]], env=env,
                         capture_output=True, text=True, timeout=120, preexec_fn=capped)
    assert run.returncode == 0, run.stderr
    assert not list(out.glob(".calculus-ml-*")) and not list(out.rglob("*.part"))
    assert (out / "02-derivative-rules.md").is_file()
