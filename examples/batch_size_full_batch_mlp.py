# lossdoctor-expect: batch_size
"""Full-batch training (all 3,000 rows a batch): 20 epochs are only 20 steps, too few to learn."""
# lossdoctor-family: mlp

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

# Customer churn from standardized usage features: a nonlinear rule any small MLP can learn.
x = torch.randn(3500, 10)
y = ((x[:, 0] * x[:, 1] + torch.sin(2 * x[:, 2]) + 0.8 * x[:, 3]) > 0).long()
train_loader = DataLoader(TensorDataset(x[:3000], y[:3000]), batch_size=3000, shuffle=True)
val_loader = DataLoader(TensorDataset(x[3000:], y[3000:]), batch_size=500)

model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.CrossEntropyLoss()

for epoch in range(20):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(xb), yb).item() for xb, yb in val_loader)
    print(f"epoch {epoch + 1}: val_loss={val_loss:.4f}")
