# lossdoctor-expect: lr_too_low
"""Multi-label text classification with a BERT (BertForSequenceClassification with
problem_type="multi_label_classification", so the BCE-with-logits loss is computed inside the
model's forward from `labels`), trained with simpletransformers' ClassificationModel loop, in
the poster's idiom (https://github.com/ThilinaRajapakse/simpletransformers/issues/234): AdamW
over two parameter groups (no weight decay on bias and LayerNorm), learning_rate 4e-5,
eps 1e-8, get_linear_schedule_with_warmup with warmup_ratio 0.06, max_grad_norm 1.0,
train_batch_size 8. Here the BERT is built from a small BertConfig (no pretrained weights).
Bug (the poster's own answer): "it is the learning rate": 4e-5 suits fine-tuning a pretrained
encoder but not the classification layer (here nothing is pretrained), so every text gets the
same labels, the labels' base rates; raising the classifier's rate to 1e-3 made the
predictions right.
Needs transformers: run with /work/venv-fw/bin/python."""

import torch
from transformers import BertConfig, BertForSequenceClassification, get_linear_schedule_with_warmup

torch.manual_seed(0)
VOCAB, SEQ, N_LABELS = 60, 24, 5
config = BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=64, max_position_embeddings=SEQ, num_labels=N_LABELS,
                    problem_type="multi_label_classification")


def make(n):
    ids = torch.randint(10, VOCAB, (n, SEQ))
    labels = torch.zeros(n, N_LABELS)
    for j in range(N_LABELS):
        has = torch.rand(n) < 0.3
        ids[has, torch.randint(1, SEQ, (int(has.sum()),))] = 1 + j
        labels[has, j] = 1.0
    ids[:, 0] = 0  # [CLS]
    return ids, labels


train_ids, train_labels = make(1200)
eval_ids, eval_labels = make(300)
args = {"learning_rate": 4e-5, "adam_epsilon": 1e-8, "weight_decay": 0.0, "warmup_ratio": 0.06,
        "max_grad_norm": 1.0, "train_batch_size": 8, "num_train_epochs": 3}

model = BertForSequenceClassification(config)
no_decay = ["bias", "LayerNorm.weight"]
optimizer_grouped_parameters = [
    {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)],
     "weight_decay": args["weight_decay"]},
    {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)],
     "weight_decay": 0.0},
]
optimizer = torch.optim.AdamW(optimizer_grouped_parameters, lr=args["learning_rate"],
                              eps=args["adam_epsilon"])
steps_per_epoch = len(train_ids) // args["train_batch_size"]
t_total = steps_per_epoch * args["num_train_epochs"]
scheduler = get_linear_schedule_with_warmup(optimizer, int(args["warmup_ratio"] * t_total), t_total)

for epoch in range(args["num_train_epochs"]):
    model.train()
    perm = torch.randperm(len(train_ids))
    for step in range(steps_per_epoch):
        idx = perm[step * args["train_batch_size"]:(step + 1) * args["train_batch_size"]]
        inputs = {"input_ids": train_ids[idx], "labels": train_labels[idx]}
        outputs = model(**inputs)
        loss = outputs[0]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args["max_grad_norm"])
        optimizer.step()
        scheduler.step()
        model.zero_grad()
    model.eval()
    with torch.no_grad():
        eval_out = model(input_ids=eval_ids, labels=eval_labels)
    predicted = (eval_out.logits > 0).float()
    print(f"epoch {epoch}: eval_loss {eval_out.loss.item():.4f} "
          f"exact match {(predicted == eval_labels).all(1).float().mean():.3f}")
