"""Target sequences paired with source sequences (a translation model's target sentence, one
class per target position): do the sources predict the targets better than the label
frequencies?

A sequence-to-sequence batch holds source token ids, often the target sequence itself (fed to
the decoder, teacher forcing) and the target scored position by position, flattened
(``output[1:].view(-1, V)`` against ``trg[1:].view(-1)``), time-major (``[length, batch]``,
the batch's size given by a lengths tensor for packing) or batch-first. The target's own copy
among the inputs is left out: it would predict the target from itself. The learner is IBM
Model 1's lexical table, without alignment (a target word comes with the words of its source
wherever they stand, so reordering and reversal do not hide it): for each source token, the
frequencies of the labels of the targets whose source holds it, smoothed toward the label
frequencies; a target position's prediction is the mean of its source tokens' tables. It is
judged as :mod:`._per_position` judges its learners (per held-out sequence, against the label
frequencies overall and at each place, beyond MEANINGFUL_GAIN).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lossdoctor.capture.tensors import tensors_in
from lossdoctor.checks import _per_position as per_position
from lossdoctor.checks._contest import Contest
from lossdoctor.findings import Skip

#: The most cells (source tokens x label classes) of the lexical table: 4 M, 32 MB a copy.
MAX_TABLE_CELLS = 4_000_000


@dataclass
class Pairs:
    """Every scored target position (label, sequence, place) and each sequence's source
    tokens (distinct, numbered across the source tensors)."""

    positions: per_position.Positions
    tokens: np.ndarray  # every sequence's source tokens, one after the other
    starts: np.ndarray  # by sequence number: where its tokens start
    lengths: np.ndarray  # by sequence number: how many they are

    def subset(self, chosen: np.ndarray) -> Pairs:
        return Pairs(self.positions.subset(chosen), self.tokens, self.starts, self.lengths)


def source_target_pairs(batches, ignored: int | None) -> bool:
    """Whether the batches pair source token sequences with a target sequence each."""
    return bool(batches) and _pairs_of(batches[0], ignored) is not None


def pairs(batches, ignored: int | None) -> Pairs:
    """The batches' target positions and sources, sequences numbered across batches; Skip
    when a batch is not such a pair, or when fewer than MIN_SEQUENCES sequences are held."""
    parts, tokens, lengths, count = [], [], [], 0
    for batch in batches:
        found = _pairs_of(batch, ignored)
        if found is None:
            raise Skip("needs source token ids and a target sequence in every batch")
        (bag_tokens, bag_lengths), labels = found
        parts.append(_target_positions(labels, count, ignored))
        tokens.append(bag_tokens)
        lengths.append(bag_lengths)
        count += len(labels)
    if count < per_position.MIN_SEQUENCES:
        raise Skip(f"needs at least {per_position.MIN_SEQUENCES} source and target sequences")
    columns = [np.concatenate(column) for column in zip(*parts, strict=True)]
    lengths = np.concatenate(lengths)
    return Pairs(per_position.Positions(*columns), np.concatenate(tokens),
                 np.cumsum(lengths) - lengths, lengths)


def _pairs_of(batch, ignored: int | None):
    """((source tokens, their count per sequence), labels (sequences, target length)), or
    None. When the layout is in doubt (no lengths tensor, both sizes shared by every token
    tensor), the one in which the decoder's input holds the target is taken, else none."""
    target = batch.target
    if not isinstance(target, torch.Tensor) or target.is_floating_point():
        return None
    inputs = list(tensors_in((batch.args, batch.kwargs)))
    tokens = [t for t in inputs if t.dim() == 2 and not t.is_floating_point()]
    flat = target.reshape(-1)
    layouts = _layouts(tokens, inputs)
    for count, axis in layouts:
        if flat.numel() == count or flat.numel() % count:
            continue  # one label per example, or not one target sequence per source
        labels = (flat.reshape(-1, count).T if axis == 1 else flat.reshape(count, -1))
        labels = labels.long().numpy()
        grids = [(t.T if axis == 1 else t).long().numpy() for t in tokens]
        sources = [grid for grid in grids if not _holds_the_target(grid, labels)]
        if len(layouts) > 1 and len(sources) == len(grids):
            continue
        if not sources or len(sources) == len(grids) and _same_grid(grids, labels):
            return None
        return _bags(sources), labels
    return None


