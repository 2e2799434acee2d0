# lossdoctor-expect: lr_too_high
"""Batch-first LSTM language model trained from a config dict: fixed windows cut from one token
stream into a Dataset returning (x, y) shifted by one, CrossEntropyLoss over logits.view(-1, V),
Adam built from config["optimizer"], clip_grad_norm_(5), a perplexity printout.
Bug: config "lr": 1.0 kept from a plain-SGD recipe when the optimizer was switched to Adam
(rajveermalviya/language-modeling#3: 'the loss didn't really go down ... learning rate of 1.0 in
the config file', fixed by Adam's default 0.001)."""

import math
import random

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

config = {
    "seq_len": 24,
    "batch_size": 32,
    "emb": 32,
    "hidden": 64,
    "epochs": 6,
    "optimizer": {"name": "Adam", "lr": 1.0},
    "clip": 5.0,
}
random.seed(0)
torch.manual_seed(0)
who = ["the cat", "a dog", "my friend", "the old man", "she", "he", "the king", "a bird"]
act = ["sees", "likes", "takes", "finds", "sings to", "waits for", "reads", "keeps"]
what = ["the ball", "a song", "the book", "some bread", "the door", "a letter", "the river"]
end = ["today", "at night", "in the garden", "again", "slowly", "with care"]
tokens = " ".join(
    f"{random.choice(who)} {random.choice(act)} {random.choice(what)} {random.choice(end)} ."
    for _ in range(3000)
).split()
vocab = {w: i for i, w in enumerate(sorted(set(tokens)))}
stream = torch.tensor([vocab[w] for w in tokens])


class Windows(Dataset):
    def __init__(self, ids, seq_len):
        self.ids, self.seq_len = ids, seq_len

    def __len__(self):
        return (len(self.ids) - 1) // self.seq_len

    def __getitem__(self, k):
        chunk = self.ids[k * self.seq_len : (k + 1) * self.seq_len + 1]
        return chunk[:-1], chunk[1:]


cut = int(0.85 * len(stream))
train_loader = DataLoader(
    Windows(stream[:cut], config["seq_len"]), batch_size=config["batch_size"], shuffle=True
)
valid_loader = DataLoader(Windows(stream[cut:], config["seq_len"]), batch_size=64)


class LSTMLanguageModel(nn.Module):
    def __init__(self, vocab_size, emb, hidden):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, emb)
        self.lstm = nn.LSTM(emb, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab_size)

    def forward(self, x):
        h, _ = self.lstm(self.embed(x))
        return self.out(h)


model = LSTMLanguageModel(len(vocab), config["emb"], config["hidden"])
opt_cfg = dict(config["optimizer"])
optimizer = getattr(torch.optim, opt_cfg.pop("name"))(model.parameters(), **opt_cfg)
criterion = nn.CrossEntropyLoss()
for epoch in range(config["epochs"]):
    model.train()
    losses = []
    for x, y in train_loader:
        logits = model(x)
        loss = criterion(logits.view(-1, logits.size(-1)), y.view(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config["clip"])
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        val = [criterion(model(x).flatten(0, 1), y.flatten()).item() for x, y in valid_loader]
    train_loss, val_loss = sum(losses) / len(losses), sum(val) / len(val)
    print(
        f"epoch {epoch} train loss {train_loss:.3f} valid loss {val_loss:.3f} "
        f"valid ppl {math.exp(val_loss):.1f}"
    )
