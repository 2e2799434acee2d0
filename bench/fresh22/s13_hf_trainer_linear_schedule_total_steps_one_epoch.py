# lossdoctor-expect: lr_schedule
"""huggingface/transformers#5045 (https://github.com/huggingface/transformers/issues/5045):
fine-tuning with the Trainer for 3 epochs, the learning rate is 0 at the end of the first
epoch; the maintainers confirmed and fixed it: the linear schedule's total steps were those
of ONE epoch (steps per epoch, not times num_train_epochs), so the rate decays to 0 after the
first epoch and the other epochs train nothing. Here the same schedule handed to the Trainer
through optimizers=(optimizer, scheduler), its num_training_steps computed from one epoch; a
BertForSequenceClassification built from a small BertConfig (nothing pretrained), eval each
epoch. Needs transformers: run with /work/venv-fw/bin/python."""

import os

os.environ.setdefault("WANDB_MODE", "disabled")

import math  # noqa: E402
import tempfile  # noqa: E402

import torch  # noqa: E402
from transformers import (  # noqa: E402
    BertConfig,
    BertForSequenceClassification,
    Trainer,
    TrainingArguments,
    get_linear_schedule_with_warmup,
)

torch.manual_seed(0)
VOCAB, SEQ = 60, 16


class KeywordDataset(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(5, VOCAB, (n, SEQ), generator=g)
        # label: does token 7 come before token 9 in the sentence (both always present)
        pos = torch.stack([torch.randperm(SEQ - 1, generator=g)[:2] + 1 for _ in range(n)])
        self.ids[:, 0] = 2
        self.ids[torch.arange(n), pos[:, 0]] = 7
        self.ids[torch.arange(n), pos[:, 1]] = 9
        self.labels = (pos[:, 0] < pos[:, 1]).long()

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(SEQ, dtype=torch.long),
                "labels": self.labels[i]}


train_dataset, eval_dataset = KeywordDataset(1500, 0), KeywordDataset(300, 1)
config = BertConfig(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=128, max_position_embeddings=SEQ, num_labels=2)
model = BertForSequenceClassification(config)
args = TrainingArguments(output_dir=tempfile.mkdtemp(), num_train_epochs=6,
                         per_device_train_batch_size=32, per_device_eval_batch_size=100,
                         learning_rate=1e-3, eval_strategy="epoch", logging_strategy="epoch",
                         save_strategy="no", report_to=[], use_cpu=True, seed=0,
                         disable_tqdm=True)
optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=0.0)
steps_per_epoch = math.ceil(len(train_dataset) / args.per_device_train_batch_size)
scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=0,
                                            num_training_steps=steps_per_epoch)
trainer = Trainer(model=model, args=args, train_dataset=train_dataset,
                  eval_dataset=eval_dataset, optimizers=(optimizer, scheduler))
trainer.train()
