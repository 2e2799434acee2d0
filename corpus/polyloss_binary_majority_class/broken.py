# lossdoctor-expect: class_imbalance
# source: https://github.com/abhuse/polyloss-pytorch/issues/5
# answer: with 86.2% / 13.8% classes the unweighted Poly-1 loss lets every validation prediction be the majority class; weight the loss by class (its weight argument)
# ruff: noqa: E501
"""A binary classifier on 462 rows (86.2% class 0, 13.8% class 1) trained with the repository's
Poly1CrossEntropyLoss at its default parameters and no class weights."""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


class Poly1CrossEntropyLoss(nn.Module):
    def __init__(self, num_classes, epsilon=1.0, reduction="mean", weight=None):
        super().__init__()
        self.num_classes, self.epsilon, self.reduction, self.weight = num_classes, epsilon, reduction, weight

    def forward(self, logits, labels):
        labels_onehot = F.one_hot(labels, num_classes=self.num_classes).to(logits.dtype)
        pt = torch.sum(labels_onehot * F.softmax(logits, dim=-1), dim=-1)
        ce = F.cross_entropy(logits, labels, reduction="none", weight=self.weight)
        poly1 = ce + self.epsilon * (1 - pt)
        return poly1.mean() if self.reduction == "mean" else poly1.sum()


n, n_positive = 462, 64
labels = torch.zeros(n, dtype=torch.long)
labels[:n_positive] = 1
features = torch.randn(n, 20)
features[:n_positive, :4] += 0.7
order = torch.randperm(n)
features, labels = features[order], labels[order]

train_loader = DataLoader(TensorDataset(features[:370], labels[:370]), batch_size=16, shuffle=True)
val_x, val_y = features[370:], labels[370:]

num_classes = 2
model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, num_classes))
criterion = Poly1CrossEntropyLoss(num_classes=num_classes, reduction="mean")
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

for epoch in range(30):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        logits = model(val_x)
        val_loss = criterion(logits, val_y).item()
        predicted = logits.argmax(dim=1)
    recall_1 = (predicted[val_y == 1] == 1).float().mean().item()
    print(f"epoch {epoch} val_loss {val_loss:.4f} predicted ones {int(predicted.sum())} recall(1) {recall_1:.2f}")
