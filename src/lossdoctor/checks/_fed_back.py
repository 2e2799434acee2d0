"""A blow-up that reached a state the training loop feeds back into the model.

A script that loops over time steps itself (``output, hidden = rnn(line[i], hidden)``, a
character-level RNN written as in the PyTorch tutorial) gives the model, at each call, a state
its previous call computed. The replays on copies train on the captured calls, each with the
state the run gave it, so they cannot replay that loop: a blow-up through it shows only in the
run's own records. NaN or inf that reached the captured inputs after the finite training loss
grew (``blow_up.grew_before``) were computed by the model and fed back to it. A state fed back
within a step, with its graph, is seen directly (capture/fed_back.py), and its calls are not
kept at all."""

from __future__ import annotations

import math

import torch

from lossdoctor.blow_up import GROWTH_WINDOW, first_nonfinite_step, grew_before
from lossdoctor.capture.fed_back import FED_BACK
from lossdoctor.capture.tensors import tensors_in


def blow_up_fed_back(case) -> int | None:
    """The step of the first non-finite training loss when the run blew up through a state
    fed back into the model (see the module); None otherwise."""
    losses = case.trace.step_losses()
    first = first_nonfinite_step(losses)
    if first is None or not grew_before(losses, first):
        return None
    if loop_not_replayable(case):
        return first
    batches = case.copies.train.batches
    return first if any(_nonfinite_inputs(b) for b in batches) else None


def loop_not_replayable(case) -> bool:
    """Whether the run fed one model call's output to the next within a step, with its graph
    (capture/fed_back.py): the blow-up's path is then the loop itself, and no replay exists."""
    return case.copies.replay_problem == FED_BACK


def loss_growth(losses: list[tuple[int, float]], first_bad: int) -> float:
    """How many times the mean of the last finite steps before ``first_bad`` is the mean of
    the first ones (the comparison of ``blow_up.grew_before``)."""
    before = [loss for step, loss in losses if step < first_bad and math.isfinite(loss)]
    window = min(GROWTH_WINDOW, len(before) // 2)
    if window == 0:
        return math.nan
    start = sum(before[:window])
    return sum(before[-window:]) / start if start > 0 else math.nan


def _nonfinite_inputs(batch) -> bool:
    return any((t.is_floating_point() or t.is_complex()) and not bool(torch.isfinite(t).all())
               for t in tensors_in((batch.args, batch.kwargs)))
