"""A small synthetic stand-in for a GLUE sentence classification task (SST-2 in spirit):
sentences of words, a word-level tokenizer with [PAD]/[CLS]/[SEP], and a collator that pads
each batch to its longest sentence (DataCollatorWithPadding). Made from fixed seeds."""

import random

import torch

POSITIVE = ["good", "great", "fine", "superb", "lovely", "fun", "warm", "bright"]
NEGATIVE = ["bad", "awful", "dull", "boring", "poor", "cold", "grim", "weak"]
NEUTRAL = ["the", "a", "movie", "plot", "actor", "was", "and", "very", "story", "film",
           "it", "of", "scene", "music", "end", "with", "this", "too", "quite", "cast"]


def make_sentences(n, seed):
    """Sentences whose label is 1 when they hold more positive than negative words."""
    rng = random.Random(seed)
    rows = []
    while len(rows) < n:
        words = [rng.choice(NEUTRAL) for _ in range(rng.randint(4, 12))]
        pos, neg = rng.randint(0, 3), rng.randint(0, 3)
        if pos == neg:
            continue
        for word in [rng.choice(POSITIVE) for _ in range(pos)] + \
                [rng.choice(NEGATIVE) for _ in range(neg)]:
            words.insert(rng.randint(0, len(words)), word)
        rows.append({"sentence": " ".join(words), "label": int(pos > neg)})
    return rows


class WordTokenizer:
    pad_token_id, cls_token_id, sep_token_id, unk_token_id = 0, 1, 2, 3

    def __init__(self):
        words = ["[PAD]", "[CLS]", "[SEP]", "[UNK]"] + POSITIVE + NEGATIVE + NEUTRAL
        self.vocab = {w: i for i, w in enumerate(words)}

    def __len__(self):
        return len(self.vocab)

    def __call__(self, text, truncation=True, max_length=32):
        ids = [self.vocab.get(w, self.unk_token_id) for w in text.split()]
        if truncation:
            ids = ids[:max_length - 2]
        ids = [self.cls_token_id] + ids + [self.sep_token_id]
        return {"input_ids": ids, "attention_mask": [1] * len(ids)}


class GlueDataset(torch.utils.data.Dataset):
    def __init__(self, rows, tokenizer, max_seq_length):
        self.features = []
        for row in rows:
            encoded = tokenizer(row["sentence"], truncation=True, max_length=max_seq_length)
            encoded["label"] = row["label"]
            self.features.append(encoded)

    def __len__(self):
        return len(self.features)

    def __getitem__(self, i):
        return self.features[i]


def load_glue(task_name, tokenizer, max_seq_length, seed):
    assert task_name == "sst2_synthetic", task_name
    train = make_sentences(2000, seed)
    validation = make_sentences(500, seed + 1)
    return (GlueDataset(train, tokenizer, max_seq_length),
            GlueDataset(validation, tokenizer, max_seq_length))


class DataCollatorWithPadding:
    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, features):
        longest = max(len(f["input_ids"]) for f in features)
        pad = self.tokenizer.pad_token_id
        input_ids = [f["input_ids"] + [pad] * (longest - len(f["input_ids"])) for f in features]
        mask = [f["attention_mask"] + [0] * (longest - len(f["attention_mask"]))
                for f in features]
        labels = [f["label"] for f in features]
        return {"input_ids": torch.tensor(input_ids), "attention_mask": torch.tensor(mask),
                "labels": torch.tensor(labels)}
