"""Is a run that learns too slow? Where it ended, against a replay with a usual setting (the
fix a check suggests) for as many steps as the run took.

A run that is still learning at its end can be far from where the same number of steps gets
with a better optimizer or learning rate: the user's complaint (the loss is not improving
enough) then has that cause, however steadily the curve falls. The measure is the share of
the way down that the replay gets which the run leaves on the table:

    left = (run's end - replay's end) / (reference - replay's end)

with the constant guess's validation loss as the reference (else the untrained model's): 1
for a run that got nowhere, 0 for one that got as far as the replay, negative for one that
got further. A share of a way is what the user sees, where a ratio of two losses is not: a
twin at 0.05 beside a replay at 0.003 (15 times lower) has left 7% of a way from 0.69.

A run can also cover most of that way and still learn far too slowly: the second measure is
how many times fewer steps the replay takes to get where the run ended (``times_faster``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._fix import run_validation, settled_loss
from lossdoctor.experiments import Plan, ReplayResult

#: Validation passes averaged for where the run ended (symptom.py's LAST_PASSES).
LAST_PASSES = 3
#: The run is "far behind" when it leaves more than this share of the replay's way on the
#: table. Measured on dev cases of session 15 (docs/devset.md, "Runs of session 15
#: (s15-slow)"): the broken runs that learned at all (plain SGD at Adam's rate, 322 steps,
#: gain 0.28; plain SGD at 0.03-0.05, 99-120 steps) left 0.54-0.91 of the fix's way in their
#: own steps, and those that did not about 1; the fixed twins left -0.29 to 0.19 of a higher
#: rate's way, except two at a usual rate (a decade or less below the range test's lowest
#: point, which learning_rate does not blame: RMSprop 0.54, SGD with momentum 0.57). The bar
#: sits in the empty stretch between 0.19 and 0.54, below the generator's own "gain at most
#: half the twin's" (bench/devset/validity.py), which a replay of the fix need not match.
FAR_BEHIND_SHARE = 0.4
#: "Learns far slower": a replay at another setting brings the validation loss down to where
#: the run ended in at most a tenth of the steps the run took (SLOWER_FACTOR times as fast).
#: The share of the way (FAR_BEHIND_SHARE) misses a run that covered most of the way to a
#: loss near zero at a rate a hundred times too low: SGD with momentum 0.9 at Adam's 1.25e-4
#: on a heatmap detector with a hand-written focal loss fell from 2.2 to 0.50 in 200 steps
#: (77% of the way to 0.0008, where lr 0.02 ends) and lr 0.14 got below 0.50 within its
#: first 10 steps; "healthy" was reported (issue 11, "why is my validation loss not
#: changing"). In the small-step regime a step's progress is proportional to the rate, so
#: ten times the speed is what a rate a decade too low costs: the range test's own
#: uncertainty (lr_range.LOW_GAP_DECADES), within which a rate is not blamed.
SLOWER_FACTOR = 10.0
#: "Training longer would also get further" holds when, at the pace of the last third of its
#: validation passes, the run would reach the higher lr's validation loss within this many
#: times its own length more (three runs in all). Measured on dev cases: 21085's twin (AdamW at
#: 1e-3, still falling 0.019 a pass) needs 1.4 run lengths more; plain SGD at 0.04 on token
#: models (plain_sgd 20106 and 30004, whose twins with momentum reach 0.002 and 0.0003) needs
#: 3.2 and 4.4: a rate that takes several times the training to get where a higher one gets
#: in 300 steps is what holds the run back, however steadily it falls.
MORE_RUNS = 2.0
#: The longest replay at a run's own length: twice REPLAY_STEPS, the two fix replays the
#: budget plans for a tested cause (budget.DIAGNOSIS_STEPS). A longer run is compared with a
#: replay cut at this length, which can only get less far: the comparison favours the run.
LONGEST_OWN_LENGTH = 2 * REPLAY_STEPS


def run_end(case) -> float | None:
    """Where the run's own validation loss ended (``ended_at``)."""
    return ended_at(run_validation(case))


def ended_at(passes: list[float]) -> float | None:
    """Where a validation curve ended: the mean of its last LAST_PASSES passes, or its last
    pass when each of those fell below the one before (``still_falling``)."""
    if still_falling(passes):
        return passes[-1]
    last = passes[-LAST_PASSES:]
    return sum(last) / len(last) if last else None


def still_falling(passes: list[float]) -> bool:
    """Each of the last LAST_PASSES passes below the one before: three falls in a row, which
    a flat curve's noise makes 1 time in 8 (symptom.py reads a run so as still learning). The
    mean of the last passes stands where the curve was a pass earlier: on the udacity course's
    MLP (the real-case corpus's fixed twin, plain SGD 0.01, validation 2.20, 2.05, 1.74, 1.18,
    0.58 against a guess of 2.30) it put the run at 1.17, more than half of the way Adam gets
    still ahead of it (0.51, "far behind"), where the run had come to 0.58, a quarter (0.25)."""
    last = passes[-LAST_PASSES - 1:]
    return len(last) > LAST_PASSES and all(a > b for a, b in zip(last, last[1:], strict=False))


def reference(case) -> float | None:
    """The loss of having learned nothing: the constant guess's, else the untrained model's
    (the baseline replay's start)."""
    constant = case.constant_guess_loss("validation")
    if constant is not None and math.isfinite(constant) and constant > 0:
        return constant
    start = case.baseline.start_validation
    return start if math.isfinite(start) and start > 0 else None


