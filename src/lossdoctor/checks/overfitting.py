"""Validation loss rising from its best epoch while the training loss keeps falling; or, with
no such rise, a model that fits its training rows far better than new ones (little of what it
learned carries over to the validation rows).

Judged by the rule the live status line uses (:func:`lossdoctor.curve_stats.rise_from_best`), on
the same curves (:func:`lossdoctor.curves.validation_curves`), so the two cannot disagree: the
validation losses from the best epoch on must rise by a one-sided Kendall trend test, their rise
must stand clear of the validation curve's own noise and be large enough to act on, and the
training loss must have gone on falling over the same epochs, and the rise must give back at
least half of what the model had learned (curve_stats.GIVEN_BACK_SHARE). Without a rise, when
the validation loss ends above the training loss, a learning-curve replay
(:mod:`._learning_curve`) asks whether the model is short of data.
"""

from __future__ import annotations

import math

from lossdoctor.capture.loss_terms import summed_run
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._carried_over import CARRIED_OVER_SHARE
from lossdoctor.checks._fix import MEANINGFUL_SHARE_OF_CONSTANT_GUESS
from lossdoctor.checks._learning_curve import LearningCurve, learning_curve
from lossdoctor.checks._plain import plain_number
from lossdoctor.constant_guess import loss_settings, recorded_units_guess, targets_of
from lossdoctor.curve_stats import (
    END_WINDOW,
    MIN_POINTS,
    MIN_TAIL,
    NOISE_WIDTHS,
    Rise,
    falling,
    noise,
    rise_from_best,
)
from lossdoctor.curves import validation_curves
from lossdoctor.findings import Cause, Experiment, Finding, Skip

OVERFITTING = Cause(
    id="overfitting",
    title="The model overfits",
    fix=(
        "Stop at the best validation epoch, add regularization (weight decay, dropout, data "
        "augmentation) or get more data."
    ),
    question="Does validation rise while training falls?",
    test=("a one-sided Kendall trend test after the best epoch, against the curve's noise; "
          "without a rise, how much of the training loss's progress from the constant guess "
          "the validation loss shares at the end; a copy trained on half the training rows "
          "against one trained on all of them"),
)

CAUSES = (OVERFITTING,)

#: Twice the training rows (the learning-curve replay) help when they take the validation loss
#: down by at least this share of the constant guess's: the bar of a fix
#: (MEANINGFUL_SHARE_OF_CONSTANT_GUESS, a twentieth). On dev (docs/devset.md, session 14) the
#: broken tiny_train_set and debug_subset_left_in runs that memorized their rows gained 6.6-70%
#: of the guess; the long-running twins 0.6-17%, those above the bar not memorizing
#: (MEMORIZED_RATIO).
MORE_ROWS_HELP_SHARE = MEANINGFUL_SHARE_OF_CONSTANT_GUESS
#: ... and when the copy trained on all the rows memorized them: its training loss at the end
#: of the replay below this share of its best validation loss. More data helps every model
#: somewhat (30020's fixed twin, 2092 rows: 17% of the guess); it is the remedy when the model
#: fits every row it has and still generalizes poorly. On dev the broken runs' copies ended
#: at 0.0004-0.093 of their validation loss (21004's 0.093), the long-running twins' at
#: 0.199-0.53 (33005's 0.199): an eighth lies between, about as far from either on a log scale.
MEMORIZED_RATIO = 1 / 8
#: Confidence of a finding the learning-curve replay dismisses (kept in the JSON with its
#: numbers, below the diagnosis' REPORT_THRESHOLD of 0.5).
DISMISSED = 0.3
#: A rise more than this many times the noise is "far above" it: beyond, the ratio only says
#: how small the noise is, and 100 is already far past any test's threshold.
FAR_ABOVE_NOISE = 100


def check(case) -> list[Finding]:
    validation, train, unit = validation_curves(case.trace)
    finite = [(x, y) for x, y in validation if math.isfinite(y)]
    if len(finite) < MIN_POINTS:
        raise Skip(f"needs at least {MIN_POINTS} validation passes (evaluation losses between "
                   f"training epochs): {len(finite)} seen")
    rise = rise_from_best(finite, train, _validation_guess(case))
    if rise is None or not rise.overfitting:
        return _without_rise(case, finite, train)
    guess = _guess_barely_beaten(case, rise)
    return [
        Finding(
            OVERFITTING,
            _confidence(rise),
            verdict=_verdict(rise, unit) + _near_guess_text(rise, guess),
            evidence=_evidence(rise, unit),
            fix=_fix(rise, unit, guess),
            details={"validation": [y for _, y in finite]},
        )
    ]


