"""A run that learns, against a replay with a usual setting for as many steps as it took."""

import math
from dataclasses import replace
from types import SimpleNamespace

import pytest

from lossdoctor.checks._same_length import (
    FAR_BEHIND_SHARE,
    LONGEST_OWN_LENGTH,
    SLOWER_FACTOR,
    behind,
    may_be_far_behind,
    run_end,
    share_left,
    steps_to_reach,
)
from lossdoctor.experiments import Plan, ReplayResult
from lossdoctor.trace import ValidationPass

GUESS = 0.69


class CannedReplayer:
    """Replays that settle at the loss given for their steps."""

    def __init__(self, by_steps):
        self.by_steps, self.planned = by_steps, []

    def sized(self, steps):
        return steps

    def replay(self, plan):
        self.planned.append(plan.steps)
        return ending_at(self.by_steps[plan.steps], plan.steps)


def ending_at(loss, steps):
    return ReplayResult([loss] * steps, [loss] * 10, planned_steps=steps,
                        start_validation=GUESS)


def run_case(steps, end, by_steps):
    losses = [GUESS - (GUESS - end) * (i + 1) / 5 for i in range(5)] + [end] * 3  # ends at end
    passes = [ValidationPass(steps * (i + 1) // 8, i, loss, 4, 1)
              for i, loss in enumerate(losses)]
    trace = SimpleNamespace(step_losses=lambda: [(i, 0.5) for i in range(steps)],
                            validation_passes=lambda: passes)
    return SimpleNamespace(trace=trace, replayer=CannedReplayer(by_steps),
                           constant_guess_loss=lambda split: GUESS,
                           baseline=ending_at(GUESS, 300))


def test_a_long_run_that_got_further_than_a_short_replay_is_judged_in_its_own_steps():
    """Plain SGD for 768 steps ends at 0.40 (constant guess 0.69): more than half the way a
    300-step replay with momentum gets (0.30), but momentum for as many steps (the most
    replayed: LONGEST_OWN_LENGTH) gets to 0.05, and the run left more than half of that way."""
    case = run_case(768, 0.40, {LONGEST_OWN_LENGTH: 0.05})
    against = behind(case, ending_at(0.30, 300), Plan())
    assert against.far and against.left == pytest.approx((0.40 - 0.05) / (GUESS - 0.05))
    assert case.replayer.planned == [LONGEST_OWN_LENGTH] and against.steps == LONGEST_OWN_LENGTH


def test_a_twin_that_kept_up_in_its_own_steps_is_not_behind():
    """A fixed twin at 0.06 against a replay at a higher rate at 0.003: 20 times lower, but
    the twin covered 91% of that way from the guess."""
    case = run_case(768, 0.06, {LONGEST_OWN_LENGTH: 0.003})
    against = behind(case, ending_at(0.30, 300), Plan())
    assert not against.far and against.left < 0.1


def test_a_replay_already_ahead_in_fewer_steps_is_not_replayed_again():
    case = run_case(768, 0.60, {})
    assert behind(case, ending_at(0.10, 300), Plan()).far
    assert case.replayer.planned == []


def test_a_run_shorter_than_the_replay_is_compared_in_its_own_steps():
    """A run of 200 steps is not blamed for what the replay does with 100 steps more."""
    case = run_case(200, 0.40, {200: 0.35})
    against = behind(case, ending_at(0.05, 300), Plan())
    assert case.replayer.planned == [200] and not against.far


def test_no_comparison_without_the_runs_own_validation_or_a_replay_that_got_down():
    case = run_case(768, 0.40, {})
    case.trace.validation_passes = lambda: []
    assert behind(case, ending_at(0.05, 300), Plan()) is None
    assert math.isnan(share_left(0.4, 0.7, GUESS))


def test_steps_to_reach_a_level_are_read_off_the_line_between_evaluations():
    replay = ReplayResult([], [0.5, 0.3, 0.1], validation_steps=[10, 20, 30],
                          start_validation=GUESS, planned_steps=30)
    assert steps_to_reach(replay, 0.4) == pytest.approx(15.0)
    assert steps_to_reach(replay, 0.6) == pytest.approx(10 * 0.09 / 0.19)
    assert steps_to_reach(replay, 0.05) == math.inf
    assert steps_to_reach(replace(replay, validation_steps=[]), 0.3) == pytest.approx(20.0)


def test_a_run_that_covered_most_of_the_way_can_still_be_ten_times_slower():
    """A run of 200 steps ends at 0.2 (guess 0.69), where a replay as long gets to 0.01: 28%
    of the way left, not far behind, but the replay got down to 0.2 by its 10th step."""
    case = run_case(200, 0.20, {})
    fast = ReplayResult([], [0.15] + [0.01] * 9, validation_steps=list(range(10, 201, 20)),
                        start_validation=GUESS, planned_steps=200)
    against = behind(case, fast, Plan())
    assert not against.far and against.far_slower
    assert against.times_faster >= SLOWER_FACTOR
    slow = replace(fast, validation_losses=[0.5, 0.4, 0.3, 0.25] + [0.01] * 6)
    assert not behind(case, slow, Plan()).far_slower


@pytest.mark.parametrize("end, may", [(0.2, False), (0.5, True)])
def test_a_run_near_zero_cannot_be_far_behind_any_replay(end, may):
    """No replay goes below 0: a run at 0.2 of a guess of 0.69 leaves at most 29% of any way."""
    assert 0.2 / GUESS < FAR_BEHIND_SHARE < 0.5 / GUESS
    assert may_be_far_behind(run_case(768, end, {})) is may


@pytest.mark.parametrize("untrained", [-4499.0, 921.0 * 400, math.nan])
def test_replays_that_score_another_loss_than_the_run_judge_nothing(untrained):
    """nll_loss of log_softmax replayed without the log_softmax: the untrained model scored
    -4499 in the replay where the constant guess scores 921."""
    case = run_case(768, 0.40, {LONGEST_OWN_LENGTH: 0.05})
    case.baseline = replace(case.baseline, start_validation=untrained)
    assert behind(case, ending_at(0.30, 300), Plan()) is None


def _passes(losses):
    passes = [ValidationPass(80 * (i + 1), i, loss, 20, 400) for i, loss in enumerate(losses)]
    return SimpleNamespace(trace=SimpleNamespace(validation_passes=lambda: passes))


def test_a_curve_still_falling_at_each_of_its_last_passes_ended_at_its_last_pass():
    """The real-case corpus's udacity twin (plain SGD 0.01, an MLP on digits, guess 2.30): its
    validation loss 2.20, 2.05, 1.74, 1.18, 0.58, still falling fast. The mean of its last three
    passes (1.17) put it where it was a pass earlier, more than half of Adam's way behind (a
    false alarm); it ended at 0.58, a quarter of it. A curve that turned up at any of its last
    three passes is read as before, by their mean; one with fewer passes than that too."""
    assert run_end(_passes([2.20, 2.05, 1.74, 1.18, 0.58])) == pytest.approx(0.58)
    assert run_end(_passes([2.20, 1.00, 0.62, 0.60, 0.58])) == pytest.approx(0.58)
    assert run_end(_passes([2.20, 1.00, 0.60, 0.58, 0.62])) == pytest.approx(0.60)
    assert run_end(_passes([1.18, 0.58])) == pytest.approx(0.88)
