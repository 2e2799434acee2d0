"""
Prepare a synthetic character-level dataset (a stand-in for shakespeare_char, made from a fixed
seed): words from a small vocabulary follow each other along a Markov chain. Saves train.bin,
val.bin containing the ids, and meta.pkl containing the encoder and decoder.
"""
import os
import pickle

import numpy as np

rng = np.random.default_rng(1337)
letters = list("abcdefghijklmnoprstu")
words = ["".join(rng.choice(letters, size=rng.integers(2, 6))) for _ in range(40)]
successors = [rng.choice(len(words), size=3, replace=False) for _ in words]
out, w = [], 0
while sum(len(x) + 1 for x in out) < 120_000:
    out.append(words[w])
    w = int(successors[w][rng.integers(0, 3)])
    if rng.random() < 0.08:
        out[-1] += "."
data = " ".join(out)
print(f"length of dataset in characters: {len(data):,}")

chars = sorted(list(set(data)))
vocab_size = len(chars)
print(f"vocab size: {vocab_size:,}")
stoi = {ch: i for i, ch in enumerate(chars)}
itos = {i: ch for i, ch in enumerate(chars)}


def encode(s):
    return [stoi[c] for c in s]


n = len(data)
train_data = data[:int(n * 0.9)]
val_data = data[int(n * 0.9):]
train_ids = np.array(encode(train_data), dtype=np.uint16)
val_ids = np.array(encode(val_data), dtype=np.uint16)
print(f"train has {len(train_ids):,} tokens")
print(f"val has {len(val_ids):,} tokens")
here = os.path.dirname(__file__)
train_ids.tofile(os.path.join(here, "train.bin"))
val_ids.tofile(os.path.join(here, "val.bin"))
with open(os.path.join(here, "meta.pkl"), "wb") as f:
    pickle.dump({"vocab_size": vocab_size, "itos": itos, "stoi": stoi}, f)
