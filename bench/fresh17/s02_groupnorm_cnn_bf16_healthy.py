# lossdoctor-expect:
"""CNN with GroupNorm (the GroupNorm(32, C)-after-every-conv pattern of detectron2 / timm ResNets,
here GroupNorm(4, C)), CrossEntropyLoss(label_smoothing=0.1), SGD with Nesterov momentum and
CosineAnnealingLR stepped per epoch, forward and loss under
torch.autocast('cpu', dtype=torch.bfloat16),
an evaluate() helper returning (loss, accuracy). Data: 16x16 images of four small glyphs (cross,
square, L, T) at random places on noise. Healthy."""

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
optimizer = torch.optim.SGD(
    model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4
)
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
