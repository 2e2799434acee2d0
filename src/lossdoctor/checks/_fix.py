"""Did a fix help? The one bar, the one measure of where a replay settled, and the experiment
that compares two replays, shared by every check that tests a fix by replaying the training.

    experiment = fix_experiment("standardize inputs", case.baseline, standardized)
    if helped(experiment, case): ...    # at least MEANINGFUL_IMPROVEMENT off the loss, and
                                        # MEANINGFUL_SHARE_OF_CONSTANT_GUESS of the constant guess's
"""

from __future__ import annotations

import math

from lossdoctor.case import REPLAY_STEPS
from lossdoctor.curve_stats import NOISE_WIDTHS, noise
from lossdoctor.experiments import ReplayResult
from lossdoctor.findings import Experiment

#: A fix must take at least a tenth off the validation loss to count as one: smaller changes
#: are within what a different trajectory of the same replay can do on its own, and a tenth of
#: the loss is a change a practitioner would act on.
MEANINGFUL_IMPROVEMENT = 0.1
#: Evaluations averaged for where a replay settled: the last three of its ten, its last 30% of
#: steps. One evaluation is one draw of a curve that wobbles from minibatch to minibatch; the
#: last half would still hold the descent, and so rank fixes by how fast they converge rather
#: than by where they got.
SETTLED_EVALUATIONS = 3
#: ... and at least a twentieth of the constant guess's validation loss. A relative drop alone
#: exaggerates near zero: a model at 0.018 on a two-class task (constant guess 0.69) that a fix
#: takes to 0.010 "loses 45%" while it already had what there was to learn. A twentieth of the
#: constant guess's loss is what a twentieth of the rows going from a coin toss to certain is
#: worth: less changes no run from "not learning" to "learning", the question asked here.
MEANINGFUL_SHARE_OF_CONSTANT_GUESS = 0.05


def settled_loss(result: ReplayResult) -> float:
    """Where a replay's validation loss settled: the mean of its last SETTLED_EVALUATIONS
    evaluations; infinite when the replay diverged or has none."""
    last = result.validation_losses[-SETTLED_EVALUATIONS:]
    if not last or not all(math.isfinite(v) for v in last):
        return math.inf
    return sum(last) / len(last)


def fix_experiment(description: str, before: ReplayResult, after: ReplayResult,
                   steps: int | None = None) -> Experiment:
    """A fix tested by two replays of ``steps`` steps (by default the steps the fix's replay
    was planned to take), without it and with it: where each validation loss settled, and both
    curves from step 0 for the report."""
    steps = steps if steps is not None else (after.planned_steps or REPLAY_STEPS)
    curve_steps = _shared_steps(before, after)
    curves = [_curve(r, curve_steps) for r in (before, after)]
    return Experiment(description, settled_loss(before), settled_loss(after), steps,
                      curves[0], curves[1], curve_steps)


def _shared_steps(before: ReplayResult, after: ReplayResult) -> list[int]:
    """The replay steps both curves are drawn at, from step 0: the longer replay's, when the
    other's are where it starts (a replay that blew up stops early, at the same steps until
    then); [] when they were cut at different points, and are then drawn evenly spaced."""
    evaluated = [_evaluated(r) for r in (before, after)]
    if any(len(steps) != len(losses) for steps, losses in evaluated):
        return []
    longer, shorter = sorted((steps for steps, _ in evaluated), key=len, reverse=True)
    return [0, *longer] if longer[:len(shorter)] == shorter else []


def _evaluated(result: ReplayResult) -> tuple[list[int], list[float]]:
    """A replay's regular evaluations: without the point a replay that blew up adds at the step
    it did (inf, at no evaluation step, and nothing a figure can draw)."""
    cut = -1 if result.diverged and result.validation_losses else None
    return result.validation_steps[:cut], result.validation_losses[:cut]


def _curve(result: ReplayResult, steps: list[int]) -> list[float]:
    """A replay's validation losses from its start, NaN past the step where it stopped."""
    if not steps:
        return list(result.validation_losses)
    losses = _evaluated(result)[1]
    missing = len(steps) - 1 - len(losses)
    return [result.start_validation, *losses, *[math.nan] * missing]


def relative_drop(before: float, after: float) -> float:
    """How much lower ``after`` is than ``before``, as a share of ``before``. A loss that is
    not finite after is no improvement (-1); one that stops being infinite is a full one (1)."""
    if not math.isfinite(after):
        return -1.0
    if not math.isfinite(before):
        return 1.0
    return (before - after) / abs(before) if before else 0.0


def improvement(experiment: Experiment) -> float:
    """The experiment's relative drop of the validation loss; positive when the fix helps."""
    return relative_drop(experiment.before, experiment.after)


def helped(experiment: Experiment, case=None) -> bool:
    """Whether the fix took at least MEANINGFUL_IMPROVEMENT off the validation loss and, when
    ``case`` knows the constant guess's validation loss, at least
    MEANINGFUL_SHARE_OF_CONSTANT_GUESS of it."""
    if improvement(experiment) < MEANINGFUL_IMPROVEMENT:
        return False
    constant = None if case is None else case.constant_guess_loss("validation")
    return clear_against(experiment, constant)


def hurt(experiment: Experiment, case=None) -> bool:
    """Whether the change made the validation loss worse by the bar a fix must clear: undoing
    it would have been a fix."""
    undone = Experiment(experiment.description, experiment.after, experiment.before,
                        experiment.steps)
    return helped(undone, case)


def clear_against(experiment: Experiment, constant: float | None) -> bool:
    """The drop is at least MEANINGFUL_SHARE_OF_CONSTANT_GUESS of ``constant`` (True without
    a finite constant, or when either side of the experiment is not finite: divergence is
    judged by the relative drop)."""
    before, after = experiment.before, experiment.after
    if constant is None or not (math.isfinite(constant) and constant > 0):
        return True
    if not (math.isfinite(before) and math.isfinite(after)):
        return True
    return before - after >= MEANINGFUL_SHARE_OF_CONSTANT_GUESS * constant


def beyond_the_run(case, after: float) -> bool:
    """Whether a replay's settled validation loss ``after`` is clearly below where the run's
    own validation loss got (its best pass): by the bar of a fix (``helped``:
    MEANINGFUL_IMPROVEMENT, and MEANINGFUL_SHARE_OF_CONSTANT_GUESS of the constant guess's loss)
    and by more than NOISE_WIDTHS times the pass-to-pass noise of the run's validation curve
    (the bar curve_stats puts on a rise from a curve's best point, for the same reason: the
    best pass is the lowest of noisy values). Replays take REPLAY_STEPS steps on the captured
    batches; a run that learns steadily trails a replay that converges faster (a higher lr,
    smaller batches) on those, and still ends where it gets: a change that only gets there
    sooner is no fix for the run. A run without validation passes has no level of its own but
    where its setup gets in as many steps as the run took (``Case.run_length_steps``): the
    replay need only get below that."""
    passes, run = run_validation(case), case.run_best_validation()
    if not passes:
        return after < run
    if not helped(Experiment("the run against the replay", run, after, 0), case):
        return False
    return run - after > NOISE_WIDTHS * (noise(passes) if len(passes) >= 3 else 0.0)


def run_validation(case) -> list[float]:
    """The run's own finite validation losses, one a pass."""
    return [p.loss for p in case.trace.validation_passes() if math.isfinite(p.loss)]
