"""Whether the run shows the symptom lossdoctor is asked about: a loss that diverged, that
went below the least its loss function can reach, that ended no better than a constant guess or
barely below it (or, with no guess to compare with, barely below where the untrained model
started, or not far below it and still falling at its first pace), that only swung, that rose
from its best while the training loss fell (the rule the overfitting check confirms), or that
has too few points and no guess to show it learned. A run without it is healthy; a run with it and
no confirmed cause is "unexplained", never healthy.
"""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass

from lossdoctor.collapse import fell_back
from lossdoctor.curves import (
    AT_CHANCE,
    DIVERGING,
    OSCILLATING,
    OVERFITTING,
    PROGRESS_SWINGS,
    CurveVerdict,
    judge_trace,
    loss_words,
)
from lossdoctor.losses import alike, loss_kind
from lossdoctor.lr_schedule import LrSchedule
from lossdoctor.trace import Trace

#: Without a constant guess, a loss that ended less than a tenth below the untrained model's
#: did not move: the same bar as a stalled training loss in the checks.
STALLED_DROP = 0.1
#: Share of the first training steps whose mean loss stands for the untrained model, and of the
#: last ones (or the last validation passes) for where the run ended.
EDGE_SHARE = 0.1
LAST_PASSES = 3
#: A validation loss whose passes all lie within this fraction of their median did not change:
#: printed to three significant digits, as people read their logs, every pass reads the same.
FLAT_RELATIVE_RANGE = 1e-3
#: ... while the training loss moved by more than this fraction between the first and the last
#: of those passes (the STALLED_DROP bar): the validation loss is not following the model.
TRAINING_MOVED = STALLED_DROP
MIN_FLAT_PASSES = 3
#: Passes identical to float32 precision: weights that changed at all would move the mean
#: loss more than this, so the validation does not read the model, whatever the training did.
IDENTICAL_RELATIVE_RANGE = 1e-6
#: Sampled steps (the later half of them, at least this many) at which every gradient was
#: exactly zero: nothing can train any more (every ReLU dead, an output pinned at a limit). A
#: gradient that is small but not zero, as near a minimum, is not this; five samples span
#: hundreds of steps on the sampling schedule.
MIN_ZERO_GRADIENT_STEPS = 5
#: Every loss whose kind lossdoctor knows (cross-entropy, BCE, NLL of log-probabilities, MSE,
#: L1, Huber) is 0 at best. A mean below 0 by more than float32 rounding (2**-23 is 1.2e-7,
#: accumulated over a mean of a few thousand terms), relative to the loss's scale, is no fit:
#: what it measures is not the fit (BCE targets of 1 and 2 reward ever larger outputs, NLLLoss
#: on raw scores rewards large scores).
BELOW_FLOOR_ROUNDING = 1e-5
#: A loss that ended below a constant guess, but by less than this share of the guess's loss,
#: learned next to nothing: the STALLED_DROP bar, with the guess for the untrained model (a
#: freshly initialized classifier starts at about the guess). Measured on the 10 kept dev
#: cases of seeds 30089-31337 (plain_sgd, negative_weight_init, two_batches_per_epoch,
#: tiny_train_set): the broken runs called healthy ended 0.4%, 0.6%, 4.2%, 4.3% and 14.8% below
#: the guess (by their last two validation losses); the ten fixed twins 29.5% to 100% below it.
NEAR_CHANCE_SHARE = STALLED_DROP
#: Fewer points than this on the curve judged (validation passes, else training losses): a
#: curve's shape cannot be told (curves.judge needs three), so a run that also has no guess
#: to be compared with gives too little evidence to call it healthy.
MIN_CURVE_POINTS = 3
#: Without a constant guess, a curve that still falls at its end at least this share of the
#: pace it fell at first (its last third against its first, the untrained model's loss
#: leading) has not begun to level off: were it closing in on its own floor exponentially,
#: the pace would have fallen to 1 - (the share of the way covered), so it covered at most
#: half the way there and could fall as much again as it did.
KEPT_PACE = 0.5
#: ... and had fallen less than this share of the untrained model's loss: the run is learning
#: far slower than a model's training is expected to. Measured on the 481 stored dev runs of
#: sessions 10-12 (bench/devset dev seeds, their *.full.json curves): of the fixed twins
#: without a constant guess (20), none fell less than 0.28 of its start, and those that kept
#: the pace fell 0.44, 0.74 and 0.92; the broken run without a guess called healthy (plain
#: SGD, 30046) fell 0.35 at 1.6 times its first pace, and a detector computing its own focal
#: loss, trained by plain SGD at Adam's lr (this session's dev script), 0.12 at 0.96. Runs
#: with a guess are judged against it (NEAR_CHANCE_SHARE) instead: among them, twins that
#: fell 0.25-0.5 of their start kept that pace 12 times in 68.
SLOW_DROP = 0.4
#: A run of fewer optimizer steps than this, still falling at KEPT_PACE of its first pace or
#: more at its end, stopped long before it finished learning, wherever it ended against the
#: guess: it is "slow", never healthy, so the checks of a short run (batch_size, the learning
#: rate, the replays of REPLAY_STEPS) get to say why. Measured on the 515 stored dev runs of
#: sessions 17-21 (their *.full.json reports, 248 fixed twins): the fewest steps of any twin
#: was 66 (a 6-epoch run of 11 batches), 44 twins took under 300 and 33 of them kept their
#: first pace, so the bar is the steps, not the pace; the short broken runs took 18-22 steps
#: (two_batches_per_epoch 311435 and 303011, 18% and 26% below the guess, and full_batch
#: 310213), and the generator's full_batch takes 6-19 (one step an epoch). 50 leaves a
#: twin of a third fewer steps than the shortest seen clear of it.
FEW_STEPS = 50


