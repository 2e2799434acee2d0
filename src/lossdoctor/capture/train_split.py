"""Evaluations of the training data, told apart from validation by their content.

A script may evaluate its training split between optimizer steps, as nanoGPT's
``estimate_loss()`` does: under ``no_grad``, ``get_batch('train')`` then ``get_batch('val')``.
Both look like validation to the hooks. What tells them apart is where the rows come from: a
batch evaluated without an update whose values are the training data's (the same rows, or
windows cut from the same token or signal tensor) is a training-split evaluation.

Each no-grad model call gets a *signature*: for each of its inputs, hashes of the k-grams
(SHINGLE consecutive values) of its rows, the SIGNATURE smallest kept (a bottom-k sketch:
windows cut at any offset of the same data give the same hashes). When the run ends, a batch
whose every input has at least TRAIN_SHARE of its hashes among the k-grams of the captured
training batches (inputs and targets) is the training data's. One input alike in every split (a
graph's sparse adjacency matrix, an attention mask of ones) says nothing of where the rows come
from: the inputs that differ decide. This needs the training sample to cover the data the
evaluation drew from: complete for datasets up to the sample's 4,096 rows, partial beyond (an
evaluation of a large corpus's training split may then stay counted as validation).

Rows of a few features taking a few values each (a table of settings) have k-grams that any row
of the same columns shares: a validation row's every k-gram is among the training rows' though
the row itself is not. Where rows made of the training rows' own values, drawn column by column
apart from their rows, pass the k-gram test too (``unspecific``), the k-grams say nothing of
the split, and whole rows decide: the batch's whole-row hashes among the training sample's.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from lossdoctor.capture.tensors import dense_tensors_in

#: Consecutive values hashed together: long enough that two different texts or signals rarely
#: share one (eight characters or tokens, or a whole short row of features).
SHINGLE = 8
#: Hashes kept per evaluated batch: enough that the share found is measured to about 1/32.
SIGNATURE = 32
#: A batch is the training data's when at least half of its sketch is: rows from another split
#: share almost none, rows from the training data as much as the training sample covers.
TRAIN_SHARE = 0.5
#: Consecutive values of a long k-gram: four short ones end to end. Measured on random windows
#: of two English texts split 90/10 (a 35 KB licence; 880 KB of program notes), 32-row batches
#: against a training sample of 128 such batches (bench/train_split_text.py): windows of the
#: training text share 0.99 (licence, 64 letters) and 0.57 (notes, 256 letters) of their long
#: k-grams, held-out text 0.00 and 0.25, where their short shares overlap (notes: 0.84 against
#: 0.73, both above TRAIN_SHARE).
LONG = 4 * SHINGLE
#: A long share below this part of the training sample's own repeat share is another split's:
#: a training window shows about as much as the sample's batches show of each other (0.99
#: against 0.98, 0.57 against 0.57 on those texts), and half of it leaves room for a batch's
#: spread (0.38-0.72 on the notes) while putting 15 of the notes' 20 held-out batches and all
#: the licence's on the validation side (before: none of them).
LONG_SHARE = 0.5
#: Below this repeat share the long sketch cannot tell: a batch's 32 long hashes hold so few of
#: the sample's that half of them is a count of two or three, which a training window misses as
#: often as a held-out one (880 KB of notes in 64-letter windows: repeat share 0.19, training
#: windows 0.06-0.34, held-out 0.00-0.25). At 0.3, a binomial of 32 hashes falls below half its
#: mean about 3% of the time.
MIN_REPEAT_SHARE = 0.3
#: Multipliers of the k-gram hash (fixed odd numbers: a polynomial hash, wrapping in int64).
_MULTIPLIERS = torch.tensor([0x9E3779B97F4A7C15 - 2**64, 0x632BE59BD9B4E019, 0x7FB5D329728EA185,
                             0x3C6EF372FE94F82B, 0x27BB2EE687B0B0FD, 0x5851F42D4C957F2D,
                             0x14057B7EF767814F, 0x1B03738712FAD5C9], dtype=torch.int64)
#: splitmix64's finalizer multiplier (as a signed int64), mixing each value before hashing.
_FINALIZER = 0xFF51AFD7ED558CCD - 2**64


class Signed(NamedTuple):
    """The bottom-SIGNATURE hashes of an input's short and long k-grams, and of its rows
    whole."""

    short: torch.Tensor
    long: torch.Tensor
    rows: torch.Tensor = torch.empty(0, dtype=torch.int64)


class TrainingData(NamedTuple):
    """The unique short k-gram hashes of the training sample at each place of a batch (its
    inputs in order, then its targets), its long ones, and how much of a training batch's long
    sketch the other training batches hold (its own repeat share)."""

    short_at: list[torch.Tensor]
    long: torch.Tensor
    repeat_share: float
    #: The unique whole-row hashes at each place, and the places whose k-grams are unspecific.
    rows_at: list[torch.Tensor] = []
    unspecific: frozenset = frozenset()

    @property
    def empty(self) -> bool:
        return not any(hashes.numel() for hashes in self.short_at)

    def short(self, place: int) -> torch.Tensor:
        return self.short_at[place] if place < len(self.short_at) else _NONE

    def rows(self, place: int) -> torch.Tensor:
        return self.rows_at[place] if place < len(self.rows_at) else _NONE


_NONE = torch.empty(0, dtype=torch.int64)


#: A sketch: for each input tensor of a model call (in order), its Signed hashes, or None for
#: an input that cannot tell splits apart (category ids, a number).
Sketch = list


def signature(args, kwargs) -> Sketch | None:
    """The SIGNATURE smallest k-gram hashes of each of the batch's input tensors (None when no
    input has rows that tell splits apart: category ids, numbers)."""
    sketch = [_input_signature(t) for t in dense_tensors_in((args, kwargs))[:MAX_INPUTS]]
    return sketch if any(s is not None for s in sketch) else None


#: Inputs of a model call that are sketched: models take a few (features, a mask, an
#: adjacency matrix); a structure of many tensors is signed by its first ones.
MAX_INPUTS = 8


def _input_signature(tensor: torch.Tensor) -> Signed | None:
    if tensor.dim() == 0 or tensor.numel() == 0:
        return None
    tensor = _ids_of_one_hot(tensor)
    if category_ids(tensor):
        return None
    short = row_shingles(tensor)
    return Signed(_bottom(short), _bottom(long_shingles(short)), _bottom(whole_rows(tensor)))


def _bottom(hashes: torch.Tensor) -> torch.Tensor:
    return torch.unique(hashes.reshape(-1))[:SIGNATURE]


def _ids_of_one_hot(tensor: torch.Tensor) -> torch.Tensor:
    """One-hot rows (letters, tokens or classes encoded along the last axis) as the ids they
    encode. Eight consecutive values of a one-hot row hold at most one 1, so every window of
    any split's rows is one of nine: a validation set of one-hot letter sequences matched its
    training letters whole, and every validation pass of a char-RNN was taken for an
    evaluation of the training data. Their ids' windows are the letters' own k-grams."""
    if not tensor.is_floating_point() or tensor.dim() < 2 or tensor.shape[-1] < 2:
        return tensor
    if not _one_hot(tensor.reshape(-1, tensor.shape[-1])[:1]):  # most inputs fail at once
        return tensor
    if not _one_hot(tensor):
        return tensor
    return (tensor == 1).to(torch.int8).argmax(-1)


def _one_hot(tensor: torch.Tensor) -> bool:
    ones = tensor == 1
    return bool(((tensor == 0) | ones).all()) and bool((ones.sum(-1) == 1).all())


def category_ids(tensor: torch.Tensor) -> bool:
    """One integer per row is a category (a user, an item, a class): every split reuses the
    same ids by design, so a validation batch's ids are all among the training batches' and
    say nothing about which split its rows came from (daisyrec_sigmoid_before_bce_with_logits:
    every validation pass was taken for an evaluation of the training data)."""
    is_integer = not (tensor.is_floating_point() or tensor.is_complex())
    return is_integer and tensor.dim() >= 1 and tensor.reshape(tensor.shape[0], -1).shape[1] == 1


def shingles(tensor: torch.Tensor) -> torch.Tensor:
    """Hashes of every SHINGLE consecutive values of each row (the whole row when shorter)."""
    return row_shingles(tensor).reshape(-1)


def long_shingles(short: torch.Tensor) -> torch.Tensor:
    """Hashes of every LONG consecutive values of each row, from its short k-gram hashes
    ``short`` (rows, windows): the short ones at offsets 0, SHINGLE, ... combined; rows too
    short for one are signed by their short k-grams."""
    parts = LONG // SHINGLE
    windows = short.shape[1] - (parts - 1) * SHINGLE
    if windows < 1:
        return short
    hashes = sum(_mixed(short[:, k * SHINGLE:k * SHINGLE + windows]) * _MULTIPLIERS[k]
                 for k in range(parts))
    return hashes ^ (hashes >> 31)


def row_shingles(tensor: torch.Tensor) -> torch.Tensor:
    """shingles, one row of hashes per row of ``tensor``: (rows, windows)."""
    return _shingled(_values(tensor))


def _shingled(values: torch.Tensor) -> torch.Tensor:
    width = min(SHINGLE, values.shape[1])
    windows = _mixed(values).unfold(1, width, 1)
    hashes = (windows * _MULTIPLIERS[:width]).sum(-1)
    return hashes ^ (hashes >> 31)


def whole_rows(tensor: torch.Tensor) -> torch.Tensor:
    """One hash of each row's values, all of them in order: (rows,)."""
    values = _values(tensor)
    weights = _MULTIPLIERS[torch.arange(values.shape[1]) % len(_MULTIPLIERS)]
    weights = weights + 2 * torch.arange(values.shape[1], dtype=torch.int64)  # odd, per place
    hashes = (_mixed(values) * weights).sum(-1)
    return hashes ^ (hashes >> 31)


