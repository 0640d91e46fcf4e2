"""A small feed-forward network written as named layers, one unit's equation each.

``z1 = dot(W1, x) + b1`` is a *dense* layer: unit ``j`` of ``z1`` is the inner product of row
``j`` of the weight matrix ``W1`` with the layer below, plus the bias ``b1[j]``. ``a1 = tanh(z1)``
is an *elementwise* layer. The loss is one expression in the last layer and the targets
(``(y - z2)^2``), or ``"softmax"``: the cross-entropy of the last layer's logits against one-hot
targets. Sizes are given for the input and for every dense layer.

A :class:`Network` knows its nodes and layers (the computation graph), writes each node in index
notation (``z1[j]``, ``W1[j, k]``) and unrolls the network into plain scalar expressions for a
concrete size: the oracle every index-form step is checked against, and the per-sample term of
the catalogue's ``mlp`` loss.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import sympy

from ..errors import ExpressionError
from ..functions import dot
from ..parsing import parse_expression

__all__ = ["Layer", "Network", "SOFTMAX", "MOST_UNITS"]

SOFTMAX = "softmax"
"""The loss keyword for the cross-entropy of the last layer's logits, one-hot targets."""

MOST_UNITS = 64
"""The most units (or inputs) any layer may have: every weight gets its own symbol when a
network is unrolled for checking."""

_INDEX_LETTERS = ("k", "j", "m", "p", "q", "r")
"""Unit indices: ``k`` for the input, then one per hidden dense layer; ``c`` for the last one."""


@dataclass(frozen=True)
class Layer:
    """One named layer: ``name = expr``, a ``"dense"`` or ``"elementwise"`` equation.

    ``source`` is the node below; a dense layer has ``weight`` and ``bias`` parameters.
    """

    name: str
    expr: sympy.Expr
    kind: str
    source: str
    weight: str | None = None
    bias: str | None = None


