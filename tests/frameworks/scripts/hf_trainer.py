"""A tiny BERT built from a config (no download), trained by the Hugging Face Trainer; the loss
is computed inside the model (``model(**batch).loss``)."""

import tempfile

import torch
from tiny_data import CALLBACK_DIR, EPOCHS, LR, VALIDATE, tokens
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments


class Rows(torch.utils.data.Dataset):
    def __init__(self, ids, labels):
        self.ids, self.labels = torch.from_numpy(ids), torch.from_numpy(labels)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


torch.manual_seed(0)
x_train, y_train, x_val, y_val = tokens()
config = BertConfig(vocab_size=32, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=64, max_position_embeddings=16, num_labels=2)
model = BertForSequenceClassification(config)
callbacks = []
if CALLBACK_DIR:  # the report goes to args.output_dir
    from lossdoctor.integrations.transformers import LossDoctorCallback

    callbacks.append(LossDoctorCallback())
with tempfile.TemporaryDirectory() as out:
    args = TrainingArguments(output_dir=CALLBACK_DIR or out, num_train_epochs=EPOCHS // 2,
                             per_device_train_batch_size=32, per_device_eval_batch_size=64,
                             learning_rate=LR / 10, eval_strategy="epoch" if VALIDATE else "no",
                             save_strategy="no", report_to=[], use_cpu=True, seed=0,
                             logging_strategy="epoch", disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=Rows(x_train, y_train),
                      eval_dataset=Rows(x_val, y_val) if VALIDATE else None,
                      callbacks=callbacks)
    trainer.train()
print("done")