def _confidence(rise: Rise) -> float:
    """0.6 for a rise that just passes; up to 0.9 as it grows to half the best loss or more.
    A cause that stops learning and shows as overfitting declares so (``explains``)."""
    relative = rise.size / max(abs(rise.best_loss), 1e-12)
    return 0.6 + 0.3 * min(relative / 0.5, 1.0)


def _verdict(rise: Rise, unit: str) -> str:
    return (
        f"Your validation loss was lowest at {unit} {_x(rise.best_x)} "
        f"({plain_number(rise.best_loss)}) and has risen since, to {plain_number(rise.end_loss)} "
        f"over the last {unit}s, while the training loss kept falling from "
        f"{plain_number(rise.train_at_best)} to {plain_number(rise.train_end)}: the model is "
        f"memorizing its training examples instead of learning what carries over. The rise is a "
        f"steady trend (Kendall test {_p_text(rise.p_value)}) and "
        f"{_noise_ratio(rise)} the {unit}-to-{unit} noise of the validation loss."
    )


def _p_text(p_value: float) -> str:
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.2g}"


def _noise_ratio(rise: Rise) -> str:
    """How far the rise is above the noise; past FAR_ABOVE_NOISE, where a noise that is nearly
    zero (a deterministic validation pass) makes the ratio a meaningless "12765 times", in
    words."""
    if rise.noise <= 0 or rise.size / rise.noise > FAR_ABOVE_NOISE:
        return "far above"
    return f"{rise.size / rise.noise:.0f} times"


def _validation_guess(case) -> float | None:
    """The constant guess's validation loss; None for a run read from logs (it has none). When
    the run's own loss has no guess (a language model summing its cross-entropy over the tokens
    inside the model, its output layer without a bias for constant_head to fit), the guess in
    the units of the recorded curves this check compares it with."""
    guess_of = getattr(case, "constant_guess_loss", None)
    guess = guess_of("validation") if guess_of is not None else None
    return guess if guess is not None else _recorded_units_guess(case)


def _recorded_units_guess(case) -> float | None:
    """The closed-form guess in the units of the loss calls lossdoctor recorded (the mean per
    element, constant_guess.recorded_units_guess), when every validation pass is such a
    record (a loss printed or logged by the run is in the run's units, not these) and the
    validation rows were captured with their targets."""
    trace, replayer = case.trace, getattr(case, "replayer", None)
    passes = trace.validation_passes()
    if replayer is None or not passes or any(p.source != "loss calls" for p in passes):
        return None
    if not replayer.validation_batches or summed_run(trace.setup):
        return None
    setup = trace.setup
    return recorded_units_guess(setup.loss_name,
                                loss_settings(case.copies.loss_fn, setup.loss_kwargs),
                                targets_of(replayer.train_batches),
                                targets_of(replayer.validation_batches))


def _guess_barely_beaten(case, rise: Rise) -> float | None:
    """The constant guess's validation loss when even the best epoch beat it by less than
    MEANINGFUL_SHARE_OF_CONSTANT_GUESS (a twentieth of it: less takes no run from "not
    learning" to "learning"): the model at its best has learned little, and "stop at the best
    epoch" alone would keep a model no one wants (overfitting_cnn_few_images: 1.37 against
    1.39)."""
    guess = _validation_guess(case)
    if guess is None or not guess > 0:
        return None
    barely = rise.best_loss > (1 - MEANINGFUL_SHARE_OF_CONSTANT_GUESS) * guess
    return guess if barely else None


def _near_guess_text(rise: Rise, guess: float | None) -> str:
    if guess is None:
        return ""
    below = rise.best_loss < guess
    where, what = ("barely below", "little") if below else ("still above", "nothing")
    return (f" Even at its best ({plain_number(rise.best_loss)}) the validation loss is {where} "
            f"that of always predicting the same answer ({plain_number(guess)}): the model has "
            f"learned {what} that carries over.")


def _fix(rise: Rise, unit: str, guess: float | None = None) -> str:
    if guess is not None:
        return (f"Get more data or augment it, or use a smaller model or stronger "
                f"regularization: stopping at {unit} {_x(rise.best_x)}, where the validation "
                f"loss was best, would keep a model {_beside_guess(rise, guess)} a constant "
                f"guess.")
    return (f"Stop at {unit} {_x(rise.best_x)}, where the validation loss was best (early "
            f"stopping, or keep that {unit}'s checkpoint); add regularization (weight decay, "
            f"dropout, data augmentation), use a smaller model, or get more data.")


