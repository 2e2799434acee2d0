class Dictionary:
    """fairseq's Dictionary: <s>=0, <pad>=1, </s>=2, <unk>=3, then the symbols."""

    def __init__(self, symbols=()):
        self.symbols = ["<s>", "<pad>", "</s>", "<unk>"]
        self.bos_index, self.pad_index, self.eos_index, self.unk_index = 0, 1, 2, 3
        self.nspecial = len(self.symbols)
        self.indices = {s: i for i, s in enumerate(self.symbols)}
        for s in symbols:
            self.add_symbol(s)

    def add_symbol(self, word):
        if word not in self.indices:
            self.indices[word] = len(self.symbols)
            self.symbols.append(word)
        return self.indices[word]

    def __len__(self):
        return len(self.symbols)

    def pad(self):
        return self.pad_index

    def eos(self):
        return self.eos_index

    def encode_line(self, line):
        return [self.indices.get(w, self.unk_index) for w in line.split()] + [self.eos_index]
