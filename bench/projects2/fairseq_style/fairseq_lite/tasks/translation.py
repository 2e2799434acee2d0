"""A translation task on a synthetic language pair (the target is the source reversed, each
word mapped through a fixed lexicon), in the manner of fairseq's TranslationTask."""

import random

from fairseq_lite import criterions, models
from fairseq_lite.data import Dictionary, LanguagePairDataset, batch_by_size
from fairseq_lite.data.iterators import epoch_batches

from . import register_task

SRC_WORDS = [f"s{i}" for i in range(12)]
TGT_WORDS = [f"t{i}" for i in range(12)]


def synthetic_pairs(n, seed):
    rng = random.Random(seed)
    lexicon = list(range(len(TGT_WORDS)))
    random.Random(1234).shuffle(lexicon)
    pairs = []
    for _ in range(n):
        words = [rng.randrange(len(SRC_WORDS)) for _ in range(rng.randint(3, 8))]
        src = " ".join(SRC_WORDS[w] for w in words)
        tgt = " ".join(TGT_WORDS[lexicon[w]] for w in reversed(words))
        pairs.append((src, tgt))
    return pairs


@register_task("translation")
class TranslationTask:
    def __init__(self, args, src_dict, tgt_dict):
        self.args = args
        self.src_dict, self.tgt_dict = src_dict, tgt_dict
        self.datasets = {}

    @classmethod
    def setup_task(cls, args):
        src_dict, tgt_dict = Dictionary(SRC_WORDS), Dictionary(TGT_WORDS)
        print(f"| [{args.source_lang}] dictionary: {len(src_dict)} types")
        print(f"| [{args.target_lang}] dictionary: {len(tgt_dict)} types")
        return cls(args, src_dict, tgt_dict)

    @property
    def source_dictionary(self):
        return self.src_dict

    @property
    def target_dictionary(self):
        return self.tgt_dict

    def load_dataset(self, split):
        n, seed = {"train": (3000, 0), "valid": (300, 1)}[split]
        pairs = synthetic_pairs(n, seed)
        src = [self.src_dict.encode_line(s) for s, _ in pairs]
        tgt = [self.tgt_dict.encode_line(t) for _, t in pairs]
        self.datasets[split] = LanguagePairDataset(src, tgt, self.src_dict, self.tgt_dict)
        print(f"| {split} {len(pairs)} examples")

    def dataset(self, split):
        return self.datasets[split]

    def get_batch_iterator(self, dataset, max_tokens, seed=1, epoch=1, shuffle=True):
        batches = batch_by_size(dataset.ordered_indices(), dataset.num_tokens, max_tokens)
        for batch in epoch_batches(batches, seed, epoch, shuffle):
            yield dataset.collater([dataset[i] for i in batch])

    def build_model(self, args):
        return models.build_model(args, self)

    def build_criterion(self, args):
        return criterions.build_criterion(args, self)

    def train_step(self, sample, model, criterion, optimizer, update_num):
        model.train()
        loss, sample_size, logging_output = criterion(model, sample)
        optimizer.backward(loss)
        return loss, sample_size, logging_output

    def valid_step(self, sample, model, criterion):
        import torch
        model.eval()
        with torch.no_grad():
            loss, sample_size, logging_output = criterion(model, sample)
        return loss, sample_size, logging_output