@dataclass
class Symptom:
    kind: str  # "diverging", "below_floor", "at_chance", "near_chance", "stalled", "slow",
    # "oscillating", "frozen_validation", "rising", "too_short", "untested", "unscored" or
    # "unjudged"
    message: str
    #: near_chance: each of the last LAST_PASSES points is below the one before (three falls
    #: in a row come by chance 1 time in 8 on a flat, noisy curve); slow: always. The run
    #: ended while it was learning, so "train longer" is the first thing to try.
    still_learning: bool = False


def symptom_of(trace: Trace, curve: CurveVerdict | None,
               chance_loss: float | None = None, floor: float | None = None) -> Symptom | None:
    """The symptom the run shows, or None when its curves look healthy. ``curve`` is the run's
    own verdict; ``chance_loss`` the constant guess's validation loss when the curve has none;
    ``floor`` the least the loss can reach on these targets when above 0 (soft targets'
    entropy: constant_guess.loss_floor)."""
    if _not_finite(trace) or (curve is not None and curve.kind == DIVERGING):
        message = curve.message if curve is not None else "the loss became NaN or infinite"
        return Symptom("diverging", message)
    below = below_floor(trace)
    if below is not None:
        return below
    if curve is not None and curve.chance_loss is None and chance_loss is not None:
        curve = judge_trace(trace, chance_loss)
    if curve is not None and curve.kind == AT_CHANCE:
        return Symptom("at_chance", curve.message)
    chance = curve.chance_loss if curve is not None else chance_loss
    return (_level_symptom(trace, chance, floor) or frozen_validation(trace) or _no_gradient(trace)
            or _no_steady_progress(trace, curve) or _late_rise(curve)
            or _too_short(trace, chance) or _few_steps_still_falling(trace, chance))


def untested(checks: int, validation_passes: int) -> Symptom:
    """The curves show no symptom, but ``checks`` checks that compare the model with a
    validation loss could not run: no validation rows could be replayed and no training rows
    held out. Healthy would say those causes were ruled out; they were not tested."""
    return Symptom("untested", f"the rows your {validation_passes} validation passes scored "
                               f"could not be replayed and no training rows could be held out "
                               f"in their place: {checks} checks that compare your model with "
                               "a validation loss could not run")


