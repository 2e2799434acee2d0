# lossdoctor-expect: lr_too_high
"""Adam with learning rate 1.0 on an MLP: every step overshoots, so the loss never settles."""
# lossdoctor-family: mlp

import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(0)

# Three Gaussian blobs in 8 dimensions; the class is which blob a point came from.
centers = torch.randn(3, 8)
labels = torch.randint(0, 3, (2400,))
points = centers[labels] + torch.randn(2400, 8)
x_train, y_train = points[:2000], labels[:2000]
x_val, y_val = points[2000:], labels[2000:]

model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
optimizer = torch.optim.Adam(model.parameters(), lr=1.0)
batch_size = 50

for epoch in range(15):
    model.train()
    order = torch.randperm(len(x_train))
    for start in range(0, len(x_train), batch_size):
        rows = order[start:start + batch_size]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x_train[rows]), y_train[rows])
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = F.cross_entropy(model(x_val), y_val).item()
    print(f"epoch {epoch}: val loss {val_loss:.4f}")
