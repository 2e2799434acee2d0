"""Does the learning-rate schedule stop the training, or push it into instability?

Two faults, both read from the learning rate the run recorded at every step (capture's
``Setup.lr_schedule``) against its training loss, and both confirmed by a replay on copies:

- **Collapse**: the schedule brings the rate below COLLAPSE_SHARE of its peak with at least
  MIN_LEFT of the run to go, and from there the loss moved less than STILL_DROP. (An epoch
  scheduler stepped every batch, a decay counted in epochs and stepped in batches.) Replay: the
  same schedule with its decay floored at FLOOR of the peak, which must help: a loss that had
  settled before the collapse gains nothing from it. An **early floor** is a collapse too,
  whatever its depth below EARLY_DEPTH: the rate down to a tenth of its peak or less within
  the first EARLY_SHARE of the run and kept there (STAYS) for the rest (milestones in epochs
  read as iterations: mmcv's ``by_epoch=False`` with ``step=[5, 7]``). The loss may still move
  after it, at the pace of the lower rate, so only the floored replay can show the cost.
- **Rise**: the loss fell, then turned up and ended having given back at least GIVEN_BACK of its
  progress (or not finite), after the schedule raised the rate above every rate the loss fell
  at, on a schedule still rising past PEAK_BY of the run. (A warmup that never stops, a gamma
  above 1; a warmup to an early peak that is too high is lr_too_high.) A loss that never fell
  below its first steps and broke down once the schedule carried the rate past the rate the
  user set (``carried_past``) is such a rise too. Replay: the schedule capped at the rate where
  the loss was lowest, and no higher than the rate set (``capped_at_set_rate``); when it helps,
  lr_too_high (the same run's peak, read by the learning-rate check) is its consequence. A
  schedule that peaks early and anneals (a one-cycle whose max_lr is too high) is read the same
  way, or as a breakdown (the loss never fell and rose BROKE_DOWN times its start:
  ``_lr_rise.find_breakdown``), from the curves alone at CURVES_ONLY, beside learning_rate's
  measured answer and below it.

- **Starved** (read first: a loss that turns up while the rate is below half the rate meant is
  no rise into instability; bench/devset onecycle_sized_by_rows 400004 was read as a rise at
  7% of max_lr): the schedule rose through the whole run (its peak first reached in the last
  STILL_RISING of it, or one of its own rises before) and never got above STARVED_SHARE of the
  rate meant (the optimizer's, or a one-cycle schedule's max_lr): a warmup longer than the run
  (``warmup_iters=2000`` kept for a 300-step run; Morizeyao/GPT2-Chinese#60,
  hirofumi0810/neural_sp#137: "a learning rate curve which went straight up until the end of
  the training"), a step-counted warmup or one-cycle schedule that Lightning steps once an
  epoch (ace-step/ACE-Step#198, Lightning-AI/pytorch-lightning#3869). Replay: a warmup over
  REPLAY_WARMUP of the steps to the rate meant, held there. A replay the budget cut short
  that did not help leaves the reading at STARVED_READ; a whole one dismisses it.

- **Against**: a plateau scheduler (ReduceLROnPlateau) whose ``mode`` is against the metric
  it is stepped with: ``mode='max'`` stepped with the validation loss (it first cut the rate as
  early as its patience allows, and the best value it had been stepped with then is the
  highest validation loss seen by then, within STEPPED_WITH of it), so every fall of the loss
  counts as no improvement and the rate is cut while the model learns. Read from the
  scheduler, not inferred: reported at MODE_READ, or as the replay shows when training at the
  peak without the cuts helps.

A schedule that only decays near the end (cosine, one-cycle) or a loss that had settled before
the rate fell is not a fault: the first leaves less than MIN_LEFT of the run, and the floored
replay of the second does no better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._fix import fix_experiment, helped, improvement
from lossdoctor.checks._lr_rise import (
    CURVES_ONLY,
    Rise,
    find_breakdown,
    find_rise,
    peaks_early,
    replay_turned,
)
from lossdoctor.checks._plain import plain_lr
from lossdoctor.experiments import Plan, ShapeChange
from lossdoctor.findings import Cause, Experiment, Finding, Skip
from lossdoctor.lr_schedule import LrSchedule

LR_SCHEDULE = Cause(
    id="lr_schedule",
    title="The learning-rate schedule stops or destabilizes the training",
    fix="Fix the learning-rate schedule: step an epoch scheduler once per epoch, keep its decay "
        "above a floor, and cap a warmup at the rate you meant.",
    question="Does the learning-rate schedule stop the training, or raise the rate into "
             "instability?",
    test="the recorded learning rate against the training loss: progress that stops when the "
         "rate collapses, or a loss that turns up after the rate was raised; replay with the "
         "decay floored at half the peak, or with the schedule capped; a plateau scheduler's "
         "mode against the validation loss it is stepped with",
    # A collapsed rate looks too low and a raised one too high (the range test places the
    # peak); a rate raised into instability blows the gradients up. A rate too high only once
    # a replayed fix of the schedule took the loss down: a peak read off the curves alone
    # (an annealed schedule's early peak, ``_early_peak_finding``) is the same rate the
    # learning-rate check measures, and its range test and replays rank above it.
    explains={"lr_too_low", "exploding_gradients", "optimizer_choice",
              "underfit_capacity", "batch_size", "nan_inf"},
    explains_if_fixed={"lr_too_high"},
)

CAUSES = (LR_SCHEDULE,)

#: Below a hundredth of its peak, a step moves the weights a hundred times less than at the
#: peak: the rest of the run does less than a hundredth of what as many steps at the peak do.
COLLAPSE_SHARE = 0.01
#: A collapse matters with at least a quarter of the run left: annealing schedules (cosine,
#: one-cycle, linear decay per epoch) are below COLLAPSE_SHARE only in their last few percent.
MIN_LEFT = 0.25
#: A loss "moved": its last tenth at least this share below its first tenth (a few percent,
#: above the minibatch noise of a tenth's mean). Used for the steps after the collapse (they
#: must not have moved) and before it (whether it was still falling, said in the verdict).
STILL_DROP = 0.05
#: The decay floor of the replay: half the peak. The replay is a few hundred steps, often
#: fewer than the run, so its floor must be a rate that makes progress in that many steps;
#: half the peak keeps the decay's shape down to a rate within a factor of two of the one the
#: run learned at (a tenth of the peak, measured on the zoo's scenario, moved the validation
#: loss 4% where the run at its peak rate moved it 35%).
FLOOR = 0.5

#: A warmup still under way at the end: the peak first reached in the run's last tenth, or
#: one of its own rises before it (`_rising_pace`: an epoch-stepped warmup rises only at an
#: epoch's start).
STILL_RISING = 0.1
#: A warmup that never got above half its target trained at most at half the rate meant, and
#: on average (a linear ramp) at a quarter of it: the 'learning rate never reaches its peak'
#: threads (nanoGPT's warmup_iters=2000 on a 300-step run reaches 15% of it).
STARVED_SHARE = 0.5
#: Confidence of the starved reading without a whole replay (none could run, or the budget
#: cut it short and it did not show the fix; a whole replay that did not help dismisses it):
#: the schedule's own record, read against the rate the optimizer or the cycle was given. On
#: dev onecycle_sized_by_rows 416404-416408 without any replay (--budget 0) it was reported on
#: 3 of 3 broken runs and on none of their 3 fixed twins (docs/devset.md, session 32): too few
#: to set a rate of their own, so the curves-only confidence, below what they measured.
STARVED_READ = CURVES_ONLY
#: The replay's warmup, as a share of its steps: the usual warmup_ratio of 0.06-0.1 of the
#: Hugging Face recipes, at the upper end (a short replay has fewer steps to spare).
REPLAY_WARMUP = 0.1


#: An early floor: the rate at most a tenth of its peak (one x0.1 step, the usual decay
#: factor, or deeper) ...
EARLY_DEPTH = 0.1
#: ... reached within this share of the run. Healthy schedules first reach a tenth of their
#: peak far later: ImageNet's x0.1 at epochs 30/60/90 of 90 at 33% of the run, cosine at 80%,
#: a linear decay at 90%, one-cycle after its peak at 30% (warmups start below it but rise).
#: Epoch milestones read as iterations reach it at 0.3-5% (mmcv_style's [5, 7] of 304
#: iterations at 2.3%; the dev variants below: docs/devset.md, session 19).
EARLY_SHARE = 0.1
#: ... and kept there for this share of the steps after it: an epoch scheduler stepped per
#: batch as well as per epoch (timm's step(epoch) at each epoch's end) sets the epoch's rate
#: back for one batch of each epoch (1 of 37 in timm_style: 97% stay below).
STAYS = 0.9
#: A deep collapse (below COLLAPSE_SHARE) that holds for at least this share of the run shows
#: itself without a replay, whatever the loss did before it: most of the run then does at most a
#: hundredth of what as many steps at the peak do (the early floor's argument). Healthy decays
#: reach COLLAPSE_SHARE only in their last few percent (cosine, linear), step decays (x0.1 at a
#: third and two thirds of the run) with a third left; fresh22 s13 (a linear decay whose total
#: steps were one epoch's, 0 from step 47 of 282) has 0.83 left, its loss flat from the start.
MOST_OF_RUN = 0.5
#: A gradual cut: the rate brought down to EARLY_DEPTH of its peak by at least this many cuts,
#: more of them than the epochs begun meanwhile, with MIN_LEFT of the run to go, while the loss
#: was still falling. A decay meant in epochs and stepped in batches cuts at every batch or
#: every step_size batches: dozens of cuts before a tenth (fresh23 s01's StepLR(10, 0.95):
#: 45 in 8 epochs), which never reaches COLLAPSE_SHARE nor the early floor in a short run. A step
#: decay meant as written reaches a tenth in 1-4 cuts (x0.1 once; x0.5 four times), at
#: epoch starts; cosine, linear and one-cycle decays, cut at every batch, reach it with less than
#: MIN_LEFT to go. Only the floored replay reports it: an exponential decay per batch chosen on
#: purpose is one whose floored replay does no better.
GRADUAL_CUTS = 5
#: Relative float rounding of a rate made by repeated multiplication (0.05 * 0.1 * 0.1 is
#: 0.0005000000000000001): a floor "at" COLLAPSE_SHARE of the peak is at it.
ROUNDING = 1e-9


@dataclass
class Collapse:
    step: int
    steps: int
    lr: float  # the rate after the collapse
    before: tuple[float, float]  # mean loss over the first and last thirds before the collapse
    after: tuple[float, float]  # mean loss over the first and last tenths after it
    early: bool = False  # an early floor: the loss may still move, at the lower rate's pace
    gradual: bool = False  # a gradual cut (GRADUAL_CUTS): the floored replay alone decides

    @property
    def was_falling(self) -> bool:
        return _moved(*self.before)

    @property
    def left(self) -> float:
        return (self.steps - self.step) / self.steps


def check(case) -> list[Finding]:
    schedule = LrSchedule.of(case.trace.setup, case.trace.steps)
    if schedule is None:
        raise Skip("needs the learning rate of each optimizer step: none was recorded")
    if schedule.constant:
        return []
    against = find_mode_against(schedule, case.trace.validation_passes())
    if against is not None:
        return [_against_finding(case, schedule, against)]
    given = find_starved(schedule, meant_lr(case.trace.setup))
    if given is not None:  # never above half the rate meant: a rise there is no instability
        finding = _starved_finding(case, schedule, given)
        if finding is not None:
            return [finding]
    losses = case.trace.step_losses()
    rise = find_rise(schedule, losses) or _breakdown(case, schedule, losses)
    if rise is not None:
        finding = _rise_finding(case, schedule, rise)
        if finding is not None:
            return [finding]
    collapse = find_collapse(schedule, losses, epoch_steps(case.trace))
    if collapse is not None:
        finding = _collapse_finding(case, schedule, collapse)
        if finding is not None:
            return [finding]
    return []


# --- collapse -------------------------------------------------------------------------------


def find_collapse(schedule: LrSchedule, losses: list[tuple[int, float]],
                  epochs: list[int] | None = None) -> Collapse | None:
    """A collapse below COLLAPSE_SHARE with MIN_LEFT to go after which the loss stopped, an
    early floor (whatever the loss did after it), or a gradual cut while the loss still fell
    (``epochs``: the steps the epochs began at); None when none."""
    rates = schedule.per_step()
    deep = _deep_collapse(schedule, rates, losses)
    if deep is not None:
        return deep
    if schedule.reactive:  # its early cuts answered a loss that had stalled for another reason
        return None
    floor = early_floor(rates)
    if floor is not None:
        return _collapse_at(floor, rates, losses, early=True)
    cut = gradual_cut(rates, epochs or [])
    found = None if cut is None else _collapse_at(cut, rates, losses)
    if found is None or not found.was_falling:
        return None
    return Collapse(found.step, found.steps, found.lr, found.before, found.after, gradual=True)


def gradual_cut(rates: list[float], epochs: list[int]) -> int | None:
    """The step the rate first gets to EARLY_DEPTH of its peak, when MIN_LEFT of the run is
    left then and GRADUAL_CUTS cuts or more, more than the epochs begun, brought it there."""
    peak = max(rates)
    start = rates.index(peak)
    step = next((s for s in range(start, len(rates)) if rates[s] <= EARLY_DEPTH * peak), None)
    if step is None or (len(rates) - step) / len(rates) < MIN_LEFT:
        return None
    cuts = sum(rates[s] < rates[s - 1] for s in range(start + 1, step + 1))
    begun = sum(start < e <= step for e in epochs)
    return step if cuts >= GRADUAL_CUTS and cuts > begun else None


def epoch_steps(trace) -> list[int]:
    """The steps the epochs began at: the training data's passes, else the validation passes
    (which end an epoch)."""
    return list(trace.epoch_starts) or [p.step for p in trace.validation_passes()]


def _deep_collapse(schedule: LrSchedule, rates: list[float],
                   losses: list[tuple[int, float]]) -> Collapse | None:
    high = [step for step, lr in enumerate(rates) if lr >= COLLAPSE_SHARE * schedule.peak]
    step = high[-1] + 1 if high else 0
    if step == 0 or (schedule.steps - step) / schedule.steps < MIN_LEFT:
        return None
    collapse = _collapse_at(step, rates, losses)
    return None if collapse is None or _moved(*collapse.after) else collapse


def early_floor(rates: list[float]) -> int | None:
    """The step from which the rate stays at most EARLY_DEPTH of its peak (STAYS of the steps
    after it), when that is within the first EARLY_SHARE of the run after the peak; else None."""
    peak = max(rates)
    start = rates.index(peak)
    low = [lr <= EARLY_DEPTH * peak for lr in rates]
    step = next((s for s in range(start, len(rates)) if low[s]), None)
    if step is None or step > EARLY_SHARE * len(rates):
        return None
    return step if sum(low[step:]) >= STAYS * (len(rates) - step) else None


def _collapse_at(step: int, rates: list[float], losses: list[tuple[int, float]],
                 early: bool = False) -> Collapse | None:
    before = [v for s, v in losses if s < step and math.isfinite(v)]
    after = [v for s, v in losses if s >= step and math.isfinite(v)]
    if len(before) < (1 if early else 3) or len(after) < 3:
        return None  # an early floor may come at the first steps: the rest of the run shows it
    first, last = _mean(_part(after, 0, 10)), _mean(_part(after, 9, 10))
    start, end = _mean(_part(before, 0, 3)), _mean(_part(before, 2, 3))
    rest = sorted(rates[step:])
    lr = rest[len(rest) // 2] if early else rates[step]  # an early floor: where it stays
    return Collapse(step, len(rates), lr, (start, end), (first, last), early)


def _shown_by_curves(schedule: LrSchedule, collapse: Collapse) -> bool:
    """Without a replay: a loss seen falling shows that a collapse stopped it, and so does a
    collapse that holds for MOST_OF_RUN (a planned one: a plateau scheduler's cuts answer the
    loss); an early floor shows itself only at COLLAPSE_SHARE of the peak or below (most of
    the run then does at most a hundredth of what as many steps at the peak do, whatever the
    loss did)."""
    if collapse.gradual:
        return False
    if collapse.early:
        return collapse.lr <= COLLAPSE_SHARE * schedule.peak * (1 + ROUNDING)
    return collapse.was_falling or (not schedule.reactive and collapse.left >= MOST_OF_RUN)


def _moved(first: float, last: float) -> bool:
    return last <= (1 - STILL_DROP) * first


def _collapse_finding(case, schedule: LrSchedule, collapse: Collapse) -> Finding | None:
    experiment = _tested(case, f"decay floored at {FLOOR:g} of the peak lr",
                         lambda m: [max(v, FLOOR) for v in m])
    if experiment is None and not _shown_by_curves(schedule, collapse):
        return None
    if experiment is not None and not helped(experiment, case):
        return None
    return Finding(
        LR_SCHEDULE,
        confidence=_confidence(experiment),
        verdict=_collapse_verdict(schedule, collapse, experiment),
        evidence={"peak_lr": schedule.peak, "collapsed_lr": collapse.lr,
                  "collapse_step": collapse.step, "steps": collapse.steps,
                  "share_of_run_left": collapse.left, "was_falling": float(collapse.was_falling),
                  **_replayed(experiment)},
        fix="Keep the learning rate from collapsing: step an epoch scheduler once per epoch "
            "(after the batch loop), count a decay in the steps it is stepped in, or give it a "
            "floor (eta_min, a gentler gamma).",
        experiment=experiment,
    )


def _collapse_verdict(schedule: LrSchedule, c: Collapse, experiment: Experiment | None) -> str:
    before = (f"while your training loss was still falling ({c.before[0]:.3g} -> "
              f"{c.before[1]:.3g} over the steps before)" if c.was_falling else
              f"before your training loss had got anywhere ({c.before[0]:.3g} -> "
              f"{c.before[1]:.3g} over the steps before)")
    depth = (f"{c.lr / schedule.peak:.2g}x the peak" if c.early or c.gradual else
             f"below {COLLAPSE_SHARE:.0%} of the peak")
    after = (f"the last {c.left:.0%} of the run trained at that rate or lower (the loss "
             f"{c.after[0]:.3g} -> {c.after[1]:.3g})" if c.gradual else
             f"the last {c.left:.0%} of the run trained at that rate (the loss "
             f"{c.after[0]:.3g} -> {c.after[1]:.3g})" if c.early else
             f"over the last {c.left:.0%} of the run it hardly moved "
             f"({c.after[0]:.3g} -> {c.after[1]:.3g})")
    return (
        f"Your learning-rate schedule takes the rate from its peak {plain_lr(schedule.peak, 3)} "
        f"to {plain_lr(c.lr)} ({depth}) at step {c.step} of {c.steps}, {before}; {after}. "
        f"{_replay_text(experiment)}."
    )


# --- rise -----------------------------------------------------------------------------------


def _breakdown(case, schedule: LrSchedule, losses: list[tuple[int, float]]) -> Rise | None:
    """A loss that never fell below its first steps and broke down (``find_breakdown``) once
    the schedule raised the rate: on a schedule that peaks early and anneals, at whatever rate
    (the peak is lr_too_high's question, read here from the curves); on one still rising late
    (``carried_past``), only at a rate the schedule carried above the one the user set."""
    if peaks_early(schedule):
        return (find_breakdown(schedule, losses, ended_at_the_guess(case))
                if anneals(schedule) else None)
    return carried_past(find_breakdown(schedule, losses), meant_lr(case.trace.setup))


def carried_past(breakdown: Rise | None, given: float | None) -> Rise | None:
    """``breakdown`` when its rate (``lr_rise``) is above ``given``, the rate the user set,
    capped there (not at its first steps' rate, a warmup's start): the schedule, not the user,
    took the rate to where the training broke (a warmup never capped breaks down within its
    first twentieth once its rate passes a few times the one set: dev 416002, SGD set at 0.01,
    broke at 0.03, the rate rising to 0.39)."""
    if breakdown is None or not given or not breakdown.lr_rise > given:
        return None
    return replace(breakdown, cap=given)


def capped_at_set_rate(rise: Rise, given: float | None) -> Rise:
    """``rise`` with its cap no higher than ``given``, the rate the user set. The rate where
    the loss was lowest can lie far above it on a schedule that kept rising (dev 416018: SGD
    set at 8e-3, lowest at 0.29, held there from the first step a replay that never learned);
    what the user meant is the rate set, and a schedule capped there is the twin's. When that
    rate is too high too, the capped replay does not help and the learning-rate check's
    answer stands."""
    return rise if not given or rise.cap <= given else replace(rise, cap=given)


def _rise_finding(case, schedule: LrSchedule, rise: Rise) -> Finding | None:
    if peaks_early(schedule):  # the peak is the rate meant: lr_too_high's question
        return _early_peak_finding(schedule, rise) if anneals(schedule) else None
    rise = capped_at_set_rate(rise, meant_lr(case.trace.setup))
    share = rise.cap / schedule.peak
    experiment = _tested(case, f"schedule capped at lr {plain_lr(rise.cap)}",
                         lambda m: [min(v, share) for v in m])
    unreproduced = None
    if experiment is not None and not helped(experiment, case):
        if not (rise.gave_back and not replay_turned(experiment.curve_before)):
            return None
        unreproduced, experiment = experiment, None  # the run's own curves remain
    if experiment is None and not rise.gave_back:
        return None  # a loss at half again its lowest needs the capped replay's word
    return Finding(
        LR_SCHEDULE,
        confidence=_confidence(experiment),
        verdict=_rise_verdict(rise, experiment, unreproduced),
        evidence={"peak_lr": schedule.peak, "first_lr": schedule.first,
                  "lr_while_falling": rise.lr_falling, "lr_at_rise": rise.lr_rise,
                  "best_step": rise.best_step, "rise_step": rise.rise_step,
                  "loss_first": rise.first, "loss_best": rise.best, "loss_end": rise.end,
                  "capped_lr": rise.cap, **_replayed(experiment)},
        fix=f"Cap the learning-rate schedule at about {plain_lr(rise.cap)}: end a warmup at the "
            f"rate you meant (min(..., 1.0)), and check that a decay's gamma is below 1.",
        experiment=experiment,
    )


def _rise_verdict(r: Rise, experiment: Experiment | None,
                  unreproduced: Experiment | None = None) -> str:
    end = f"{r.end:.3g}" if math.isfinite(r.end) else "NaN or infinity"
    replay = (_unreproduced_text(unreproduced) if unreproduced is not None
              else _replay_text(experiment))
    if not math.isnan(r.worst):  # a breakdown: the loss never fell below its first steps
        worst = f"{r.worst:.3g}" if math.isfinite(r.worst) else "NaN or infinity"
        return (
            f"Your training loss was {r.first:.3g} over the first steps, at rates up to "
            f"{plain_lr(r.lr_falling, 2)}, then rose as high as {worst} once your schedule "
            f"raised the rate past the {plain_lr(r.cap)} you set, to {plain_lr(r.lr_rise, 2)} "
            f"(from step {r.rise_step}), and ended at {end}. {replay}.")
    return (
        f"Your training loss fell from {r.first:.3g} to {r.best:.3g} while the learning rate "
        f"was at most {plain_lr(r.lr_falling, 2)}, then rose to {end} after your schedule "
        f"raised the rate to {plain_lr(r.lr_rise, 2)} (by step {r.rise_step}). "
        f"{replay}."
    )


def _unreproduced_text(replay: Experiment) -> str:
    return (f"A {replay.steps}-step replay of your training with its schedule as it was did "
            f"not break down (its validation loss ended at {replay.before:.3g}), so it could "
            f"not test the cap; this rests on your run's own curves")


def anneals(schedule: LrSchedule) -> bool:
    """Whether the schedule ends at EARLY_DEPTH of its peak or below: a one-cycle or a warmup
    followed by a cosine or linear decay, whose peak the run passes through rather than holds."""
    return schedule.last <= EARLY_DEPTH * schedule.peak


def ended_at_the_guess(case) -> bool:
    """Whether the run's last validation loss (without validation passes, the mean of its last
    tenth of training losses) is no better than the constant guess's on the same split."""
    passes = [p.loss for p in case.trace.validation_passes() if math.isfinite(p.loss)]
    split = "validation" if passes else "training"
    if not passes:
        losses = [v for _, v in case.trace.step_losses() if math.isfinite(v)]
        passes = [_mean(_part(losses, 9, 10))] if losses else []
    try:
        guess = case.constant_guess_loss(split) if passes else None
    except Exception:  # noqa: BLE001 - a guess out of time or unreadable: no such reading
        return False
    return guess is not None and math.isfinite(guess) and passes[-1] >= guess