def unjudged_plateau(curve_message: str, replay_problem: str) -> Symptom:
    """The curve levelled off, and nothing could tell whether that level is where the model
    should end: no constant guess to hold it against, and no experiment on copies (the run
    could not be replayed). Healthy would say the level was judged; it was not."""
    return Symptom("unjudged", f"the {curve_message}, and nothing could tell whether that is "
                               "where your model should end: there is no constant guess to "
                               "compare it with, and no experiment could run on copies of "
                               f"your model ({replay_problem})")


def unscored_validation(steps: int) -> Symptom:
    """The run evaluated held-out rows at ``steps`` points of its training, and no loss scored
    them: lossdoctor judged the training loss only."""
    return Symptom("unscored", f"your script evaluated held-out rows at {steps} points of the "
                               "training without computing a loss on them (a measure such as "
                               "accuracy or AUC instead): only your training loss was judged, "
                               "so whether your model got worse on rows it does not train on "
                               "was not tested. Compute your training loss on those rows too "
                               "and lossdoctor will judge it")


def _late_rise(curve: CurveVerdict | None) -> Symptom | None:
    """The validation loss rose from its best by a steady trend while the training loss fell,
    giving back enough of what the model had learned (curve_stats.Rise.overfitting: half of
    it, or STILL_RISING_GIVEN_BACK_SHARE while still rising at the end): the model got worse
    on new rows as it trained, whatever level it ended at (fresh17 s16: 2.58 -> 2.91 over the
    last 7 passes, still 51% of its gain kept, was called healthy)."""
    if curve is None or curve.kind != OVERFITTING:
        return None
    return Symptom("rising", curve.message)


def _level_symptom(trace: Trace, chance: float | None,
                   floor: float | None = None) -> Symptom | None:
    """Where the run ended against the constant guess, or against its own start."""
    name, level = _final_level(trace)
    if level is None:
        return None
    if chance is not None and math.isfinite(chance):
        if level >= chance:
            lost = _lost_words(trace, _judged_losses(trace), chance)
            return Symptom("at_chance", f"{_level_words(trace, name, level)} no better than a "
                                        f"constant guess ({loss_words(chance)})"
                                        + (f", {lost}" if lost else ""))
        return _near_chance(trace, name, level, chance, floor)
    start = _untrained_level(trace)
    if start is not None and level >= (1 - STALLED_DROP) * start:
        how = "above" if level > start else "barely below"
        return Symptom("stalled", f"{_level_words(trace, name, level)} {how} where the "
                                  f"untrained model started ({loss_words(start)})")
    return _slow_without_guess(trace, name, level, start)


def _slow_without_guess(trace: Trace, name: str, level: float,
                        start: float | None) -> Symptom | None:
    """With no constant guess to compare with: fell less than SLOW_DROP of the untrained
    model's loss, and still falls at KEPT_PACE of its first pace or more, by its validation
    passes or its epochs' training losses."""
    if start is None or not start > 0 or level >= start or level < (1 - SLOW_DROP) * start:
        return None
    losses = _judged_losses(trace)
    if len(losses) == len(trace.step_losses()):
        return None  # judged step by step: single steps' noise would make the pace
    pace = kept_pace([start, *losses])
    if pace is None or pace < KEPT_PACE:
        return None
    return Symptom("slow", f"{_level_words(trace, name, level)} only {1 - level / start:.0%} "
                           f"below where the untrained model started ({loss_words(start)}), and "
                           f"still "
                           f"falling at {min(pace, 1):.0%} of its first pace: the model is "
                           "learning slowly and ended far from where its curve is heading",
                   still_learning=True)


