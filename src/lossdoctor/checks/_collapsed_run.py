"""A run that learned and then lost it to the constant guess (:mod:`lossdoctor.collapse`), read
on its validation passes with its training loss back at the guess too (a model that only
overfits keeps its training loss low). Read
by learning_rate as the rate's instability, measured by a replay at a lower rate that keeps
what it learns."""

from __future__ import annotations

import math

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


def collapsed_run(case: Case) -> Collapse | None:
    """The run's collapse to the constant guess after clear progress, or None. A schedule that
    raised the rate late (it first peaks after PEAK_BY of the run: a warmup never capped, a
    StepLR stepping up) is lr_schedule's question: its rise is read there."""
    schedule = LrSchedule.of(case.trace.setup, case.trace.steps)
    if schedule is not None and not schedule.constant and not peaks_early(schedule):
        return None
    passes = run_validation(case)
    if not passes:
        return None
    return read_collapse(passes, [loss for _, loss in case.trace.step_losses()],
                         case.constant_guess_loss("validation"),
                         case.constant_guess_loss("training"))


def read_collapse(passes: list[float], step_losses: list[float], validation_guess: float | None,
                  training_guess: float | None) -> Collapse | None:
    """The collapse of the validation ``passes``, with the training loss (in TRAINING_CHUNKS)
    back at its guess too. Not read on the training loss alone: of 755 stored dev reports of
    sessions 31-34, the one it would fire on without validation was an identity-initialized
    ReLU RNN trained without clipping (418023, exploding_gradients: 0.83, then 1.09 against
    a guess of 1.10), a blow-up the clip fixes and the rate would be blamed for."""
    training = chunk_means([v for v in step_losses if math.isfinite(v)], TRAINING_CHUNKS)
    collapse = fell_back(passes, validation_guess)
    if collapse is None or back_at_guess(training, training_guess) is None:
        return None
    return collapse


def keeps_what_it_learned(case: Case, collapse: Collapse, replay: ReplayResult) -> bool:
    """Whether a replay (at a lower rate) settles clearly below where the run ended, by the bar
    of a fix, and its own validation curve does not fall back to the guess."""
    after = settled_loss(replay)
    if not math.isfinite(after):
        return False
    if fell_back(replay.validation_losses, collapse.guess) is not None:
        return False
    return helped(Experiment("the run's end against the replay", collapse.end, after, 0), case)


def collapse_evidence(c: Collapse) -> dict[str, float]:
    return {"collapse_best_loss": c.best, "collapse_best_pass": float(c.best_index + 1),
            "collapse_end_loss": c.end, "collapse_passes_at_guess": float(c.points - c.back_from),
            "collapse_constant_guess_loss": c.guess}


def collapse_text(c: Collapse) -> str:
    """What the run's curves did, in plain words."""
    return (f"your validation loss fell to {c.best:.3g} (pass {c.best_index + 1} of "
            f"{c.points}), then went back to {c.end:.3g}, where always predicting the same "
            f"answer gives {c.guess:.3g}, and stayed there for the last {c.points - c.back_from} "
            "passes, and your training loss ended there too: a step too large knocked your "
            "model off what it had learned")

