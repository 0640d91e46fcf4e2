"""The 2-layer perceptron: derivation, checking and compile time for h = 4, 8, 16 hidden units,
training on the bundled moons, and PyTorch autograd beside the compiled gradient when torch is
installed.

Run: ``python benchmarks/bench_mlp.py`` from the repository root (``PYTHONPATH=.`` in a checkout). Each derivation runs in a fresh process (cold caches).

What should hold
----------------
* **Index-form derivation** (``backpropagate(..., verify=False)``: every edge's local
  derivative derived and verified, the δs and gradients assembled) does not grow with ``h``:
  the index form ``∂ℓ/∂W1[j, k] = δ1[j] x[k]`` is derived once, whatever the number of units.
* **Compile** (``compile_network``) does not grow with ``h``: the code is matrix code on
  ``(n, h)`` arrays.
* **Checking every claim at every unit** against ``sympy.diff`` of the network written out
  unit by unit *does* grow with ``h``: there are ``(d + 2) h + 1`` weights, and each
  ``sympy.diff`` is of an expression with ``h`` hidden units (so about ``h²``).
* The unit-by-unit derivation through the generic engine (``Loss.derivation`` of the same loss,
  one step tree per weight row) also grows with ``h``, and passes the 10 s work budget near
  ``h = 8``: the reason the index form exists.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from timing import median_seconds

ROOT = Path(__file__).resolve().parents[1]

_COLD = """
import time, sys
from calculus_ml import losses
from calculus_ml.graph import backpropagate
from calculus_ml.numeric.network import compile_network
h = int(sys.argv[1])
loss = losses.get("mlp", layers=[2, h, 1], activation="tanh", output="logistic")
t0 = time.perf_counter(); bp = backpropagate(loss.network, verify=False)
t1 = time.perf_counter(); compile_network(bp)
t2 = time.perf_counter(); bp.verify(); bp.matrix_forms
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def cold(h: int) -> tuple[float, float, float]:
    """(derive, compile, check) seconds for ``h`` hidden units, in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", _COLD, str(h)], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    derive, compile_, check = (float(v) for v in out.stdout.split())
    return derive, compile_, check


def training() -> None:
    from calculus_ml import losses
    from calculus_ml.datasets import bundled
    from calculus_ml.graph import backpropagate
    from calculus_ml.numeric.network import compile_network
    from calculus_ml.optimize.optimizers import adam

    data = bundled("moons")
    for h in (4, 8, 16):  # the claims were checked in the table above
        network = losses.get("mlp", layers=[2, h, 1]).network
        compiled = compile_network(backpropagate(network, verify=False))
        start = time.perf_counter()
        theta = adam(lambda t, i: compiled.grad(t, data["x"], data["y"]), compiled.initial(0),
                     learning_rate=0.05, max_iter=500)
        took = time.perf_counter() - start
        accuracy = np.mean((compiled.predict(theta, data["x"])[:, 0] > 0.5) == data["y"])
        print(f"  h = {h:2d}: 500 Adam steps on {len(data['y'])} points in {took:.2f} s, "
              f"accuracy {accuracy:.3f}")


def torch_comparison() -> None:
    try:
        import torch
    except ImportError:
        print("  torch is not installed: comparison skipped")
        return
    from calculus_ml import losses

    torch.set_default_dtype(torch.float64)
    compiled = losses.get("mlp", layers=[2, 4, 1]).compiled()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10_000, 2)), (rng.random(10_000) < 0.5).astype(float)
    theta = rng.normal(size=compiled.size)
    p = {k: torch.tensor(v, requires_grad=True) for k, v in compiled.unpack(theta).items()}
    tx, ty = torch.tensor(x), torch.tensor(y)

    def torch_grad() -> np.ndarray:
        for v in p.values():
            v.grad = None
        z = torch.tanh(tx @ p["W1"].T + p["b1"]) @ p["W2"].T + p["b2"]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z[:, 0], ty)
        loss.backward()
        return np.concatenate([p[k].grad.numpy().ravel() for k in compiled.shapes])

    ours = compiled.grad(theta, x, y)
    theirs = torch_grad()
    agreement = np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs))
    t_ours = median_seconds(lambda: compiled.grad(theta, x, y))
    t_torch = median_seconds(torch_grad)
    print(f"  n = 10,000, h = 4: compiled {t_ours * 1e3:.2f} ms, torch {t_torch * 1e3:.2f} ms, "
          f"relative difference {agreement:.1e}")


def main() -> None:
    print("2-layer perceptron [2, h, 1], tanh, logistic output (cold process each)")
    print("   h   derive (index form)   compile   check every unit (+ matrix forms)")
    for h in (4, 8, 16):
        derive, compile_, check = cold(h)
        print(f"  {h:2d}   {derive:8.2f} s            {compile_:6.3f} s   {check:7.2f} s")
    print("training on the bundled moons with Adam")
    training()
    print("PyTorch autograd")
    torch_comparison()


if __name__ == "__main__":
    main()
