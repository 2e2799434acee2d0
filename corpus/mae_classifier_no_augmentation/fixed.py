# lossdoctor-expect:
# source: https://github.com/IcarusWizard/MAE/issues/6
# fix: augment each training batch with random translations (a RandomResizedCrop-like shift and crop)
# ruff: noqa: E501
"""The repository's ViT classifier (patch embedding, class token, learned position embeddings, a
Transformer encoder, a linear head; AdamW) trained, fixed: with random-translation augmentation, on a small
CIFAR-like set (synthetic 16 x 16 images of four shapes placed anywhere, a few mislabeled)."""

import torch
from torch import nn

torch.manual_seed(0)


def shapes(n):
    labels = torch.randint(0, 4, (n,))
    images = 0.3 * torch.randn(n, 1, 16, 16)
    corners = torch.randint(0, 11, (n, 2)).tolist()
    for image, label, (row, col) in zip(images, labels.tolist(), corners, strict=True):
        patch = image[0, row:row + 5, col:col + 5]
        if label == 0:
            patch[2, :] += 1.0
        elif label == 1:
            patch[:, 2] += 1.0
        elif label == 2:
            patch[0, :] += 1.0
            patch[4, :] += 1.0
        else:
            patch.diagonal().add_(1.0)
    return images, labels


def augment(images):
    padded = nn.functional.pad(images, (4, 4, 4, 4))
    out = torch.empty_like(images)
    for i, (dy, dx) in enumerate(torch.randint(0, 9, (len(images), 2)).tolist()):
        out[i] = padded[i, :, dy:dy + 16, dx:dx + 16]
    return out


train_x, train_y = shapes(160)
train_y[:24] = torch.randint(0, 4, (24,))
val_x, val_y = shapes(400)


class ViTClassifier(nn.Module):
    def __init__(self, dim=32, patch=4):
        super().__init__()
        self.patchify = nn.Conv2d(1, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(0.02 * torch.randn(1, 17, dim))
        layer = nn.TransformerEncoderLayer(dim, nhead=4, dim_feedforward=64, dropout=0.0, batch_first=True)
        self.transformer = nn.TransformerEncoder(layer, num_layers=2)
        self.head = nn.Linear(dim, 4)

    def forward(self, img):
        tokens = self.patchify(img).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls_token.expand(len(img), -1, -1), tokens], dim=1) + self.pos_embedding
        return self.head(self.transformer(tokens)[:, 0])


model = ViTClassifier()
optim = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
loss_fn = nn.CrossEntropyLoss()

for e in range(32):
    model.train()
    order = torch.randperm(len(train_x))
    for start in range(0, len(order), 32):
        idx = order[start:start + 32]
        optim.zero_grad()
        loss = loss_fn(model(augment(train_x[idx])), train_y[idx])
        loss.backward()
        optim.step()
    model.eval()
    with torch.no_grad():
        logits = model(val_x)
        val_loss = loss_fn(logits, val_y).item()
    if e % 4 == 3:
        print(f"epoch {e + 1} train loss {loss.item():.4f} val loss {val_loss:.4f} "
              f"val acc {(logits.argmax(1) == val_y).float().mean():.3f}")