def _beside_guess(rise: Rise, guess: float) -> str:
    """example_1_capacity: a best epoch above the constant guess is no model "hardly better"
    than guessing."""
    return "hardly better than" if rise.best_loss < guess else "no better than"


def _x(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _evidence(rise: Rise, unit: str) -> dict[str, float]:
    return {
        f"best_{unit}": float(rise.best_x),
        "best_val_loss": rise.best_loss,
        "final_val_loss": rise.end_loss,
        "val_rise_p_value": rise.p_value,
        "val_noise": rise.noise,
        "train_loss_at_best": rise.train_at_best,
        "train_loss_final": rise.train_end,
        "train_fall_p_value": rise.train_p_value,
    }


def still_closing(validation, halfway: float) -> bool:
    """The last half of the validation curve (at least MIN_TAIL passes, the points a trend
    needs) still falls by the one-sided trend test, and over it fell by at least what is left
    to ``halfway``: at that pace as many epochs again would carry the model's validation loss
    past the mark, so where the curves stand is a point on the way, not where they end. A gap
    between training and validation losses is there in every run that learns (the training
    rows are the ones fitted); it says the model memorizes once the validation loss has
    stopped following the training loss down (the generator's tiny_train_set, 12164: flat
    curves at the end)."""
    ys = [y for _, y in validation]
    tail = ys[-max(len(ys) // 2, MIN_TAIL):]
    if len(tail) < MIN_TAIL or not falling(tail):
        return False
    end = sum(tail[-END_WINDOW:]) / END_WINDOW
    return tail[0] - end >= end - halfway


def _gap_beyond_noise(validation, train) -> bool:
    """The validation loss ends above the training loss by more than NOISE_WIDTHS times the
    noise of the two curves (each curve's pass-to-pass noise, added in quadrature): a gap
    within that is as likely a draw of noisy passes as a model that fits its training rows
    better than new ones."""
    val_end = sum(y for _, y in validation[-END_WINDOW:]) / END_WINDOW
    train_end = sum(y for _, y in train[-END_WINDOW:]) / END_WINDOW
    spread = math.hypot(noise([y for _, y in validation]), noise([y for _, y in train]))
    return val_end - train_end > NOISE_WIDTHS * spread


def _gap_finding(case, validation, train) -> list[Finding]:
    """overfitting from where the curves ended: a validation loss clearly below the constant
    guess (the model learned something that carries over; at or near the guess is another
    question, no_signal's) that covers less than CARRIED_OVER_SHARE of the way from the guess
    to the training loss, by more than the curves' noise, and has stopped falling."""
    guess = _validation_guess(case)
    if guess is None or not guess > 0 or len(train) < END_WINDOW:
        return []
    val_end = sum(y for _, y in validation[-END_WINDOW:]) / END_WINDOW
    train_end = sum(y for _, y in train[-END_WINDOW:]) / END_WINDOW
    carried, fitted = guess - val_end, guess - train_end
    if carried < MEANINGFUL_SHARE_OF_CONSTANT_GUESS * guess or not fitted > carried:
        return []
    share = carried / fitted
    halfway = guess - CARRIED_OVER_SHARE * fitted
    if share >= CARRIED_OVER_SHARE or still_closing(validation, halfway):
        return []
    if not _gap_beyond_noise(validation, train):
        return []
    return [Finding(
        OVERFITTING,
        0.6 + 0.2 * (1 - share / CARRIED_OVER_SHARE),
        verdict=(f"Your model fits its training rows far better than new ones: at the end "
                 f"the training loss is {plain_number(train_end)} and the validation loss "
                 f"{plain_number(val_end)}, against {plain_number(guess)} for always predicting "
                 f"the same answer. Only {share:.0%} of what the model learned about its "
                 f"training rows carries over to the validation rows: it memorizes them "
                 f"instead of learning what generalizes."),
        evidence={"final_val_loss": val_end, "train_loss_final": train_end,
                  "constant_guess_loss": guess, "carried_over_share": share},
        fix=("Get more training data or augment it, or use a smaller model or stronger "
             "regularization (weight decay, dropout)."),
        details={"validation": [y for _, y in validation]},
    )]


def _without_rise(case, validation, train) -> list[Finding]:
    """Without a rise: the learning-curve replay decides whenever the validation loss ends
    above the training loss beyond the curves' noise (the model fits its own rows better than
    new ones, as every model does to some degree: is it short of data?); without replays
    (a run read from logs, --budget 0), the gap rule alone. A gap the replay finds no
    shortage of data behind is kept with the replay's numbers: dismissed when the replay's
    copy does not memorize its rows, at the gap rule's confidence when it does; with no gap
    finding, a replay that finds none says nothing."""
    gap = _gap_finding(case, validation, train)
    guess = _validation_guess(case)
    if (guess is None or not guess > 0 or len(train) < END_WINDOW
            or not _gap_beyond_noise(validation, train)):
        return gap
    try:
        curve = learning_curve(case)
    except Skip:
        return gap
    if not more_rows_help(curve, guess) and not gap:
        return []
    return [_learning_curve_finding(curve, guess, gap)]


def more_rows_help(curve: LearningCurve, guess: float) -> bool:
    """Twice the rows take the validation loss down by the bar of a fix and beyond the
    replays' noise, and the copy trained on all of them memorized them."""
    return (curve.gain >= MORE_ROWS_HELP_SHARE * guess
            and curve.gain > NOISE_WIDTHS * curve.noise
            and memorized(curve))


def memorized(curve: LearningCurve) -> bool:
    """The copy trained on all the rows fits them almost perfectly: its training loss at the
    end below MEMORIZED_RATIO of its best validation loss."""
    return curve.all_train_end < MEMORIZED_RATIO * curve.all_best


def _learning_curve_finding(curve: LearningCurve, guess: float,
                            gap: list[Finding]) -> Finding:
    """Reported (0.6, up to 0.9 as twice the rows gain four times the bar) when the model is
    short of data; else the gap rule's finding, kept at its own confidence when the copy
    memorized its rows (the replay shows the memorizing the gap rule read: half the rows doing
    as well says only that more of the same rows alone will not close the gap), dismissed when
    it did not (the copy learns what carries over: the gap is the run's, not the setup's)."""
    helps = more_rows_help(curve, guess)
    share = min(curve.gain / guess / (4 * MORE_ROWS_HELP_SHARE), 1.0)
    if helps:
        confidence = 0.6 + 0.3 * share
    elif gap and memorized(curve):
        confidence = gap[0].confidence
    else:
        confidence = DISMISSED
    seen = gap[0].verdict + " " if gap else ""
    verdict = seen + _learning_curve_verdict(curve, guess, helps)
    evidence = {"train_rows": float(curve.all_rows), "half_rows": float(curve.half_rows),
                "val_loss_half_rows": curve.half_best, "val_loss_all_rows": curve.all_best,
                "more_rows_gain": curve.gain, "replay_noise": curve.noise,
                "replay_train_loss_end": curve.all_train_end,
                "constant_guess_loss": guess}
    if gap:
        evidence.update(gap[0].evidence)
    return Finding(
        OVERFITTING, confidence, verdict=verdict, evidence=evidence,
        fix=("Get more training data or augment it; until then use a smaller model or "
             "stronger regularization (weight decay, dropout), and stop at the best validation "
             "epoch."),
        experiment=Experiment("all the training rows, not half", curve.half_best, curve.all_best,
                              REPLAY_STEPS) if helps else None,
    )


def _learning_curve_verdict(curve: LearningCurve, guess: float, helps: bool) -> str:
    measured = (f"Trained for the same steps on {curve.half_rows} of its {curve.all_rows} "
                f"training rows, a copy of your model reaches a validation loss of "
                f"{plain_number(curve.half_best)}; on all {curve.all_rows}, "
                f"{plain_number(curve.all_best)} (always predicting the same answer: "
                f"{plain_number(guess)}).")
    if helps:
        return (f"{measured} More rows bring the validation loss down by "
                f"{plain_number(curve.gain)}, and the copy fits its training rows almost "
                f"perfectly (training loss {plain_number(curve.all_train_end)}): the model is "
                f"short of training data, it memorizes the rows it has.")
    if memorized(curve):
        return (f"{measured} The copy fits its training rows almost perfectly (training loss "
                f"{plain_number(curve.all_train_end)}) and half of them do about as well: it "
                f"memorizes whatever rows it is given, so more of the same rows alone will not "
                f"close the gap; regularize it or make it smaller.")
    return (f"{measured} The model is not short of data: the copy does not memorize its rows "
            f"(training loss {plain_number(curve.all_train_end)}, not far below its validation "
            f"loss).")
