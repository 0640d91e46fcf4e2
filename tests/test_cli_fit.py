"""``calculus-ml fit`` and the data helpers behind it (calculus_ml.datasets)."""

from __future__ import annotations

import csv
import os
import re

import numpy as np
import pytest

from calculus_ml import losses
from calculus_ml.cli import main
from calculus_ml.datasets import data_for_loss, lesson_data, read_csv, read_regular_file
from calculus_ml.errors import DataError


def write_csv(path, columns: dict) -> str:
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(list(columns))
        out.writerows(zip(*columns.values()))
    return str(path)


@pytest.fixture
def lesson_csv(tmp_path):
    data = lesson_data()
    return write_csv(tmp_path / "lesson.csv", {"hours": data["x"], "score": data["y"]}), data


def fitted(output: str) -> dict[str, float]:
    """``{parameter: fitted value}`` from the printed table."""
    rows = re.findall(r"^(\w+(?:\[\d+\])?)\s+(-?[\d.]+(?:e[-+]\d+)?)", output, re.MULTILINE)
    return {name: float(value) for name, value in rows}


def run(capsys, *argv):
    status = main(["fit", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_fit_prints_the_least_squares_line(lesson_csv, capsys):
    path, data = lesson_csv
    status, out, err = run(capsys, "--loss", "mse", "--csv", path, "--x", "hours", "--y",
                           "score", "--lr", "0.5", "--max-iter", "5000")
    assert status == 0 and err == ""
    slope, intercept = np.polyfit(data["x"], data["y"], 1)
    params = fitted(out)
    assert params["m"] == pytest.approx(slope, rel=1e-5)
    assert params["b"] == pytest.approx(intercept, rel=1e-5)
    assert "converged" in out and "final loss" in out and "iterations" in out
    assert "method: gd, learning rate 0.5" in out  # --lr asks for gradient descent


def test_fit_defaults_to_newton(lesson_csv, capsys):
    path, data = lesson_csv
    status, out, err = run(capsys, "--loss", "mse", "--csv", path, "--x", "hours", "--y", "score")
    assert status == 0 and err == "" and "method: newton" in out
    slope, intercept = np.polyfit(data["x"], data["y"], 1)
    params = fitted(out)
    assert params["m"] == pytest.approx(slope, rel=1e-9)
    assert params["b"] == pytest.approx(intercept, rel=1e-9)


@pytest.mark.parametrize("option, value, message", [
    ("--lr", "fast", "--lr: a number or auto, not 'fast'"),
    ("--seed", "-2", "--seed: an integer >= 0, not '-2'"),
    ("--seed", "one", "--seed: an integer >= 0, not 'one'"),
])
def test_an_option_that_is_not_a_number_is_a_usage_error(lesson_csv, capsys, option, value,
                                                         message):
    with pytest.raises(SystemExit) as info:
        run(capsys, "--loss", "mse", "--csv", lesson_csv[0], "--x", "hours", "--y", "score",
            option, value)
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1
    assert message in err


def test_fit_with_standardize_and_momentum(lesson_csv, capsys):
    path, data = lesson_csv
    status, out, _ = run(capsys, "--loss", "mse", "--csv", path, "--x", "hours", "--y", "score",
                         "--lr", "0.1", "--method", "momentum", "--standardize")
    assert status == 0
    slope, intercept = np.polyfit(data["x"], data["y"], 1)
    assert fitted(out)["m"] == pytest.approx(slope, rel=1e-5)


def test_fit_logistic(tmp_path, capsys):
    rng = np.random.default_rng(0)
    xs = rng.normal(size=200)
    ys = (rng.random(200) < 1 / (1 + np.exp(-(2 * xs - 0.5)))).astype(int)
    path = write_csv(tmp_path / "pass.csv", {"x": xs, "passed": ys})
    status, out, _ = run(capsys, "--loss", "logistic", "--csv", path, "--x", "x", "--y",
                         "passed", "--lr", "1", "--method", "nesterov", "--max-iter", "5000")
    assert status == 0
    params = fitted(out)
    slope = params.get("w", params.get("w[0]"))
    assert 1.0 < slope < 3.5  # the labels came from a slope of 2


@pytest.mark.slow
def test_plot_is_written_atomically(lesson_csv, tmp_path, capsys):
    path, _ = lesson_csv
    figure = tmp_path / "fit.png"
    status, _, err = run(capsys, "--loss", "mse", "--csv", path, "--x", "hours", "--y", "score",
                         "--lr", "0.5", "--plot", str(figure))
    assert status == 0 and err == ""
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".part"] == []


@pytest.mark.slow
def test_plot_to_a_missing_folder_fails_cleanly(lesson_csv, tmp_path, capsys):
    path, _ = lesson_csv
    status, out, err = run(capsys, "--loss", "mse", "--csv", path, "--x", "hours", "--y",
                           "score", "--lr", "0.5", "--plot", str(tmp_path / "no" / "fit.png"))
    assert status == 2 and out == ""
    assert err.startswith("calculus-ml: error: cannot write") and err.count("\n") == 1


@pytest.mark.parametrize("argv, message", [
    (["--x", "hours", "--y", "grade"], "has no column 'grade'"),
    (["--x", "hours", "--y", "score", "--lr", "5"],
     r"diverged at iteration \d+.*try learning_rate="),
    (["--x", "hours", "--y", "score", "--method", "bfgs"], "--method must be one of"),
    (["--x", "hours", "--y", "score", "--lr", "-1"], "--lr must be a positive"),
    (["--x", "hours", "score", "--y", "score"], "feature column"),
    (["--x", "hours", "--y", "score", "--set", "lam"], "NAME=VALUE"),
    (["--x", "hours", "--y", "score", "--method", "minibatch", "--batch-size", "0"],
     "--batch-size must be"),
    (["--x", "hours", "--y", "score", "--tol", "-1"], "--tol must be"),
])
def test_errors_are_one_line_and_exit_2(lesson_csv, capsys, argv, message):
    path, _ = lesson_csv
    status, out, err = run(capsys, "--loss", "mse", "--csv", path, *argv)
    assert status == 2 and out == ""
    assert err.startswith("calculus-ml: error: ") and err.count("\n") == 1
    assert re.search(message, err)


def test_mini_batches_with_a_seed_repeat_and_match_the_api(lesson_csv, capsys):
    """--batch-size, --seed, --tol and --max-iter reach the estimator: two runs print the same
    parameters, those of GradientDescent with the same options."""
    from calculus_ml import GradientDescent

    path, data = lesson_csv
    argv = ["--loss", "mse", "--csv", path, "--x", "hours", "--y", "score", "--method",
            "minibatch", "--batch-size", "7", "--seed", "4", "--lr", "0.0005", "--max-iter", "40",
            "--tol", "1e-3"]
    runs = [run(capsys, *argv) for _ in range(2)]
    assert runs[0][0] == 0 and runs[0][1] == runs[1][1]
    with pytest.warns(Warning):
        fit = GradientDescent("mse", method="minibatch", batch_size=7, random_state=4,
                              learning_rate=0.0005, max_iter=40, tol=1e-3,
                              progress=False).fit(x=data["x"], y=data["y"])
    printed = fitted(runs[0][1])
    assert printed["m"] == pytest.approx(fit.params_["m"], rel=1e-9)
    assert printed["b"] == pytest.approx(fit.params_["b"], rel=1e-9)


def test_unknown_loss_and_missing_file(tmp_path, capsys):
    status, _, err = run(capsys, "--loss", "nope", "--csv", str(tmp_path / "a.csv"), "--x", "a",
                         "--y", "b")
    assert status == 2 and "unknown loss 'nope'" in err
    status, _, err = run(capsys, "--loss", "mse", "--csv", str(tmp_path / "a.csv"), "--x", "a",
                         "--y", "b")
    assert status == 2 and "cannot read" in err


def test_only_regular_files_of_bounded_size_are_read(tmp_path, capsys):
    fifo = tmp_path / "f.csv"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero", tmp_path):
        status, _, err = run(capsys, "--loss", "mse", "--csv", str(path), "--x", "a", "--y", "b")
        assert status == 2 and "not a regular file" in err
    big = tmp_path / "big.csv"
    big.write_text("a,b\n" + "1,2\n" * 100)
    with pytest.raises(DataError, match="larger than 50 bytes"):
        read_csv(big, max_bytes=50)
    assert read_regular_file(big, 1000).startswith(b"a,b\n1,2")
    with pytest.raises(DataError, match="not a file name"):
        read_regular_file("a\0b.csv", 1000)


def test_labels_outside_the_loss_domain_exit_2(tmp_path, capsys):
    path = tmp_path / "pass.csv"
    path.write_text("hours,passed\n1,0\n2,1\n3,2\n4,1\n")
    status, out, err = run(capsys, "--loss", "logistic", "--csv", str(path), "--x", "hours",
                           "--y", "passed")
    assert status == 2 and out == "" and err.count("\n") == 1
    assert "logistic needs y to be 0 or 1; found y = 2 (1 of 4 values)" in err


def test_unconverged_fit_warns_on_one_line(lesson_csv, capsys):
    path, _ = lesson_csv
    status, out, err = run(capsys, "--loss", "mse", "--csv", path, "--x", "hours", "--y",
                           "score", "--lr", "0.01", "--max-iter", "3")
    assert status == 0 and "not converged" in out
    assert err.startswith("calculus-ml: warning: gd stopped at max_iter=3")
    assert err.count("\n") == 1


def test_missing_arguments_are_usage_errors(capsys):
    with pytest.raises(SystemExit) as info:
        main(["fit", "--loss", "mse"])
    assert info.value.code == 2


@pytest.mark.skipif(not hasattr(losses, "get"), reason="the loss catalogue is not there yet")
def test_catalogue_multiple_regression_beside_its_closed_form(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 2))
    ys = X @ [1.5, -0.5] + 2 + rng.normal(0, 0.1, 100)
    path = write_csv(tmp_path / "m.csv", {"a": X[:, 0], "c": X[:, 1], "t": ys})
    status, out, _ = run(capsys, "--loss", "multiple-regression", "--csv", path, "--x", "a",
                         "c", "--y", "t", "--lr", "0.3", "--max-iter", "20000")
    assert status == 0
    expected = np.linalg.lstsq(np.column_stack([X, np.ones(100)]), ys, rcond=None)[0]
    values = list(fitted(out).values())
    np.testing.assert_allclose(values, expected, rtol=1e-5)