class Network:
    """A feed-forward network of named layers and a loss.

    Parameters
    ----------
    layers : sequence of str or (name, expression) pairs
        ``"z1 = dot(W1, x) + b1"``, ``"a1 = tanh(z1)"``, ... in order; each expression is parsed
        safely.
    loss : str
        The per-sample loss in the last layer's name and the targets (``"(y - z2)^2"``), or
        ``"softmax"``.
    sizes : mapping
        Units of the input and of every dense layer: ``{"x": 2, "z1": 4, "z2": 1}``.
    inputs, target : str
        The input's name (``"x"``) and the target's (``"y"``).

    Raises
    ------
    ExpressionError
        For a layer that is neither dense nor elementwise, a name used before it is defined or
        defined twice, a missing or bad size, or a loss in other names.
    """

    def __init__(self, layers: Sequence[str | tuple[str, str]], loss: str,
                 sizes: Mapping[str, int], *, inputs: str = "x", target: str = "y"):
        self.input, self.target = inputs, target
        self.layers: list[Layer] = []
        known = {inputs}
        for entry in layers:
            name, text = _split(entry)
            if name in known or name == target:
                raise ExpressionError(f"layer {name!r} is defined twice (or is the input/target)")
            layer = _classify(name, parse_expression(text), known)
            self.layers.append(layer)
            known |= {name} | {p for p in (layer.weight, layer.bias) if p}
        if not self.layers or self.layers[0].kind != "dense":
            raise ExpressionError(f"the first layer must be dense: dot(W, {inputs}) + b")
        self.sizes = _sizes(self, sizes)
        self.softmax = loss == SOFTMAX
        if self.softmax:
            if self.sizes[self.output] < 2:
                raise ExpressionError("a softmax output needs at least 2 units")
            self.loss = None
        else:
            self.loss = parse_expression(loss)
            allowed = {self.output, target}
            extra = {s.name for s in self.loss.free_symbols} - allowed
            if extra or self.sizes[self.output] != 1:
                raise ExpressionError(
                    f"the loss may use only {self.output!r} (one unit) and {target!r}; "
                    f"not {', '.join(sorted(extra)) or 'a layer of several units'}")

    # -- the graph ---------------------------------------------------------------------------

    @property
    def output(self) -> str:
        """The last layer's name."""
        return self.layers[-1].name

    @property
    def dense(self) -> list[Layer]:
        """The dense layers, in order."""
        return [layer for layer in self.layers if layer.kind == "dense"]

    @property
    def params(self) -> list[str]:
        """Parameter names in order: each dense layer's weight, then its bias."""
        return [p for layer in self.dense for p in (layer.weight, layer.bias)]

    def layer(self, name: str) -> Layer:
        """The layer named ``name``."""
        return next(layer for layer in self.layers if layer.name == name)

    # -- index notation ----------------------------------------------------------------------

    @cached_property
    def indices(self) -> dict[str, sympy.Symbol | None]:
        """The unit index of every node (``None`` for a single unit)."""
        letters = iter(_INDEX_LETTERS[1:])
        out: dict[str, sympy.Symbol | None] = {}
        for name in [self.input] + [layer.name for layer in self.layers]:
            if name in out:
                continue
            size = self.sizes[name]
            if name == self.input:
                letter = _INDEX_LETTERS[0]
            elif name == self.dense[-1].name or self.layer(name).source == self.dense[-1].name:
                letter = "c"
            elif self.layer(name).kind == "elementwise":
                out[name] = out[self.layer(name).source]
                continue
            else:
                letter = next(letters)
            out[name] = (sympy.Symbol(letter, integer=True, positive=True)
                         if size > 1 else None)
        out[self.target] = out[self.output] if self.softmax else None
        return out

    def at(self, name: str) -> sympy.Expr:
        """Node ``name`` in index notation: ``z1[j]``, or the symbol ``z2`` for one unit."""
        index = self.indices[name]
        return sympy.Symbol(name, real=True) if index is None else _base(name)[index]

    def param_at(self, name: str) -> sympy.Expr:
        """Parameter ``name`` in index notation: ``W1[j, k]`` and ``b1[j]`` (``W2[j]``, ``b2``
        for an output of one unit)."""
        layer = next(la for la in self.dense if name in (la.weight, la.bias))
        out, into = self.indices[layer.name], self.indices[layer.source]
        idx = (out,) if name == layer.bias else (out, into)
        idx = tuple(i for i in idx if i is not None)
        return _base(name)[idx] if idx else sympy.Symbol(name, real=True)

    def node_at(self, name: str) -> sympy.Expr:
        """Node or parameter ``name`` in index notation (:meth:`param_at` for a parameter,
        :meth:`at` for a node)."""
        return self.param_at(name) if name in self.params else self.at(name)

    def size_symbol(self, node: str) -> sympy.Symbol:
        """The symbol of ``node``'s number of units: ``d`` for the input, ``K`` for the output,
        ``h`` (``h2``, ...) for hidden layers."""
        if node == self.input:
            return sympy.Symbol("d", integer=True, positive=True)
        dense = [la.name for la in self.dense]
        layer = self.layer(node)
        name = layer.name if layer.kind == "dense" else next(
            la.name for la in self.dense if self.indices[la.name] == self.indices[node])
        place = dense.index(name)
        label = "K" if place == len(dense) - 1 else ("h" if place == 0 else f"h{place + 1}")
        return sympy.Symbol(label, integer=True, positive=True)

    @cached_property
    def size_values(self) -> dict[sympy.Symbol, int]:
        """``{size symbol: number of units}`` for every node with a size."""
        return {self.size_symbol(n): self.sizes[n] for n in self.sizes}

    # -- unrolled for a concrete size --------------------------------------------------------

    def unit(self, name: str, *position: int) -> sympy.Symbol:
        """The scalar symbol of one unit (or one weight) at a concrete position: ``z1_3``,
        ``W1_3_2``; a single unit is the name itself."""
        shown = [str(p) for p in position if p]
        return sympy.Symbol("_".join([name] + shown), real=True)

    def positions(self, name: str) -> list[tuple[int, ...]]:
        """The concrete positions of node or parameter ``name``: ``(j,)`` or ``(j, k)``, with
        0 standing for an absent index."""
        if name in self.sizes or name == self.target:
            size = self.sizes.get(name, self.sizes[self.output] if self.softmax else 1)
            return [(u if size > 1 else 0,) for u in range(1, size + 1)]
        layer = next(la for la in self.dense if name in (la.weight, la.bias))
        n_out, n_in = self.sizes[layer.name], self.sizes[layer.source]
        outs = [u if n_out > 1 else 0 for u in range(1, n_out + 1)]
        if name == layer.bias:
            return [(o,) for o in outs]
        return [(o, u if n_in > 1 else 0) for o in outs for u in range(1, n_in + 1)]

    def index_values(self, name: str) -> list[dict[sympy.Symbol, int]]:
        """``{index: unit}`` for each position of node or parameter ``name``, in position
        order: ``[{j: 1, k: 1}, {j: 1, k: 2}, ...]`` for ``W1[j, k]``."""
        at = self.node_at(name)
        indices = at.indices if isinstance(at, sympy.Indexed) else ()
        return [dict(zip(indices, [p for p in position if p]))
                for position in self.positions(name)]

    def units(self, name: str) -> list[sympy.Symbol]:
        """Every unit (or weight) symbol of ``name``, in position order."""
        return [self.unit(name, *p) for p in self.positions(name)]

    @cached_property
    def definitions(self) -> dict[sympy.Symbol, sympy.Expr]:
        """Each unit symbol of every layer, defined by its equation in the units below."""
        out = {}
        for layer in self.layers:
            below = self.units(layer.source)
            for (u,), symbol in zip(self.positions(layer.name), self.units(layer.name)):
                if layer.kind == "dense":
                    weights = [self.unit(layer.weight, u, p[0]) for p in self.positions(layer.source)]
                    value = sympy.Add(*(w * a for w, a in zip(weights, below)))
                    value += self.unit(layer.bias, u)
                else:
                    arg = sympy.Symbol(layer.source, real=True)
                    value = layer.expr.xreplace({arg: below[max(u, 1) - 1]})
                out[symbol] = value
        return out

    def unit_loss(self) -> sympy.Expr:
        """The per-sample loss in the output units and targets."""
        outs, ys = self.units(self.output), self.units(self.target)
        if self.softmax:
            return (sympy.log(sympy.Add(*(sympy.exp(z) for z in outs)))
                    - sympy.Add(*(y * z for y, z in zip(ys, outs))))
        return self.loss.xreplace({sympy.Symbol(self.output, real=True): outs[0],
                                   sympy.Symbol(self.target, real=True): ys[0]})

    def unrolled(self, upto: str | None = None) -> sympy.Expr:
        """The per-sample loss written out in the units of node ``upto`` (default: in the
        inputs and parameters), every later layer substituted."""
        return self.down_to(self.unit_loss(), upto)

    def down_to(self, expr: sympy.Expr, upto: str | None = None) -> sympy.Expr:
        """``expr`` in the units of node ``upto`` (default: inputs and weights): each later
        layer's units replaced by their definitions, the last layer first."""
        for layer in reversed(self.layers):
            if layer.name == upto:
                break
            units = set(self.units(layer.name))
            expr = expr.xreplace({s: v for s, v in self.definitions.items() if s in units})
        return expr

    def __repr__(self) -> str:
        shown = "; ".join(f"{la.name} = {sympy.sstr(la.expr)}" for la in self.layers)
        return f"<Network {shown}; loss {SOFTMAX if self.softmax else sympy.sstr(self.loss)}>"