def _few_steps_still_falling(trace: Trace, chance: float | None) -> Symptom | None:
    """Fewer than FEW_STEPS optimizer steps, and the judged curve (validation passes, else
    epochs' training losses) still falling at KEPT_PACE of its first pace or more: the run
    stopped while it was learning as fast as it began, before its curve began to level off
    (full_batch: 8 steps, the validation loss 13% below the guess and falling was called
    healthy)."""
    if not 0 < trace.steps < FEW_STEPS:
        return None
    losses, start = _judged_losses(trace), _untrained_level(trace)
    name, level = _final_level(trace)
    if start is None or level is None or _judged_by_step(trace):
        return None  # single steps' noise would make the pace
    # Validation passes are a curve of their own: joined to the training loss's start, a
    # validation set scored above it made the first fall negative and hid the pace (test
    # part's full_batch: training 0.996 at step 0, validation 1.044 -> 0.905 over 8 passes).
    by_passes = len(trace.validation_passes()) >= 2
    curve = losses if by_passes else [start, *losses]
    spent = _rate_spent_at_passes(trace) if by_passes else None
    by_steps, by_rate = kept_pace(curve), kept_pace(curve, spent) if spent else None
    pace = max((p for p in (by_steps, by_rate) if p is not None), default=None)
    if pace is None or pace < KEPT_PACE or not level < curve[0]:
        return None
    for_rate = (" for the learning rate your schedule gave it"
                if by_rate is not None and pace == by_rate and pace != by_steps else "")
    where = (f" {1 - level / chance:.0%} below a constant guess ({loss_words(chance)})"
             if chance is not None and math.isfinite(chance) and 0 < level < chance else "")
    return Symptom("slow", f"{_level_words(trace, name, level)}{where} after only {trace.steps} "
                           f"optimizer step{'s' * (trace.steps != 1)}, and still falling at "
                           f"{min(pace, 1):.0%} of its first pace{for_rate}: the run stopped "
                           "long before it finished learning", still_learning=True)


def kept_pace(losses: list[float], spent: list[float] | None = None) -> float | None:
    """The fall over the last third of ``losses`` against the fall over the first third
    (None when the first third did not fall, or with fewer than MIN_CURVE_POINTS + 1). With
    ``spent`` (the learning rate summed over the steps before each point), each fall is per
    unit of rate spent on it."""
    if len(losses) < MIN_CURVE_POINTS + 1 or not all(map(math.isfinite, losses)):
        return None
    third = len(losses) // 3
    first, last = losses[0] - losses[third], losses[-third - 1] - losses[-1]
    if spent is not None:
        first_spent, last_spent = spent[third] - spent[0], spent[-1] - spent[-third - 1]
        if not (first_spent > 0 and last_spent > 0):
            return None
        first, last = first / first_spent, last / last_spent
    return last / first if first > 0 else None


def _rate_spent_at_passes(trace: Trace) -> list[float] | None:
    """The learning rate summed over the optimizer steps before each validation pass, when the
    rate changed during the run (None when it stayed the same or was not recorded). A
    schedule that cut the rate slows the loss's fall by as much, and that slowing is the
    schedule's, not the curve levelling off: a development two-batch run (365006) whose StepLR
    halved the rate three times fell 0.18 of its first pace per step over its last passes while
    its loss still dropped at each one. A warmup makes the first pace per unit of rate the
    steeper, so the pace by steps is kept beside it (_few_steps_still_falling takes the
    larger: only a run shorter than any healthy development run is judged so)."""
    schedule = LrSchedule.of(trace.setup, trace.steps)
    if schedule is None or schedule.constant:
        return None
    spent = list(itertools.accumulate(schedule.per_step(), initial=0.0))
    return [spent[min(p.step, len(spent) - 1)] for p in trace.validation_passes()]


def _near_chance(trace: Trace, name: str, level: float, chance: float,
                 floor: float | None = None) -> Symptom | None:
    """Below the constant guess by less than NEAR_CHANCE_SHARE of it: still falling, the run
    stopped before it converged or while levelling off; flat, the model learned next to
    nothing. A loss whose ``floor`` (soft targets' entropy) lies above that bar even for a
    perfect fit is judged by the share of the way from the guess to the floor instead; the
    message gives the floor whenever it is known."""
    bar = (1 - NEAR_CHANCE_SHARE) * chance
    if floor is not None and 0 < floor < chance and floor >= bar:
        bar = chance - NEAR_CHANCE_SHARE * (chance - floor)
    if chance <= 0 or level < bar:
        return None
    losses = _judged_losses(trace)
    lost = _lost_words(trace, losses, chance)
    how = lost or _how_it_ended(losses) or "the model learned next to nothing"
    return Symptom("near_chance",
                   f"{_level_words(trace, name, level)} only {1 - level / chance:.1%} below a "
                   f"constant guess ({loss_words(chance)}), {how}{_few_points(losses)}"
                   f"{_floor_words(trace, level, chance, floor)}",
                   still_learning=not lost and _falls_at_each(losses[-LAST_PASSES - 1:]))


