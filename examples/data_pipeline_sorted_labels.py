# lossdoctor-expect: data_pipeline
"""Broken: customer segments read sorted by segment and batched in that order, unshuffled."""
# lossdoctor-family: mlp

import torch
from torch import nn

torch.manual_seed(0)

# Four customer segments from ten standardized spending features; the segments overlap.
features = torch.randn(2000, 10)
scores = features @ torch.randn(10, 4) + torch.randn(2000, 4)
segment = scores.argmax(dim=1)
order = torch.argsort(segment, stable=True)  # the export is sorted by segment
features, segment = features[order], segment[order]

val_rows = torch.rand(2000) < 0.2
x_train, y_train = features[~val_rows], segment[~val_rows]
x_val, y_val = features[val_rows], segment[val_rows]

model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 4))
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
criterion = nn.CrossEntropyLoss()

for epoch in range(6):
    model.train()
    for start in range(0, len(x_train), 50):
        optimizer.zero_grad()
        loss = criterion(model(x_train[start:start + 50]), y_train[start:start + 50])
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = criterion(model(x_val), y_val).item()
    print(f"epoch {epoch + 1}: validation loss {val_loss:.4f}")
