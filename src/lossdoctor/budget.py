"""The time the diagnosis may take after the run, and how the experiments are fitted into it.

Three rules, each with its reason:

- **The default budget** (:func:`default_budget`): the larger of MIN_BUDGET_SECONDS and
  TRAINING_SHARE of the training time.
- **A default budget fitted to the step time** (:func:`fitted_default`): grown, up to
  MAX_FITTED_BUDGET_SECONDS, to what the full diagnosis takes at the measured step time, when
  that keeps every replay at MIN_REPLAY_STEPS or more; the report notes replays that were cut
  (:func:`cut_note`).
- **Experiments sized from the step time** (:func:`step_fraction`): every replay on a copy is
  cut by the same factor, so that a whole diagnosis' training steps fit STEP_SHARE of the
  budget at the measured cost of one step of the user's model; never below MIN_REPLAY_STEPS.
- **Which budget ends checks** (:func:`enforced`): one the user gave, always; the default one
  only where it shortened the experiments.
- **Order** (:func:`in_order`): the checks that cost least run first (shortest first completes
  the most checks in any budget), by the measured cost below; a check not measured yet runs
  after the measured ones, in the catalogue's order. A symptom the run shows moves the checks
  it points to ahead of the costly ones (POINTED_BY_SYMPTOM).
- **Checks that cannot fit** (:func:`least_seconds`): a check whose experiments, at their
  least, take longer than the time left runs without them (started, they would only be cut at
  the deadline, having spent the time the checks after it could use); the report says which
  budget includes it (:func:`too_costly`). Past the deadline, checks run on the run's records
  alone: reading them costs nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lossdoctor.findings import Skip

#: The default budget's floor. A 50M-parameter MLP must have its report at most 120 s after its
#: training (issue 12); about 10-15 s of that go to the probe, the report and the exit, so 100 s
#: is left for the checks. Small runs do not lose checks to it (see :func:`enforced`).
MIN_BUDGET_SECONDS = 100.0
#: A long training is worth a longer look: a tenth of its time, the overhead a user accepts for
#: a diagnosis (issue 12); it passes the floor only for trainings over 1,000 s.
TRAINING_SHARE = 0.10

#: Training steps on copies in a whole diagnosis at full length: 860-881 on a healthy run
#: (issue 12's count: the 300-step baseline, a 200-step one-batch overfit, a 300-step larger
#: model, ~73 range-test steps), plus about two 300-step fixes when a cause is tested.
DIAGNOSIS_STEPS = 1500
#: The share of the budget those steps are planned to take: the rest is for evaluations,
#: gradient probes, the checks' own work, and the error of a step time measured on 3 steps.
STEP_SHARE = 0.5
#: Shortest replay, measured (docs/devset.md, session 22): on 9 dev cases and their twins
#: (seeds 323000-323018), the user's setup and four candidate fixes (lr /10, lr x10, Adam at
#: 1e-3, no weight decay) replayed at 30, 45, 60, 90, 150 and 300 steps, 72 pairs: whether the
#: fix helped (checks/_fix.py's bar, the settled loss 10% lower) differed from the 300-step
#: answer in 5 of 72 pairs at 30 steps, 3 at 45, 4 at 60, 3 at 90, 4 at 150. 45 is the fewest
#: steps from which no longer cut does better; only the whole replay removes the rest.
MIN_REPLAY_STEPS = 45

#: Mean seconds of each check over the first 9 bundled examples of session 5's zoo run (on a
#: machine loaded 3-5x; only their order is used). Shortest first: the checks whose experiments
#: run only when the run's records point to their cause lead; the capacity check, with its
#: larger model and long run, comes last but one. Equal means keep the catalogue's order.
MEASURED_SECONDS: dict[str, float] = {
    "lr_schedule": 0.00, "unscaled_targets": 0.00,
    "vanishing_gradients": 0.00, "dead_relu": 0.00, "exploding_gradients": 0.00,
    "loss_setup": 0.00, "training_loop": 0.01, "overfitting": 0.01,
    "class_imbalance": 0.02, "validation_path": 0.04, "nan_inf": 0.04,
    "saturated_activation": 0.11, "unnormalized_inputs": 0.36, "bad_init": 0.73,
    "batch_size": 1.17, "no_signal": 1.31, "train_val_shift": 2.22, "data_pipeline": 4.75,
    "learning_rate": 5.61, "underfit_capacity": 14.33,
    # These two entries order the checks only; what they cost on a run is counted by
    # least_steps (WHEN_SETUP_CALLS). Its 0.00 is over runs it answers from the setup alone
    # (any optimizer but plain SGD). On plain SGD it replays the run with other optimizers
    # and learning rates, the most replays
    # of any check: in 6 of 7 third-party runs with plain SGD (word_language_model's update
    # by hand, Lightning's demo; machine loaded ~10x) it took 86-96 s, the whole default
    # budget, and every check after it, the decisive ones included, went unrun (42 s in the
    # seventh). Last, it costs the other runs nothing.
    "optimizer_choice": 95.0,
    # Likewise: 0.00 on models without dropout or weight decay; with them it replays the run
    # without each. With optimizer_choice last, it took 79-93 s of word_language_model's 100 s
    # (dropout 0.2) and cut the learning-rate check of its lr x100 run (session 6).
    "over_regularized": 93.0,
}


#: Replays (their training steps at full length) that a check runs on every run with replays
#: (on a healthy run too): the capacity check's one-batch overfit (200) and its larger model
#: (300, about the user's step cost or more); batch_size's replay at another batch size (300).
#: A check's least cost is these replays, sized like all replays, with their evaluations, plus
#: what ON_BASELINE and RANGE_TESTED add, times the measured step time (:func:`least_seconds`);
#: the other checks train copies only when the run's records point to their cause.
LEAST_STEPS: dict[str, tuple[int, ...]] = {
    "underfit_capacity": (200, 300),
    "batch_size": (300,),
    "optimizer_choice": (300,),
    "over_regularized": (300,),
}
#: Checks that replay only runs whose setup calls for it, and the RunSize flag that says so;
#: on other runs they read the setup and cost nothing. Their least is their first replay, the
#: one every such run gets (LEAST_STEPS), the later ones only when it helped:
#: optimizer_choice, on plain SGD: Adam's replay (then momentum's, then the controls);
#: over_regularized, with weight decay or dropout that could matter: the replay without them
#: and its evaluation on the training batches (TRAIN_FIT_EVALUATED; then the user's setup's).
#: Counted as a fixed 93-95 s worst case in MEASURED_SECONDS alone, they started in whatever
#: time was left and were cut at the deadline with no result (Lightning's demo, session 7).
WHEN_SETUP_CALLS: dict[str, str] = {
    "optimizer_choice": "plain_sgd",
    "over_regularized": "regularized",
}
#: Checks that compare with the replay of the user's own setup (``case.baseline``) on every run
#: they replay: its cost is the first one's (it is made once, then shared).
ON_BASELINE = frozenset({"learning_rate", "batch_size", "underfit_capacity", "optimizer_choice",
                         "over_regularized"})
#: Checks that evaluate their first replay's model on every training batch (its training fit).
TRAIN_FIT_EVALUATED = frozenset({"over_regularized"})
#: The replay of the user's setup: ``case.REPLAY_STEPS`` steps.
BASELINE_STEPS = 300
#: Checks that run a learning-rate range test on every run with replays: one training step per
#: lr (:func:`lossdoctor.lr_range.span_around`: 12 a decade, 100 at lr 1e-3, 148 at lr 2000),
#: each followed by an evaluation on the probe batches, after one evaluation of the untrained
#: model on every training batch. Counted as 100 steps alone (session 6), it left out those
#: evaluations and the baseline: at lr 0.1 with batches of 20 rows, 30 range-test steps (the
#: shortest replay) bring 12 probe batches each, 120 steps' worth of evaluation.
RANGE_TESTED = frozenset({"learning_rate"})
#: A forward pass costs about a third of a training step (the backward pass takes about twice
#: the forward's arithmetic: 2N of the 6N FLOPs a parameter costs per token, Kaplan et al.
#: 2020): an evaluation on b batches counts as b / 3 steps.
FORWARD_SHARE = 1 / 3
#: Validation passes a replay makes: the one before its first step and its 10 evaluations
#: (``Plan.evaluations``).
REPLAY_EVALUATIONS = 11


@dataclass(frozen=True)
class RunSize:
    """What the least experiments of a check cost on this run: the measured seconds of one
    training step of a copy, the factor replays are cut by, and the run's captured batches."""

    step_seconds: float
    fraction: float
    train_batches: int = 0
    validation_batches: int = 0
    probe_batches: int = 0  # the range test's evaluation batches
    range_test_steps: int = 0  # its steps at full length (0: no range test can run)
    baseline_made: bool = False  # an earlier check made case.baseline
    plain_sgd: bool = False  # the run's optimizer is SGD without momentum (WHEN_SETUP_CALLS)
    regularized: bool = False  # weight decay or dropout that could hold the model back


