"""Labels per position (one class per token, as a language model predicts the next one): can the
tokens at and just before a position predict its label better than the label frequencies?

The learners' contest (:mod:`._contest`) needs one label per example; a sequence of token ids
paired position by position with class labels (``(B, T)``, or flattened to ``(B*T,)``) is read
here instead. Each learner counts, on the training positions, which label follows which context:
the token at the position (order 1), it and the one before (order 2), or the two before (order
3). Its prediction is the context's label counts smoothed toward the label frequencies (a
Dirichlet prior whose strength is chosen by cross-validation inside the fitting rows), so a
context that says nothing falls back on the constant. The constant is the best input-free
guess: the training label frequencies (the unigram model). Scores are per held-out position,
averaged per sequence (positions of one sequence are not independent), and judged as the
contest judges its rows (a one-sided t-test per learner, Bonferroni over learners), with one
difference: a learner must beat the constant by MEANINGFUL_GAIN of its loss, not merely by a
significant amount, since a count table's random tilt is not in the t-test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch

from lossdoctor.capture.tensors import tensors_in
from lossdoctor.checks._contest import EPSILON, FOLDS, Contest, judge
from lossdoctor.findings import Skip

#: Contexts of 1, 2 and 3 tokens: a character or word model's first signal is in the last few
#: tokens (bigrams and trigrams), and more orders would only spread the Bonferroni correction.
ORDERS = (1, 2, 3)
#: Prior strengths tried, in pseudo-counts toward the label frequencies: from trusting a
#: context's counts almost at once to needing hundreds of occurrences, and infinite: the label
#: frequencies themselves, chosen when no context helps across the fitting rows' two halves.
#: Without it, labels that carry no signal still get a finite strength, and the table's
#: random tilt scores consistent gains or losses on held-out labels that follow a rule.
PRIOR_STRENGTHS = (0.5, 2.0, 8.0, 32.0, 128.0, 512.0, math.inf)
#: Label frequencies are add-half smoothed (Jeffreys), so a label unseen in training scores a
#: finite loss for the constant and the learners alike.
LABEL_PSEUDO_COUNT = 0.5
MIN_SEQUENCES = 10
#: A learner "predicts the labels" when it beats the constant by this share of the constant's
#: loss. A table fit on labels that carry no signal has a random tilt, which the t-test over
#: held-out sequences does not count (it takes the fitted table as given): on held-out labels
#: that follow a rule, it scores a consistent gain or loss. Over 40 synthetic cases (the rule
#: of tests/test_no_signal.py, training targets from another stream, seeds 20-59) the best
#: learner's gain was at most 1.07% of the constant's loss (5 of 40 above 0); twice that is
#: the bar. (Re-measured in session 15 on the test's rule as it is now: at most 1.95% against
#: the overall frequencies alone, 1.94% against both guesses of _against_both: the bar is tight.)
#: Real text clears it: characters 36% (nanoGPT), words 3.3% on other articles
#: (word_language_model's validation split).
MEANINGFUL_GAIN = 0.02


@dataclass
class Positions:
    """Every position of the captured sequences: its context tokens, its label, its sequence."""

    contexts: np.ndarray  # (n, max(ORDERS)) token at t, t-1, t-2 (-1 before the start)
    labels: np.ndarray  # (n,) class ids
    sequence: np.ndarray  # (n,) index of the sequence the position belongs to
    place: np.ndarray  # (n,) t: where in its sequence the position is

    @property
    def sequences(self) -> int:
        return len(np.unique(self.sequence))

    def subset(self, chosen: np.ndarray) -> Positions:
        keep = np.isin(self.sequence, chosen)
        return Positions(self.contexts[keep], self.labels[keep], self.sequence[keep],
                         self.place[keep])


def per_position_labels(batches) -> bool:
    """Whether the batches pair token-id sequences with one class label per position."""
    return bool(batches) and _token_grid(batches[0]) is not None


def positions(batches) -> Positions:
    """The batches' positions, sequences numbered across batches; Skip when not token ids with
    one label per position, or when holding fewer than MIN_SEQUENCES sequences."""
    parts, offset = [], 0
    for batch in batches:
        grid = _token_grid(batch)
        if grid is None:
            raise Skip("needs token ids with one class label per position in every batch")
        tokens, labels = grid
        parts.append(_grid_positions(tokens, labels, offset))
        offset += len(tokens)
    if offset < MIN_SEQUENCES:
        raise Skip(f"needs at least {MIN_SEQUENCES} sequences with one label per position")
    return Positions(*(np.concatenate(column) for column in zip(*parts, strict=True)))


def _token_grid(batch) -> tuple[np.ndarray, np.ndarray] | None:
    """(tokens, labels), both (sequences, length) with time on the last axis, or None."""
    target = batch.target
    if not isinstance(target, torch.Tensor) or target.is_floating_point() or target.dim() > 2:
        return None
    for tokens in tensors_in((batch.args, batch.kwargs)):
        if tokens.dim() != 2 or tokens.is_floating_point() or tokens.numel() != target.numel():
            continue
        if target.numel() == batch.rows:  # one label per example: not this module's case
            return None
        labels = target.reshape(tokens.shape)
        if tokens.shape[0] != batch.rows and tokens.shape[1] == batch.rows:  # time first
            tokens, labels = tokens.T, labels.T
        return tokens.long().numpy(), labels.long().numpy()
    return None


def _grid_positions(tokens: np.ndarray, labels: np.ndarray, offset: int):
    sequences, length = tokens.shape
    contexts = np.full((sequences, length, max(ORDERS)), -1, dtype=np.int64)
    for back in range(max(ORDERS)):
        contexts[:, back:, back] = tokens[:, : length - back]
    sequence = np.repeat(np.arange(offset, offset + sequences), length)
    place = np.tile(np.arange(length), sequences)
    scored = labels.reshape(-1) >= 0  # a negative label is padding the loss ignores
    return (contexts.reshape(-1, max(ORDERS))[scored], labels.reshape(-1)[scored],
            sequence[scored], place[scored])


# --- the contests -------------------------------------------------------------------------------


def contest(train: Positions, held: Positions) -> Contest:
    """The n-gram learners, fit on the training positions, against the guesses without the
    tokens on the held-out positions, per held-out sequence (see _against_both)."""
    classes = np.unique(np.concatenate([train.labels, held.labels]))
    constants, learners = _per_position_losses(train, held, classes)
    return _against_both({name: _per_sequence(losses, held) for name, losses in constants.items()},
                         {name: _per_sequence(losses, held) for name, losses in learners.items()},
                         len(train.labels))


def constant_loss(train: Positions, held: Positions) -> float:
    """The better guess's mean loss per held position (the unit of the user's loss)."""
    classes = np.unique(np.concatenate([train.labels, held.labels]))
    frequencies = _label_frequencies(train.labels, classes)
    at_place = _log_loss(_by_place(train, held, classes, frequencies)).mean()
    overall = _log_loss(frequencies[np.searchsorted(classes, held.labels)]).mean()
    return float(min(at_place, overall))


def cross_validated_contest(train: Positions) -> Contest:
    """The same contest inside the training positions, folds made of whole sequences."""
    classes = np.unique(train.labels)
    folds = _folds(np.unique(train.sequence), FOLDS)
    constants, learners = {}, {}
    for held_sequences in folds:
        fit = train.subset(np.setdiff1d(np.unique(train.sequence), held_sequences))
        held = train.subset(held_sequences)
        fold_constants, fold_learners = _per_position_losses(fit, held, classes)
        for found, fold in ((constants, fold_constants), (learners, fold_learners)):
            for name, losses in fold.items():
                found.setdefault(name, []).append(_per_sequence(losses, held))
    return _against_both({name: np.concatenate(parts) for name, parts in constants.items()},
                         {name: np.concatenate(parts) for name, parts in learners.items()},
                         len(train.labels))


def _against_both(constants: dict[str, np.ndarray], learners: dict[str, np.ndarray],
                  positions: int) -> Contest:
    """The learners judged against each guess without the tokens; the tokens predict the labels
    only if they beat both, so the weaker result stands. The overall frequencies alone miss
    what the place gives away (a padded word's first letter, or its padding); the frequencies
    at each place alone are noisy where places mean nothing (crops of a stream): on 40 crops
    of a stream with targets from another stream (the rule of tests/test_no_signal.py, seeds
    20-59), the learners' best gain over them reached 2.2% of their loss, over the bar below,
    against at most 1.95% over the overall frequencies."""
    judged = [_judged(constant, learners, positions) for constant in constants.values()]
    return max(judged, key=lambda contest: contest.p_value)


def _judged(constant: np.ndarray, learners: dict[str, np.ndarray], positions: int) -> Contest:
    """The contest judged on gains beyond MEANINGFUL_GAIN of the constant's loss: its p-value
    tests "the learner gains more than that" and its gains are what is left above it."""
    margin = MEANINGFUL_GAIN * float(constant.mean())
    judged = judge(constant - margin, learners, positions)
    return replace(judged, constant_loss=float(constant.mean()))


def _folds(sequences: np.ndarray, count: int) -> list[np.ndarray]:
    shuffled = np.random.default_rng(0).permutation(sequences)
    return [part for part in np.array_split(shuffled, count) if len(part)]


def _per_sequence(losses: np.ndarray, held: Positions) -> np.ndarray:
    """Mean loss of each held-out sequence."""
    _, index = np.unique(held.sequence, return_inverse=True)
    return np.bincount(index, weights=losses) / np.bincount(index)


def _per_position_losses(fit: Positions, held: Positions, classes: np.ndarray):
    """The losses of the guesses without the tokens and of each learner, per held position.
    The guesses: the label frequencies overall, and at each place in the sequence (padded
    sequences of names or sentences have their own first and last labels) smoothed toward
    the overall ones; the learners' counts are smoothed toward the latter."""
    frequencies = _label_frequencies(fit.labels, classes)
    at_place = _by_place(fit, held, classes, frequencies)
    overall = frequencies[np.searchsorted(classes, held.labels)]
    learners = {}
    for order in ORDERS:
        keys = _context_keys(order)
        strength = _chosen_strength(fit, keys, classes, frequencies, by_place=True)
        probability = _smoothed(*_counts(fit, held, keys, classes), at_place, strength)
        learners[f"counts of the {_context_words(order)}"] = _log_loss(probability)
    return {"overall": _log_loss(overall), "at each place": _log_loss(at_place)}, learners


def _by_place(fit: Positions, held: Positions, classes: np.ndarray,
              frequencies: np.ndarray) -> np.ndarray:
    """The constant's probability of each held position's label: the label frequencies at its
    place, smoothed toward the overall ``frequencies``."""
    overall = frequencies[np.searchsorted(classes, held.labels)]
    return _smoothed(*_counts(fit, held, _place_keys, classes), overall,
                     _chosen_strength(fit, _place_keys, classes, frequencies))


def _context_words(order: int) -> str:
    return {1: "token at the position", 2: "token at the position and the one before"}.get(
        order, f"token at the position and the {order - 1} before")


def _log_loss(probability: np.ndarray) -> np.ndarray:
    return -np.log(np.clip(probability, EPSILON, 1.0))


def _label_frequencies(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    counts = np.bincount(np.searchsorted(classes, labels), minlength=len(classes))
    return (counts + LABEL_PSEUDO_COUNT) / (counts.sum() + LABEL_PSEUDO_COUNT * len(classes))


def _smoothed(together: np.ndarray, seen: np.ndarray, frequency: np.ndarray,
              strength: float) -> np.ndarray:
    """P(label | context): the context's label counts plus ``strength`` pseudo-counts spread as
    the label frequencies (the frequencies alone for an infinite strength)."""
    if math.isinf(strength):
        return frequency
    return (together + strength * frequency) / (seen + strength)


def _chosen_strength(fit: Positions, keys, classes: np.ndarray, frequencies: np.ndarray,
                     by_place: bool = False) -> float:
    """The prior strength that predicts best across two halves of the fitting sequences; the
    prior is the label frequencies, or with ``by_place`` the constant (at each place)."""
    halves = _folds(np.unique(fit.sequence), 2)
    if len(halves) < 2:
        return PRIOR_STRENGTHS[-1]
    lookups = []
    for part, other in ((halves[0], halves[1]), (halves[1], halves[0])):
        part, other = fit.subset(part), fit.subset(other)
        prior = (_by_place(part, other, classes, frequencies) if by_place
                 else frequencies[np.searchsorted(classes, other.labels)])
        lookups.append((*_counts(part, other, keys, classes), prior))

    def held_out_loss(strength: float) -> float:
        return sum(_log_loss(_smoothed(*lookup[:2], lookup[2], strength)).sum()
                   for lookup in lookups)

    return min(PRIOR_STRENGTHS, key=held_out_loss)


def _counts(fit: Positions, held: Positions, keys,
            classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each held position: how often its context (``keys(fit, held)``: one integer per
    position) came with its label in the fitting positions, and how often it came at all."""
    fit_keys, held_keys = keys(fit, held)
    contexts, fit_context = np.unique(fit_keys, return_inverse=True)
    width = len(classes)
    pairs, pair_counts = np.unique(fit_context * width + np.searchsorted(classes, fit.labels),
                                   return_counts=True)
    context_counts = np.bincount(fit_context, minlength=len(contexts))
    found = np.searchsorted(contexts, held_keys).clip(max=len(contexts) - 1)
    known = contexts[found] == held_keys
    held_pairs = found * width + np.searchsorted(classes, held.labels)
    pair_index = np.searchsorted(pairs, held_pairs).clip(max=len(pairs) - 1)
    pair_known = known & (pairs[pair_index] == held_pairs)
    return (np.where(pair_known, pair_counts[pair_index], 0),
            np.where(known, context_counts[found], 0))


def _place_keys(fit: Positions, held: Positions) -> tuple[np.ndarray, ...]:
    return fit.place, held.place


def _context_keys(order: int):
    """The keys of contexts of ``order`` tokens: one integer each, numbered alike in both
    sets."""
    return lambda fit, held: _token_context_keys(fit, held, order)


def _token_context_keys(fit: Positions, held: Positions, order: int) -> tuple[np.ndarray, ...]:
    both = np.concatenate([fit.contexts[:, :order], held.contexts[:, :order]]) + 1
    base = int(both.max()) + 1
    if order * np.log2(base) < 62:
        keys = both @ (base ** np.arange(order, dtype=np.int64))
    else:
        keys = np.unique(both, axis=0, return_inverse=True)[1].reshape(-1)
    return keys[: len(fit.contexts)], keys[len(fit.contexts):]
