# lossdoctor-expect: loss_mismatch
"""Loss mismatch: the classifier ends in a softmax and CrossEntropyLoss applies another one."""
# lossdoctor-family: mlp

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

# Six classes decided by the signs and size of hidden directions of 12 features.
x = torch.randn(3000, 12)
directions = torch.randn(12, 3)
projected = x @ directions
bins = torch.tensor([-1.0, 1.0])
y = (projected[:, 0] > 0).long() * 3 + torch.bucketize(projected[:, 1].contiguous(), bins)
train_loader = DataLoader(TensorDataset(x[:2500], y[:2500]), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x[2500:], y[2500:]), batch_size=250)

model = nn.Sequential(
    nn.Linear(12, 64), nn.ReLU(),
    nn.Linear(64, 6),
    nn.Softmax(dim=1),  # "the model should output probabilities"
)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
criterion = nn.CrossEntropyLoss()

for epoch in range(12):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(xb), yb).item() * len(yb) for xb, yb in val_loader) / 500
    print(f"epoch {epoch:2d} val_loss {val_loss:.4f}")
