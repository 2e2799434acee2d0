# lossdoctor-expect:
"""Binary image classification in the style of Lightning's computer_vision_fine_tuning.py example
(TransferLearningModel: a frozen-free small feature extractor plus a classifier head, one
output, y_logits = self.forward(x); y_scores = torch.sigmoid(y_logits);
loss = F.binary_cross_entropy_with_logits(y_logits, y_true); accuracy from y_scores), driven by a
hand-written loop with a validation pass and a MultiStepLR schedule.
Healthy (Lightning-AI/pytorch-lightning#18272, 'use of sigmoid and
F.binary_cross_entropy_with_logits': the reply 'It seems that it is already correct ... self.loss()
is directly applied to y_logits'): the sigmoid feeds only the metric; the loss gets logits."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset


def make_pictures(n, g):
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 3, 24, 24, generator=g) * 0.5
    x[y == 1, 0, 6:18, 6:18] += 0.7
    x[y == 0, 2, 6:18, 6:18] += 0.7
    return x, y


class TransferLearningModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.feature_extractor = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 1))

    def forward(self, x):
        return self.fc(self.feature_extractor(x))

    def loss(self, logits, labels):
        return F.binary_cross_entropy_with_logits(input=logits, target=labels)

    def step(self, batch):
        x, y = batch
        y_logits = self.forward(x)
        y_scores = torch.sigmoid(y_logits)
        y_true = y.view((-1, 1)).type_as(x)
        loss = self.loss(y_logits, y_true)
        acc = ((y_scores > 0.5).float() == y_true).float().mean()
        return loss, acc


torch.manual_seed(0)
g = torch.Generator().manual_seed(1)
train_dl = DataLoader(TensorDataset(*make_pictures(1280, g)), batch_size=32, shuffle=True)
val_dl = DataLoader(TensorDataset(*make_pictures(320, g)), batch_size=64)
model = TransferLearningModel()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[5, 8], gamma=0.1)

for epoch in range(10):
    model.train()
    for batch in train_dl:
        loss, acc = model.step(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    scheduler.step()
    model.eval()
    with torch.no_grad():
        results = [model.step(b) for b in val_dl]
    val_loss = sum(r[0].item() for r in results) / len(results)
    val_acc = sum(r[1].item() for r in results) / len(results)
    print(f"epoch {epoch}: train_loss {loss.item():.4f} val_loss {val_loss:.4f} "
          f"val_acc {val_acc:.3f}")
