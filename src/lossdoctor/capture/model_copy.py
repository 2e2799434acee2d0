"""Copies of the user's model taken while the script runs, without a word on its output."""

from __future__ import annotations

import copy
import warnings

from torch import nn


def quiet_copy(model: nn.Module) -> nn.Module:
    """A deep copy of ``model``. Warnings that copying raises stay inside lossdoctor: a Keras
    model warns that its optimizer's variables are not copied, which the user never asked for."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return copy.deepcopy(model)
