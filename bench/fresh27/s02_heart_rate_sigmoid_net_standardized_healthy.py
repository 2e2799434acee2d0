# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""Stack Overflow, "PyTorch Binary Classification - same network structure, 'simpler' data, but
worse performance?" (mirrored at https://w3toppers.com/pytorch-binary-classification-same-network-structure-simpler-data-but-worse-performance/):
the network that classifies sklearn's make_circles (Model(input_size, H1, output_size): two
nn.Linear, each followed by torch.sigmoid; nn.BCELoss; Adam; the whole set as one batch, one step
an epoch) is given one patient's heart-rate data, every reading above 91 labelled an anomaly, and
reaches a loss of 0.43 after 10,000 epochs where the circles reached 0.0016 after 1,000. Here the
same model and loop on 500 synthetic readings (a slow random walk around 92 bpm with noise, each
row the reading and the one before it), no validation set: the training loss is
printed every 500 epochs and the accuracy at the end. This twin is the answer's version: the
inputs standardized with their mean and standard deviation, Adam at lr=0.01, 1000 epochs."""

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(2)
rng = np.random.default_rng(2)

n_pts = 500
walk = 92 + np.cumsum(rng.normal(0, 0.6, n_pts + 1))
walk = 92 + (walk - walk.mean()) * 4.0 / walk.std()
readings = walk + rng.normal(0, 0.8, n_pts + 1)
X = np.stack([readings[1:], readings[:-1]], axis=1)
y = (readings[1:] > 91).astype(np.float32)

x_data = torch.FloatTensor(X)
x_data = (x_data - x_data.mean()) / x_data.std()
y_data = torch.FloatTensor(y.reshape(n_pts, 1))


class Model(nn.Module):
    def __init__(self, input_size, H1, output_size):
        super().__init__()
        self.linear = nn.Linear(input_size, H1)
        self.linear2 = nn.Linear(H1, output_size)

    def forward(self, x):
        x = torch.sigmoid(self.linear(x))
        x = torch.sigmoid(self.linear2(x))
        return x

    def predict(self, x):
        pred = self.forward(x)
        if pred >= 0.5:
            return 1
        else:
            return 0


model = Model(2, 4, 1)
criterion = nn.BCELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

epochs = 1000
losses = []
for i in range(epochs):
    y_pred = model.forward(x_data)
    loss = criterion(y_pred, y_data)
    losses.append(loss.item())
    if i % 500 == 0:
        print("epoch:", i, "loss:", loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

with torch.no_grad():
    accuracy = ((model(x_data) >= 0.5).float() == y_data).float().mean().item()
print("final loss: %.4f  accuracy: %.3f  (share of anomalies %.3f)" % (losses[-1], accuracy, y.mean()))
