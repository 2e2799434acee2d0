# lossdoctor-expect: validation_path
"""Per-point semantic segmentation of small point-cloud boxes, in the idiom of SKrisanski/FSCT's
train.py (https://github.com/SKrisanski/FSCT/issues/11): a PointNet-style network of shared 1x1
Conv1d layers over (batch, xyz, points), CrossEntropyLoss per point, Adam, running loss and
running accuracy per epoch for training and validation.
Bug (the issue): the validation running loss is divided by len(train_loader), the number of
training batches, instead of len(val_loader); with four times as many training batches the
validation loss is reported at a quarter of its value. The author's fix: divide by
len(val_loader).
Synthetic forest boxes: terrain below a height, stems as vertical cylinders, vegetation
elsewhere."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
N_POINTS = 96


def make_box():
    pts = torch.rand(N_POINTS, 3) * torch.tensor([4.0, 4.0, 6.0])
    ground = 0.3 + 0.1 * torch.sin(pts[:, 0])
    stem_xy = torch.rand(2) * 4
    radius = (pts[:, :2] - stem_xy).norm(dim=1)
    label = torch.full((N_POINTS,), 2)
    label[radius < 0.6] = 1
    label[pts[:, 2] < ground] = 0
    pts = pts - pts.mean(0)
    return pts.T.contiguous(), label


class BoxDataset(Dataset):
    def __init__(self, n):
        self.items = [make_box() for _ in range(n)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


class SegNet(nn.Module):
    def __init__(self, num_classes=3):
        super().__init__()
        self.local = nn.Sequential(nn.Conv1d(3, 32, 1), nn.ReLU(), nn.Conv1d(32, 32, 1), nn.ReLU())
        self.head = nn.Sequential(nn.Conv1d(64, 32, 1), nn.ReLU(), nn.Conv1d(32, num_classes, 1))

    def forward(self, x):
        f = self.local(x)
        g = f.max(dim=2, keepdim=True).values.expand_as(f)
        return self.head(torch.cat([f, g], dim=1))


train_loader = DataLoader(BoxDataset(160), batch_size=8, shuffle=True)
val_loader = DataLoader(BoxDataset(40), batch_size=8, shuffle=False)
model = SegNet()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.001)

for epoch in range(5):
    model.train()
    running_loss, running_acc = 0.0, 0.0
    for points, labels in train_loader:
        optimizer.zero_grad()
        outputs = model(points)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
        running_acc += (outputs.argmax(1) == labels).float().mean().item()
    epoch_loss = running_loss / len(train_loader)
    epoch_acc = running_acc / len(train_loader)
    model.eval()
    running_loss, running_acc = 0.0, 0.0
    with torch.no_grad():
        for points, labels in val_loader:
            outputs = model(points)
            running_loss += criterion(outputs, labels).item()
            running_acc += (outputs.argmax(1) == labels).float().mean().item()
    val_epoch_loss = running_loss / len(train_loader)
    val_epoch_acc = running_acc / len(train_loader)
    print(f"epoch {epoch} train_loss {epoch_loss:.4f} train_acc {epoch_acc:.3f} "
          f"val_loss {val_epoch_loss:.4f} val_acc {val_epoch_acc:.3f}")
