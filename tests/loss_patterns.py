"""A tiny training script whose loss is written in one of the ways people write it (the first
argument), with a bug injected or not (the second: healthy, lr, inputs, labels), for
tests/test_loss_replay.py. The third argument is the number of epochs."""
import sys
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

LOSS, BUG = sys.argv[1], sys.argv[2]
EPOCHS = int(sys.argv[3]) if len(sys.argv) > 3 else 8
REGRESSION = LOSS in ("plain_mse", "mse", "l2", "dropout", "item", "indexed")
POSITIONS = 4  # "sequence": nanoGPT's logits (rows, positions, classes), flattened for the loss
torch.manual_seed(0)

x = torch.randn(1500, 8)
if REGRESSION:
    y = (x[:, :1] * 2 - x[:, 1:2] + 0.5 * x[:, 2:3] * x[:, 3:4] + 0.1 * torch.randn(1500, 1))
elif LOSS in ("bce", "plain_bce"):
    y = (x[:, :1] + x[:, 1:2] > 0).float()
elif LOSS in ("sequence", "flat"):  # a class per position
    y = (x[:, :POSITIONS] > 0).long() + (x[:, POSITIONS:] > 0.5).long()
else:
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
if BUG == "inputs":
    x = x * 1000
x_train, y_train, x_val, y_val = x[:1200], y[:1200], x[1200:], y[1200:]
if BUG == "labels":
    y_train = y_train[torch.randperm(1200)]
SEQUENCE = LOSS in ("sequence", "flat")
outputs = 1 if REGRESSION or LOSS in ("bce", "plain_bce") else 3 * (POSITIONS if SEQUENCE else 1)


@dataclass
class Output:
    loss: torch.Tensor | None
    logits: torch.Tensor


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, outputs))

    def forward(self, inputs, labels=None):
        if isinstance(inputs, dict):  # "dict": the batch given whole, its target in it too
            inputs = inputs["inputs"]
        logits = self.net(inputs)
        if LOSS in ("bce", "plain_bce"):
            return torch.sigmoid(logits)
        if LOSS == "hf":
            loss = None if labels is None else nn.CrossEntropyLoss()(logits, labels)
            return Output(loss, logits)
        if SEQUENCE:
            logits = logits.view(len(inputs), POSITIONS, 3)
        if LOSS in ("nanogpt", "sequence"):
            flat = logits.view(-1, logits.size(-1))
            return logits, None if labels is None else F.cross_entropy(flat, labels.view(-1))
        return logits


class MyLoss(nn.Module):
    def forward(self, logits, target):
        return -logits.log_softmax(dim=1).gather(1, target[:, None]).mean()


def bce(p, t):
    p = p.clamp(1e-6, 1 - 1e-6)
    return -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()


def loss_of(model, xb, yb, training):
    if LOSS == "plain_mse":
        return nn.MSELoss()(model(xb), yb)
    if LOSS == "plain_bce":
        return nn.BCELoss()(model(xb), yb)
    if LOSS == "plain_ce":
        return nn.CrossEntropyLoss()(model(xb), yb)
    if LOSS in ("mse", "indexed"):
        return torch.mean((model(xb) - yb) ** 2)
    if LOSS == "l2":
        loss = ((model(xb) - yb) ** 2).mean()
        if training:
            loss = loss + 1e-4 * sum(p.pow(2).sum() for p in model.parameters())
        return loss
    if LOSS == "bce":
        return bce(model(xb), yb)
    if LOSS == "module":
        return MyLoss()(model(xb), yb)
    if LOSS == "dict":  # a dict batch given whole to the model, the loss reads its target
        batch = {"inputs": xb, "target": yb}
        return -F.log_softmax(model(batch), dim=1).gather(1, batch["target"][:, None]).mean()
    if LOSS == "hf":
        return model(**{"inputs": xb, "labels": yb}).loss
    if LOSS in ("nanogpt", "sequence"):
        _, loss = model(xb, yb if LOSS == "sequence" else yb[:, None])
        return loss
    if LOSS == "flat":  # the sequence flattened outside the model
        return F.cross_entropy(model(xb).view(-1, 3), yb.view(-1))
    if LOSS == "dropout":  # random: cannot be replayed
        return (F.dropout(model(xb), 0.1, training) - yb).pow(2).mean()
    if LOSS == "item":  # a value read in Python while computing the loss
        error = ((model(xb) - yb) ** 2).mean()
        return error / max(error.item(), 1.0)
    raise ValueError(LOSS)


model = Model()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2 * (100 if BUG == "lr" else 1))
for epoch in range(EPOCHS):
    model.train()
    order = torch.randperm(1200)
    for start in range(0, 1200, 32):
        rows = order[start:start + 32]
        optimizer.zero_grad()
        if LOSS == "indexed":  # the targets picked out of the whole set inside the loss
            loss = torch.mean((model(x_train[rows]) - y_train[rows]) ** 2)
        else:
            loss = loss_of(model, x_train[rows], y_train[rows], training=True)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val = sum(loss_of(model, x_val[i:i + 100], y_val[i:i + 100], False).item()
                  for i in range(0, 300, 100)) / 3
    print(f"epoch {epoch}: validation loss {val:.4f}")
