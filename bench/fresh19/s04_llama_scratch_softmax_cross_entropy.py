# lossdoctor-expect: loss_mismatch
"""A character language model in the style of bkitano/llama-from-scratch (a MASTER_CONFIG dict,
get_batches(data, split, batch_size, context_window) drawing random windows of one encoded text,
evaluate_loss() averaging a few batches of each split, a forward(idx, targets) that returns
(logits, loss), Adam). The corpus is a small made-up text drawn from a fixed Markov chain.
Bug (bkitano/llama-from-scratch#5, 'no need to softmax before cross_entropy'): forward applies
F.softmax to the output layer and hands the probabilities to F.cross_entropy, which applies
log_softmax again."""

import random

import torch
import torch.nn as nn
import torch.nn.functional as F

random.seed(0)
torch.manual_seed(0)

letters = "abcdefghijklmnopqrstuvwxyz .,"
successors = {ch: random.sample(letters, 3) for ch in letters}
text, ch = [], "a"
for _ in range(40000):
    ch = random.choice(successors[ch]) if random.random() < 0.9 else random.choice(letters)
    text.append(ch)
vocab = sorted(set(text))
stoi = {c: i for i, c in enumerate(vocab)}
dataset = torch.tensor([stoi[c] for c in text], dtype=torch.long)

MASTER_CONFIG = {"vocab_size": len(vocab), "batch_size": 32, "context_window": 16,
                 "d_model": 64, "epochs": 600, "log_interval": 50}


def get_batches(data, split, batch_size, context_window, config=MASTER_CONFIG):
    train = data[:int(.8 * len(data))]
    val = data[int(.8 * len(data)):int(.9 * len(data))]
    test = data[int(.9 * len(data)):]
    batch_data = train
    if split == "val":
        batch_data = val
    if split == "test":
        batch_data = test
    ix = torch.randint(0, batch_data.size(0) - context_window - 1, (batch_size,))
    x = torch.stack([batch_data[i:i + context_window] for i in ix]).long()
    y = torch.stack([batch_data[i + 1:i + context_window + 1] for i in ix]).long()
    return x, y


@torch.no_grad()
def evaluate_loss(model, config=MASTER_CONFIG):
    out = {}
    model.eval()
    for split in ["train", "val"]:
        losses = []
        for _ in range(10):
            xb, yb = get_batches(dataset, split, config["batch_size"], config["context_window"])
            _, loss = model(xb, yb)
            losses.append(loss.item())
        out[split] = sum(losses) / len(losses)
    model.train()
    return out


class SimpleBrokenModel(nn.Module):
    def __init__(self, config=MASTER_CONFIG):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config["vocab_size"], config["d_model"])
        self.linear = nn.Sequential(
            nn.Linear(config["d_model"], config["d_model"]),
            nn.ReLU(),
            nn.Linear(config["d_model"], config["vocab_size"]),
        )

    def forward(self, idx, targets=None):
        x = self.embedding(idx)
        a = self.linear(x)
        logits = F.softmax(a, dim=-1)
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, self.config["vocab_size"]), targets.view(-1))
            return logits, loss
        return logits


def train(model, optimizer, config=MASTER_CONFIG):
    for epoch in range(config["epochs"]):
        optimizer.zero_grad()
        xs, ys = get_batches(dataset, "train", config["batch_size"], config["context_window"])
        logits, loss = model(xs, targets=ys)
        loss.backward()
        optimizer.step()
        if epoch % config["log_interval"] == 0:
            x = evaluate_loss(model)
            print(f"Epoch {epoch} | train loss {x['train']:.3f} | val loss {x['val']:.3f}")


model = SimpleBrokenModel(MASTER_CONFIG)
optimizer = torch.optim.Adam(model.parameters())
train(model, optimizer)
