"""exploding_gradients on a clip the script wrote before backward, where it clips nothing
(checks/_clip_before_backward.py)."""

import torch
from torch import nn

from conftest import mlp, record
from lossdoctor.checks.exploding_gradients import EXPLODING_GRADIENTS, check

LR, LIMIT = 4.0, 0.25


def _clipped_loop(clip_first: bool, seed=0, epochs=6):
    """A classifier trained by a hand-written update at a high rate, made safe by a clip: above
    loss.backward() (clipping nothing) or between it and the update."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(600, 10, generator=generator)
    y = (x[:, :3].sum(1) > 0).long() + (x[:, 3] > 1).long()
    torch.manual_seed(seed)
    model = mlp(10, 32, 3)
    loss_fn = nn.CrossEntropyLoss()

    def loop():
        for _ in range(epochs):
            for i in range(0, 500, 25):
                model.zero_grad(set_to_none=True)
                if clip_first:
                    nn.utils.clip_grad_norm_(model.parameters(), LIMIT)
                loss = loss_fn(model(x[i:i + 25]), y[i:i + 25])
                loss.backward()
                if not clip_first:
                    nn.utils.clip_grad_norm_(model.parameters(), LIMIT)
                for p in model.parameters():
                    p.data.add_(p.grad, alpha=-LR)
            with torch.no_grad():
                loss_fn(model(x[500:]), y[500:])

    return record(loop)


def _found(case):
    return [f for f in check(case) if f.cause is EXPLODING_GRADIENTS]


def test_a_clip_above_backward_is_found_and_its_place_after_backward_fixes_the_run():
    case = _clipped_loop(clip_first=True)
    assert case.copies.unapplied_clip is not None and case.copies.gradient_clip is None
    [finding] = _found(case)
    assert finding.evidence["clip_limit"] == LIMIT
    assert finding.evidence["val_loss_after"] < finding.evidence["val_loss_before"]
    assert "clipped nothing" in finding.verdict


def test_a_clip_between_backward_and_the_update_is_quiet():
    case = _clipped_loop(clip_first=False)
    assert case.copies.unapplied_clip is None and case.copies.gradient_clip is not None
    assert not _found(case)
