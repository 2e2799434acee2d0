# lossdoctor-expect: data_pipeline
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""amaiya/ktrain#129 (https://github.com/amaiya/ktrain/issues/129): "TransformerDataset casting
float Y-value to 'tf.int64'". ktrain's Transformer preprocessor builds a TransformerDataset whose
targets are cast to int64 (as transformers' own processors do for class labels), for regression
as well; the poster's scores, all between 0 and 1, became 0 ("Now its all zero"), for the
training and the validation data alike. Here the same pipeline with transformers' own Trainer
(the thread's model is a Hugging Face sequence classifier with one output, i.e. regression with
MSELoss): a TransformerDataset that keeps `self.y = np.asarray(y).astype(np.int64)` and returns
dict batches (input_ids, attention_mask, labels), a 2-layer BertForSequenceClassification of
width 64 built from a BertConfig with num_labels=1 (no download), 1200 training and 300
validation synthetic "reviews" of 24 tokens whose score is the share of positive words in them,
TrainingArguments(num_train_epochs=3, per_device_train_batch_size=16, learning_rate=1e-3,
eval_strategy="epoch"), and at the end the validation predictions compared with the true scores.
Needs transformers: run with /work/venv-fw/bin/python."""

import tempfile

import numpy as np
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

torch.manual_seed(0)
rng = np.random.default_rng(0)

VOCAB, LENGTH = 300, 24
POSITIVE = set(range(10, 60))
NEGATIVE = set(range(60, 110))


def make_reviews(n):
    ids, scores = [], []
    for _ in range(n):
        lean = rng.uniform(0, 1)
        words = []
        for _ in range(LENGTH - 2):
            r = rng.uniform()
            if r < 0.35 * lean:
                words.append(int(rng.integers(10, 60)))
            elif r < 0.35:
                words.append(int(rng.integers(60, 110)))
            else:
                words.append(int(rng.integers(110, VOCAB)))
        pos = sum(w in POSITIVE for w in words)
        neg = sum(w in NEGATIVE for w in words)
        ids.append([2] + words + [3])
        scores.append(pos / max(pos + neg, 1))
    return np.array(ids), np.array(scores, dtype=np.float32)


x_train, y_train = make_reviews(1200)
x_val, y_val = make_reviews(300)


class TransformerDataset(torch.utils.data.Dataset):
    def __init__(self, x, y):
        self.x = x
        self.y = np.asarray(y).astype(np.int64)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return {
            "input_ids": torch.tensor(self.x[idx]),
            "attention_mask": torch.ones(LENGTH, dtype=torch.long),
            "labels": torch.tensor(self.y[idx]),
        }


trn = TransformerDataset(x_train, y_train)
val = TransformerDataset(x_val, y_val)

config = BertConfig(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128, max_position_embeddings=64, num_labels=1)
model = BertForSequenceClassification(config)

args = TrainingArguments(
    output_dir=tempfile.mkdtemp(),
    num_train_epochs=3,
    per_device_train_batch_size=16,
    per_device_eval_batch_size=64,
    learning_rate=1e-3,
    eval_strategy="epoch",
    save_strategy="no",
    logging_steps=25,
    report_to=[],
    disable_tqdm=True,
    use_cpu=True,
    seed=0,
)
trainer = Trainer(model=model, args=args, train_dataset=trn, eval_dataset=val)
trainer.train()

pred = trainer.predict(val).predictions.reshape(-1)
print("validation predictions: mean %.3f  std %.3f" % (pred.mean(), pred.std()))
print("MSE against the true scores %.4f (their variance %.4f)" % (np.mean((pred - y_val) ** 2), y_val.var()))
