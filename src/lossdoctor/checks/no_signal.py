"""no_signal: can anything predict the validation labels better than a constant guess?

Off-the-shelf learners (a regularized linear model and gradient-boosted trees) are fit on the
captured training rows and scored on the validation rows against the best constant guess: the
training class frequencies (log loss) or the training mean (squared error). Each learner's
per-row gain over the constant is tested one-sided (is its mean above zero?) with a t-test, and
the smallest p-value is Bonferroni-corrected for the number of learners. The user's own model
counts too: a validation loss clearly below the constant's means the labels carry signal.
Images and sequences also get position-free columns (random convolutional kernels, pooled over
positions: see :mod:`._random_kernels`), so "a shape anywhere in the picture" is learnable too,
and token ids the model looks up in an embedding table are counted word by word beside their
positions (:mod:`._looked_up`, :mod:`._tabular`), so "a word anywhere in the text" is too.
When nothing wins on validation, the same contest cross-validated inside the training rows tells
labels that carry no signal apart from validation labels that do not belong to their inputs.
A training split too small for the learners (every class short of LEARNABLE_ROWS, as a graph's
few labelled nodes are) is the data there is: there the run's own curves decide, a training
loss that fell well below the constant guess beside a validation loss that never got below it.
Token sequences labelled position by position (a language model's next tokens) get their own
learners, counts of the last few tokens against the label frequencies: see
:mod:`._per_position`. Label sequences aligned by the loss (CTC) are asked which labels each row's
sequence holds: see :mod:`._label_sequences`.

The decision is :mod:`._label_signal`'s, which dead_relu and data_pipeline read too; this module
says it in words.
"""

from __future__ import annotations

from lossdoctor.checks._contest import ALPHA, Contest, words
from lossdoctor.checks._label_signal import (
    LEARNABLE_ROWS,
    MISALIGNED,
    PREDICTED,
    TOO_FEW_ROWS,
    TRAINING_FALL_SHARE,
    UNPREDICTABLE,
    UNPREDICTABLE_SMALL_SPLIT,
    PositionReader,
    SignalReading,
    label_signal,
)
from lossdoctor.findings import Cause, Finding

NO_SIGNAL = Cause(
    id="no_signal",
    title="The labels cannot be predicted from the inputs",
    fix=(
        "Check that each input is paired with its own label (shuffling, joins, file order) and "
        "that the inputs hold information about the label; no model or tuning can learn noise."
    ),
    question="Can anything predict these labels from these inputs?",
    test=(
        "scikit-learn learners against the best constant prediction on your validation rows, with "
        "a significance test; cross-validation inside the training rows tells misaligned "
        "validation labels apart; CTC's label sequences read as which labels each row's holds"
    ),
    explains={"lr_too_low", "overfitting", "underfit_capacity"},
    precedence=1,
)

CAUSES = (NO_SIGNAL,)

#: Below this many validation rows, "nothing beats the constant" rules out only strong signals.
FEW_ROWS = 30


def check(case) -> list[Finding]:
    """The reading of checks/_label_signal.py (shared with dead_relu and data_pipeline), in
    words: nothing when something predicts the labels."""
    reading = label_signal(case)
    if reading.outcome == PREDICTED:
        return []
    return [_finding(reading)]


# --- findings --------------------------------------------------------------------------------


def _finding(reading: SignalReading) -> Finding:
    on_validation, in_training, task = reading.on_validation, reading.in_training, reading.task
    evidence = _evidence(on_validation, in_training, reading.user)
    if reading.outcome == TOO_FEW_ROWS:
        return _too_few_rows(on_validation, evidence, task, *reading.fewest)
    if reading.outcome == UNPREDICTABLE:
        confidence = 0.9 if on_validation.rows >= FEW_ROWS else 0.6
        verdict = _no_signal_verdict(on_validation, reading.user, task, reading.per_position)
        return Finding(NO_SIGNAL, confidence, verdict, evidence)
    if reading.outcome == UNPREDICTABLE_SMALL_SPLIT:
        return _small_split(on_validation, evidence, task, reading)
    if reading.outcome == MISALIGNED:
        return _misaligned(on_validation, in_training, evidence, task)
    return _inconclusive(on_validation, evidence, task)


