# lossdoctor-expect: frozen_params
"""CNN with GroupNorm, CrossEntropyLoss(label_smoothing=0.1), bfloat16 autocast, and AdamW param
groups built the way karpathy/minGPT's configure_optimizers builds them: walk named_modules(),
biases to no_decay, weights of whitelisted modules (nn.Linear) to decay, weights of blacklisted
ones (LayerNorm, Embedding) to no_decay. Data: 16x16 images of four small glyphs at random places.
Bug: copied to a CNN without minGPT's assertion that every parameter landed in a group: Conv2d and
GroupNorm weights are in neither list, so the optimizer never sees them and the convolutions keep
their random initialization."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
GLYPHS = [
    [[0, 1, 0], [1, 1, 1], [0, 1, 0]],
    [[1, 1, 1], [1, 0, 1], [1, 1, 1]],
    [[1, 0, 0], [1, 0, 0], [1, 1, 1]],
    [[1, 1, 1], [0, 1, 0], [0, 1, 0]],
]


def glyph_images(n, g):
    x = 0.3 * torch.randn(n, 1, 16, 16, generator=g)
    y = torch.randint(0, 4, (n,), generator=g)
    pos = torch.randint(0, 11, (n, 2), generator=g)
    for k in range(n):
        glyph = (
            torch.tensor(GLYPHS[y[k]], dtype=torch.float32)
            .repeat_interleave(2, 0)
            .repeat_interleave(2, 1)
        )
        r, c = pos[k].tolist()
        x[k, 0, r : r + 6, c : c + 6] += glyph
    return x, y


g = torch.Generator().manual_seed(1)
train_loader = DataLoader(TensorDataset(*glyph_images(4000, g)), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(*glyph_images(800, g)), batch_size=200)


def conv_block(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.GroupNorm(4, cout), nn.ReLU()
    )


class GlyphNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            conv_block(1, 16),
            nn.MaxPool2d(2),
            conv_block(16, 32),
            nn.MaxPool2d(2),
            conv_block(32, 32),
        )
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.fc = nn.Linear(32, 4)

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))


model = GlyphNet()
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)


def configure_optimizers(model, weight_decay=0.1, learning_rate=3e-3, betas=(0.9, 0.95)):
    decay, no_decay = set(), set()
    whitelist_weight_modules = (torch.nn.Linear,)
    blacklist_weight_modules = (torch.nn.LayerNorm, torch.nn.Embedding)
    for mn, m in model.named_modules():
        for pn, _p in m.named_parameters(recurse=False):
            fpn = f"{mn}.{pn}" if mn else pn
            if pn.endswith("bias"):
                no_decay.add(fpn)
            elif pn.endswith("weight") and isinstance(m, whitelist_weight_modules):
                decay.add(fpn)
            elif pn.endswith("weight") and isinstance(m, blacklist_weight_modules):
                no_decay.add(fpn)
    param_dict = dict(model.named_parameters())
    optim_groups = [
        {"params": [param_dict[pn] for pn in sorted(decay)], "weight_decay": weight_decay},
        {"params": [param_dict[pn] for pn in sorted(no_decay)], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas)


optimizer = configure_optimizers(model)
EPOCHS = 8
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS)


def evaluate(loader):
    model.eval()
    total, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = model(x)
                loss = criterion(out, y)
            total += loss.float().item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
            n += len(y)
    return total / n, correct / n


for epoch in range(EPOCHS):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    scheduler.step()
    val_loss, val_acc = evaluate(val_loader)
    print(
        f"Epoch {epoch}: train loss {loss.item():.4f}, val loss {val_loss:.4f}, "
        f"val acc {val_acc:.3f}"
    )