def _early_peak_finding(schedule: LrSchedule, rise: Rise) -> Finding:
    """An early peak is lr_too_high's question, which the run's own loss against the rate its
    schedule set answers too for a schedule that rises to the peak and anneals from it (a
    one-cycle's max_lr): the loss fell while the rate was low and gave back half its progress
    or more (or broke down: ``find_breakdown``) once the schedule raised the rate above every
    rate it had trained at. Read from the run's records alone, at
    CURVES_ONLY, so that it stands where the learning-rate check's range test and replays do
    not fit the diagnosis' time budget; where they run, their finding ranks first (the cause
    explains lr_too_high only once a replayed fix of the schedule worked)."""
    return Finding(
        LR_SCHEDULE,
        confidence=CURVES_ONLY,
        verdict=_early_peak_verdict(schedule, rise),
        evidence={"peak_lr": schedule.peak, "first_lr": schedule.first, "last_lr": schedule.last,
                  "lr_while_falling": rise.lr_falling, "lr_at_rise": rise.lr_rise,
                  "best_step": rise.best_step, "rise_step": rise.rise_step,
                  "loss_first": rise.first, "loss_best": rise.best, "loss_end": rise.end,
                  "capped_lr": rise.cap,
                  **({"loss_worst": rise.worst} if math.isfinite(rise.worst) else {})},
        fix=f"Lower the schedule's peak (max_lr of a one-cycle schedule, the base rate of a "
            f"warmup and decay) from {plain_lr(schedule.peak, 3)} to about "
            f"{plain_lr(rise.lr_falling)}, the highest rate it trained at before your loss "
            f"turned up.",
    )