def _lost_words(trace: Trace, losses: list[float], chance: float) -> str:
    """"after reaching 1.69 at validation pass 3 of 10 ..." for a curve that fell back to the
    constant guess after clear progress (:mod:`lossdoctor.collapse`), whose last points may
    still drift down by a hair at the guess: it is not still falling; "" for any other curve."""
    collapse = fell_back(losses, chance)
    if collapse is None:
        return ""
    return (f"after reaching {loss_words(collapse.best)} at {_point_name(trace)} "
            f"{collapse.best_index + 1} of {collapse.points} and staying back at the guess for "
            f"the last {collapse.points - collapse.back_from}: the model lost what it had "
            "learned")


def _point_name(trace: Trace) -> str:
    """What a point of ``_judged_losses`` is."""
    if len(trace.validation_passes()) >= 2:
        return "validation pass"
    return "step" if _judged_by_step(trace) else "epoch"


def _floor_words(trace: Trace, level: float, chance: float, floor: float | None) -> str:
    """"; binary_cross_entropy cannot go below 0.5 on these targets (...): the run covered 34%
    of the way there", or "" without a floor above 0 and below the guess."""
    if floor is None or not 0 < floor < chance:
        return ""
    covered = max(0.0, (chance - level) / (chance - floor))
    return (f"; {_plain(trace.setup.loss_name)} cannot go below {loss_words(floor)} on these "
            f"targets (their own entropy: they are not all 0 or 1), so 0 is out of reach and "
            f"the run covered {covered:.0%} of the way from the guess to that floor")


def _how_it_ended(losses: list[float]) -> str | None:
    """Still falling at the last pass: whether by less at each pass (a curve levelling off,
    class_imbalance_fraud: 0.2626, 0.2586, 0.2559, 0.2545, which "ended far from converged"
    misdescribed) or not; None when it did not fall at the last pass."""
    if not (len(losses) >= 2 and losses[-1] < losses[-2]):
        return None
    drops = [a - b for a, b in itertools.pairwise(losses[-LAST_PASSES - 1:])]
    if len(drops) >= 2 and all(d > 0 for d in drops) and all(
            later < earlier for earlier, later in itertools.pairwise(drops)):
        return "and still falling, by less at each pass"
    return "and still falling: the run ended before it converged"


def _falls_at_each(values: list[float]) -> bool:
    """At least two values, each below the one before."""
    return len(values) >= 2 and all(a > b for a, b in itertools.pairwise(values))


def _no_steady_progress(trace: Trace, curve: CurveVerdict | None) -> Symptom | None:
    """A curve that swings (curves' OSCILLATING) and whose end is not below the untrained
    model's loss by more than PROGRESS_SWINGS of its typical swings: what it shows is noise,
    however low its last point happened to land. A curve judged step by step is compared by
    the means of its first and last EDGE_SHARE of steps, whose difference swings sqrt(2 /
    window) times a step's: a healthy run of mini-batches of 10, falling from 0.48 to 0.17
    under step-to-step swings of 0.06, read as no steady progress against single steps."""
    if curve is None or curve.kind != OSCILLATING:
        return None
    losses = _judged_losses(trace)
    start, (name, level) = _untrained_level(trace), _final_level(trace)
    if start is None or level is None or len(losses) < 2:
        return None
    swing = statistics.median(abs(b - a) for a, b in itertools.pairwise(losses))
    steps = [loss for _, loss in trace.step_losses()]
    if len(losses) == len(steps):  # judged by step: both ends are means over a window
        window = max(1, int(len(steps) * EDGE_SHARE))
        start, level = statistics.fmean(steps[:window]), statistics.fmean(steps[-window:])
        swing *= math.sqrt(2 / window)
    if start - level > PROGRESS_SWINGS * swing:
        return None
    return Symptom("oscillating", f"{curve.message} (the untrained model started at "
                                  f"{loss_words(start)}, the {name} loss ended at "
                                  f"{loss_words(level)})")


