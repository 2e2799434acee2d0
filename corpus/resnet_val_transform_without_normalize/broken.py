# lossdoctor-expect: train_val_shift
# source: https://github.com/JeasunLok/ResNet-pytorch/issues/1
# answer: training accuracy is fine but testing accuracy very low because the normalization is applied to the training set and not to the validation / test set; use the same transform for both
# ruff: noqa: E501
"""A small ResNet classifier whose training transform is ToTensor + Normalize(mean, std) while
the validation transform is only ToTensor (as in the repository's earlier main.py); images are
synthetic 8-bit RGB scenes of four classes."""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)

MEAN, STD = torch.tensor([0.45, 0.40, 0.35]).view(3, 1, 1), torch.tensor([0.25, 0.25, 0.25]).view(3, 1, 1)


def to_tensor(image_uint8):
    return image_uint8.float() / 255


def normalize(tensor):
    return (tensor - MEAN) / STD


train_transform = lambda image: normalize(to_tensor(image))  # noqa: E731
val_transform = lambda image: to_tensor(image)  # noqa: E731


class Scenes(Dataset):
    def __init__(self, n, templates, transform):
        self.labels = torch.randint(0, 4, (n,))
        pixels = 0.45 + 0.5 * templates[self.labels] + 0.15 * torch.randn(n, 3, 20, 20)
        self.images = (255 * pixels.clamp(0, 1)).to(torch.uint8)
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return self.transform(self.images[index]), self.labels[index]


class BasicBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels)
        self.conv2, self.bn2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + x)


templates = F.interpolate(torch.rand(4, 3, 4, 4) - 0.5, size=(20, 20), mode="bilinear", align_corners=False)
train_loader = DataLoader(Scenes(500, templates, train_transform), batch_size=32, shuffle=True)
val_loader = DataLoader(Scenes(200, templates, val_transform), batch_size=200)

model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                      BasicBlock(16), nn.MaxPool2d(2), BasicBlock(16),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 4))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
criterion = nn.CrossEntropyLoss()

for epoch in range(4):
    model.train()
    correct = 0
    for x, y in train_loader:
        optimizer.zero_grad()
        logits = model(x)
        loss = criterion(logits, y)
        loss.backward()
        optimizer.step()
        correct += (logits.argmax(1) == y).sum().item()
    model.eval()
    with torch.no_grad():
        x, y = next(iter(val_loader))
        logits = model(x)
    print(f"epoch {epoch} train acc {correct / 500:.3f} val loss {criterion(logits, y).item():.4f} "
          f"val acc {(logits.argmax(1) == y).float().mean():.3f}")
