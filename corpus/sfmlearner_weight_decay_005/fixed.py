# lossdoctor-expect:
# source: https://github.com/tinghuiz/SfMLearner/issues/34
# fix: weight decay 0 (the PyTorch port's default) instead of 0.05
"""A small DispNet-like encoder-decoder predicting a per-pixel disparity map, trained as in the
PyTorch port with Adam (lr 2e-4) fixed: without the original's weight decay of 0.05. (The original learns
from photometric reconstruction; here the disparity is supervised directly to keep it small.)"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def make_scenes(n, size=16):
    rows = torch.linspace(0, 1, size).view(1, size, 1)
    slope = 0.5 + torch.rand(n, 1, 1)
    disparity = (slope * rows).expand(n, size, size).clone()
    boxes = torch.randint(1, size - 7, (n, 2))
    for i in range(n):
        r, c = boxes[i]
        disparity[i, r:r + 6, c:c + 6] += 0.5
    texture = torch.randn(n, 3, size, size) * 0.2
    image = disparity.unsqueeze(1).expand(n, 3, size, size) + texture
    return image, disparity.unsqueeze(1)


images, disparities = make_scenes(500)
train_loader = DataLoader(TensorDataset(images[:400], disparities[:400]), batch_size=4, shuffle=True)
val_x, val_y = images[400:], disparities[400:]

disp_net = nn.Sequential(
    nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
    nn.Conv2d(32, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 1, 3, padding=1), nn.Softplus(),
)
optimizer = torch.optim.Adam(disp_net.parameters(), lr=2e-4, betas=(0.9, 0.999), weight_decay=0)

for epoch in range(8):
    disp_net.train()
    for image, disparity in train_loader:
        optimizer.zero_grad()
        loss = (disp_net(image) - disparity).abs().mean()
        loss.backward()
        optimizer.step()
    disp_net.eval()
    with torch.no_grad():
        prediction = disp_net(val_x)
        val_loss = (prediction - val_y).abs().mean().item()
    print(f"epoch {epoch} val L1 {val_loss:.4f} mean predicted disparity {prediction.mean().item():.4f}")