def _early_peak_verdict(schedule: LrSchedule, r: Rise) -> str:
    end = f"{r.end:.3g}" if math.isfinite(r.end) else "NaN or infinity"
    if math.isnan(r.worst):  # the loss fell first, then gave back its progress (find_rise)
        course = (f"fell from {r.first:.3g} to {r.best:.3g} while the rate was at most "
                  f"{plain_lr(r.lr_falling, 2)}, then rose to {end} once the schedule took the "
                  f"rate to {plain_lr(r.lr_rise, 2)} (by step {r.rise_step})")
    else:
        worst = f"{r.worst:.3g}" if math.isfinite(r.worst) else "NaN or infinity"
        course = (f"was {r.first:.3g} over the first steps, at rates up to "
                  f"{plain_lr(r.lr_falling, 2)}, rose as high as {worst} once the schedule took "
                  f"the rate to {plain_lr(r.lr_rise, 2)} (from step {r.rise_step}), and ended at "
                  f"{end}")
    return (
        f"Your schedule raises the learning rate from {plain_lr(schedule.first, 2)} to a peak "
        f"of {plain_lr(schedule.peak, 3)} and then lowers it to {plain_lr(schedule.last, 2)}. "
        f"Your training loss {course}; the lower rates at the end did not bring it back: "
        f"the peak is where your training breaks down. (Read from your run's "
        f"loss against the rate your schedule set at each step; no replay tested it.)")


