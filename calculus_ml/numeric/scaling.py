"""Standardized features, and the exact map between parameters fitted on them and the originals.

For a prediction ``g(Σⱼ mⱼ xⱼ + b)`` (each slope a parameter, ``w·x`` for a vector), fitting
``m'`` and ``b'`` on ``x' = (x − μ)/σ`` is the same model as ``m = m'/σ``,
``b = b' − Σ m' μ/σ`` on ``x``. Without an intercept the features are only scaled.

Two layers: :func:`linear_form` reads that structure from a loss once (symbolically, and checks
that rescaling really leaves the loss unchanged); :class:`Standardization` and
:func:`feature_statistics` / :func:`rescaled` are NumPy only, working from the plain
:class:`LinearForm` it returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from ..functions import dot


@dataclass(frozen=True)
class LinearForm:
    """How a prediction ``g(Σ m x + b)`` uses its features, by name.

    Attributes
    ----------
    slopes : tuple of (str, str)
        ``(parameter, feature)`` for each term ``m·x`` (or ``dot(w, x)``).
    intercept : str or None
        The parameter added alone, if any.
    """

    slopes: tuple[tuple[str, str], ...]
    intercept: str | None


def linear_form(loss: Any) -> LinearForm:
    """The slopes and intercept of ``loss.prediction``, once rescaling is known to be exact.

    Raises
    ------
    ValueError
        When the loss has no prediction, the prediction is not ``g(Σ m x + b)`` with one
        parameter per feature, the penalty involves a parameter the map moves, or rescaling the
        features would change ℓ beyond its prediction.
    """
    slopes, intercept = _slopes_and_intercept(loss)
    moved = {m for m, _ in slopes} | ({intercept} if intercept else set())
    if getattr(loss.penalty, "free_symbols", set()) & moved:
        raise ValueError("standardize=True would change what the penalty penalises "
                         "(it acts on the rescaled parameters); standardize the data "
                         "yourself, or fit without it")
    _check_equivalent(loss, slopes, intercept)
    return LinearForm(tuple((m.name, x.name) for m, x in slopes),
                      None if intercept is None else intercept.name)


def _slopes_and_intercept(loss: Any) -> tuple[list, sympy.Symbol | None]:
    """``([(slope, feature), ...], intercept)`` of a prediction ``g(Σ m x + b)``."""
    prediction = getattr(loss, "prediction", None)
    if prediction is None:
        raise ValueError("standardize=True needs a loss with a prediction, to know its features")
    while isinstance(prediction, sympy.Function) and len(prediction.args) == 1 and not isinstance(
            prediction, dot):
        prediction = prediction.args[0]
    params, data = set(loss.params), set(loss.data)
    slopes, intercept = [], None
    for term in sympy.Add.make_args(prediction):
        if isinstance(term, dot) and len(term.free_symbols & params) == 1:
            m, x = sorted(term.args, key=lambda s: s not in params)
            slopes.append((m, x))
        elif term.is_Mul and len(term.args) == 2 and {type(a) for a in term.args} <= {
                sympy.Symbol} and set(term.args) & params and set(term.args) & data:
            m, x = sorted(term.args, key=lambda s: s not in params)
            slopes.append((m, x))
        elif term in params and intercept is None:
            intercept = term
        else:
            raise ValueError("standardize=True needs a prediction linear in its features, "
                             f"like m*x + b or dot(w, x) + b; this one has the term {term}")
    if not slopes:
        raise ValueError("standardize=True: the prediction has no feature to standardize")
    if len({m for m, _ in slopes}) < len(slopes) or len({x for _, x in slopes}) < len(slopes):
        raise ValueError("standardize=True needs one parameter per feature")
    return slopes, intercept


def _check_equivalent(loss: Any, slopes: list, intercept: sympy.Symbol | None) -> None:
    """Check symbolically that rescaling features and parameters leaves ℓ unchanged.

    Vectors are checked through one component (``dot(w, x)`` as ``w·x``): the map acts on each
    component alike.
    """
    surrogate = {call: call.args[0] * call.args[1] for call in loss.term.atoms(dot)}
    term = loss.term.xreplace(surrogate)
    swap, shift = {}, sympy.Integer(0)
    for k, (m, x) in enumerate(slopes):
        mu = sympy.Symbol(f"_mu{k}", real=True) if intercept is not None else sympy.Integer(0)
        sigma = sympy.Symbol(f"_sigma{k}", positive=True)
        swap[x] = sigma * x + mu
        swap[m] = m / sigma
        shift += m * mu / sigma
    if intercept is not None:
        swap[intercept] = intercept - shift
    if sympy.expand(term.xreplace(swap) - term) != 0:
        raise ValueError("standardize=True: rescaling the features changes this loss beyond its "
                         "prediction; fit without it")


# --------------------------------------------------------------------------- NumPy only


def feature_statistics(data: Mapping[str, Any], features: Iterable[str], center: bool = True
                       ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Each feature's mean (zeros when not ``center``) and standard deviation (1 where it is 0).

    Parameters
    ----------
    data : mapping
        Arrays by name: ``(n,)``, or ``(n, d)`` for a vector feature (statistics per column).
    features : iterable of str
        The names to standardize.
    center : bool
        Whether the features are centred (a model with an intercept) or only scaled.

    Returns
    -------
    (dict, dict)
        ``mean`` and ``scale`` by feature name.
    """
    mean, scale = {}, {}
    for name in features:
        column = np.asarray(data[name])  # float32 stays float32: sums accumulate in float64
        average = column.mean(axis=0, dtype=np.float64)
        mean[name] = average if center else 0.0 * average
        spread = np.sqrt(_squares_about(column, average) / column.shape[0])
        scale[name] = np.where(spread > 0, spread, 1.0)
    return mean, scale


