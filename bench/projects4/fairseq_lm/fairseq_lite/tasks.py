"""A language-modeling task in the manner of fairseq.tasks.language_modeling: it owns the
dictionary, loads each split as blocks of `tokens_per_sample` (TokenBlockDataset, break mode
'none'), and runs train_step / valid_step through the criterion."""

import numpy as np
import torch

from .dictionary import Dictionary


def synthetic_corpus(split, num_lines, seed):
    """Lines of words from a sparse Markov chain over 60 word types (the same chain for every
    split; another seed per split)."""
    chain_rng = np.random.default_rng(2024)
    words = [f"w{i:02d}" for i in range(60)]
    successors = [chain_rng.choice(60, 3, replace=False) for _ in words]
    weights = chain_rng.dirichlet(np.ones(3) * 0.7, size=60)
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(num_lines):
        w = int(rng.integers(60))
        line = [words[w]]
        for _ in range(int(rng.integers(8, 20))):
            w = int(successors[w][rng.choice(3, p=weights[w])])
            line.append(words[w])
        lines.append(" ".join(line))
    return lines


class TokenBlockDataset(torch.utils.data.Dataset):
    def __init__(self, tokens, block_size, pad):
        n_blocks = (len(tokens) - 1) // block_size
        self.source = tokens[:n_blocks * block_size].view(n_blocks, block_size)
        self.target = tokens[1:n_blocks * block_size + 1].view(n_blocks, block_size)
        self.pad = pad

    def __len__(self):
        return len(self.source)

    def __getitem__(self, index):
        return {"id": index, "source": self.source[index], "target": self.target[index]}

    def collater(self, samples):
        src = torch.stack([s["source"] for s in samples])
        tgt = torch.stack([s["target"] for s in samples])
        return {"id": torch.tensor([s["id"] for s in samples]),
                "nsentences": len(samples),
                "ntokens": int(tgt.ne(self.pad).sum()),
                "net_input": {"src_tokens": src},
                "target": tgt}


class LanguageModelingTask:
    SPLIT_LINES = {"train": 2500, "valid": 400}

    def __init__(self, args, dictionary):
        self.args = args
        self.dictionary = dictionary
        self.datasets = {}

    @classmethod
    def setup_task(cls, args):
        dictionary = Dictionary.build_dictionary(synthetic_corpus("train", 2500, seed=0))
        print(f"| dictionary: {len(dictionary)} types")
        return cls(args, dictionary)

    @property
    def target_dictionary(self):
        return self.dictionary

    def load_dataset(self, split):
        lines = synthetic_corpus(split, self.SPLIT_LINES[split], 0 if split == "train" else 1)
        tokens = torch.cat([self.dictionary.encode_line(line) for line in lines])
        self.datasets[split] = TokenBlockDataset(tokens, self.args.tokens_per_sample,
                                                 self.dictionary.pad())
        print(f"| {split} {len(tokens)} tokens, {len(self.datasets[split])} blocks")

    def get_batch_iterator(self, split, shuffle, epoch):
        dataset = self.datasets[split]
        generator = torch.Generator().manual_seed(self.args.seed + epoch)
        return torch.utils.data.DataLoader(dataset, batch_size=self.args.batch_size,
                                           shuffle=shuffle, collate_fn=dataset.collater,
                                           generator=generator)

    def train_step(self, sample, model, criterion, optimizer):
        model.train()
        loss, sample_size, logging_output = criterion(model, sample)
        optimizer.backward(loss)
        return loss, sample_size, logging_output

    def valid_step(self, sample, model, criterion):
        model.eval()
        with torch.no_grad():
            loss, sample_size, logging_output = criterion(model, sample)
        return loss, sample_size, logging_output