# --- starved ---------------------------------------------------------------------------------


def find_starved(schedule: LrSchedule, given: float | None) -> float | None:
    """The rate the optimizer was given, when the schedule rose through the whole run and
    never reached STARVED_SHARE of it; else None."""
    if not given or given <= 0 or not schedule.peak > schedule.first:
        return None
    first_peak = next(step for step, lr in schedule.changes if lr == schedule.peak)
    if first_peak + _rising_pace(schedule, first_peak) < (1 - STILL_RISING) * schedule.steps:
        return None
    return given if schedule.peak <= STARVED_SHARE * given else None


def meant_lr(setup) -> float | None:
    """The rate the run was meant to reach: a one-cycle or cyclical schedule's ``max_lr``
    (OneCycleLR keeps it in the optimizer's parameter group and starts at max_lr / div_factor,
    which becomes the group's ``initial_lr``, the rate given; CyclicLR keeps it on the scheduler:
    capture/scheduled_peak.py), else the rate the optimizer was given."""
    declared = setup.optimizer_hparams.get("max_lr") if setup.optimizer_hparams else None
    if isinstance(declared, (int, float)) and declared > (setup.lr_given or 0):
        return float(declared)
    return setup.lr_given


def _rising_pace(schedule: LrSchedule, peak_step: int) -> int:
    """The steps between the schedule's rises before ``peak_step`` (their median), when the
    peak is its last change: where its next rise would have come. A warmup stepped once an
    epoch changes the rate only at an epoch's start, so its peak can be no later than the last
    epoch's first step (at 5/6 of a six-epoch run: ace-step/ACE-Step#198); 0 otherwise."""
    pairs = zip(schedule.changes[1:], schedule.changes[:-1], strict=True)
    rises = [step for (step, lr), (_, before) in pairs if lr > before and step <= peak_step]
    if schedule.changes[-1][0] != peak_step or len(rises) < 2:
        return 0
    gaps = sorted(later - earlier for earlier, later in zip(rises[:-1], rises[1:], strict=True))
    return gaps[len(gaps) // 2]


def _starved_finding(case, schedule: LrSchedule, given: float) -> Finding | None:
    ratio = given / schedule.peak
    first_peak = next(step for step, lr in schedule.changes if lr == schedule.peak)
    pace = _rising_pace(schedule, first_peak)
    cycle = declared_cycle(case.trace.setup)
    if cycle is not None:
        start, end = cycle
        experiment = _tested(case, f"one-cycle schedule sized to the steps taken (peak lr "
                                   f"{plain_lr(given)} at {CYCLE_WARMUP:.0%} of them)",
                             lambda m: _cycled(m, ratio, start, end))
    else:
        experiment = _tested(case, f"warmup ended within the first {REPLAY_WARMUP:.0%} of the "
                                   f"steps, at lr {plain_lr(given)}", lambda m: _warmed(m, ratio))
    cut = None
    if experiment is not None and not helped(experiment, case):
        if experiment.steps >= REPLAY_STEPS:
            return None  # a whole replay of the fix that did not help dismisses the reading
        cut, experiment = experiment, None  # too short to say: the reading stands alone
    verdict = (
        f"Your learning rate rose through the whole run, from {plain_lr(schedule.first, 2)} "
        f"to {plain_lr(schedule.peak, 2)} at its end, {schedule.peak / given:.0%} of the "
        f"{plain_lr(given)} {_meant_source(case, given)}: "
        + (_cycle_words(case.trace.setup, schedule, pace) if cycle is not None else
           "the warmup is longer than the training")
        + ", so the run never trained at the rate you meant. "
        + (_cut_text(cut) if cut is not None else _replay_text(experiment)) + ".")
    return Finding(
        LR_SCHEDULE, confidence=STARVED_READ if experiment is None else _confidence(experiment),
        verdict=verdict,
        evidence={"peak_lr": schedule.peak, "first_lr": schedule.first, "given_lr": given,
                  "steps": schedule.steps, "rate_changes_every": float(pace),
                  **_cycle_evidence(case.trace.setup), **_replayed(experiment),
                  **({} if cut is None else {"cut_replay_steps": float(cut.steps)})},
        fix=_starved_fix(schedule, given, pace, cycle is not None),
        experiment=experiment,
    )


def _cut_text(cut: Experiment) -> str:
    return (f"A replay of the fix, cut to {cut.steps} of its {REPLAY_STEPS} steps to fit the "
            f"diagnosis' time budget, did not show it (validation loss {cut.before:.3g} "
            f"without it, {cut.after:.3g} with it): too short to say, so this rests on the "
            f"rates your run recorded")


def _starved_fix(schedule: LrSchedule, given: float, pace: int, cycle: bool = False) -> str:
    if pace > 1:
        return (f"Your scheduler changes the rate only every {pace:,} steps (once an epoch?) "
                f"while its warmup is counted in steps: step it after every batch (in Lightning, "
                f"return it as {{'scheduler': scheduler, 'interval': 'step'}}), so that it "
                f"reaches {plain_lr(given)} early in the run.")
    if cycle:
        return (f"Size the one-cycle schedule from the steps it is stepped at: "
                f"steps_per_epoch=len(train_loader) (batches, not len(dataset), the rows) and "
                f"the epochs the loop runs, or total_steps={schedule.steps:,}, so that it "
                f"reaches {plain_lr(given)} at {CYCLE_WARMUP:.0%} of the run and anneals "
                f"by its end.")
    return (f"End the warmup well inside the run (a few percent of its {schedule.steps:,} "
            f"steps), counted in the steps the run takes, so that it reaches "
            f"{plain_lr(given)}.")


#: The share of a one-cycle schedule spent rising to its peak when the run does not say:
#: torch's OneCycleLR default ``pct_start`` (fastai's fit_one_cycle uses 0.25).
CYCLE_WARMUP = 0.3


def declared_cycle(setup) -> tuple[float, float] | None:
    """A one-cycle schedule's start and end as fractions of its peak, when the optimizer's
    group holds them (torch's OneCycleLR writes ``initial_lr``, ``max_lr`` and ``min_lr``
    into each group); None for any other schedule."""
    hparams = setup.optimizer_hparams or {}
    peak, start, end = (hparams.get(name) for name in ("max_lr", "initial_lr", "min_lr"))
    if not all(isinstance(v, (int, float)) and v >= 0 for v in (peak, start, end)) or peak <= 0:
        return None
    return start / peak, end / peak


def _cycled(multipliers: list[float], ratio: float, start: float, end: float) -> list[float]:
    """The declared one-cycle schedule over the replay's steps, as torch's OneCycleLR draws
    it (cosine up from ``start`` to the peak over CYCLE_WARMUP of the steps, cosine down to
    ``end``), scaled by ``ratio`` (the rate meant over the run's peak)."""
    count = len(multipliers)
    rise = max(1, round(CYCLE_WARMUP * count))
    shape = []
    for i in range(count):
        if i < rise:
            low, high, part = start, 1.0, i / rise
        else:
            low, high, part = 1.0, end, (i - rise) / max(count - 1 - rise, 1)
        shape.append(ratio * (high + (low - high) * (1 + math.cos(math.pi * part)) / 2))
    return shape


def _cycle_length(setup) -> int | None:
    steps = (setup.optimizer_hparams or {}).get("cycle_steps")
    return int(steps) if isinstance(steps, (int, float)) and steps > 0 else None


def _cycle_words(setup, schedule: LrSchedule, pace: int) -> str:
    length = _cycle_length(setup)
    if pace > 1:
        return (f"your one-cycle scheduler was stepped once every {pace:,} steps, so its "
                f"cycle went {pace:,} times slower than the training")
    if length is None or length <= schedule.steps:
        return "the one-cycle schedule is longer than the training"
    return (f"your one-cycle schedule was sized for {length:,} steps and the run took "
            f"{schedule.steps:,} ({length / schedule.steps:.0f} times fewer; its "
            f"steps_per_epoch counts rows rather than batches?) and never left its warm-up")


def _cycle_evidence(setup) -> dict[str, float]:
    length = _cycle_length(setup)
    return {} if length is None else {"cycle_steps": float(length)}


def _meant_source(case, given: float) -> str:
    if given != case.trace.setup.lr_given:
        return "your schedule was given as its peak (max_lr)"
    return "your optimizer was given"


def _warmed(multipliers: list[float], ratio: float) -> list[float]:
    """A linear warmup over REPLAY_WARMUP of the steps to ``ratio`` times the run's peak."""
    ramp = max(1, round(REPLAY_WARMUP * len(multipliers)))
    return [ratio * min(1.0, (i + 1) / ramp) for i in range(len(multipliers))]


# --- against --------------------------------------------------------------------------------


#: The plateau scheduler's best value "is" the highest validation loss seen before its first
#: cut within this share of it: the script's own mean (over rows, or over batches of unequal
#: size) and lossdoctor's mean of the loss calls may differ by a batch's weight; on
#: bench/projects3's tabular_kfold (mode='max') 0.1152 against 0.1159, 0.6% apart. An accuracy
#: or any other metric stepped in mode 'max' lies far from the loss.
STEPPED_WITH = 0.02
#: Confidence of a scheduler read to count every fall of the loss as no improvement when no
#: replay shows what the cuts cost: the setting is read, not inferred (as a coding of labels
#: is), but whether it held this run back is not measured. Above the REPORT_THRESHOLD of 0.5;
#: a new kind of evidence: `calibrate` has not measured it.
MODE_READ = 0.75


@dataclass
class Against:
    mode: str
    best: float  # the best value the scheduler had been stepped with at its first cut
    cut_step: int
    first_loss: float  # the first validation loss ...
    last_loss: float  # ... and the last one before the first cut
    cuts: int  # the rate's falls over the run


def find_mode_against(schedule: LrSchedule, passes) -> Against | None:
    """A plateau scheduler in mode 'max' that cut the rate as early as it can (its first value
    stayed its best: LrSchedule.never_improved) and whose best value is the highest validation
    loss seen before that cut (it is stepped with the loss, which improves by falling); None
    otherwise. Both are needed: a binary classifier's accuracy stepped in mode 'max' may level
    near 0.69, its loss's start (ln 2), but it improved before it levelled. A scheduler in mode
    'min' stepped with the loss is as meant."""
    cut = schedule.first_cut
    if (schedule.plateau_mode != "max" or cut is None or not schedule.never_improved
            or not math.isfinite(schedule.plateau_best)):
        return None
    before = [p.loss for p in passes if p.step <= cut and math.isfinite(p.loss)]
    if len(before) < 2:
        return None
    highest = max(before)
    if abs(schedule.plateau_best - highest) > STEPPED_WITH * abs(highest):
        return None
    cuts = sum(lr < earlier for (_, earlier), (_, lr)
               in zip(schedule.changes, schedule.changes[1:], strict=False))
    return Against(schedule.plateau_mode, schedule.plateau_best, cut, before[0], before[-1], cuts)


def _against_finding(case, schedule: LrSchedule, against: Against) -> Finding:
    experiment = _tested(case, "rate held at its peak, without the plateau cuts",
                         lambda m: [1.0 for _ in m])
    shown = experiment is not None and helped(experiment, case)
    verdict = (
        f"Your ReduceLROnPlateau is set to mode='{against.mode}' (a higher value is better) but "
        f"is stepped with your validation loss, which improves by falling (its best value at its "
        f"first cut, {against.best:.4g}, is the highest validation loss of the run by then; the "
        f"loss went {against.first_loss:.4g} -> {against.last_loss:.4g}): every fall counts as "
        f"no improvement, so it cut the rate {against.cuts} time{'s' * (against.cuts != 1)}, "
        f"from {plain_lr(schedule.peak, 3)} to {plain_lr(schedule.last)}, while the model "
        f"was learning. {_replay_text(experiment)}.")
    return Finding(
        LR_SCHEDULE,
        confidence=_confidence(experiment) if shown else MODE_READ,
        verdict=verdict,
        evidence={"peak_lr": schedule.peak, "last_lr": schedule.last,
                  "scheduler_best": against.best, "first_cut_step": against.cut_step,
                  "val_first": against.first_loss, "val_before_first_cut": against.last_loss,
                  "cuts": against.cuts, **_replayed(experiment)},
        fix="Give ReduceLROnPlateau mode='min' when you step it with a loss (mode='max' is for "
            "a metric that improves by rising, such as accuracy).",
        experiment=experiment if shown else None,
    )


# --- shared ---------------------------------------------------------------------------------


def _tested(case, description: str, shape: ShapeChange) -> Experiment | None:
    """The run's schedule replayed with its shape changed, against the replay of it as it was
    (a reactive schedule's cuts too, which the baseline leaves out: lossdoctor.lr_schedule);
    None when the training cannot be replayed (then the curves alone are the evidence)."""
    try:
        replayer = case.require_replay()
        reactive = replayer.schedule is not None and replayer.schedule.reactive
        baseline = (replayer.replay(Plan(steps=REPLAY_STEPS, lr_shape=list)) if reactive
                    else case.baseline)
        after = case.replayer.replay(Plan(steps=REPLAY_STEPS, lr_shape=shape))
    except Exception:  # noqa: BLE001 - Skip, or a replay that fails: the curves remain
        return None
    return fix_experiment(description, baseline, after)


def _confidence(experiment: Experiment | None) -> float:
    """0.6 for a fix that clears the bar, up to 0.9 for one that halves the loss or more;
    CURVES_ONLY without a replay."""
    if experiment is None:
        return CURVES_ONLY
    return 0.6 + 0.3 * min(improvement(experiment) / 0.5, 1.0)


def _replayed(experiment: Experiment | None) -> dict[str, float]:
    if experiment is None:
        return {}
    return {"val_before": experiment.before, "val_after": experiment.after}


def _replay_text(experiment: Experiment | None) -> str:
    if experiment is None:
        return ("Your training could not be replayed to test a fix, so this rests on the "
                "curves alone")
    before = (f"{experiment.before:.3g}" if math.isfinite(experiment.before)
              else "NaN or infinity")
    return (f"Replaying {experiment.steps} steps of your training with the {experiment.description}"
            f" took the validation loss from {before} to {experiment.after:.3g}")


def _part(values: list[float], index: int, parts: int) -> list[float]:
    size = max(len(values) // parts, 1)
    return values[index * size:(index + 1) * size] or values[-size:]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan

