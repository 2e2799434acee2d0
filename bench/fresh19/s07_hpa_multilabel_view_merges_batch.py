# lossdoctor-expect: shape_broadcast
"""Multi-label protein-location classification in the style of weka511/hpa-scc (Human Protein
Atlas single-cell images with four stains, one sigmoid output per location class, F.mse_loss
against the multi-hot target, SGD with momentum, a fixed batch size of 8).
Bug (weka511/hpa-scc#38, 'Using a target size (torch.Size([8, 18])) that is different to the
input size (torch.Size([1, 18]))'): forward flattens with x.view(-1, 8*16*...), a size that counts
the batch of 8 among the features, so the 8 images of a batch become one row, one prediction, and
MSELoss broadcasts that one prediction against the 8 targets."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(42)
N_CLASSES, BATCH = 6, 8


def make_cells(n, g):
    targets = (torch.rand(n, N_CLASSES, generator=g) < 0.25).float()
    images = 0.3 * torch.rand(n, 4, 16, 16, generator=g)
    for k in range(N_CLASSES):
        stain, quadrant = k % 4, k // 4
        rows = slice(0, 8) if quadrant == 0 else slice(8, 16)
        images[:, stain, rows, 4:12] += 0.8 * targets[:, k].view(-1, 1, 1)
    return images, targets


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.fc1 = nn.Linear(BATCH * 16 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, N_CLASSES)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, BATCH * 16 * 4 * 4)
        x = F.relu(self.fc1(x))
        return torch.sigmoid(self.fc2(x))


g = torch.Generator().manual_seed(7)
train_set = TensorDataset(*make_cells(960, g))
valid_set = TensorDataset(*make_cells(240, g))
train_loader = DataLoader(train_set, batch_size=BATCH, shuffle=True, drop_last=True)
valid_loader = DataLoader(valid_set, batch_size=BATCH, drop_last=True)

model = Net()
criterion = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

for epoch in range(1, 7):
    model.train()
    train_loss = 0.0
    for inputs, labels in train_loader:
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        train_loss += loss.item()
    model.eval()
    with torch.no_grad():
        valid_loss = sum(criterion(model(x), y).item() for x, y in valid_loader)
    print(f"{epoch}, train {train_loss / len(train_loader):.5f}, "
          f"validation {valid_loss / len(valid_loader):.5f}")
