# lossdoctor-expect:
# source: https://github.com/NoahVl/Explaining-In-Style-Reproducibility-Study/issues/9
# fix: sort the listed image paths so they line up with the labels (the fix posted in the issue)
# ruff: noqa: E501
"""The reproduction's CelebA attribute classifier: image paths come from os.listdir of the image
folder, labels from the attribute file in file-name order, and the dataset pairs them by index; fixed: the listing is sorted.
(The folder listing is simulated: the file system returns names in its own order.)"""

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)

n_images = 1200
file_names = [f"{i:06d}.jpg" for i in range(1, n_images + 1)]
has_attribute = torch.rand(n_images) < 0.5
pixels = {}
for name, attribute in zip(file_names, has_attribute.tolist(), strict=True):
    face = 0.5 * torch.randn(3, 16, 16)
    if attribute:
        face[:, 5:7, 2:14] -= 1.5
    pixels[name] = face
attribute_file = {name: int(attribute) for name, attribute in zip(file_names, has_attribute.tolist(), strict=True)}


def listdir(_folder):
    order = torch.randperm(n_images, generator=torch.Generator().manual_seed(7)).tolist()
    return [file_names[i] for i in order]


class CelebADataset(Dataset):
    def __init__(self, names):
        self.images = sorted(name for name in listdir("img_align_celeba") if name in names)
        self.labels = [attribute_file[name] for name in sorted(names)]

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return pixels[self.images[index]], self.labels[index]


train_set, val_set = CelebADataset(set(file_names[:1000])), CelebADataset(set(file_names[1000:]))
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
val_loader = DataLoader(val_set, batch_size=200)

model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                      nn.Flatten(), nn.Linear(32, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
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
        x, y = next(iter(val_loader))
        logits = model(x)
    print(f"epoch {epoch} val loss {criterion(logits, y).item():.4f} val acc {(logits.argmax(1) == y).float().mean():.3f}")