def _values(tensor: torch.Tensor) -> torch.Tensor:
    """Each row's values as int64 words (floats by their bits): (rows, values)."""
    rows = tensor.detach().to("cpu").reshape(tensor.shape[0], -1)
    if rows.is_floating_point() or rows.is_complex():
        return rows.to(torch.float64).contiguous().view(torch.int64)
    return rows.to(torch.int64)


def _mixed(values: torch.Tensor) -> torch.Tensor:
    """Each value's bits spread over the whole word (splitmix64's finalizer). A float holding a
    whole number (a grey level 128.0) has all-zero low mantissa bits, which the polynomial hash
    alone kept zero in every k-gram: 400 validation images of unnormalized_cnn_raw_pixels
    matched its 2,000 training images."""
    values = values ^ (values >> 33)
    values = values * _FINALIZER
    return values ^ (values >> 33)


def of_training_data(sketch: Sketch, training: TrainingData) -> bool:
    """Whether every input ``sketch`` signs is the training data's: at least TRAIN_SHARE of its
    short hashes among the training sample's at the same place of a batch (a model given its
    target as an input, nanoGPT's ``model(x, y)``, meets the training targets there, which the
    training batches hold after their inputs), and of its long ones at least LONG_SHARE of the
    sample's own repeat share (when that is MIN_REPEAT_SHARE or more)."""
    signed = [(place, s) for place, s in enumerate(sketch) if s is not None]
    return bool(signed) and all(_signed_by_training(place, s, training) for place, s in signed)


