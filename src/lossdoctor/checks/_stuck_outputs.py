"""Outputs clamped at zero where the targets need them higher: a ReLU after the output layer
passes no gradient where its value is 0, so an output the target wants above 0 that has fallen
to 0 stays there, for that row, for good. Nielsen's network with every sigmoid made a ReLU, the
output's too, trained on a squared error against one-hot targets: 31% of the validation rows
have their right class's output at exactly 0, and those rows make 93% of the validation loss;
the same 30 hidden units without the output ReLU reach 100% accuracy. A regression of positive
targets whose output ReLU died gives 0 for every row.

Read from the trained model on the validation batches (the training ones without): the outputs
whose target is above 0 (a class index counts as its one-hot row), the share of them at exactly
0, and the squared error those make as a share of the whole. A replay without the clamp shows the
fix, whether it is an ``nn.ReLU`` or ``torch.relu``, ``F.relu`` or ``clamp(min=0)`` in a forward
(._unclamped)."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from lossdoctor.capture.tensors import first_tensor
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._clamped_output import ends_clamped_at_zero
from lossdoctor.checks._fix import fix_experiment, helped
from lossdoctor.checks._unclamped import without_last_relu
from lossdoctor.experiments import Plan
from lossdoctor.findings import Experiment, Skip
from lossdoctor.losses import CLASSIFICATION, loss_kind
from lossdoctor.sandbox import isolated

#: The share of the validation loss (as a squared error) that outputs stuck at 0 below a
#: positive target must make before the clamp is looked at as what holds the run back. Measured
#: on dev relu_after_output (session 26, 34 cases, bench/stuck_outputs_dev.py): the broken runs
#: with a symptom had 0.68-0.96 of their loss from stuck outputs, the 25 clamped runs without a
#: symptom 0-0.11 (18 of them 0), and no twin (no clamp) any. The bar is the geometric midpoint
#: of 0.11 and 0.68, rounded down; where a replay without the clamp can be made, it must still
#: beat the replay of the user's setup or the run itself. Nielsen's ReLU network has 0.93.
STUCK_LOSS_SHARE = 0.27
#: Past this share of stuck outputs the model gives 0 for everything: it died whole (Nielsen's
#: ReLU network at lr 3.0 with weights N(0, 1): every output and every gradient 0 from step 1),
#: and what killed it (a rate, an initialization) is the cause to find; the clamp is one dead
#: layer among others. Only a replay without the clamp can then show it matters.
WHOLLY_STUCK = 0.99


@dataclass
class StuckOutputs:
    stuck_share: float  # of the outputs whose target is above 0, the share at exactly 0
    loss_share: float  # the squared error of those, as a share of the whole
    rows_stuck: float  # the share of rows with at least one such output
    experiment: Experiment | None = None  # the replay without the output ReLU
    #: The settled validation loss of the replay of the user's own setup, when it did not get
    #: stuck as the run did and ``experiment`` is against the run's own loss (None otherwise).
    replay_unstuck: float | None = None

    @property
    def telling(self) -> bool:
        """Whether the stuck outputs speak of the clamp: a replay without it helped, or one
        could not be made and the model did not die whole (WHOLLY_STUCK)."""
        if self.experiment is not None:
            return True
        return self.stuck_share < WHOLLY_STUCK

    @property
    def evidence(self) -> dict[str, float]:
        found = {"stuck_output_share": self.stuck_share, "stuck_loss_share": self.loss_share,
                 "rows_with_stuck_output": self.rows_stuck}
        if self.experiment is not None:
            found.update(without_clamp_validation_loss=self.experiment.after,
                         validation_loss=self.experiment.before)
        if self.replay_unstuck is not None:
            found["replay_validation_loss"] = self.replay_unstuck
        return found


def stuck_at_zero(case) -> StuckOutputs | None:
    """The outputs stuck at 0 below a positive target, when the model ends clamped at zero and
    they make STUCK_LOSS_SHARE or more of its validation loss; None otherwise."""
    copies = case.copies
    kind = loss_kind(case.trace.setup.loss_name or "")
    if copies.final_model is None or (kind is not None and kind.task == CLASSIFICATION):
        return None  # cross-entropy still moves the other classes' outputs: not this failure
    try:
        replayer = case.require_replay()
    except Skip:
        return None
    if not ends_clamped_at_zero(copies.initial_model, replayer.train_batches, replayer.predict):
        return None
    batches = replayer.validation_batches or replayer.train_batches
    pairs = [_prediction_and_target(replayer, copies.final_model, b) for b in batches]
    pairs = [p for p in pairs if p is not None]
    if not pairs:
        return None
    stuck = _measured(torch.cat([p for p, _ in pairs]), torch.cat([t for _, t in pairs]))
    if stuck is None or stuck.loss_share < STUCK_LOSS_SHARE:
        return None
    stuck.experiment = _without_output_relu(case)
    if stuck.experiment is not None and not helped(stuck.experiment, case):
        _against_the_run(case, stuck)
    return stuck


def _against_the_run(case, stuck: StuckOutputs) -> None:
    """Where the replay without the clamp did no better than the replay of the user's own
    setup, the outputs may have died in the run but not in that replay: an output falls to 0
    for good on one unlucky step, and a replay from the same start on its own batches need not
    take it (dev relu_after_output 355210 and 355220: 78% and 50% of the outputs stuck in the
    run, validation loss 0.21 and 0.27, where the replay of the same setup reached 0.007 and
    0.040, the one without the ReLU 0.010 and 0.041). The clamp is still what let them die:
    the experiment is then the replay without it against the run's own last validation loss,
    the loss the stuck outputs were measured in, kept when that clears `helped`."""
    passes = [p.loss for p in case.trace.validation_passes() if math.isfinite(p.loss)]
    replayed = stuck.experiment
    if not passes or replayed is None:
        return
    against_run = replace(replayed, description=f"{replayed.description}, against your run's "
                          "own last validation loss", before=passes[-1], curve_before=[],
                          curve_after=[], curve_steps=[])
    if helped(against_run, case):
        stuck.replay_unstuck, stuck.experiment = replayed.before, against_run


def _prediction_and_target(replayer, model, batch) -> tuple[torch.Tensor, torch.Tensor] | None:
    with isolated(0), torch.no_grad():
        prediction = first_tensor(replayer.predict(copy.deepcopy(model).eval(), batch))
    target = first_tensor(batch.target)
    if prediction is None or target is None or prediction.dim() == 0:
        return None
    prediction = prediction.detach().float().cpu()
    target = target.detach().cpu()
    if not target.is_floating_point() and prediction.dim() == 2 and target.dim() == 1:
        if int(target.min()) < 0 or int(target.max()) >= prediction.shape[1]:
            return None
        target = F.one_hot(target.long(), prediction.shape[1])
    if target.shape != prediction.shape:
        return None
    return prediction, target.float()


def _measured(prediction: torch.Tensor, target: torch.Tensor) -> StuckOutputs | None:
    needed = target > 0
    if not bool(needed.any()):
        return None
    stuck = needed & (prediction == 0)
    error = float((prediction - target).pow(2).sum())
    if not error > 0:
        return None
    rows = stuck.reshape(len(stuck), -1).any(dim=1)
    return StuckOutputs(float(stuck.sum()) / float(needed.sum()),
                        float(target[stuck].pow(2).sum()) / error, float(rows.float().mean()))


def _without_output_relu(case) -> Experiment | None:
    """The user's training replayed on a copy whose output ReLU is taken out, a module or a
    function call alike (._unclamped); None when taking out the last ReLU call does not let
    the outputs go below 0."""
    replayer = case.replayer
    unclamped = _unclamped_copy(case.copies.initial_model, replayer)
    if unclamped is None:
        return None
    replay = replayer.replay(Plan(model=unclamped, steps=REPLAY_STEPS))
    return fix_experiment("the ReLU after the output layer taken out", case.baseline, replay)


def _unclamped_copy(model: nn.Module, replayer) -> nn.Module | None:
    """A copy of ``model`` with its last ReLU call an identity, if that un-clamps it."""
    unclamped = without_last_relu(model, replayer.train_batches[0], replayer.predict)
    if unclamped is None:
        return None
    clamped = ends_clamped_at_zero(unclamped, replayer.train_batches, replayer.predict)
    return None if clamped else unclamped