def _too_short(trace: Trace, chance: float | None) -> Symptom | None:
    """No constant guess to compare with and too few points for a curve: nothing shows that
    the model learned, so the run cannot be called healthy."""
    losses = _judged_losses(trace)
    if (chance is not None and math.isfinite(chance)) or len(losses) >= MIN_CURVE_POINTS:
        return None
    name, _ = _final_level(trace)
    return Symptom("too_short", f"only {len(losses)} {name} point{'s' * (len(losses) != 1)} "
                                "and no constant guess to compare with: too little evidence to "
                                "call the training healthy")


def _judged_losses(trace: Trace) -> list[float]:
    """The curve the run is judged by: its validation losses, else its training losses by
    epoch (by step with fewer than MIN_CURVE_POINTS epochs)."""
    passes = trace.validation_passes()
    if len(passes) >= 2:
        return [p.loss for p in passes]
    epochs = [loss for _, loss in trace.epoch_train_losses()]
    if len(epochs) >= MIN_CURVE_POINTS:
        return epochs
    return [loss for _, loss in trace.step_losses()]


def _judged_by_step(trace: Trace) -> bool:
    """Whether _judged_losses falls back to single steps' losses (a full batch's steps are
    epochs too, so their count alone does not tell)."""
    return (len(trace.validation_passes()) < 2
            and len(trace.epoch_train_losses()) < MIN_CURVE_POINTS)


def _few_points(losses: list[float]) -> str:
    return (f" (only {len(losses)} points: too few to tell more)"
            if len(losses) < MIN_CURVE_POINTS else "")


def below_floor(trace: Trace) -> Symptom | None:
    """A training or validation loss that ended below 0, the least a loss of a known kind can
    be (the loss function named, or a hand-written one that computes like it)."""
    name = trace.setup.loss_name
    if loss_kind(name) is None:
        return None
    start = _untrained_level(trace)
    scale = max(1.0, abs(start)) if start is not None and math.isfinite(start) else 1.0
    for which, level in (_final_level(trace), ("training", _training_level(trace))):
        if level is not None and math.isfinite(level) and level < -BELOW_FLOOR_ROUNDING * scale:
            return Symptom("below_floor",
                           f"{which} loss {loss_words(level)}, below 0, the least "
                           f"{_plain(name)} can "
                           "be: it no longer measures how well the model fits (targets "
                           "outside what the loss takes, or outputs it does not expect)")
    return None


def _plain(loss_name: str) -> str:
    """The loss as the message names it: "BCELoss", or "a loss computed like mse_loss"."""
    like = alike(loss_name)
    return f"a loss computed like {like}" if like else loss_name


def _training_level(trace: Trace) -> float | None:
    losses = [loss for _, loss in trace.step_losses()]
    if not losses:
        return None
    tail = losses[-max(1, int(len(losses) * EDGE_SHARE)):]
    return sum(tail) / len(tail)


def _level_words(trace: Trace, name: str, level: float) -> str:
    """"validation loss 1.31", or "validation loss averaging 1.361 over the last 3 passes" when
    the level is a mean: the run line beside it ("1.88 -> 1.31, best 1.31") shows no such
    number, and a bare one read as a contradiction of it."""
    last = [p.loss for p in trace.validation_passes()[-LAST_PASSES:]]
    if name != "validation" or len(last) < 2 or level == last[-1]:
        return f"{name} loss {loss_words(level)},"  # "1.31, only 5.8% below", not "1.31 only"
    return f"{name} loss averaging {loss_words(level)} over the last {len(last)} passes,"


