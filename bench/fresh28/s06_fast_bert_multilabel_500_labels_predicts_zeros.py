# lossdoctor-expect: class_imbalance
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""appvision-ai/fast-bert#52 (https://github.com/appvision-ai/fast-bert/issues/52): "500+
multi-labels only predicts zeros": "at first fast-bert predicts various values between 0-1 for
every label, but the more I train the more it predicts zeros for everything". fast-bert's BertForMultiLabelSequenceClassification
(BERT, dropout, a linear classifier over the pooled output, and its loss computed inside forward:
BCEWithLogitsLoss over logits.view(-1, num_labels)) trained by its learner (dict inputs with
input_ids, attention_mask, token_type_ids and labels, AdamW, a linear warmup schedule, gradients
clipped at 1.0, model.zero_grad() after each step; validation loss, accuracy_thresh and recall at
0.5). Here the same model and loop on a small BERT built from a BertConfig (2 layers, width 64, no
pretrained weights) and 3000 synthetic 32-token "documents", each tagged with 1 to 3 of 500 labels
(each label has two keyword tokens that appear in its documents), 4 epochs; 600 validation
documents. Needs transformers: run with /work/venv-fw/bin/python."""

import numpy as np
import torch
from torch.nn import BCEWithLogitsLoss
from torch.utils.data import DataLoader, TensorDataset
from transformers import BertConfig, BertModel, BertPreTrainedModel, get_linear_schedule_with_warmup

torch.manual_seed(0)
rng = np.random.default_rng(0)

NUM_LABELS, SEQ_LEN = 500, 32
CLS, SEP, FILLER_START, VOCAB = 1, 2, 1010, 1200

# ---------------------------------------------------------------- fast_bert/modeling.py


class BertForMultiLabelSequenceClassification(BertPreTrainedModel):
    """BERT model for classification. This module is composed of the BERT model with a linear
    layer on top of the pooled output."""

    def __init__(self, config):
        super(BertForMultiLabelSequenceClassification, self).__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config)
        self.dropout = torch.nn.Dropout(config.hidden_dropout_prob)
        self.classifier = torch.nn.Linear(config.hidden_size, self.num_labels)
        self.post_init()

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, labels=None, position_ids=None, head_mask=None):
        outputs = self.bert(input_ids, position_ids=position_ids, token_type_ids=token_type_ids, attention_mask=attention_mask, head_mask=head_mask)
        pooled_output = outputs[1]
        pooled_output = self.dropout(pooled_output)
        logits = self.classifier(pooled_output)

        # add hidden states and attention if they are here
        outputs = (logits,) + outputs[2:]

        if labels is not None:
            loss_fct = BCEWithLogitsLoss()
            loss = loss_fct(logits.view(-1, self.num_labels), labels.view(-1, self.num_labels))
            outputs = (loss,) + outputs

        return outputs  # (loss), logits, (hidden_states), (attentions)


# ---------------------------------------------------------------- data (fast_bert/data_cls.py stand-in)


def make_documents(n):
    ids = np.zeros((n, SEQ_LEN), dtype=np.int64)
    labels = np.zeros((n, NUM_LABELS), dtype=np.float32)
    for i in range(n):
        tags = rng.choice(NUM_LABELS, size=rng.integers(1, 4), replace=False)
        labels[i, tags] = 1.0
        words = [10 + 2 * t + k for t in tags for k in (0, 1)]
        words += list(rng.integers(FILLER_START, VOCAB, size=SEQ_LEN - 2 - len(words)))
        rng.shuffle(words)
        ids[i] = [CLS] + words + [SEP]
    input_ids = torch.from_numpy(ids)
    attention_mask = torch.ones_like(input_ids)
    token_type_ids = torch.zeros_like(input_ids)
    return TensorDataset(input_ids, attention_mask, token_type_ids, torch.from_numpy(labels))


train_dataset = make_documents(3000)
val_dataset = make_documents(600)
train_dataloader = DataLoader(train_dataset, batch_size=32, shuffle=True)
val_dataloader = DataLoader(val_dataset, batch_size=64)

# ---------------------------------------------------------------- fast_bert/metrics.py


def accuracy_thresh(y_pred, y_true, thresh=0.5, sigmoid=True):
    if sigmoid:
        y_pred = y_pred.sigmoid()
    return ((y_pred > thresh) == y_true.bool()).float().mean().item()


def recall_thresh(y_pred, y_true, thresh=0.5):
    predicted = y_pred.sigmoid() > thresh
    return (predicted & y_true.bool()).sum().item() / max(y_true.sum().item(), 1)


# ---------------------------------------------------------------- fast_bert/learner_cls.py

config = BertConfig(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128, max_position_embeddings=64, num_labels=NUM_LABELS)
model = BertForMultiLabelSequenceClassification(config)
device = torch.device("cpu")
model.to(device)

epochs, lr, warmup_steps, max_grad_norm = 4, 1e-3, 50, 1.0
no_decay = ["bias", "LayerNorm.weight"]
optimizer_grouped_parameters = [
    {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.0},
    {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
]
optimizer = torch.optim.AdamW(optimizer_grouped_parameters, lr=lr)
t_total = len(train_dataloader) * epochs
scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=warmup_steps, num_training_steps=t_total)


def validate():
    model.eval()
    eval_loss, nb_eval_steps = 0.0, 0
    all_logits, all_labels = [], []
    for batch in val_dataloader:
        batch = tuple(t.to(device) for t in batch)
        with torch.no_grad():
            inputs = {"input_ids": batch[0], "attention_mask": batch[1], "token_type_ids": batch[2], "labels": batch[3]}
            outputs = model(**inputs)
            tmp_eval_loss, logits = outputs[:2]
            eval_loss += tmp_eval_loss.mean().item()
        nb_eval_steps += 1
        all_logits.append(logits)
        all_labels.append(inputs["labels"])
    all_logits, all_labels = torch.cat(all_logits), torch.cat(all_labels)
    return eval_loss / nb_eval_steps, accuracy_thresh(all_logits, all_labels), recall_thresh(all_logits, all_labels), all_logits.sigmoid().max().item()


global_step = 0
model.zero_grad()
for epoch in range(epochs):
    tr_loss = 0.0
    for step, batch in enumerate(train_dataloader):
        model.train()
        batch = tuple(t.to(device) for t in batch)
        inputs = {"input_ids": batch[0], "attention_mask": batch[1], "token_type_ids": batch[2], "labels": batch[3]}
        outputs = model(**inputs)
        loss = outputs[0]
        loss.backward()
        tr_loss += loss.item()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        scheduler.step()
        model.zero_grad()
        global_step += 1
    eval_loss, acc, recall, max_prob = validate()
    print("epoch %d train_loss %.5f eval_loss %.5f accuracy_thresh %.5f recall@0.5 %.3f max prob %.3f" % (epoch + 1, tr_loss / (step + 1), eval_loss, acc, recall, max_prob))