def _signed_by_training(place: int, signed: Signed, training: TrainingData) -> bool:
    if place in training.unspecific:  # k-grams any row of these columns has: rows decide
        return _share(signed.rows, training.rows(place)) >= TRAIN_SHARE
    return (_share(signed.short, training.short(place)) >= TRAIN_SHARE
            and _long_enough(signed, training))


def _long_enough(signed: Signed, training: TrainingData) -> bool:
    repeat = training.repeat_share
    return repeat < MIN_REPEAT_SHARE or _share(signed.long, training.long) >= LONG_SHARE * repeat


def _share(hashes: torch.Tensor, training: torch.Tensor) -> float:
    """The share of ``hashes`` that ``training`` (sorted and unique: torch.unique's output)
    holds, by binary search: torch.isin sorts both anew at each call, 0.7 s for one 32x32
    image against 3M training hashes, and a run validated one image at a time made 1,000
    such calls (bench/peer23 s01 never finished its diagnosis)."""
    if hashes.numel() == 0 or training.numel() == 0:
        return 0.0
    found = torch.searchsorted(training, hashes).clamp_(max=training.numel() - 1)
    return float((training[found] == hashes).float().mean())


def training_hashes(batches) -> TrainingData:
    """The k-gram hashes of the captured training batches' inputs and targets, by their place
    in a batch. The target counts too: a model given its target as an input (nanoGPT's
    ``model(x, y)``) is kept with the target taken out of its inputs."""
    shorts: dict[int, list[torch.Tensor]] = {}
    wholes: dict[int, list[torch.Tensor]] = {}
    tables: dict[int, list[torch.Tensor]] = {}
    longs = []
    for batch in batches:
        tensors = {place: _ids_of_one_hot(t) for place, t in enumerate(_kept_tensors(batch))
                   if t.dim() > 0 and t.numel() > 0}
        rows = {place: row_shingles(t) for place, t in tensors.items()}
        for place, hashes in rows.items():
            shorts.setdefault(place, []).append(hashes.reshape(-1))
            wholes.setdefault(place, []).append(whole_rows(tensors[place]))
            tables.setdefault(place, []).append(tensors[place].reshape(hashes.shape[0], -1))
        longs.append(torch.unique(torch.cat([long_shingles(r).reshape(-1)
                                             for r in rows.values()])) if rows else _NONE)
    if not shorts:
        return TrainingData([], _NONE, 0.0)
    every_long, counts = torch.unique(torch.cat(longs), return_counts=True)
    places = range(max(shorts) + 1)
    short_at = [torch.unique(torch.cat(shorts[p])) if p in shorts else _NONE for p in places]
    rows_at = [torch.unique(torch.cat(wholes[p])) if p in wholes else _NONE for p in places]
    unspecific = frozenset(p for p, parts in tables.items() if _unspecific(parts, short_at[p]))
    return TrainingData(short_at, every_long, _repeat_share(longs, every_long, counts), rows_at,
                        unspecific)