def _evidence(on_validation: Contest, in_training: Contest, user) -> dict[str, float]:
    evidence = {
        "constant_validation_loss": on_validation.constant_loss,
        "best_learner_validation_loss": on_validation.best_loss,
        "p_value": on_validation.p_value,
        "rank_p_value": on_validation.rank_p_value,
        "alpha": ALPHA,
        "training_rows": on_validation.training_rows,
        "validation_rows": on_validation.rows,
        "cross_validated_constant_loss": in_training.constant_loss,
        "cross_validated_best_learner_loss": in_training.best_loss,
        "cross_validated_p_value": in_training.p_value,
        "cross_validated_rank_p_value": in_training.rank_p_value,
    }
    if user is not None:
        evidence["user_validation_loss"], evidence["constant_loss_in_user_units"] = user
    return evidence


def _no_signal_verdict(on_validation: Contest, user, task: str,
                       per_position: PositionReader | None) -> str:
    metric, guess = words(task)
    if per_position is not None and per_position.label is not None:
        return _label_sequence_verdict(on_validation, per_position, metric)
    if per_position is not None:
        guess += " at each position"
    learners = (
        per_position.learners.format(rows=on_validation.training_rows)
        if per_position is not None else
        f"A linear model and gradient-boosted trees fit on {on_validation.training_rows} "
        "training rows"
    )
    verdict = (
        f"Nothing predicts your validation labels better than {guess} ({metric} "
        f"{on_validation.constant_loss:.3g}): the labels look independent of the inputs, so no "
        f"model, learning rate or normalization will bring the validation loss below that (a "
        f"fix for another cause may lower it toward that level, no further). {learners} "
        f"did no better{_within_chance(on_validation, metric)}"
    )
    if user is not None:
        verdict += f", and your own model's best validation loss {_against_guess(*user)}"
    return verdict + "."


def _label_sequence_verdict(on_validation: Contest, reader: PositionReader, metric: str) -> str:
    """Label sequences (CTC) were read as one label's presence: the numbers are that
    question's, not the run's loss, and the verdict says so."""
    learners = reader.learners.format(rows=on_validation.training_rows)
    return (
        f"Nothing predicts which labels your label sequences hold from their inputs: whether a "
        f"row's sequence holds label {reader.label} was guessed from how often the training "
        f"rows' sequences hold it ({metric} {on_validation.constant_loss:.3g} on your "
        f"validation rows), and {learners[0].lower()}{learners[1:]}, reading the inputs, did "
        f"no better{_within_chance(on_validation, metric)}. The label sequences look "
        "independent of their inputs: your model can learn only what they share across rows "
        "(how long they are, which labels are common), which lowers the validation loss a "
        "little and no further, whatever the model, learning rate or normalization."
    )


def _within_chance(contest: Contest, metric: str) -> str:
    """The learners' best in numbers; one below the guess is set beside it and called chance
    (example_1_capacity: "did no better (best log loss 0.696" under a guess of 0.702 read as
    better)."""
    best, constant, p = contest.best_loss, contest.constant_loss, contest.p_value
    if best >= constant or f"{best:.3g}" == f"{constant:.3g}":
        # the p-value said in words: a bare 'p = 1' read as jargon (s13-report2)
        return (f" (best {metric} {best:.3g}: no gain over the constant guess beyond chance, "
                f"p = {p:.2g})")
    return (f" beyond chance (best {metric} {best:.3g} against {constant:.3g}: a gap chance "
            f"alone gives, p = {p:.2g})")


def _against_guess(best: float, guess: float) -> str:
    """no_signal_cnn_random_labels: "was 1.38 against 1.38 for the constant guess"."""
    if f"{best:.3g}" == f"{guess:.3g}":
        return f"was that of the constant guess ({guess:.3g})"
    if best < guess:  # reported only when not clearly below it (_contest.clearly_below)
        return (f"was {best:.3g}, within chance of the constant guess's {guess:.3g} (the best "
                f"of several validation passes dips below it by luck alone)")
    return f"was {best:.3g} against {guess:.3g} for the constant guess"


