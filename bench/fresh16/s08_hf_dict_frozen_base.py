# lossdoctor-expect: frozen_params
"""Hugging Face style: a Dataset of dict batches, model(**batch) returns {'loss', 'logits'}.
Bug: 'fine-tuning only the head' copied from a pretrained recipe, but the base is randomly
initialized here, so the frozen base never learns anything."""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(8)
VOCAB, LEN = 50, 10


class Reviews(Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(2, VOCAB, (n, LEN), generator=g)
        pos = (self.ids < 12).sum(1)
        neg = ((self.ids >= 12) & (self.ids < 22)).sum(1)
        self.labels = (pos > neg).long()

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


class TinyForSequenceClassification(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.base = nn.ModuleDict({"embeddings": nn.Embedding(VOCAB, hidden),
                                   "encoder": nn.Sequential(nn.Linear(hidden, hidden), nn.GELU())})
        self.classifier = nn.Linear(hidden, 2)

    def forward(self, input_ids, labels=None):
        h = self.base["encoder"](self.base["embeddings"](input_ids)).mean(1)
        logits = self.classifier(h)
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = nn.functional.cross_entropy(logits, labels)
        return out


model = TinyForSequenceClassification()
for p in model.base.parameters():
    p.requires_grad = False
optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-3)
train_dl = DataLoader(Reviews(3000, 1), batch_size=32, shuffle=True)
eval_dl = DataLoader(Reviews(600, 2), batch_size=200)
for epoch in range(8):
    model.train()
    losses = []
    for batch in train_dl:
        out = model(**batch)
        out["loss"].backward()
        optim.step()
        optim.zero_grad()
        losses.append(out["loss"].item())
    model.eval()
    with torch.no_grad():
        ev = [model(**b)["loss"].item() for b in eval_dl]
    print({"epoch": epoch, "train_loss": round(sum(losses) / len(losses), 4),
           "eval_loss": round(sum(ev) / len(ev), 4)})
