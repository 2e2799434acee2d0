"""A raw text dataset (a synthetic stand-in for wikitext, from fixed seeds), tokenized, then
grouped into blocks of block_size as run_clm_no_trainer's group_texts does; dict batches from
default_data_collator."""

import numpy as np
import torch


def load_raw_datasets(seed=7, n_train_lines=1500, n_valid_lines=100):
    """Lines of a noisy periodic-with-memory language over a 14-word vocabulary."""
    rng = np.random.RandomState(seed)
    table = np.random.RandomState(99).randint(0, 14, size=(14, 14))

    def line():
        words = list(rng.randint(0, 14, size=2))
        for _ in range(rng.randint(10, 20)):
            nxt = table[words[-2], words[-1]] if rng.rand() > 0.15 else rng.randint(0, 14)
            words.append(int(nxt))
        return " ".join(f"tok{w}" for w in words)

    return {"train": [line() for _ in range(n_train_lines)],
            "validation": [line() for _ in range(n_valid_lines)]}


class WordTokenizer:
    def __init__(self, lines):
        words = sorted({w for text in lines for w in text.split()})
        self.vocab = {"<|endoftext|>": 0, **{w: i + 1 for i, w in enumerate(words)}}
        self.eos_token_id = 0

    def __len__(self):
        return len(self.vocab)

    def __call__(self, texts):
        return {"input_ids": [[self.vocab[w] for w in t.split()] + [self.eos_token_id]
                              for t in texts]}


def group_texts(examples, block_size):
    concatenated = sum(examples["input_ids"], [])
    total_length = (len(concatenated) // block_size) * block_size
    result = {"input_ids": [concatenated[i:i + block_size]
                            for i in range(0, total_length, block_size)]}
    result["labels"] = [list(ids) for ids in result["input_ids"]]
    return result


class LMDataset(torch.utils.data.Dataset):
    def __init__(self, grouped):
        self.rows = [{"input_ids": ids, "labels": labels}
                     for ids, labels in zip(grouped["input_ids"], grouped["labels"])]

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]


def default_data_collator(features):
    first = features[0]
    return {k: torch.tensor([f[k] for f in features]) for k in first}
