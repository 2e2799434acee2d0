"""Gradient clipping the script does itself: ``clip_grad_norm_`` or ``clip_grad_value_``
between backward and the optimizer step, as nanoGPT, Lightning's ``gradient_clip_val`` and the
Hugging Face Trainer's ``max_grad_norm`` (on by default) do. Replays of the training clip the
same way: without it, the replay of a run that trains only because it clips blows up, and every
experiment compared with that replay (another initialization, a lower learning rate) seems to
fix what the user's run never had. A name bound before the watch began (``from torch.nn.utils
import clip_grad_norm_`` run before ``lossdoctor.watch()``) calls the original unseen; under
``lossdoctor run`` the script's imports come after."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch

from lossdoctor.capture.tracing import tracing


@dataclass(frozen=True)
class GradientClip:
    kind: str  # "norm" (clip_grad_norm_) or "value" (clip_grad_value_)
    limit: float
    norm_type: float = 2.0

    def apply(self, parameters) -> None:
        if self.kind == "norm":
            torch.nn.utils.clip_grad_norm_(parameters, self.limit, self.norm_type)
        else:
            torch.nn.utils.clip_grad_value_(parameters, self.limit)


def clip_wrapper(recorder, kind: str):
    """For ``torch.nn.utils.clip_grad_norm_`` (``kind`` "norm") or ``clip_grad_value_``
    ("value"): the original's result, and the settings told to ``recorder``."""

    def wrap(original):
        @functools.wraps(original)
        def clip(parameters, *args, **kwargs):
            if not isinstance(parameters, torch.Tensor):
                parameters = list(parameters)  # read twice: by the clip and by _has_gradients
            result = original(parameters, *args, **kwargs)
            settings = None if tracing() else _settings(kind, args, kwargs)
            if settings is not None and _has_gradients(parameters):
                recorder.gradients_clipped(settings)
            elif settings is not None:
                recorder.clip_without_gradients(settings)
            return result

        return clip

    return wrap


def _has_gradients(parameters) -> bool:
    """Whether the clip had gradients to act on: one called before backward, when
    ``zero_grad()`` has set every gradient to None, clips nothing (projects7's
    word_language_model with the clip moved above ``loss.backward()``), and replays that clip
    after backward would train a run the user's is not."""
    tensors = [parameters] if isinstance(parameters, torch.Tensor) else parameters
    return any(getattr(t, "grad", None) is not None for t in tensors)


def _settings(kind: str, args: tuple, kwargs: dict) -> GradientClip | None:
    limit_name = "max_norm" if kind == "norm" else "clip_value"
    try:
        limit = float(args[0] if args else kwargs[limit_name])
        norm_type = float(args[1] if len(args) > 1 else kwargs.get("norm_type", 2.0))
    except (KeyError, TypeError, ValueError):
        return None
    if not (limit > 0 and math.isfinite(limit)):  # max_norm=inf measures without clipping
        return None
    return GradientClip(kind, limit, norm_type)