#: Rows drawn column by column to test whether k-grams tell rows apart: enough for the share
#: they find to be measured to 1/32 or better (a binomial's spread at 256 draws, at most).
NULL_ROWS = 256


def _drawn_rows(parts: list[torch.Tensor]) -> torch.Tensor | None:
    """NULL_ROWS rows whose every value is the same column's in a training row drawn for it
    alone (a seeded draw), as int64 words; None when the batches' rows differ in length
    (sequences of their own lengths, which have no columns)."""
    width = parts[0].shape[1]
    if any(part.shape[1] != width for part in parts):
        return None
    ends = torch.tensor([part.shape[0] for part in parts]).cumsum(0)
    picks = torch.randint(int(ends[-1]), (NULL_ROWS, width),
                          generator=torch.Generator().manual_seed(0))
    which = torch.searchsorted(ends, picks, right=True)
    columns = torch.arange(width).expand(NULL_ROWS, width)
    drawn = torch.empty(NULL_ROWS, width, dtype=torch.int64)
    for k, part in enumerate(parts):
        mine = which == k
        if mine.any():
            start = int(ends[k]) - part.shape[0]
            cells = part[picks[mine] - start, columns[mine]]
            drawn[mine] = _values(cells.reshape(-1, 1)).reshape(-1)
    return drawn


def _unspecific(parts: list[torch.Tensor], training_short: torch.Tensor) -> bool:
    """Whether rows no one wrote pass the short k-gram test: _drawn_rows, each value from
    another training row. Text, signals and continuous features make new k-grams so; a few
    independent features of a few values each make the training rows' own."""
    drawn = _drawn_rows(parts)
    if drawn is None:
        return False
    return _share(torch.unique(_shingled(drawn).reshape(-1)), training_short) >= TRAIN_SHARE


def _repeat_share(longs: list[torch.Tensor], every_long: torch.Tensor,
                  counts: torch.Tensor) -> float:
    """The mean share of a training batch's long sketch that another training batch holds
    (each batch's hashes are unique, so a count above one is another batch's)."""
    shares = [float((counts[torch.searchsorted(every_long, own[:SIGNATURE])] > 1)
                    .float().mean()) for own in longs if own.numel()]
    return sum(shares) / len(shares) if shares else 0.0


def _kept_tensors(batch) -> list[torch.Tensor]:
    return (dense_tensors_in((batch.args, batch.kwargs))[:MAX_INPUTS]
            + dense_tensors_in(batch.target))
