"""A toy parallel corpus (made from fixed seeds, nothing downloaded) standing in for Multi30k:
each German-like sentence maps word by word to an English-like one, reversed. Vocabularies with
<unk>, <pad>, <sos>, <eos> as torchtext built them, and a collate function that pads and sorts by
source length for pack_padded_sequence."""

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader

SPECIALS = ["<unk>", "<pad>", "<sos>", "<eos>"]
UNK_IDX, PAD_IDX, SOS_IDX, EOS_IDX = 0, 1, 2, 3


class Vocab:
    def __init__(self, words):
        self.itos = SPECIALS + sorted(words)
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __len__(self):
        return len(self.itos)

    def __call__(self, tokens):
        return [self.stoi.get(t, UNK_IDX) for t in tokens]


def make_pairs(n, seed, n_words=12, min_len=3, max_len=6):
    rng = np.random.RandomState(seed)
    lexicon = np.random.RandomState(1234).permutation(n_words)
    pairs = []
    for _ in range(n):
        length = rng.randint(min_len, max_len + 1)
        src = rng.randint(0, n_words, size=length)
        trg = lexicon[src][::-1]
        pairs.append(([f"de{w}" for w in src], [f"en{w}" for w in trg]))
    return pairs


def build_vocabs(pairs):
    src_words = {w for s, _ in pairs for w in s}
    trg_words = {w for _, t in pairs for w in t}
    return Vocab(src_words), Vocab(trg_words)


def tensor_transform(ids):
    return torch.cat((torch.tensor([SOS_IDX]), torch.tensor(ids), torch.tensor([EOS_IDX])))


class TranslationDataset(torch.utils.data.Dataset):
    def __init__(self, pairs, src_vocab, trg_vocab):
        self.examples = [(tensor_transform(src_vocab(s)), tensor_transform(trg_vocab(t)))
                         for s, t in pairs]

    def __len__(self):
        return len(self.examples)

    def __getitem__(self, idx):
        return self.examples[idx]


def collate_fn(batch):
    batch = sorted(batch, key=lambda pair: len(pair[0]), reverse=True)
    src_batch = [src for src, _ in batch]
    trg_batch = [trg for _, trg in batch]
    src_len = torch.tensor([len(src) for src in src_batch])
    src = pad_sequence(src_batch, padding_value=PAD_IDX)
    trg = pad_sequence(trg_batch, padding_value=PAD_IDX)
    return src, src_len, trg


def get_iterators(batch_size, seed=0):
    train_pairs = make_pairs(3000, seed)
    valid_pairs = make_pairs(300, seed + 1)
    src_vocab, trg_vocab = build_vocabs(train_pairs)
    train_data = TranslationDataset(train_pairs, src_vocab, trg_vocab)
    valid_data = TranslationDataset(valid_pairs, src_vocab, trg_vocab)
    train_iterator = DataLoader(train_data, batch_size=batch_size, shuffle=True,
                                collate_fn=collate_fn)
    valid_iterator = DataLoader(valid_data, batch_size=batch_size, collate_fn=collate_fn)
    return train_iterator, valid_iterator, src_vocab, trg_vocab
