"""A softmax computed as a tensor method inside a hand-written attention is recorded on sampled
steps (its rows' largest probability), as an activation of kind "softmax" (bench/fresh21 s05:
scores multiplied by sqrt(d) instead of divided, the Perceiver of esceptico/perceiver-io#9)."""

from types import SimpleNamespace

import torch
from torch import nn

from conftest import fit, record
from lossdoctor.capture.activations import SOFTMAX


class Attention(nn.Module):
    def __init__(self, dim=32, scale_by_root=True):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.head = nn.Linear(dim, 2)
        self.scale = dim ** -0.5 if scale_by_root else dim ** 0.5  # the bug: times sqrt(d)

    def forward(self, x):
        scores = self.q(x) @ self.k(x).transpose(-2, -1) * self.scale
        return self.head((scores.softmax(dim=-1) @ self.v(x)).mean(1))


def _case(scale_by_root):
    torch.manual_seed(0)
    x = 3 * torch.randn(256, 12, 32)
    y = (x[:, :, 0].sum(1) > 0).long()
    model = Attention(scale_by_root=scale_by_root)
    return record(fit, model, torch.optim.Adam(model.parameters(), lr=1e-3), nn.CrossEntropyLoss(),
                  (x[:192], y[:192]), (x[192:], y[192:]), epochs=3)


def _rows(trace):
    """The softmax's share of nearly one-hot rows at its first and last sampled steps."""
    seen = sorted((a for a in trace.activations if a.kind == SOFTMAX), key=lambda a: a.step)
    assert len({a.layer for a in seen}) == 1 and len(seen) >= 2
    return SimpleNamespace(layer=seen[0].layer, samples=len(seen),
                           start=seen[0].saturated_fraction, end=seen[-1].saturated_fraction)


def test_softmax_rows_of_scores_scaled_up_are_nearly_one_hot_from_the_start():
    rows = _rows(_case(scale_by_root=False).trace)
    assert rows.layer.startswith("torch.softmax") and rows.samples >= 2
    assert rows.start > 0.3


def test_softmax_rows_of_scores_divided_by_the_root_are_not():
    rows = _rows(_case(scale_by_root=True).trace)
    assert rows.start < 0.05 and rows.end < 0.05

