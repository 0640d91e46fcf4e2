"""Networks as losses: a multi-layer perceptron, or a small network written as named layers.

:func:`network_loss` turns a :class:`~calculus_ml.graph.Network` into a :class:`NetworkLoss`:
an ordinary :class:`~calculus_ml.losses.Loss` whose per-sample term is the network written out
unit by unit (row ``j`` of the first weight matrix a vector parameter ``W1_j``, multiplying the
input vector ``x``; later weights scalars ``W2_j``), so that its derivation, compiled gradient,
optimizers and plots are the package's usual ones. :meth:`NetworkLoss.backpropagation` gives
the same gradient derived once in index notation on the computation graph.

:func:`mlp` builds the catalogue's ``mlp``: ``layers=[d, h, k]``, an activation and an output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property

import sympy

from ..derivation import Derivation
from ..errors import BudgetError, ExpressionError
from ..functions import dot
from ..graph import Backpropagation, Network, backpropagate
from .loss import Loss

__all__ = ["NetworkLoss", "network_loss", "mlp", "ACTIVATIONS", "OUTPUTS", "MAX_UNROLLED_UNITS"]

MAX_UNROLLED_UNITS = 4
"""Units above the input (hidden and output) up to which :meth:`NetworkLoss.derive` writes the
network out unit by unit: the catalogue's 2-3-1 perceptron takes a few seconds; 2-4-1 about
nine, and each unit more costs more."""

ACTIVATIONS = ("tanh", "sigmoid", "relu")
OUTPUTS = {
    "mse": "(y - z2)^2",
    "logistic": "-y*log(a2) - (1 - y)*log(1 - a2)",
    "softmax": "softmax",
}
"""The output losses of :func:`mlp`: squared error of ``z2``, log-loss of ``a2 = σ(z2)``, and
cross-entropy of the softmax of ``z2``."""


class NetworkLoss(Loss):
    """A :class:`~calculus_ml.losses.Loss` built from a network; see :func:`network_loss`.

    ``network`` is the :class:`~calculus_ml.graph.Network`; :meth:`backpropagation` derives
    its gradient once in index notation and :meth:`compiled` trains with it. :meth:`derive`
    (and so :attr:`derivation` and :meth:`gradient`) differentiates the network written out unit
    by unit, one step tree per weight row: its work grows with the number of units, so past
    :data:`MAX_UNROLLED_UNITS` units it refuses at once and points to :meth:`backpropagation`.
    """

    network: Network

    def derive(self, *, verify: bool = True, detail: str = "standard") -> Derivation:
        """The unit-by-unit derivation (see :meth:`Loss.derive`), for a network of at most
        :data:`MAX_UNROLLED_UNITS` units above its input.

        Raises
        ------
        BudgetError
            For a larger network, at once: its gradient is :meth:`backpropagation`'s.
        """
        units = sum(len(self.network.units(layer.name)) for layer in self.network.dense)
        if units > MAX_UNROLLED_UNITS:
            raise BudgetError(
                f"{self.title}: written out unit by unit its {units} units would outlast the "
                f"derivation time limit (at most {MAX_UNROLLED_UNITS} are derived that way); use "
                ".backpropagation() for the gradient derived once in index notation, every "
                "step verified, and .compiled() to evaluate it")
        return super().derive(verify=verify, detail=detail)

    def backpropagation(self, *, verify: bool = True) -> Backpropagation:
        """The gradient by backpropagation on the computation graph, every edge a verified
        derivation and every claim checked at every unit (see
        :func:`~calculus_ml.graph.backpropagate`)."""
        return self._verified if verify else backpropagate(self.network, verify=False)

    def compiled(self):
        """The gradient compiled from :meth:`backpropagation` (once per loss); see
        :func:`calculus_ml.numeric.network.compile_network`."""
        return self._compiled

    @cached_property
    def _compiled(self):
        from ..numeric.network import compile_network

        return compile_network(self.backpropagation())

    @cached_property
    def _verified(self) -> Backpropagation:
        return backpropagate(self.network)


def network_loss(network: Network, *, title: str | None = None, name: str = "network",
                 labels: Mapping[str, str] | None = None) -> NetworkLoss:
    """The loss of ``network`` as a :class:`NetworkLoss` (mean over data).

    """
    first = network.dense[0]
    x = sympy.Symbol(network.input, real=True)
    rows = {}
    for (u,), unit in zip(network.positions(first.name), network.units(first.name)):
        row = network.unit(first.weight, u)
        rows[unit] = dot(row, x) + network.unit(first.bias, u)
    term = network.unrolled(first.name).xreplace(rows)
    params = [row.name for row in (network.unit(first.weight, u)
                                   for (u,) in network.positions(first.name))]
    params += [s.name for p in network.params if p != first.weight for s in network.units(p)]
    data = [network.input] + [s.name for s in network.units(network.target)]
    prediction = None
    if not network.softmax:
        prediction = network.down_to(network.units(network.output)[0], first.name)
        prediction = prediction.xreplace(rows)
    loss = NetworkLoss(term, params, data, title=title or repr(network), name=name,
                       prediction=prediction, labels=labels)
    loss.network = network
    return loss


def mlp(layers: Sequence[int], activation: str = "tanh", output: str = "mse") -> NetworkLoss:
    """A multi-layer perceptron ``layers = [d, h, ..., k]``: each hidden layer
    ``z = W a + b``, ``a = activation(z)``; the output ``z`` scored by ``output``
    (:data:`OUTPUTS`; ``mse`` and ``logistic`` need ``k = 1``, ``softmax`` ``k ≥ 2``).

    Raises
    ------
    ExpressionError
        For a bad layer list, activation or output.
    """
    if (isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence)
            or len(layers) < 3 or len(layers) > 5):
        raise ExpressionError(f"layers must be a list of 3 to 5 sizes [d, h, ..., k], "
                              f"not {layers!r}")
    if activation not in ACTIVATIONS or output not in OUTPUTS:
        raise ExpressionError(f"activation must be one of {', '.join(ACTIVATIONS)} and output "
                              f"one of {', '.join(OUTPUTS)}, not {activation!r}, {output!r}")
    equations, sizes, below = [], {"x": layers[0]}, "x"
    for number, size in enumerate(layers[1:], 1):
        equations.append(f"z{number} = dot(W{number}, {below}) + b{number}")
        sizes[f"z{number}"] = size
        below = f"a{number}"
        if number < len(layers) - 1:
            equations.append(f"{below} = {activation}(z{number})")
    last = len(layers) - 1
    loss = OUTPUTS[output].replace("z2", f"z{last}").replace("a2", f"a{last}")
    if output == "logistic":
        equations.append(f"a{last} = sigmoid(z{last})")
    network = Network(equations, loss, sizes)
    labels = {"logistic": {"y": "binary"}, "mse": {}}.get(
        output, {s.name: "one-hot" for s in network.units("y")})
    shape = "-".join(str(n) for n in layers)
    return network_loss(network, name="mlp", labels=labels,
                        title=f"{output} of a {shape} perceptron ({activation} hidden units)")
