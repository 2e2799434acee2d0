"""A Dictionary in the manner of fairseq.data.Dictionary: special symbols first, then the
symbols by descending count (`finalize`), `encode_line` mapping unknown words to <unk>."""

from collections import Counter

import torch


class Dictionary:
    def __init__(self, bos="<s>", pad="<pad>", eos="</s>", unk="<unk>"):
        self.symbols, self.count, self.indices = [], [], {}
        self.bos_index = self.add_symbol(bos)
        self.pad_index = self.add_symbol(pad)
        self.eos_index = self.add_symbol(eos)
        self.unk_index = self.add_symbol(unk)
        self.nspecial = len(self.symbols)

    def __len__(self):
        return len(self.symbols)

    def pad(self):
        return self.pad_index

    def eos(self):
        return self.eos_index

    def add_symbol(self, word, n=1):
        if word in self.indices:
            self.count[self.indices[word]] += n
            return self.indices[word]
        self.indices[word] = len(self.symbols)
        self.symbols.append(word)
        self.count.append(n)
        return self.indices[word]

    def finalize(self):
        special = self.symbols[:self.nspecial]
        rest = sorted(zip(self.symbols[self.nspecial:], self.count[self.nspecial:]),
                      key=lambda sc: (-sc[1], sc[0]))
        self.symbols = special + [s for s, _ in rest]
        self.count = self.count[:self.nspecial] + [c for _, c in rest]
        self.indices = {s: i for i, s in enumerate(self.symbols)}

    @classmethod
    def build_dictionary(cls, lines):
        d = cls()
        for word, n in Counter(w for line in lines for w in line.split()).items():
            d.add_symbol(word, n)
        d.finalize()
        return d

    def encode_line(self, line, append_eos=True):
        ids = [self.indices.get(w, self.unk_index) for w in line.split()]
        if append_eos:
            ids.append(self.eos_index)
        return torch.tensor(ids, dtype=torch.long)
