"""Softmax rows nearly one-hot, as the capture records them: every softmax computed in a
sampled training forward pass (``F.softmax``, ``torch.softmax``, a hand-written attention's
``scores.softmax(dim=-1)``, nn.Softmax) is an ActivationStat of kind SOFTMAX whose
``saturated_fraction`` is the share of its rows whose largest probability is within
capture.stats.SATURATION_MARGIN["softmax"] of 1 (their gradient, p(1 - p), is then about that
margin). For saturated_activation to read beside its sigmoid and tanh layers."""

from __future__ import annotations

from dataclasses import dataclass

from lossdoctor.capture.activations import SOFTMAX


@dataclass
class SoftmaxRows:
    """One softmax's share of nearly one-hot rows at its first and last sampled steps."""

    layer: str
    start: float  # at the first sampled step, before any update
    end: float  # at the last sampled step
    samples: int


def softmax_rows(trace) -> list[SoftmaxRows]:
    """Each softmax seen at two or more sampled steps, in the order first seen."""
    by_layer: dict[str, list] = {}
    for stat in trace.activations:
        if stat.kind == SOFTMAX:
            by_layer.setdefault(stat.layer, []).append(stat)
    found = []
    for layer, seen in by_layer.items():
        seen = sorted(seen, key=lambda s: s.step)
        if len(seen) >= 2:
            found.append(SoftmaxRows(layer, seen[0].saturated_fraction,
                                     seen[-1].saturated_fraction, len(seen)))
    return found
