# lossdoctor-expect: over_regularized
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""BVLC/caffe#1396 (https://github.com/BVLC/caffe/issues/1396): "Any input produce the same
output". Posters regress body-joint coordinates from images with an AlexNet-style network and a
Euclidean loss; every image gets the same prediction. Here the solver and net of that setup in
PyTorch (the thread is Caffe): a small AlexNet-shaped network (three convolutions with ReLU and max
pooling, fc6 and fc7 with ReLU and dropout, fc8 with 8 outputs), Caffe's EuclideanLoss (sum of
squared differences over 2N), SGD with momentum, batch 32, a test pass each epoch; synthetic
64x64 images of four joint blobs at random positions."""

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
rng = np.random.default_rng(0)

N_JOINTS, SIZE = 4, 64
yy, xx = np.mgrid[0:SIZE, 0:SIZE]


def make_images(n):
    joints = rng.uniform(0.15, 0.85, size=(n, N_JOINTS, 2)).astype(np.float32)
    images = np.zeros((n, 3, SIZE, SIZE), dtype=np.float32)
    for i in range(n):
        for j, (x, y) in enumerate(joints[i]):
            blob = np.exp(-((xx - x * SIZE) ** 2 + (yy - y * SIZE) ** 2) / (2 * 4.0**2))
            images[i, j % 3] += blob
        images[i] += rng.normal(0, 0.05, size=(3, SIZE, SIZE))
    return torch.from_numpy(images), torch.from_numpy(joints.reshape(n, -1))


class PoseNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, kernel_size=5, stride=2, padding=2), nn.ReLU(inplace=True),   # conv1
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(inplace=True),             # conv2
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 96, kernel_size=3, padding=1), nn.ReLU(inplace=True),             # conv3
        )
        self.fc6 = nn.Sequential(nn.Linear(96 * 7 * 7, 256), nn.ReLU(inplace=True), nn.Dropout(0.5))
        self.fc7 = nn.Sequential(nn.Linear(256, 256), nn.ReLU(inplace=True), nn.Dropout(0.5))
        self.fc8 = nn.Linear(256, 2 * N_JOINTS)

    def forward(self, x):
        x = self.features(x).flatten(1)
        return self.fc8(self.fc7(self.fc6(x)))


def euclidean_loss(pred, label):
    # Caffe's EuclideanLoss: 1/(2N) * sum ||pred - label||^2
    return ((pred - label) ** 2).sum() / (2 * pred.size(0))


train_x, train_y = make_images(1024)
test_x, test_y = make_images(256)

net = PoseNet()
solver = torch.optim.SGD(net.parameters(), lr=0.03, momentum=0.9, weight_decay=0.5)
batch_size = 32

for epoch in range(12):
    net.train()
    perm = torch.randperm(len(train_x))
    running = 0.0
    for i in range(0, len(train_x), batch_size):
        idx = perm[i:i + batch_size]
        solver.zero_grad()
        loss = euclidean_loss(net(train_x[idx]), train_y[idx])
        loss.backward()
        solver.step()
        running += loss.item()
    net.eval()
    with torch.no_grad():
        pred = net(test_x)
        test_loss = euclidean_loss(pred, test_y).item()
        spread = pred.std(0).mean().item()
    print("epoch %2d  train loss %.4f  test loss %.4f  spread of predictions across images %.4f" % (epoch, running / (len(train_x) // batch_size), test_loss, spread))