def default_budget(training_seconds: float) -> float:
    """Seconds the diagnosis may take after a training that took ``training_seconds``."""
    return max(MIN_BUDGET_SECONDS, TRAINING_SHARE * training_seconds)


#: The most a default budget grows to so that a diagnosis' replays keep MIN_REPLAY_STEPS at
#: the measured step time (:func:`fitted_default`): three times the default floor. A model
#: whose floor-length diagnosis takes longer keeps the default budget, and the checks that do
#: not fit it say so (issue 12: a 50M-parameter MLP, seconds a step, keeps its report within
#: 120 s of its training).
MAX_FITTED_BUDGET_SECONDS = 3 * MIN_BUDGET_SECONDS


def fitted_default(budget: float, step_seconds: float) -> float:
    """A default budget fitted to the measured step time: large enough for the full diagnosis
    when that takes at most MAX_FITTED_BUDGET_SECONDS, else for one whose replays keep
    MIN_REPLAY_STEPS when that does; else as it was. A replay cut below the floor cannot tell a
    fix from none (the budget's wall time is the user's, a replay's steps are what answers)."""
    if step_seconds <= 0 or not math.isfinite(budget):
        return budget
    full = DIAGNOSIS_STEPS * step_seconds / STEP_SHARE
    floor = full * MIN_REPLAY_STEPS / BASELINE_STEPS
    if floor > MAX_FITTED_BUDGET_SECONDS:
        return budget
    return max(budget, min(full, MAX_FITTED_BUDGET_SECONDS))


