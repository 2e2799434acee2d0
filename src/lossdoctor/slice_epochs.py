"""The epochs of a loop over slices, read from its short batches.

A loop that slices its tensors (``for i in range(0, n, batch)``) has no data loader whose
iterations mark its epochs, and a run without validation has no passes between them either: all
its steps then fell in one epoch, and every reading by epoch (the training curve by epoch, how
often the run showed each example, inputs that came back with another label) saw one. But when
the rows are not a multiple of the batch size, each epoch ends on the same shorter batch, at the
same period: those batches are the epochs' ends, as a loader's starts would be.
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

#: Short batches needed to read a period from them: two ends give one gap, too few to tell an
#: epoch's end from a batch cut short once; three ends give two gaps that must agree.
MIN_EPOCH_ENDS = 3


def epoch_starts_from_short_batches(steps_and_rows: list[tuple[int, int]]) -> list[int]:
    """The optimizer step at which each epoch starts, from (step, rows) of each training step
    in step order, when the run's shorter batches come at one period with one size; [] when
    they do not (every batch full, or batches of varying sizes: sequences, a sampler)."""
    usual = Counter(rows for _, rows in steps_and_rows).most_common(1)
    if not usual:
        return []
    short = [(step, rows) for step, rows in steps_and_rows if rows < usual[0][0]]
    if len(short) < MIN_EPOCH_ENDS or len({rows for _, rows in short}) > 1:
        return []
    ends = [step for step, _ in short]
    gaps = {later - earlier for earlier, later in pairwise(ends)}
    first_step = steps_and_rows[0][0]
    if len(gaps) > 1 or ends[0] - first_step + 1 != gaps.pop():
        return []
    return [first_step] + [end + 1 for end in ends[:-1]]
