"""Position-free features of images and sequences, for learners that see one column per pixel.

A linear model or trees on raw pixels cannot see "a short bar anywhere in the picture": each
position is a separate column. Random convolutional kernels (as in ROCKET, Dempster et al. 2020,
for time series) fix that cheaply: many random kernels slide over the input, and each yields two
numbers per example, pooled over positions: its largest response and the share of positions
where it responds (PPV). The kernels are random and the labels are not looked at, so a learner
fit on these features beats a constant guess only if the labels depend on the inputs.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

KERNELS_PER_DILATION = 16
#: Rows convolved at a time, to bound memory on long sequences and large images.
CHUNK_ROWS = 512
#: Kernel size and dilations per input kind: 3x3 on images; length 9 on sequences (ROCKET's).
SHAPES = {4: (3, (1, 2)), 3: (9, (1, 2, 4))}


def random_kernel_features(inputs: torch.Tensor, seed: int = 0) -> np.ndarray | None:
    """(rows, 2 x kernels) pooled responses of random kernels over channel-first ``inputs``
    ((rows, channels, length) or (rows, channels, height, width)); None for other inputs."""
    if inputs.dim() not in SHAPES or not inputs.is_floating_point():
        return None
    size, dilations = SHAPES[inputs.dim()]
    standardized = _standardized(inputs.detach().float())
    generator = torch.Generator().manual_seed(seed)
    kernels = [_random_kernel(standardized, size, d, generator) for d in dilations]
    chunks = [
        torch.cat([_pooled(chunk, *kernel) for kernel in kernels], dim=1)
        for chunk in standardized.split(CHUNK_ROWS)
    ]
    return torch.cat(chunks).double().numpy()


def _standardized(inputs: torch.Tensor) -> torch.Tensor:
    std = inputs.std()
    return (inputs - inputs.mean()) / (std if std > 0 else 1.0)


def _random_kernel(inputs: torch.Tensor, size: int, dilation: int, generator) -> tuple:
    """Zero-mean normal weights and a bias in [-1, 1], for every input channel."""
    shape = (KERNELS_PER_DILATION, inputs.shape[1], *([size] * (inputs.dim() - 2)))
    weights = torch.randn(shape, generator=generator)
    weights -= weights.mean(dim=tuple(range(1, weights.dim())), keepdim=True)
    bias = 2 * torch.rand(KERNELS_PER_DILATION, generator=generator) - 1
    return weights, bias, dilation


def _pooled(inputs: torch.Tensor, weights, bias, dilation: int) -> torch.Tensor:
    convolve = F.conv2d if inputs.dim() == 4 else F.conv1d
    padding = dilation * (weights.shape[-1] - 1) // 2
    with torch.no_grad():
        responses = convolve(inputs, weights, bias, padding=padding, dilation=dilation)
    flat = responses.flatten(start_dim=2)
    return torch.cat([flat.amax(dim=2), (flat > 0).float().mean(dim=2)], dim=1)
