# lossdoctor-expect:
# source: https://github.com/keras-team/keras/issues/510
# fix: standardize each input column with the training mean and standard deviation (no clipnorm needed)
# ruff: noqa: E501
"""A simple MLP classifier (two ReLU hidden layers, softmax output, categorical cross entropy)
trained with SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True) and no gradient clipping,
ported to PyTorch; fixed: the input columns are standardized with the training statistics."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

n, n_features, n_classes = 3000, 12, 3
scales = torch.logspace(0, 4, n_features)
offsets = 2 * scales
latent = torch.randn(n, n_features)
X = offsets + scales * latent
y = ((latent[:, 0] + latent[:, 3] - latent[:, 7]) > 0.5).long() + (latent[:, 11] > 1.0).long()

mean, std = X[:2400].mean(dim=0), X[:2400].std(dim=0)
X = (X - mean) / std
train_loader = DataLoader(TensorDataset(X[:2400], y[:2400]), batch_size=32, shuffle=True)
X_val, y_val = X[2400:], y[2400:]

model = nn.Sequential(nn.Linear(n_features, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, n_classes))
sgd = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
decay = torch.optim.lr_scheduler.LambdaLR(sgd, lambda iterations: 1 / (1 + 1e-6 * iterations))
loss_fn = nn.CrossEntropyLoss()

for epoch in range(8):
    model.train()
    for xb, yb in train_loader:
        sgd.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        sgd.step()
        decay.step()
    model.eval()
    with torch.no_grad():
        logits = model(X_val)
    print(f"epoch {epoch} loss {loss.item():.4f} val_loss {loss_fn(logits, y_val).item():.4f} "
          f"val_acc {(logits.argmax(1) == y_val).float().mean():.3f}")