def share_left(run: float, replay: float, start: float) -> float:
    """The share of the replay's way down from ``start`` that the run leaves on the table
    (NaN when the replay got no way down)."""
    if not (math.isfinite(replay) and start - replay > 0):
        return math.nan
    return (run - replay) / (start - replay)


#: The untrained model's loss in the replay of the user's own setup and the reference (the
#: constant guess's) may differ by this factor either way and still be one loss on one scale:
#: a standard init scores near the constant guess, an init far off a few times more
#: (bad_init's FAR is 3).
SAME_SCALE_FACTOR = 10.0


def on_the_runs_scale(case, start: float) -> bool:
    """Whether the replays score the run's loss as the run does: the replay of the user's own
    setup, untrained, within SAME_SCALE_FACTOR of ``start``. The run's end is read from its own
    curve and the fix's from a replay, so a replay that scores another loss (the corpus twin
    bolts_logistic_regression_double_softmax: nll_loss of log_softmax, replayed without the
    log_softmax, went to -8.95e6 where the run ended at 0.34) made any run look left behind."""
    untrained = case.baseline.start_validation
    return (math.isfinite(untrained) and untrained > 0
            and start / SAME_SCALE_FACTOR <= untrained <= start * SAME_SCALE_FACTOR)


def may_be_far_behind(case) -> bool:
    """Whether any replay could leave the run FAR_BEHIND_SHARE behind, read before paying for
    one: with a loss that cannot go below zero, no replay leaves it more than its own end over
    the reference (``share_left`` with the replay at 0)."""
    end, start = run_end(case), reference(case)
    return end is not None and start is not None and end / start > FAR_BEHIND_SHARE


def own_length(case) -> int:
    """The steps the run took, at most LONGEST_OWN_LENGTH."""
    return min(len(case.trace.step_losses()), LONGEST_OWN_LENGTH)


@dataclass
class Behind:
    """The run's end against a replay with another setting for as many steps."""

    left: float  # the share of the replay's way down the run leaves on the table
    run: float  # where the run's validation loss ended
    replay: float  # where the replay's settled
    start: float  # the reference both ways are measured from
    steps: int  # the replay's steps
    #: the steps the replay took to bring the validation loss down to where the run ended
    reached_in: float = math.inf
    run_steps: int = 0  # the steps the run took

    @property
    def far(self) -> bool:
        return self.left > FAR_BEHIND_SHARE

    @property
    def times_faster(self) -> float:
        """How many times fewer steps the replay took to get where the run ended."""
        return self.run_steps / self.reached_in if self.reached_in > 0 else math.inf

    @property
    def far_slower(self) -> bool:
        return self.times_faster >= SLOWER_FACTOR


def behind(case, replay: ReplayResult, plan: Plan, own_steps: bool = False) -> Behind | None:
    """The run against ``replay`` (a replay of ``plan``), replayed again at the run's own
    length when it took another number of steps, unless the first replay, shorter than the
    run, already leaves it FAR_BEHIND_SHARE behind (what gets further in fewer steps gets
    further in as many). None without a run end, a reference, or a replay that got down, or
    when the replays do not measure the run's loss on its scale (``on_the_runs_scale``). With
    ``own_steps``, always at the run's own length (how far behind, not only whether far)."""
    end, start = run_end(case), reference(case)
    if end is None or start is None or not on_the_runs_scale(case, start):
        return None
    run_steps = len(case.trace.step_losses())
    found = _against(replay, end, start, run_steps)
    sized = case.replayer.sized(own_length(case))
    if sized == replay.planned_steps or (sized > replay.planned_steps and found is not None
                                         and found.far and not own_steps):
        return found
    return _against(case.replayer.replay(replace(plan, steps=own_length(case))), end, start,
                    run_steps)


def _against(replay: ReplayResult, end: float, start: float, run_steps: int) -> Behind | None:
    left = share_left(end, settled_loss(replay), start)
    if not math.isfinite(left):
        return None
    return Behind(left, end, settled_loss(replay), start, replay.planned_steps,
                  steps_to_reach(replay, end), run_steps)


def steps_to_reach(replay: ReplayResult, level: float) -> float:
    """The steps the replay's validation loss took to come down to ``level``, interpolated
    linearly between its evaluations (from its untrained start at step 0): on a curve that
    falls ever slower the line lies above it, so the replay is never credited with getting
    there sooner than it did. Infinite when it never got there."""
    steps = replay.validation_steps or _evenly_spaced(replay)
    points = [(0, replay.start_validation), *zip(steps, replay.validation_losses, strict=False)]
    if not math.isfinite(points[0][1]):
        points = points[1:]
    for (step_a, a), (step_b, b) in zip(points, points[1:], strict=False):
        if not (math.isfinite(a) and math.isfinite(b)):
            return math.inf
        if a <= level:
            return float(step_a)
        if b <= level:
            return step_a + (step_b - step_a) * (a - level) / (a - b)
    return math.inf


def _evenly_spaced(replay: ReplayResult) -> list[int]:
    """Where a replay without recorded steps evaluated: evenly, the last at its end."""
    count = len(replay.validation_losses)
    return [replay.planned_steps * (i + 1) // count for i in range(count)]


def runs_to_reach(passes: list[float], target: float) -> float:
    """How many times its own length more the run would need to train to bring its validation
    loss down to ``target`` at the mean pace of its last third of passes (at least two)."""
    span = min(max(2, len(passes) // 3), len(passes) - 1)
    pace = (passes[-span - 1] - passes[-1]) / span
    gap = passes[-1] - target
    if gap <= 0:
        return 0.0
    return gap / pace / len(passes) if pace > 0 else math.inf
