"""A synthetic stand-in for a GLUE-style sentence classification set (nothing is downloaded):
each sentence hides one keyword of its class among filler words, at any position."""

import json
import random
from pathlib import Path

NUM_LABELS = 4
KEYWORDS = {label: [f"key{label}_{i}" for i in range(3)] for label in range(NUM_LABELS)}
FILLER = [f"word{i}" for i in range(120)]
LABEL_NAMES = ["world", "sports", "business", "science"]


def make_split(n, seed):
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        label = rng.randrange(NUM_LABELS)
        words = rng.choices(FILLER, k=rng.randint(8, 24))
        words.insert(rng.randrange(len(words) + 1), rng.choice(KEYWORDS[label]))
        rows.append({"sentence": " ".join(words), "label": LABEL_NAMES[label]})
    return rows


def write_jsonl(folder, n_train=1200, n_validation=300, seed=42):
    """Writes train.jsonl and validation.jsonl the way `--train_file` / `--validation_file`
    expect them (one JSON object per line)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, n, split_seed in (("train", n_train, seed), ("validation", n_validation, seed + 1)):
        with open(folder / f"{name}.jsonl", "w", encoding="utf-8") as handle:
            for row in make_split(n, split_seed):
                handle.write(json.dumps(row) + "\n")


def load_jsonl(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