#: The heading when the labels are predictable inside the training data but not on validation:
#: "The labels cannot be predicted from the inputs" contradicted the verdict under it.
MISALIGNED_TITLE = "The validation labels do not match their inputs"


def _misaligned(on_validation: Contest, in_training: Contest, evidence, task: str) -> Finding:
    metric, guess = words(task)
    verdict = (
        f"Inside your training data the labels can be predicted ({in_training.best_learner}, "
        f"cross-validated: {metric} {in_training.best_loss:.3g} against "
        f"{in_training.constant_loss:.3g} for {guess}), but on your validation data nothing "
        f"beats that constant guess ({metric} {on_validation.constant_loss:.3g}): the "
        "validation labels look misaligned with their inputs, so the validation loss cannot "
        "fall however well the model trains."
    )
    fix = (
        "Check how the validation inputs and labels are paired: shuffling one without the other, "
        "a join on the wrong key, sorting one side, or labels from another version of the data."
    )
    return Finding(NO_SIGNAL, 0.85, verdict, evidence, fix=fix, title=MISALIGNED_TITLE)


def _too_few_rows(on_validation: Contest, evidence, task: str, rows: int,
                  label: int | None) -> Finding:
    """Nothing beat the constant, but the learners had too few rows (of a class) to show
    anything: a smaller cause (a training set cut short, a class too rare to learn) explains
    it as well, so the finding is kept as dismissed."""
    metric, guess = words(task)
    which = f"of class {label}" if label is not None else "in all"
    evidence.update(fewest_training_rows=float(rows), learnable_rows=float(LEARNABLE_ROWS))
    verdict = (
        f"Nothing beat {guess} on your validation data ({metric} "
        f"{on_validation.constant_loss:.3g}), but the learners had only {rows} training rows "
        f"{which}, too few to learn from (at least {LEARNABLE_ROWS}): this does not show the "
        "labels are unpredictable, only that too few rows were there to learn them from."
    )
    return Finding(NO_SIGNAL, 0.3, verdict, evidence)


#: A small split's finding rests on the run's curves and learners starved of rows: the
#: confidence of "nothing beats the constant" on fewer than FEW_ROWS validation rows.
SMALL_SPLIT_CONFIDENCE = 0.6


def _small_split(on_validation: Contest, evidence, task: str, reading: SignalReading) -> Finding:
    """Nothing beat the constant, on a split too small for the learners' LEARNABLE_ROWS a
    class, and the run fitted its training rows while its validation loss stayed at the guess
    (_label_signal._learned_only_training)."""
    metric, guess = words(task)
    rows, _ = reading.fewest
    best, constant = reading.user
    evidence.update(fewest_training_rows=float(rows), learnable_rows=float(LEARNABLE_ROWS),
                    training_fall_share=TRAINING_FALL_SHARE)
    verdict = (
        f"Your model learned its training rows but none of it carried over: its training loss "
        f"fell well below that of {guess}, while its best validation loss ({best:.3g}) never "
        f"got clearly below that guess's ({constant:.3g}). Learners fit on your training rows "
        f"did no better "
        f"({metric} {on_validation.best_loss:.3g} against {on_validation.constant_loss:.3g}); "
        f"with {rows} training rows in the smallest class, fewer than the {LEARNABLE_ROWS} a "
        "learner needs to show a weak signal, they can miss one, but a model that fits its "
        "training labels and gains nothing on validation says the same: the labels look "
        "independent of the inputs (a join on the wrong key, labels in another order than "
        "their rows)."
    )
    return Finding(NO_SIGNAL, SMALL_SPLIT_CONFIDENCE, verdict, evidence)


def _inconclusive(on_validation: Contest, evidence, task: str) -> Finding:
    metric, guess = words(task)
    verdict = (
        f"Nothing beat {guess} on your validation data ({metric} "
        f"{on_validation.constant_loss:.3g}), but inside the training data the labels can be "
        f"predicted: {on_validation.rows} validation rows are too few to tell which holds."
    )
    return Finding(NO_SIGNAL, 0.3, verdict, evidence)