def _final_level(trace: Trace) -> tuple[str, float | None]:
    """Where the run ended: the mean of its last LAST_PASSES validation passes (their noise
    averaged out), or the last pass when each of them is below the one before: a mean lags a
    falling curve (1.42, 1.35, 1.31 averaged 1.36, a level the run had left), and the report
    beside it says where the loss got to. Without validation, the training loss's tail."""
    passes = trace.validation_passes()
    if passes:
        last = [p.loss for p in passes[-LAST_PASSES:]]
        if len(last) == LAST_PASSES and _falls_at_each(last):
            return "validation", last[-1]
        return "validation", sum(last) / len(last)
    return "training", _training_level(trace)


def _untrained_level(trace: Trace) -> float | None:
    """The first tenth of the training steps' mean loss, or the first step's loss (the model
    before any update) when that is lower: a loss that blew up within its first steps makes
    the tenth's mean the blow-up, and a run that then came down from it only part of the way
    (a development-set one-cycle schedule: 2.69, then 1e5 in the first tenth, 3e4 at the end)
    would read as progress."""
    losses = [loss for _, loss in trace.step_losses()]
    if not losses:
        return None
    head = losses[:max(1, int(len(losses) * EDGE_SHARE))]
    return min(losses[0], sum(head) / len(head))


def _not_finite(trace: Trace) -> bool:
    passes = trace.validation_passes()
    steps = trace.step_losses()
    last = [p.loss for p in passes[-1:]] + [loss for _, loss in steps[-1:]]
    return any(not math.isfinite(value) for value in last)


def frozen_validation(trace: Trace) -> Symptom | None:
    """A validation loss the same at every pass while the training loss moved: whatever the
    validation measures, it is not the model being trained."""
    passes = trace.validation_passes()
    losses = [p.loss for p in passes]
    if len(losses) < MIN_FLAT_PASSES or not all(math.isfinite(v) for v in losses):
        return None
    middle = sorted(losses)[len(losses) // 2]
    spread = max(losses) - min(losses)
    steps = passes[-1].step - passes[0].step
    if spread > FLAT_RELATIVE_RANGE * abs(middle) or steps <= 0:
        return None
    same = f"validation loss {loss_words(middle)} at every one of its {len(losses)} passes"
    if spread <= IDENTICAL_RELATIVE_RANGE * abs(middle):
        return Symptom("frozen_validation",
                       f"{same}, identical through {steps:,} training steps: the validation "
                       "does not measure the weights being trained")
    between = max(1, steps // (len(passes) - 1))
    moved = _training_change(trace, passes[0].step, passes[-1].step, between)
    if moved is None or moved <= TRAINING_MOVED:
        return None
    return Symptom("frozen_validation",
                   f"{same}, while the training loss changed by {moved:.0%} between them: the "
                   "validation is not following the model being trained")


def _no_gradient(trace: Trace) -> Symptom | None:
    """Every gradient exactly zero through the later half of the sampled steps, while the loss
    is not zero (a perfect fit has no gradient either): the weights no longer move."""
    totals: dict[int, float] = {}
    for record in trace.gradients:
        totals[record.step] = totals.get(record.step, 0.0) + abs(record.grad_norm)
    steps = sorted(totals)
    later = steps[len(steps) // 2:]
    if len(later) < MIN_ZERO_GRADIENT_STEPS or any(totals[step] != 0 for step in later):
        return None
    name, level = _final_level(trace)
    if level is None or level == 0:
        return None
    return Symptom("stalled", f"every gradient exactly zero at the last {len(later)} sampled "
                              f"steps (from step {later[0]:,}): nothing trains any more, and "
                              f"the {name} loss stays at {loss_words(level)}")


def _training_change(trace: Trace, first: int, last: int, span: int) -> float | None:
    """Relative change of the mean training loss from the ``span`` steps after ``first`` to the
    ``span`` steps before ``last`` (the steps between the first two passes and between the last
    two: what the model did while each was measured)."""
    losses = trace.step_losses()
    before = [loss for step, loss in losses if first <= step < first + span]
    after = [loss for step, loss in losses if last - span <= step < last]
    if not before or not after:
        return None
    start, end = sum(before) / len(before), sum(after) / len(after)
    if not (math.isfinite(start) and math.isfinite(end)) or start == 0:
        return None
    return abs(end - start) / abs(start)
