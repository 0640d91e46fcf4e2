"""Check a backpropagation's index-form claims unit by unit against ``sympy.diff``.

The index form (``δ1[j] = δ2 W2[j] (1 − a1[j]²)``) is derived once, whatever the number of
units; here it is instantiated at every unit of the network's concrete size and compared with
``sympy.diff`` of the network written out unit by unit (:meth:`Network.unrolled`): an edge's
label with the derivative of the layer's equation by one unit below it, a δ with the
derivative of the loss by one unit of its node, a gradient with the derivative of the loss by
one weight. The difference must expand to 0 (a proof) or, when it does not (pieces of
``relu``, ratios of sigmoids), vanish at random real points.
"""

from __future__ import annotations

import itertools

import sympy

from ..errors import VerificationError
from ..steps.real import is_real_somewhere, numeric_verdict
from ..steps.verify import nowhere_real
from ..steps.zero import vanishes
from ..symbolic import check_time
from .backprop import Backpropagation, Claim, Edge
from .network import Network

__all__ = ["verify_backpropagation", "instantiate", "assignments", "agree"]


def assignments(network: Network, expr: sympy.Expr) -> list[dict[sympy.Symbol, int]]:
    """Every assignment of concrete units to the unit indices free in ``expr``."""
    ranges = {}
    for node, index in network.indices.items():
        if index is not None and index in expr.free_symbols:
            size = network.sizes.get(node, network.sizes[network.output])
            ranges[index] = range(1, size + 1)
    keys = list(ranges)
    return [dict(zip(keys, values)) for values in itertools.product(*ranges.values())]


def instantiate(network: Network, expr: sympy.Expr, at: dict[sympy.Symbol, int]) -> sympy.Expr:
    """``expr`` at concrete units: indices set, sums over units written out, each indexed
    node or weight its unit symbol (``W1[2, 1]`` is ``W1_2_1``)."""
    expr = expr.xreplace({**at, **network.size_values})
    if expr.has(sympy.Sum):
        expr = expr.doit()
    units = {a: network.unit(a.base.label.name, *(int(i) for i in a.indices))
             for a in expr.atoms(sympy.Indexed)}
    return expr.xreplace(units)


def agree(oracle: sympy.Expr, claim: sympy.Expr, what: str) -> str:
    """How ``claim`` was shown equal to ``oracle``: "symbolic" (the difference vanishes,
    :func:`~calculus_ml.steps.zero.vanishes`) or "numeric" (equal at random real points,
    :func:`~calculus_ml.steps.real.numeric_verdict`).

    Raises
    ------
    VerificationError
        Naming ``what``, if they differ at a point, or if neither is proved and no real point
        was found to compare them at.
    DomainError
        If the difference is real at none of the points tried.
    """
    check_time()
    if vanishes(oracle - claim):
        return "symbolic"
    verdict = numeric_verdict(oracle, claim)
    if verdict:
        return "numeric"
    if verdict is None and not is_real_somewhere(oracle - claim):
        raise nowhere_real(claim)
    why = "disagrees with" if verdict is False else "cannot be checked (no real points) against"
    raise VerificationError(f"{what}: {sympy.sstr(claim)} {why} sympy.diff's "
                            f"{sympy.sstr(oracle)}")


def _edge_proof(network: Network, edge: Edge) -> str:
    definitions = network.definitions
    proofs = []
    source = network.node_at(edge.source)
    head = sympy.Integer(0) if edge.target == "ℓ" else network.at(edge.target)
    for at in assignments(network, sympy.Tuple(edge.result, source, head)):
        claim = instantiate(network, edge.result, at)
        if edge.target == "ℓ":
            target = network.unit_loss()
        else:
            target = definitions[instantiate(network, head, at)]
        oracle = sympy.diff(target, instantiate(network, source, at))
        proofs.append(agree(oracle, claim, f"edge {edge.key} at {at}"))
    return "numeric" if "numeric" in proofs else "symbolic"


def _claim_proof(network: Network, claim: Claim, upto: str | None, wrt: sympy.Expr,
                 loss: sympy.Expr) -> str:
    proofs = []
    for at in assignments(network, sympy.Tuple(claim.result, wrt)):
        mine = network.down_to(instantiate(network, claim.result, at), upto)
        oracle = sympy.diff(loss, instantiate(network, wrt, at))
        proofs.append(agree(oracle, mine, f"{sympy.sstr(claim.lhs)} at {at}"))
    return "numeric" if "numeric" in proofs else "symbolic"


def verify_backpropagation(bp: Backpropagation) -> dict[str, int]:
    """Check every edge label, δ and per-sample gradient of ``bp`` at every unit; set each
    claim's ``proof``; return ``{"symbolic": count, "numeric": count}``.

    Raises
    ------
    VerificationError
        If one of them differs from ``sympy.diff`` at some unit.
    """
    net = bp.network
    proofs = [_edge_proof(net, edge) for edge in bp.edges.values()]
    for node, claim in bp.deltas.items():
        claim.proof = _claim_proof(net, claim, node, net.at(node), net.unrolled(node))
        proofs.append(claim.proof)
    loss = net.unrolled()
    for param, claim in bp.gradients.items():
        claim.proof = _claim_proof(net, claim, None, net.param_at(param), loss)
        proofs.append(claim.proof)
        bp.means[param].proof = claim.proof  # the mean over data: by linearity of the sum
    return {kind: proofs.count(kind) for kind in ("symbolic", "numeric")}