def cut_note(cut: list[tuple[int, int]], budget: float | None,
             step_seconds: float) -> str | None:
    """What the report says of replays cut for the budget: how many, to how few steps of how
    many, and the budget that keeps them whole; None when none was cut."""
    if not cut or budget is None:
        return None
    shortest = min(cut, key=lambda c: c[1] / c[0])
    needed = 10 * math.ceil(DIAGNOSIS_STEPS * step_seconds / STEP_SHARE / 10)
    return (f"{len(cut)} experiment(s) on copies were cut to fit the diagnosis' time budget "
            f"({budget:.0f} s at {step_seconds:.2g} s a training step), the most to "
            f"{shortest[1]} of their {shortest[0]} steps: a shorter replay tells a fix from none "
            f"less surely; run again with `lossdoctor run --budget {needed} ...` to keep them "
            "whole")


def enforced(budget_is_default: bool, fraction: float) -> bool:
    """Whether the budget ends checks that run past it: always when the user gave it; a
    default budget only when it had to shorten the experiments (a costly step). A run whose
    experiments keep their full length is diagnosed in full, so that what a small run reports
    does not depend on how loaded the machine is (the bundled examples' diagnoses take
    10-400 s on a loaded machine, most of it fixed-length experiments on small models)."""
    return not budget_is_default or fraction < 1.0


