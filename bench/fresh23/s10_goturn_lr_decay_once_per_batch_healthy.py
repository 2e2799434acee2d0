# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP032, B007  (the threads' own idioms kept)
"""amoudgl/pygoturn#16 (https://github.com/amoudgl/pygoturn/issues/16), the fix applied: "an error about the use
of exp_lr_scheduler". GOTURN regresses the target's box in the current frame's search region
from two crops (previous frame around the target, current frame around the same place) through
a shared conv net and three fully connected layers, with an L1 loss on boxes scaled to 0-10.
The decay check `if itr > 0 and itr % lr_decay_step == 0: exp_lr_scheduler.step()` sits in the
loop that gathers one batch's samples, which runs until done, while itr moves once per batch:
"the lr will continue decreasing until done==1 ... the more batchsize, the more the number of
decreasing"; the maintainer agreed and moved the step after `if done:`. Here synthetic frames
(a bright object drifting over clutter), a small conv net trained from scratch, SGD with
momentum and weight decay as in train.py (a larger base rate for a network not pretrained),
batches of 20 samples, no validation set (train.py has none)."""

import numpy as np
import torch
import torch.nn as nn
from torch.optim import lr_scheduler

torch.manual_seed(0)
rng = np.random.default_rng(0)
CROP = 32


def sample_pair():
    """A previous-frame crop centred on the object and a current-frame crop at the same place."""
    size = rng.uniform(6, 12)
    shift = rng.uniform(-6, 6, 2)
    clutter = rng.normal(0, 0.5, (2, 3, CROP, CROP))
    yy, xx = np.mgrid[0:CROP, 0:CROP]
    centre = np.array([CROP / 2, CROP / 2])
    prev, curr = clutter[0], clutter[1]
    for img, c in ((prev, centre), (curr, centre + shift)):
        blob = (np.abs(yy - c[0]) < size / 2) & (np.abs(xx - c[1]) < size / 2)
        img[:, blob] += np.array([1.5, 1.0, 0.5])[:, None]
    c = centre + shift
    box = np.array([c[1] - size / 2, c[0] - size / 2, c[1] + size / 2, c[0] + size / 2]) / CROP * 10
    return prev.astype(np.float32), curr.astype(np.float32), box.astype(np.float32)


class GoNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Linear(32 * 4 * 4 * 2, 256), nn.ReLU(inplace=True), nn.Dropout(),
            nn.Linear(256, 256), nn.ReLU(inplace=True), nn.Dropout(),
            nn.Linear(256, 256), nn.ReLU(inplace=True), nn.Dropout(),
            nn.Linear(256, 4))

    def forward(self, x, y):
        x1 = self.features(x).view(x.size(0), -1)
        x2 = self.features(y).view(y.size(0), -1)
        return self.classifier(torch.cat((x1, x2), 1))


class Args:
    learning_rate = 1e-5
    momentum = 0.9
    weight_decay = 0.0005
    lr_decay_step = 150
    gamma = 0.1
    batch_size = 20
    num_batches = 450


args = Args()
model = GoNet()
criterion = nn.L1Loss(reduction="sum")
optimizer = torch.optim.SGD(model.classifier.parameters(), lr=args.learning_rate,
                            momentum=args.momentum, weight_decay=args.weight_decay)
optimizer.add_param_group({"params": model.features.parameters(), "lr": args.learning_rate})
exp_lr_scheduler = lr_scheduler.StepLR(optimizer, step_size=1, gamma=args.gamma)

itr = 0
running_loss = 0.0
model.train()
while itr < args.num_batches:
    x1_batch, x2_batch, y_batch = [], [], []
    done = False
    while not done:
        prev, curr, box = sample_pair()
        x1_batch.append(prev)
        x2_batch.append(curr)
        y_batch.append(box)
        done = len(x1_batch) == args.batch_size
    if itr > 0 and itr % args.lr_decay_step == 0:
        exp_lr_scheduler.step()
    x1 = torch.from_numpy(np.stack(x1_batch))
    x2 = torch.from_numpy(np.stack(x2_batch))
    y = torch.from_numpy(np.stack(y_batch))
    optimizer.zero_grad()
    output = model(x1, x2)
    loss = criterion(output, y)
    loss.backward()
    optimizer.step()
    itr += 1
    running_loss += loss.item() / args.batch_size
    if itr % 30 == 0:
        print(f"[training] step = {itr}/{args.num_batches}, loss = {running_loss / 30:.4f}, "
              f"lr = {optimizer.param_groups[0]['lr']:.3g}")
        running_loss = 0.0
