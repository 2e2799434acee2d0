# lossdoctor-expect: lr_too_high
"""Multi-label classification of 12-lead ECG segments with a plain CNN, in the idiom of
HemaxiN/DL_ECG_Classification's cnn.py (https://github.com/HemaxiN/DL_ECG_Classification/issues/3):
convolution blocks with ReLU and max-pooling, a dropout head with four outputs,
BCEWithLogitsLoss over four diagnostic labels, Adam, validation every epoch.
Bug (the issue): trained with the learning rate 0.1 the README suggested, the loss goes bad
(NaN in the poster's run). The author's answer: 0.1 is not suitable for this CNN; use the
paper's hyperparameters (a learning rate around 1e-3 here).
Synthetic ECG-like segments: each label adds its own waveform pattern to noisy leads."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
N, LEADS, LENGTH = 700, 12, 128
t = torch.linspace(0, 1, LENGTH)
patterns = torch.stack([torch.sin(2 * 3.1416 * f * t) for f in (3, 7, 11, 17)])
labels = (torch.rand(N, 4) < 0.3).float()
x = 0.8 * torch.randn(N, LEADS, LENGTH)
x += (labels @ patterns).unsqueeze(1) * (0.5 + torch.rand(1, LEADS, 1))
train = TensorDataset(x[:560], labels[:560])
dev = TensorDataset(x[560:], labels[560:])


class CNN(nn.Module):
    def __init__(self, n_classes=4):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(LEADS, 16, 7, padding=3), nn.ReLU(), nn.MaxPool1d(4),
            nn.Conv1d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool1d(4))
        self.fc = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(32 * 8, 64), nn.ReLU(),
                                nn.Linear(64, n_classes))

    def forward(self, x):
        return self.fc(self.conv(x))


model = CNN()
optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
criterion = nn.BCEWithLogitsLoss()
train_loader = DataLoader(train, batch_size=32, shuffle=True)
dev_loader = DataLoader(dev, batch_size=64)
for epoch in range(5):
    model.train()
    losses = []
    for X_batch, y_batch in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(X_batch), y_batch)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        val_losses = [criterion(model(X), y).item() for X, y in dev_loader]
    print(f"epoch {epoch + 1} train_loss {sum(losses) / len(losses):.4f} "
          f"val_loss {sum(val_losses) / len(val_losses):.4f}")
