"""Chapter 2's tokenizer and sliding-window dataset, on a small synthetic corpus (a second-order
word chain standing in for "the-verdict.txt", made from a fixed seed, nothing downloaded)."""

import re

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


def make_corpus(num_words=30000, seed=123):
    """Words of a second-order chain: each pair of words is followed by one of two words."""
    rng = np.random.RandomState(seed)
    vocab = [f"w{i:02d}" for i in range(12)]
    table = rng.randint(0, len(vocab), size=(len(vocab), len(vocab), 2))
    words = list(rng.randint(0, len(vocab), size=2))
    for _ in range(num_words - 2):
        choice = table[words[-2], words[-1], int(rng.rand() < 0.25)]
        words.append(choice)
    lines = [" ".join(vocab[w] for w in words[i:i + 12]) + "." for i in range(0, num_words, 12)]
    return "\n".join(lines)


class SimpleTokenizerV2:
    def __init__(self, vocab):
        self.str_to_int = vocab
        self.int_to_str = {i: s for s, i in vocab.items()}

    def encode(self, text):
        preprocessed = re.split(r'([,.:;?_!"()\']|--|\s)', text)
        preprocessed = [item.strip() for item in preprocessed if item.strip()]
        preprocessed = [item if item in self.str_to_int else "<|unk|>" for item in preprocessed]
        return [self.str_to_int[s] for s in preprocessed]

    def decode(self, ids):
        text = " ".join([self.int_to_str[i] for i in ids])
        return re.sub(r'\s+([,.?!"()\'])', r"\1", text)


def build_vocab(text):
    preprocessed = re.split(r'([,.:;?_!"()\']|--|\s)', text)
    all_tokens = sorted({item.strip() for item in preprocessed if item.strip()})
    all_tokens.extend(["<|endoftext|>", "<|unk|>"])
    return {token: integer for integer, token in enumerate(all_tokens)}


class GPTDatasetV1(Dataset):
    def __init__(self, txt, tokenizer, max_length, stride):
        self.input_ids = []
        self.target_ids = []
        token_ids = tokenizer.encode(txt)
        for i in range(0, len(token_ids) - max_length, stride):
            input_chunk = token_ids[i:i + max_length]
            target_chunk = token_ids[i + 1:i + max_length + 1]
            self.input_ids.append(torch.tensor(input_chunk))
            self.target_ids.append(torch.tensor(target_chunk))

    def __len__(self):
        return len(self.input_ids)

    def __getitem__(self, idx):
        return self.input_ids[idx], self.target_ids[idx]


def create_dataloader_v1(txt, tokenizer, batch_size=4, max_length=256, stride=128, shuffle=True,
                         drop_last=True, num_workers=0):
    dataset = GPTDatasetV1(txt, tokenizer, max_length, stride)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                      num_workers=num_workers)
