"""Computation graphs of small networks: the network as named layers, backpropagation derived
step by step in index notation (every edge's local derivative a verified derivation, each δ
derived once and reused), its matrix form, and the numbers on the graph at one data point.

``network``
    :class:`Network`: named layers, nodes and edges, index notation, the network unrolled.
``backprop``
    :func:`backpropagate` and :class:`Backpropagation`: edges, δs, gradients, means over data.
``verify``
    Every claim checked at every unit against ``sympy.diff`` of the unrolled network.
``matrix``
    The claims in matrix form (``δ1 = (W2ᵀ δ2) ⊙ tanh′(z1)``), checked against the index form.
``values``
    Forward values, backward δs and gradients at one data point; the sum over paths.
"""

from .backprop import Backpropagation, Claim, Edge, backpropagate, delta_name
from .network import Layer, Network

__all__ = ["Network", "Layer", "Backpropagation", "Claim", "Edge", "backpropagate",
           "delta_name"]