def step_fraction(budget: float | None, step_seconds: float) -> float:
    """The factor every replay's steps are multiplied by: 1 when a full diagnosis fits
    STEP_SHARE of the budget (or there is no budget), less in proportion when it does not."""
    if budget is None or not math.isfinite(budget) or step_seconds <= 0:
        return 1.0
    return min(1.0, STEP_SHARE * budget / (DIAGNOSIS_STEPS * step_seconds))


def sized(steps: int, fraction: float) -> int:
    """``steps`` cut by ``fraction``, never below MIN_REPLAY_STEPS (nor above ``steps``)."""
    if fraction >= 1.0:
        return steps
    return min(steps, max(MIN_REPLAY_STEPS, round(steps * fraction)))


#: "Next to nothing": measured under this many seconds. The checks that read the run's records
#: and train copies only when the records point to their cause (training_loop 0.01 s, nan_inf
#: 0.04 s); saturated_activation, at 0.11 s, is the first above it.
NEXT_TO_NOTHING_SECONDS = 0.05
#: The checks a run's symptom (:mod:`lossdoctor.symptom`, its kind) points to: when the run shows
#: it, they run right after the checks that cost next to nothing, ahead of their measured place.
#: A loss that blew up, or that ended no better than a constant guess (above it, or at it), is
#: what too high or too low a learning rate does, and too high a one explains most of the other
#: causes such a run shows (dead units, exploding gradients, NaN, a better-looking optimizer:
#: ``checks.learning_rate.LR_TOO_HIGH.explains``); the other costly checks answer at most a
#: consequence of it. In their measured order, on word_language_model at lr x100 (validation
#: 22.7 against a constant guess of 6.9) the checks before it spent the budget and its own
#: range test was cut (session 6). The other cause such a run points to, no_signal, reads the
#: records alone and so runs whatever the budget left.
POINTED_BY_SYMPTOM: dict[str, tuple[str, ...]] = {
    "diverging": ("learning_rate",),
    "at_chance": ("learning_rate",),
    # barely below the guess: as at it, what too low a rate leaves (plain SGD at a usual rate)
    "near_chance": ("learning_rate",),
    # not far below the untrained model, still falling at its first pace: a rate too low
    "slow": ("learning_rate",),
}


#: The symptoms a setup that holds training back leaves: a loss at or barely below a constant
#: guess, or stalled. On such a run, the checks its setup calls for (WHEN_SETUP_CALLS: plain
#: SGD; dropout or weight decay that could hold the model back) run right after the ones the
#: symptom points to: they name a cause the run's own setup shows, and their least is one
#: replay of the user's length, less than the capacity check's (a one-batch overfit and a
#: larger model's replay, then a long run of up to 10 replays). Ordered by their measured
#: worst case instead, they came after the capacity check, which on a large model spent the
#: whole default budget (a 1.4M-parameter CNN with dropout 0.7 after every block, session 11).
HELD_BACK_SYMPTOMS = frozenset({"at_chance", "near_chance", "stalled", "slow"})


def in_order(names: list[str], symptom: str | None = None,
             setup_calls: frozenset[str] = frozenset()) -> list[str]:
    """The checks' names in the order they run: by measured cost, the unmeasured ones after
    them in the order given (the catalogue's, by name); with a ``symptom`` (its kind), the
    checks it points to (POINTED_BY_SYMPTOM) right after those that cost next to nothing,
    and then, on a held-back run (HELD_BACK_SYMPTOMS), those of ``setup_calls`` (the checks of
    WHEN_SETUP_CALLS whose setup this run has)."""
    pointed = POINTED_BY_SYMPTOM.get(symptom or "", ())
    held_back = setup_calls if symptom in HELD_BACK_SYMPTOMS else frozenset()

    def rank(name: str) -> tuple[float, int]:
        if name in pointed:
            return NEXT_TO_NOTHING_SECONDS, 0
        if name in held_back:
            return NEXT_TO_NOTHING_SECONDS, 1
        return expected_seconds(name), 0

    return sorted(names, key=rank)


