"""A run that learned and then lost it to the constant guess (:mod:`lossdoctor.collapse`), read
on its validation passes with its training loss back at the guess too (a model that only
overfits keeps its training loss low), or on its training loss alone without validation. Read
by learning_rate as the rate's instability, measured by a replay at a lower rate that keeps
what it learns."""

from __future__ import annotations

import math
from dataclasses import dataclass

from lossdoctor.case import Case
from lossdoctor.checks._fix import helped, run_validation, settled_loss
from lossdoctor.checks._lr_rise import peaks_early
from lossdoctor.collapse import Collapse, back_at_guess, fell_back
from lossdoctor.curve_stats import chunk_means
from lossdoctor.experiments import ReplayResult
from lossdoctor.findings import Experiment
from lossdoctor.lr_schedule import LrSchedule

#: Chunks the training loss is averaged in to read it as a curve: each a tenth of the run, so
#: minibatch noise averages out (learning_rate's TRAINING_CHUNKS, batch_size's still_learning).
TRAINING_CHUNKS = 10


@dataclass
class RunCollapse:
    """The curve that fell back ("validation" or "training") and how."""

    curve: str
    collapse: Collapse


def collapsed_run(case: Case) -> RunCollapse | None:
    """The run's collapse to the constant guess after clear progress, or None. A schedule that
    raised the rate late (it first peaks after PEAK_BY of the run: a warmup never capped, a
    StepLR stepping up) is lr_schedule's question: its rise is read there."""
    schedule = LrSchedule.of(case.trace.setup, case.trace.steps)
    if schedule is not None and not schedule.constant and not peaks_early(schedule):
        return None
    passes = run_validation(case)
    return read_collapse(
        passes, [loss for _, loss in case.trace.step_losses()],
        case.constant_guess_loss("validation") if passes else None,
        case.constant_guess_loss("training"))


def read_collapse(passes: list[float], step_losses: list[float], validation_guess: float | None,
                  training_guess: float | None) -> RunCollapse | None:
    """The collapse of the validation ``passes`` with the training loss (in TRAINING_CHUNKS)
    back at its guess too, or without passes of the training loss alone."""
    training = chunk_means([v for v in step_losses if math.isfinite(v)], TRAINING_CHUNKS)
    if passes:
        collapse = fell_back(passes, validation_guess)
        if collapse is None or back_at_guess(training, training_guess) is None:
            return None
        return RunCollapse("validation", collapse)
    collapse = fell_back(training, training_guess)
    return None if collapse is None else RunCollapse("training", collapse)


def keeps_what_it_learned(case: Case, collapsed: RunCollapse, replay: ReplayResult) -> bool:
    """Whether a replay (at a lower rate) settles clearly below where the run ended, by the bar
    of a fix, and its own validation curve does not fall back to the guess."""
    after = settled_loss(replay)
    if not math.isfinite(after):
        return False
    guess = collapsed.collapse.guess
    if fell_back(replay.validation_losses, guess) is not None:
        return False
    return helped(Experiment("the run's end against the replay", collapsed.collapse.end,
                             after, 0), case)


def collapse_evidence(collapsed: RunCollapse) -> dict[str, float]:
    c = collapsed.collapse
    return {"collapse_best_loss": c.best, "collapse_best_point": float(c.best_index + 1),
            "collapse_end_loss": c.end, "collapse_points_at_guess": float(c.points - c.back_from),
            "collapse_constant_guess_loss": c.guess,
            "collapse_on_validation": float(collapsed.curve == "validation")}


def collapse_text(collapsed: RunCollapse) -> str:
    """What the run's curve did, in plain words."""
    c = collapsed.collapse
    on_validation = collapsed.curve == "validation"
    unit = "validation pass" if on_validation else "tenth of your run"
    also = ", and your training loss ended there too" if on_validation else ""
    return (f"your {collapsed.curve} loss fell to {c.best:.3g} ({unit} {c.best_index + 1} of "
            f"{c.points}), then went back to {c.end:.3g}, where always predicting the "
            f"same answer gives {c.guess:.3g}, and stayed there for the last "
            f"{c.points - c.back_from}{also}: a step too large knocked your model off what it "
            "had learned")

