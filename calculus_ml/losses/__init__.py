"""Losses over data: the :class:`Loss` data model, the catalogue of named losses and the
gradients in matrix form.

``calculus_ml.losses.get("mse")`` builds a catalogue loss; :func:`names` lists them and
:func:`describe` says what each one is and which options it takes.
"""

from __future__ import annotations

from .catalogue import Entry, describe, get, names
from .loss import LABEL_DOMAINS, Loss
from .matrix import ElementwiseSigmoid, matrix_symbols
from .network import NetworkLoss, mlp, network_loss

__all__ = ["Loss", "LABEL_DOMAINS", "names", "get", "describe", "Entry", "matrix_symbols",
           "ElementwiseSigmoid", "NetworkLoss", "mlp", "network_loss"]