def expected_seconds(name: str) -> float:
    """A check's measured mean seconds; infinite when it was not measured."""
    return MEASURED_SECONDS.get(name, math.inf)


def least_seconds(name: str, size: RunSize) -> float:
    """The seconds a check's experiments take at least on this run (see LEAST_STEPS); 0 when
    it has none on every run."""
    return size.step_seconds * least_steps(name, size)


def least_steps(name: str, size: RunSize) -> float:
    """The training steps a check's least experiments take, an evaluation on b batches
    counted as FORWARD_SHARE * b steps."""
    if name in WHEN_SETUP_CALLS and not getattr(size, WHEN_SETUP_CALLS[name]):
        return 0.0
    steps = sum(_replay_steps(planned, size) for planned in LEAST_STEPS.get(name, ()))
    if name in ON_BASELINE and not size.baseline_made:
        steps += _replay_steps(BASELINE_STEPS, size)
    if name in RANGE_TESTED and size.range_test_steps:
        evaluations = sized(size.range_test_steps, size.fraction) * size.probe_batches
        steps += sized(size.range_test_steps, size.fraction) + FORWARD_SHARE * (
            evaluations + size.train_batches)
    if name in TRAIN_FIT_EVALUATED:
        steps += FORWARD_SHARE * size.train_batches
    return steps


def _replay_steps(planned: int, size: RunSize) -> float:
    evaluations = REPLAY_EVALUATIONS * size.validation_batches
    return sized(planned, size.fraction) + FORWARD_SHARE * evaluations


def replay_seconds(step_seconds: float, planned: int, validation_batches: int,
                   fraction: float) -> float:
    """Seconds a replay planned at ``planned`` steps takes at ``step_seconds`` a step, with
    its evaluations (see least_steps)."""
    size = RunSize(step_seconds, fraction, validation_batches=validation_batches)
    return step_seconds * _replay_steps(planned, size)


def larger_too_costly(model: str, step_seconds: float, seconds: float, left: float,
                      budget: float) -> str:
    """Why the capacity check trained no larger model: its replay takes ``seconds``, longer
    than the ``left`` the budget leaves it (the checks after it keep their least)."""
    needed = 10 * math.ceil((budget - left + seconds) / 10)
    return (f"not run: {model} takes {step_seconds:.2g} s a training step here, so comparing "
            f"it with yours takes at least {seconds:.0f} s, more than the {max(left, 0):.0f} s "
            f"the diagnosis' time budget ({budget:g} s) leaves for it; run again with "
            f"`lossdoctor run --budget {needed} ...` or more (budget= in Python) to include it")


def too_costly(seconds: float, left: float, budget: float) -> str:
    """Why a check was not started: its least cost is over the time left."""
    needed = 10 * math.ceil((budget - left + seconds) / 10)
    return (f"not run: its experiments take at least {seconds:.0f} s at the measured step time "
            f"of your model, more than the {max(left, 0):.0f} s left of the diagnosis' time "
            f"budget ({budget:g} s); run again with `lossdoctor run --budget {needed} ...` or "
            "more (budget= in Python) to include it")


class OutOfTime(Skip):
    """A check ended because the diagnosis' time budget ran out."""


def out_of_time(budget: float | None) -> str:
    """Why a check has no result when the budget ran out, and how to include it."""
    limit = f"{budget:g} s" if budget is not None else "the time given"
    larger = f"--budget {max(2 * (budget or 0), MIN_BUDGET_SECONDS):g}"
    return (f"not finished: the diagnosis' time budget ({limit}) ran out; run again with a "
            f"larger budget (e.g. `lossdoctor run {larger} ...`, or budget= in Python) to include "
            "it")