# -- datasets -------------------------------------------------------------------------------


def test_lesson_data_is_the_lessons_recipe():
    state = np.random.get_state()
    try:
        np.random.seed(225)
        xs = np.random.rand(30)
        ys = 3 + 50 * xs + np.random.normal(0, 3, 30)
        after = np.random.get_state()[1].copy()
        data = lesson_data()
        assert np.array_equal(np.random.get_state()[1], after)  # global state untouched
    finally:
        np.random.set_state(state)
    assert np.array_equal(data["x"], xs) and np.array_equal(data["y"], ys)


def test_read_csv_reads_named_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("\ufeffa, b ,c\n1,2,3\n4,5.5,-6e1\n\n")
    table = read_csv(path, ["c", "a"])
    assert list(table) == ["c", "a"]
    assert np.array_equal(table["c"], [3.0, -60.0]) and np.array_equal(table["a"], [1.0, 4.0])
    assert list(read_csv(path)) == ["a", "b", "c"]


@pytest.mark.parametrize("text, message", [
    ("", "is empty"),
    ("a,b\n", "header but no rows"),
    ("a,a\n1,2\n", "'a' appears twice"),
    ("a,b\n1,2\n3,secret\n", r"line 3, column 'b': a value that is not a finite number$"),
    ("a,b\n1,2\n3\n", "line 3, column 'b': an empty cell"),
    ("a,b\n1,nan\n", "line 2, column 'b'"),
])
def test_read_csv_errors(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_csv(path, ["a", "b"])


def test_data_for_loss_maps_columns():
    table = {"h": np.arange(3.0), "s": np.ones(3), "k": np.zeros(3)}
    data = data_for_loss(losses.get("mse"), table, ["h"], "s")
    assert set(data) == {"x", "y"} and data["x"] is table["h"]
    with pytest.raises(DataError, match="takes 1 feature column"):
        data_for_loss(losses.get("mse"), table, ["h", "k"], "s")


def test_closed_form_is_printed_beside_the_fit(lesson_csv, capsys, monkeypatch):
    import calculus_ml.cli.commands as cli
    from calculus_ml.losses import Loss

    class Solvable(Loss):
        def solve(self, **data):
            slope, intercept = np.polyfit(data["x"], data["y"], 1)
            return {"m": slope, "b": intercept}

        def learning_rate_bound(self, **data):
            return None  # "does not apply": the estimator estimates the curvature itself

    loss = Solvable("(y - (m*x + b))**2", ["m", "b"], ["x", "y"], prediction="m*x + b")
    monkeypatch.setattr(cli, "_fit_loss", lambda name, n_features: loss)
    path, data = lesson_csv
    status, out, _ = run(capsys, "--loss", "mse", "--csv", path, "--x", "hours", "--y", "score",
                         "--lr", "0.5", "--max-iter", "5000")
    assert status == 0 and "closed form" in out
    row = next(line for line in out.splitlines() if line.startswith("m "))
    fitted_m, exact_m = map(float, row.split()[1:])
    assert fitted_m == pytest.approx(exact_m, rel=1e-6)