def _base(name: str) -> sympy.IndexedBase:
    return sympy.IndexedBase(name, real=True)


def _split(entry: str | tuple[str, str]) -> tuple[str, str]:
    if isinstance(entry, str):
        name, sep, text = entry.partition("=")
        if not sep:
            raise ExpressionError(f"a layer is written 'name = expression', not {entry!r}")
    else:
        name, text = entry
    name = name.strip()
    if not name.isidentifier():
        raise ExpressionError(f"a layer name must be a plain name, not {name!r}")
    return name, text


def _classify(name: str, expr: sympy.Expr, known: set[str]) -> Layer:
    """A dense layer ``dot(W, a) + b`` (W, b new names) or an elementwise ``f(a)``."""
    calls = list(expr.atoms(dot))
    if calls:
        (call,) = calls
        weight, source = (a.name for a in call.args)
        rest = expr - call
        if (source in known and weight not in known and rest.is_Symbol
                and rest.name not in known | {weight}):
            return Layer(name, expr, "dense", source, weight, rest.name)
    else:
        used = {s.name for s in expr.free_symbols}
        if len(used) == 1 and used <= known:
            return Layer(name, expr, "elementwise", used.pop())
    raise ExpressionError(
        f"layer {name} = {sympy.sstr(expr)}: write a dense layer 'dot(W, a) + b' (new names W "
        f"and b, a an earlier layer or the input) or a function of one earlier layer")


def _sizes(network: Network, sizes: Mapping[str, int]) -> dict[str, int]:
    out = {}
    for name in [network.input] + [la.name for la in network.dense]:
        size = sizes.get(name)
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MOST_UNITS:
            raise ExpressionError(f"the size of {name!r} must be an integer from 1 to "
                                  f"{MOST_UNITS}, not {size!r}")
        out[name] = size
    for layer in network.layers:
        if layer.kind == "elementwise":
            out[layer.name] = out[layer.source]
    return out
