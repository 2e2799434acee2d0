"""Gradient clipping done by the script is replayed: a run that trains only because it clips
must not look, on copies, like a run that blows up."""

import math

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from conftest import mlp, record
from lossdoctor.capture.clipping import GradientClip
from lossdoctor.checks import learning_rate


def _data(rows=600, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 8, generator=generator)
    return x, (x[:, :3].sum(dim=1, keepdim=True) * 3.0)


def _clipped_fit(model, optimizer, x, y, clip, epochs=6, before_backward=False, **clip_kwargs):
    loader = DataLoader(TensorDataset(x[:500], y[:500]), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    for _ in range(epochs):
        model.train()
        for inputs, target in loader:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(inputs), target)
            if clip is not None and before_backward:
                getattr(torch.nn.utils, f"clip_grad_{clip}_")(model.parameters(), **clip_kwargs)
            loss.backward()
            if clip is not None and not before_backward:  # looked up when called, as scripts do
                getattr(torch.nn.utils, f"clip_grad_{clip}_")(model.parameters(), **clip_kwargs)
            optimizer.step()
        model.eval()
        with torch.no_grad():
            nn.functional.mse_loss(model(x[500:]), y[500:])


def _case(clip, **clip_kwargs):
    torch.manual_seed(0)
    model = mlp(8, 32, 1)
    # lr 0.3 on targets of std 5 blows this model up unless its steps are clipped
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3)
    x, y = _data()
    return record(_clipped_fit, model, optimizer, x, y, clip, **clip_kwargs)


def test_the_scripts_clip_grad_norm_is_recorded_and_replayed():
    case = _case("norm", max_norm=0.5)
    assert case.copies.gradient_clip == GradientClip("norm", 0.5, 2.0)
    assert not case.baseline.diverged and math.isfinite(case.baseline.final_validation)


def test_a_clip_called_before_backward_clips_nothing_and_is_not_replayed():
    case = _case("norm", max_norm=0.5, before_backward=True)
    assert case.copies.gradient_clip is None


def test_clip_grad_value_is_recorded_too():
    case = _case("value", clip_value=0.1)
    assert case.copies.gradient_clip == GradientClip("value", 0.1, 2.0)


def test_a_run_that_trains_because_it_clips_is_not_called_too_fast():
    case = _case("norm", max_norm=0.5)
    assert [f.cause.id for f in learning_rate.check(case)] == []


def test_without_clipping_the_same_run_blows_up_and_nothing_is_recorded():
    case = _case(None)
    assert case.copies.gradient_clip is None
    assert case.baseline.diverged
