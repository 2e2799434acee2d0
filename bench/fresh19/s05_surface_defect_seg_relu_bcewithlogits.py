# lossdoctor-expect: loss_mismatch
"""Surface-defect segmentation in the style of mengcius/Surface-Defect-Detection (train_segment.py:
a small conv segmentation network, per-pixel masks, criterion_segment = BCEWithLogitsLoss,
Adam). Images are gray 32x32 surfaces with one to three faint scratches; the mask marks them.
Bug (mengcius/Surface-Defect-Detection#3, 'non convergence? I know the answer!'): the last layer
of the segmentation head is a conv followed by ReLU, 'but BCEWithLogitsLoss has the sigmoid ...
it will train hardly ... as usual, the last layer of segment model is just a conv and no act'."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset


class SurfaceDefects(Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.images = 0.4 * torch.randn(n, 1, 32, 32, generator=g)
        self.masks = torch.zeros(n, 1, 32, 32)
        for i in range(n):
            for _ in range(int(torch.randint(1, 4, (1,), generator=g))):
                r, c = torch.randint(2, 26, (2,), generator=g).tolist()
                length = int(torch.randint(4, 7, (1,), generator=g))
                if torch.rand(1, generator=g) < 0.5:
                    self.masks[i, 0, r, c:c + length] = 1
                else:
                    self.masks[i, 0, r:r + length, c] = 1
        self.images += 0.9 * self.masks

    def __len__(self):
        return len(self.images)

    def __getitem__(self, idx):
        return {"image": self.images[idx], "label_pixel": self.masks[idx]}


class SegmentNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer1 = nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.BatchNorm2d(16), nn.ReLU(),
                                    nn.Conv2d(16, 16, 5, padding=2), nn.BatchNorm2d(16), nn.ReLU())
        self.layer2 = nn.Sequential(nn.Conv2d(16, 32, 5, padding=2), nn.BatchNorm2d(32), nn.ReLU())
        self.layer3 = nn.Sequential(nn.Conv2d(32, 1, 1), nn.ReLU())

    def forward(self, x):
        return self.layer3(self.layer2(self.layer1(x)))


torch.manual_seed(0)
train_loader = DataLoader(SurfaceDefects(480, 1), batch_size=16, shuffle=True)
test_loader = DataLoader(SurfaceDefects(120, 2), batch_size=32)
segment_net = SegmentNet()
criterion_segment = nn.BCEWithLogitsLoss()
optimizer_seg = torch.optim.Adam(segment_net.parameters(), lr=1e-3, betas=(0.5, 0.999))

for epoch in range(6):
    segment_net.train()
    epoch_loss = 0.0
    for batch in train_loader:
        img, gt_mask = batch["image"], batch["label_pixel"]
        optimizer_seg.zero_grad()
        rst = segment_net(img)
        loss_seg = criterion_segment(rst, gt_mask)
        loss_seg.backward()
        optimizer_seg.step()
        epoch_loss += loss_seg.item()
    segment_net.eval()
    with torch.no_grad():
        test_loss = sum(criterion_segment(segment_net(b["image"]), b["label_pixel"]).item()
                        for b in test_loader) / len(test_loader)
    print(f"[Epoch {epoch}] loss_seg {epoch_loss / len(train_loader):.4f} "
          f"test_loss {test_loss:.4f}")
