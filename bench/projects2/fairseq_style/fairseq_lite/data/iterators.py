"""Batches of indices sorted by length and capped at max_tokens, shuffled each epoch (fairseq's
batch_by_size and EpochBatchIterator)."""

import numpy as np


def batch_by_size(indices, num_tokens_fn, max_tokens):
    batches, batch, longest = [], [], 0
    for idx in indices:
        longest_if_added = max(longest, num_tokens_fn(idx))
        if batch and longest_if_added * (len(batch) + 1) > max_tokens:
            batches.append(batch)
            batch, longest_if_added = [], num_tokens_fn(idx)
        batch.append(idx)
        longest = longest_if_added
    if batch:
        batches.append(batch)
    return batches


def epoch_batches(batches, seed, epoch, shuffle=True):
    batches = list(batches)
    if shuffle:
        np.random.RandomState(seed + epoch).shuffle(batches)
    return batches
