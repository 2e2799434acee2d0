"""The terms of a loss the model's forward adds up from several torch.nn losses (a multi-task
model's ``{"loss": bce + mse}``, Ludwig's sum of its output features' losses).

Each torch.nn loss called inside the forward of a training pass is a term; so is each one
called outside it whose values add up to the loss backward was called on (summed_calls). The
run's loss is then their sum, recorded as backward saw it (loss_events.py). Where one term
stands for it (its name, the prediction a check reads), it is the term with the largest share
of the total: its loss function, its target (among the model's inputs) and its prediction (in
the model's output) go together, so that a recomputation compares like with like. Every term
is written to the trace's setup (``Setup.loss_terms``): its loss, its share of the sum of the
terms at the first training step, its target's mean and spread, and (once the records are
sums) its own first and best loss, for a check that reads one term.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import torch

#: The terms of a summed loss must add up to the loss returned within this relative
#: difference to be called its terms: the same float32 additions give the same value, up to
#: rounding (2**-23 per addition) over a few terms.
ADDS_UP_TOLERANCE = 1e-4


@dataclass
class InnerTerm:
    """A torch.nn loss called inside the model's forward, with its tensors held weakly."""

    held: object  # the HeldLoss of its record
    forward: int  # the model call it was computed in
    loss: weakref.ref
    prediction: weakref.ref
    target: torch.Tensor | None  # strongly, until the forward ends (as _inner_target is)

    def value(self) -> float | None:
        loss = self.loss()
        return None if loss is None else float(loss.detach().float().mean())


def dominant(terms: list[InnerTerm]) -> InnerTerm | None:
    """The term with the largest value, among two or more; None for a loss of one term."""
    if len(terms) < 2:
        return None
    values = [abs(v) if (v := term.value()) is not None and math.isfinite(v) else -1.0
              for term in terms]
    return terms[values.index(max(values))]


def summaries(terms: list[InnerTerm], total: torch.Tensor) -> list[dict]:
    """Each term as plain numbers: its loss's name, its share of the sum of the terms, its
    target's mean and standard deviation (None for a target that is not a float tensor), and
    whether the terms add up to the loss the model returned (``adds_up``)."""
    values = [term.value() for term in terms]
    if any(v is None or not math.isfinite(v) for v in values):
        return []
    whole = sum(abs(v) for v in values) or 1.0
    adds_up = math.isclose(sum(values), float(total.detach().float().mean()),
                           rel_tol=ADDS_UP_TOLERANCE, abs_tol=1e-7)
    return [{"loss_name": term.held.record.loss_name, "share": abs(value) / whole,
             "value": value, "adds_up": adds_up, **_target_scale(term.target)}
            for term, value in zip(terms, values, strict=True)]


def _target_scale(target) -> dict:
    if not isinstance(target, torch.Tensor) or not target.is_floating_point() or (
            target.numel() < 2):
        return {"target_mean": None, "target_std": None}
    values = target.detach().double()
    return {"target_mean": float(values.mean()), "target_std": float(values.std())}


def summed_calls(values: list[float], total: float) -> bool:
    """Whether two or more loss calls' values add up to the loss backward was called on
    (``MSELoss()(mel, mel_t) + BCEWithLogitsLoss()(gate, gate_t)``, Tacotron2Loss): the run's
    loss is then their sum, as the script prints it, not one of them nor their mean. A weighted
    sum (``mse + 0.1 * bce``) or a loss beside a metric does not add up."""
    if len(values) < 2 or not all(math.isfinite(v) for v in [*values, total]):
        return False
    return math.isclose(sum(values), total, rel_tol=ADDS_UP_TOLERANCE, abs_tol=1e-7)


def added_terms(names: tuple[str, ...], values: list[float]) -> list[dict]:
    """Loss calls outside the model that add up to the training loss (summed_calls), as
    ``summaries`` writes the terms of one inside it (their targets' scale is not read)."""
    whole = sum(abs(v) for v in values) or 1.0
    return [{"loss_name": name, "share": abs(value) / whole, "value": value, "adds_up": True,
             "target_mean": None, "target_std": None}
            for name, value in zip(names, values, strict=True)]


def summed_run(setup) -> bool:
    """Whether the run's loss adds several loss calls up (capture/loss_events.py: a criterion
    returning ``mse + bce``, a model returning ``{"loss": bce + mse}``): its records are their
    sums (or, when replays can compute one term only, that term's), the loss named is the
    largest term, and a kept batch holds one term's target, so neither a closed form of that
    loss nor labels read from those targets stand for the run's loss."""
    terms = setup.loss_terms
    return len(terms) > 1 and all(term["adds_up"] for term in terms)
