# lossdoctor-expect: dead_relu, lr_too_high
# source: https://discuss.pytorch.org/t/cross-entropy-loss-is-not-decreasing/43814/16
# answer: the loss sits at 2.30 because the parameters were pushed negative and the ReLUs output zero with zero gradient for every input; use a smaller learning rate (or SGD instead of Adam)
# ruff: noqa: E501
"""A ten-class digit classifier (conv, ReLU, pooling, two dense ReLU layers) trained with Adam at a
large learning rate; after the first steps the loss settles at ln(10) = 2.30 and stays there."""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

strokes = (torch.rand(10, 1, 7, 7) > 0.6).float()
prototypes = F.interpolate(strokes, size=(28, 28), mode="bilinear", align_corners=False)
labels = torch.randint(0, 10, (2500,))
images = ((prototypes[labels] + 0.5 * torch.randn(2500, 1, 28, 28)).clamp(0, 1) - 0.1307) / 0.3081
train_loader = DataLoader(TensorDataset(images[:2000], labels[:2000]), batch_size=64, shuffle=True)
val_x, val_y = images[2000:], labels[2000:]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 5)
        self.fc1 = nn.Linear(8 * 12 * 12, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=0.3)
criterion = nn.CrossEntropyLoss()

for epoch in range(6):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = criterion(model(val_x), val_y).item()
    print(f"epoch {epoch} loss = {loss.item()} val loss = {val_loss:.4f}")