def _layouts(tokens: list[torch.Tensor], inputs) -> list[tuple[int, int]]:
    """The (number of sequences, their axis) the token tensors allow: batch-first when every
    one has the same first size, time-major when the same second size; a lengths tensor (one
    integer per sequence, for pack_padded_sequence) picks one."""
    if not tokens:
        return []
    layouts = [(sizes.pop(), axis) for axis in (0, 1)
               if len(sizes := {t.shape[axis] for t in tokens}) == 1]
    lengths = {t.shape[0] for t in inputs if t.dim() == 1 and not t.is_floating_point()}
    picked = [layout for layout in layouts if layout[0] in lengths]
    return picked if len(picked) == 1 else layouts


def _holds_the_target(grid: np.ndarray, labels: np.ndarray) -> bool:
    """Whether the token tensor is the target sequence itself (the decoder's input, shifted
    by some steps): it predicts the target from itself."""
    length = labels.shape[1]
    return any(np.array_equal(grid[:, shift:shift + length], labels)
               for shift in range(grid.shape[1] - length + 1))


def _same_grid(grids: list[np.ndarray], labels: np.ndarray) -> bool:
    """Tokens labelled position by position (a language model's): _per_position's case."""
    return any(grid.shape == labels.shape for grid in grids)


def _bags(sources: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each sequence's distinct source tokens, the tensors' ids kept apart: (the tokens one
    sequence after the other, how many each sequence has)."""
    offset, numbered = 0, []
    for grid in sources:
        numbered.append(grid - grid.min() + offset)
        offset += int(grid.max() - grid.min()) + 1
    joined = np.sort(np.concatenate(numbered, axis=1), axis=1)
    first = np.ones(joined.shape, dtype=bool)
    first[:, 1:] = joined[:, 1:] != joined[:, :-1]
    return joined[first], first.sum(axis=1)


def _target_positions(labels: np.ndarray, offset: int, ignored: int | None):
    sequences, length = labels.shape
    sequence = np.repeat(np.arange(offset, offset + sequences), length)
    place = np.tile(np.arange(length), sequences)
    flat = labels.reshape(-1)
    scored = flat >= 0
    if ignored is not None:
        scored &= flat != ignored  # padding the loss ignores
    contexts = np.zeros((int(scored.sum()), max(per_position.ORDERS)), dtype=np.int64)
    return contexts, flat[scored], sequence[scored], place[scored]


# --- the contests -------------------------------------------------------------------------


def contest(train: Pairs, held: Pairs) -> Contest:
    """The lexical table, fit on the training pairs, against the guesses without the sources
    on the held-out target positions, per held-out sequence."""
    classes = np.unique(np.concatenate([train.positions.labels, held.positions.labels]))
    constants, learner = _losses(train, held, classes)
    return _judged(constants, learner, held, len(train.positions.labels))


def cross_validated_contest(train: Pairs) -> Contest:
    """The same contest inside the training pairs, folds made of whole sequences."""
    classes = np.unique(train.positions.labels)
    every = np.unique(train.positions.sequence)
    constants, learners = {}, []
    for held_sequences in per_position._folds(every, per_position.FOLDS):
        fit, held = train.subset(np.setdiff1d(every, held_sequences)), train.subset(held_sequences)
        fold_constants, fold_learner = _losses(fit, held, classes)
        for name, losses in fold_constants.items():
            constants.setdefault(name, []).append(per_position._per_sequence(losses,
                                                                             held.positions))
        learners.append(per_position._per_sequence(fold_learner, held.positions))
    return per_position._against_both(
        {name: np.concatenate(parts) for name, parts in constants.items()},
        {LEARNER: np.concatenate(learners)}, len(train.positions.labels))


#: The learner, in the report's words.
LEARNER = "a table of the target tokens each source token brings"


def constant_loss(train: Pairs, held: Pairs) -> float:
    return per_position.constant_loss(train.positions, held.positions)


def _judged(constants: dict, learner: np.ndarray, held: Pairs, positions: int) -> Contest:
    per_sequence = {name: per_position._per_sequence(losses, held.positions)
                    for name, losses in constants.items()}
    return per_position._against_both(
        per_sequence, {LEARNER: per_position._per_sequence(learner, held.positions)}, positions)


def _losses(fit: Pairs, held: Pairs, classes: np.ndarray) -> tuple[dict, np.ndarray]:
    """The losses per held position of the guesses without the sources, and of the table."""
    frequencies = per_position._label_frequencies(fit.positions.labels, classes)
    at_place = per_position._by_place(fit.positions, held.positions, classes, frequencies)
    overall = frequencies[np.searchsorted(classes, held.positions.labels)]
    share = _chosen_share(fit, classes, frequencies)
    learner = share * _Table(fit, classes, frequencies).probability(held) + (1 - share) * at_place
    return ({"overall": per_position._log_loss(overall),
             "at each place": per_position._log_loss(at_place)},
            per_position._log_loss(learner))


#: Shares of the table's prediction in the learner's, the rest the label frequencies at each
#: place: the table knows which words a target holds, not where (its end, its padding), and
#: the place knows where, not which (the table alone, smoothed toward the overall
#: frequencies, lost to the place's constant on the healthy seq2seq run: 2.34 against 2.28).
#: 0 leaves the constant itself, chosen when the sources tell nothing across the fitting
#: sequences' two halves (the misaligned run); the healthy run chose 0.9.
SHARES = (0.0, 0.25, 0.5, 0.75, 0.9)


def _chosen_share(fit: Pairs, classes: np.ndarray, frequencies: np.ndarray) -> float:
    """The share that predicts best across two halves of the fitting sequences."""
    halves = per_position._folds(np.unique(fit.positions.sequence), 2)
    if len(halves) < 2:
        return 0.0
    splits = []
    for part, other in ((halves[0], halves[1]), (halves[1], halves[0])):
        part, other = fit.subset(part), fit.subset(other)
        splits.append((_Table(part, classes, frequencies).probability(other),
                       per_position._by_place(part.positions, other.positions, classes,
                                              frequencies)))

    def held_out_loss(share: float) -> float:
        return sum(per_position._log_loss(share * table + (1 - share) * place).sum()
                   for table, place in splits)

    return min(SHARES, key=held_out_loss)


#: Rounds of expectation-maximization of IBM Model 1's table (Brown et al., 1993): the first
#: round is the co-occurrence counts, in which every word of a source shares each target word
#: (a target word's true source gets a sixth of it in a six-word sentence); each round gives
#: it to the source words that predicted it, and the table sharpens toward the one that does.
#: Measured on bench/projects3 pytorch_seq2seq (300 validation sentences, constant 2.282):
#: after 1 round the healthy run's learner scored 2.277 (p = 1: its labels would have read as
#: noise), 2 rounds 2.088, 5 rounds 1.772, 10 rounds 1.730; the misaligned run 2.282 at every
#: count. Five is past the bend, at half the cost of ten.
EM_ROUNDS = 5
#: Pseudo-counts toward the label frequencies in each source token's row, so that a token
#: seen a few times does not predict with certainty.
TABLE_PRIOR = 1.0


class _Table:
    """IBM Model 1's lexical table: for each source token, the probability of each label
    among the target words it accounts for."""

    def __init__(self, fit: Pairs, classes: np.ndarray, frequencies: np.ndarray) -> None:
        position, token = _source_tokens(fit)
        self.tokens = np.unique(token)
        if len(self.tokens) * len(classes) > MAX_TABLE_CELLS:
            raise Skip("needs fewer source tokens and target classes than the table can hold")
        self.classes, self.frequencies = classes, frequencies
        label = np.searchsorted(classes, fit.positions.labels)[position]
        row = np.searchsorted(self.tokens, token)
        cell = row * len(classes) + label
        self.table = np.tile(frequencies, (len(self.tokens), 1))
        for _ in range(EM_ROUNDS):
            share = self.table.reshape(-1)[cell]
            share = share / np.bincount(position, weights=share)[position]
            counts = np.bincount(cell, weights=share, minlength=self.table.size).reshape(
                self.table.shape)
            self.table = ((counts + TABLE_PRIOR * frequencies)
                          / (counts.sum(axis=1, keepdims=True) + TABLE_PRIOR))

    def probability(self, held: Pairs) -> np.ndarray:
        """Each held position's label's probability: the mean over its source's tokens of
        their rows (the label frequencies for a token never seen in fitting)."""
        label_ids = np.searchsorted(self.classes, held.positions.labels)
        position, token = _source_tokens(held)
        found = np.searchsorted(self.tokens, token).clip(max=len(self.tokens) - 1)
        known = self.tokens[found] == token
        label = label_ids[position]
        each = np.where(known, self.table[found, label], self.frequencies[label])
        count = len(label_ids)
        return (np.bincount(position, weights=each, minlength=count)
                / np.maximum(np.bincount(position, minlength=count), 1))


def _source_tokens(pairs: Pairs) -> tuple[np.ndarray, np.ndarray]:
    """(position index, source token) for every token of every position's source."""
    sequence = pairs.positions.sequence
    lengths = pairs.lengths[sequence]
    position = np.repeat(np.arange(len(sequence)), lengths)
    within = np.arange(len(position)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return position, pairs.tokens[np.repeat(pairs.starts[sequence], lengths) + within]