def _squares_about(column: np.ndarray, center: np.ndarray, rows: int = 1 << 14) -> np.ndarray:
    """``Σᵢ (xᵢ − center)²`` per column, a block of rows at a time: no copy of the data."""
    total = np.zeros(np.shape(center))
    for start in range(0, column.shape[0], rows):
        block = np.subtract(column[start:start + rows], center, dtype=np.float64)
        total += np.einsum("i...,i...->...", block, block)
    return total


def rescaled(data: Mapping[str, Any], mean: Mapping[str, np.ndarray],
             scale: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """A copy of ``data`` with each feature of ``mean`` as ``(x − mean)/scale``.

    The caller's arrays are not modified; names not in ``mean`` are passed through.
    """
    out = dict(data)
    for name in mean:
        out[name] = (data[name] - mean[name]) / scale[name]
    return out


@dataclass(frozen=True)
class Standardization:
    """Feature statistics of some data, and the parameter map of a :class:`LinearForm`.

    Parameters are flat arrays laid out by ``spans`` (``{name: slice}``, as
    :meth:`~calculus_ml.numeric.PreparedGradient.spans` gives).
    """

    form: LinearForm
    mean: dict[str, np.ndarray]
    scale: dict[str, np.ndarray]

    @classmethod
    def fit(cls, form: LinearForm, data: Mapping[str, Any]) -> Standardization:
        """The statistics of ``form``'s features in ``data`` (centred when it has an intercept)."""
        features = [x for _, x in form.slopes]
        return cls(form, *feature_statistics(data, features, form.intercept is not None))

    def transform(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``data`` with the features standardized (the caller's arrays untouched)."""
        return rescaled(data, self.mean, self.scale)

    def to_original(self, thetas: np.ndarray, spans: Mapping[str, slice]) -> np.ndarray:
        """Rows of parameters fitted in standardized units, in the original units."""
        out = np.array(thetas, dtype=float)
        shift = np.zeros(out.shape[0])
        for m, x in self.form.slopes:
            span = spans[m]
            out[:, span] = thetas[:, span] / self.scale[x]
            shift += (out[:, span] * self.mean[x]).sum(axis=1)
        if self.form.intercept is not None:
            out[:, spans[self.form.intercept]] -= shift[:, None]
        return out

    def to_standardized(self, theta: np.ndarray, spans: Mapping[str, slice]) -> np.ndarray:
        """Parameters in the original units, in standardized units (the inverse map)."""
        out = np.array(theta, dtype=float)
        for m, x in self.form.slopes:
            span = spans[m]
            if self.form.intercept is not None:
                out[spans[self.form.intercept]] += float(np.sum(theta[span] * self.mean[x]))
            out[span] = theta[span] * self.scale[x]
        return out


class StandardizedGradient:
    """A prepared gradient seen in standardized units, the data left as they are (no copy).

    The loss on standardized features at parameters ``θ'`` is the loss on the original features
    at ``θ = Mᵀθ'``, the exact linear map of :meth:`Standardization.to_original`; so
    ``J'(θ') = J(Mᵀθ')``, ``∇J' = M ∇J`` and ``∇²J' = M ∇²J Mᵀ``. Optimizers run on it as on a
    :class:`~calculus_ml.numeric.PreparedGradient`.
    """

    def __init__(self, prepared: Any, scaler: Standardization | np.ndarray):
        self.prepared = prepared
        self._M = scaler if isinstance(scaler, np.ndarray) else scaler.to_original(
            np.eye(prepared.size), prepared.spans())
        self.n, self.size = prepared.n, prepared.size
        self.compiled, self.statistics = prepared.compiled, prepared.statistics

    def _original(self, theta: np.ndarray) -> np.ndarray:
        return theta @ self._M

    def value(self, theta: np.ndarray) -> float:
        """J at standardized parameters."""
        return self.prepared.value(self._original(theta))

    def grad(self, theta: np.ndarray) -> np.ndarray:
        """∇J in standardized units."""
        return self._M @ self.prepared.grad(self._original(theta))

    def value_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """``(J, ∇J)`` in standardized units."""
        J, g = self.prepared.value_and_grad(self._original(theta))
        return J, self._M @ g

    def value_grad_hess(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """``(J, ∇J, ∇²J)`` in standardized units."""
        J, g, H = self.prepared.value_grad_hess(self._original(theta))
        return J, self._M @ g, self._M @ H @ self._M.T

    def grad_rows(self, theta: np.ndarray, start: int, stop: int) -> np.ndarray:
        """∇ over rows ``start:stop`` in standardized units."""
        return self._M @ self.prepared.grad_rows(self._original(theta), start, stop)

    def subset(self, rows: Any) -> StandardizedGradient:
        """The same map on some rows of the data."""
        return StandardizedGradient(self.prepared.subset(rows), self._M)

    def flatten(self, params: Any) -> np.ndarray:
        return self.prepared.flatten(params)

    def spans(self) -> dict[str, slice]:
        return self.prepared.spans()

    def unflatten(self, theta: np.ndarray) -> dict[str, Any]:
        return self.prepared.unflatten(theta)
