"""A language model's batches laid along the wrong axis: is the token stream there, across
the batch, while the model is taught to predict along time?

A language model's batch pairs token ids with the same tokens one step later (the target at
time t is the input at t + 1, in each sequence). Cut from one long stream of text, each
sequence must hold consecutive tokens: pytorch/examples' ``batchify`` is
``data.view(bsz, -1).t()``. Without the transpose (``data.view(-1, bsz)``) the shape is the
same, but the consecutive tokens now sit side by side across the batch, and the "next token"
along time is ``bsz`` tokens further in the text. Along time, nothing predicts the targets
better than the token frequencies (no_signal's reading); across the batch, the next token is
as predictable as the text is. This module reads the inputs across the batch: each time step's
tokens a sequence, each labelled by its neighbour, judged by :mod:`._per_position`'s learners
(counts of which token follows the last one to three) inside the training batches.
"""

from __future__ import annotations

import numpy as np

from lossdoctor.checks import _per_position as per_position
from lossdoctor.checks._contest import ALPHA, Contest
from lossdoctor.checks._label_signal import label_signal
from lossdoctor.findings import Cause, Finding, Skip

#: Share of the positions whose target is the input one step later in the same sequence for the
#: batches to be a language model's. In one it is every position but padding; with targets
#: unrelated to the inputs it is about one over the vocabulary. Nine in ten leaves room for
#: padding and masked tokens.
SHIFTED_SHARE = 0.9


def shifted_targets(batches) -> bool:
    """Whether every batch pairs token ids with themselves one step later along time."""
    return bool(batches) and all(_time_axis(batch) is not None for batch in batches)


def _time_axis(batch) -> int | None:
    """The axis of the token grid along which the targets are the inputs one step later (the
    batch's layout, time first or batch first, read from the pairing itself), or None."""
    grid = per_position._token_grid(batch)
    if grid is None:
        return None
    tokens, labels = grid
    return next((axis for axis in (0, 1)
                 if _shifted_share(tokens, labels, axis) >= SHIFTED_SHARE), None)


def _shifted_share(tokens: np.ndarray, labels: np.ndarray, axis: int) -> float:
    if tokens.shape[axis] < 2:
        return 0.0
    later = np.take(tokens, np.arange(1, tokens.shape[axis]), axis=axis)
    now = np.take(labels, np.arange(tokens.shape[axis] - 1), axis=axis)
    return float(np.mean(now == later))


def across_the_batch(batches) -> per_position.Positions:
    """The batches' input tokens read across the batch: at each time step the sequences'
    tokens in batch order, each labelled by the next sequence's token; Skip when the batches
    are not a language model's, or hold too few time steps."""
    parts, offset = [], 0
    for batch in batches:
        axis = _time_axis(batch)
        if axis is None:
            raise Skip("needs token ids whose targets are themselves one step later")
        tokens = per_position._token_grid(batch)[0]
        across = tokens if axis == 0 else tokens.T  # (time steps, sequences)
        if across.shape[1] < 2:
            raise Skip("needs at least two sequences in a batch")
        parts.append(per_position._grid_positions(across[:, :-1], across[:, 1:], offset))
        offset += len(across)
    if offset < per_position.MIN_SEQUENCES:
        raise Skip(f"needs at least {per_position.MIN_SEQUENCES} time steps")
    return per_position.Positions(*(np.concatenate(column)
                                    for column in zip(*parts, strict=True)))


def stream_across_the_batch(batches) -> Contest:
    """The next-token learners across the batch, cross-validated inside the batches (folds of
    whole time steps)."""
    return per_position.cross_validated_contest(across_the_batch(batches))


#: A reading of the batches, no replay: as sure as data_pipeline's other readings of a signal
#: the inputs hold where the model is not given it (LOST_SIGNAL_CONFIDENCE), and above
#: no_signal's, whose "nothing predicts the labels" it explains.
WRONG_AXIS_CONFIDENCE = 0.92

FIX = ("Lay each sequence along the time axis: cut the token stream with "
       "data.view(batch_size, -1).t() for time-first batches (data.view(batch_size, -1) for "
       "batch-first ones), not data.view(-1, batch_size), so that consecutive time steps hold "
       "consecutive tokens of your text.")


def stream_axis_finding(case, cause: Cause) -> Finding | None:
    """The finding, of ``cause`` (data_pipeline's), when no_signal reads nothing predicting
    a language model's targets along time while the next token across the batch is
    predicted."""
    batches = case.replayer.train_batches
    try:
        reading = label_signal(case)
        if not reading.unpredictable or not shifted_targets(batches):
            return None
        across = stream_across_the_batch(batches)
    except Skip:
        return None
    if across.p_value >= ALPHA:
        return None  # no next-token structure anywhere: the text itself is noise
    return _finding(cause, reading.in_training, across)


def _finding(cause: Cause, along_time: Contest, across: Contest) -> Finding:
    verdict = (
        f"Your targets are your inputs one time step later (a language model's), but the "
        f"text runs across your batch, not along time: counts of which token follows the "
        f"last one to three predict the neighbouring token across the batch (log loss "
        f"{across.best_loss:.3g} against {across.constant_loss:.3g} for the token "
        f"frequencies; p = {across.p_value:.2g}), while along time, the way your model reads "
        f"it, they do no better than the frequencies ({along_time.best_loss:.3g} against "
        f"{along_time.constant_loss:.3g}). The labels cannot be predicted because inputs and "
        f"targets were paired wrongly: each \"next token\" target is a batch's width of "
        f"tokens away from its input in your text (a reshape such as data.view(-1, "
        f"batch_size) without its transpose)."
    )
    evidence = {
        "across_batch_loss": across.best_loss,
        "across_batch_constant_loss": across.constant_loss,
        "across_batch_p_value": across.p_value,
        "along_time_loss": along_time.best_loss,
        "along_time_constant_loss": along_time.constant_loss,
        "along_time_p_value": along_time.p_value,
    }
    return Finding(cause, WRONG_AXIS_CONFIDENCE, verdict, evidence, fix=FIX)
