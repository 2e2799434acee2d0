"""Weights far larger than any standard initialization gives their layer.

PyTorch's default init of a linear or convolution layer (kaiming_uniform_ with a=sqrt(5)) draws
weights of root mean square 1/sqrt(3 fan_in). The standard inits stay within three times that:
kaiming_normal_ for ReLU sqrt(2/fan_in) (sqrt(6) = 2.45 times), for tanh (gain 5/3) 2.9 times,
xavier at most as much, orthogonal and identity (an IRNN's recurrent weights) sqrt(3) = 1.73
times, GPT-2's N(0, 0.02) less. Weights drawn N(0, 1) with no fan-in scaling are sqrt(3 fan_in)
times the default: 12 times on a 48-wide layer.
"""

from __future__ import annotations

from torch import nn

#: A weight whose root mean square is more than this many times the same layer's at PyTorch's
#: default init is larger than any standard init makes it (at most 2.9 times, module docstring).
LARGE_WEIGHTS = 4.0


def oversized_weights(model: nn.Module, default: nn.Module) -> dict[str, float]:
    """Name -> how many times larger than at ``default`` (the same model re-initialized the
    default way) each weight of ``model`` is, by root mean square, for the weights (two or more
    dimensions) more than LARGE_WEIGHTS times as large. Embeddings are compared with
    PyTorch's N(0, 1) for them, so a GPT's N(0, 0.02) is no outlier, nor is N(0, 1)."""
    fresh = dict(default.named_parameters())
    scales = {name: _rms(weight) / _rms(fresh[name]) for name, weight in model.named_parameters()
              if weight.dim() >= 2 and name in fresh and _rms(fresh[name]) > 0}
    return {name: scale for name, scale in scales.items() if scale > LARGE_WEIGHTS}


def _rms(weight) -> float:
    return float(weight.detach().float().pow(2).mean().sqrt())
