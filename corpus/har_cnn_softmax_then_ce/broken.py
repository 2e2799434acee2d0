# lossdoctor-expect: loss_mismatch
# source: https://github.com/jindongwang/Deep-learning-activity-recognition/issues/10
# answer: the network applies F.softmax to its output and nn.CrossEntropyLoss applies softmax again; feed it the raw outputs
# ruff: noqa: E501
"""The repository's activity-recognition CNN (two (1, 9) convolutions over 9 sensor channels x 128
steps, three dense layers, softmax output), SGD lr 0.01 momentum 0.9, on synthetic UCI-HAR-like
windows of six activities."""

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def make_windows(n):
    activity = torch.randint(0, 6, (n,))
    steps = torch.arange(128, dtype=torch.float32)
    freq = (0.02 + 0.03 * activity.float()).view(n, 1, 1)
    phase = 2 * math.pi * torch.rand(n, 9, 1)
    amplitude = (0.5 + 0.2 * (activity % 3).float()).view(n, 1, 1)
    signal = amplitude * torch.sin(2 * math.pi * freq * steps + phase)
    signal = signal + 0.5 * torch.randn(n, 9, 128)
    return signal.unsqueeze(2), activity


train_x, train_y = make_windows(480)
test_x, test_y = make_windows(240)
train_loader = DataLoader(TensorDataset(train_x, train_y), batch_size=16, shuffle=True)
test_loader = DataLoader(TensorDataset(test_x, test_y), batch_size=240)


class Network(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels=9, out_channels=32, kernel_size=(1, 9)), nn.ReLU(),
            nn.MaxPool2d(kernel_size=(1, 2), stride=2))
        self.conv2 = nn.Sequential(
            nn.Conv2d(in_channels=32, out_channels=64, kernel_size=(1, 9)), nn.ReLU(),
            nn.MaxPool2d(kernel_size=(1, 2), stride=2))
        self.fc1 = nn.Sequential(nn.Linear(in_features=64 * 26, out_features=1000), nn.ReLU())
        self.fc2 = nn.Sequential(nn.Linear(in_features=1000, out_features=500), nn.ReLU())
        self.fc3 = nn.Sequential(nn.Linear(in_features=500, out_features=6))

    def forward(self, x):
        out = self.conv1(x)
        out = self.conv2(out)
        out = out.reshape(-1, 64 * 26)
        out = self.fc1(out)
        out = self.fc2(out)
        out = self.fc3(out)
        out = F.softmax(out, dim=1)
        return out


model = Network()
optimizer = torch.optim.SGD(params=model.parameters(), lr=0.01, momentum=0.9)
loss_func = nn.CrossEntropyLoss()

for epoch in range(6):
    model.train()
    for sample, target in train_loader:
        output = model(sample)
        loss = loss_func(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        test_loss = sum(loss_func(model(s), t).item() * len(t) for s, t in test_loader) / 240
        correct = sum((model(s).argmax(dim=1) == t).sum().item() for s, t in test_loader)
    print(f"epoch {epoch} test loss {test_loss:.4f} accuracy {correct / 240:.3f}")
