# lossdoctor-expect: lr_schedule
# ruff: noqa: E501, E741, UP008, UP032, B007  (the threads' own idioms kept)
"""hazdzz/stgcn#18 (https://github.com/hazdzz/stgcn/issues/18): STGCN (gated temporal
convolutions around a graph convolution) forecasting traffic speed on a road graph; main.py
calls scheduler.step() inside the mini-batch loop, right after optimizer.step(), with
StepLR(step_size=10, gamma=0.95), "which leads to the learning-rate decrease too fast". Here
a 20-node road graph, speeds driven by a daily cycle and the neighbours' traffic, z-scored on
the training part, 12 steps of history to forecast 3 steps ahead; the repository's Adam
(lr 0.001, weight decay 0.001), batch 32, StepLR(10, 0.95), 12 epochs instead of 1000."""

import numpy as np
import torch
import torch.nn as nn
import torch.utils.data as utils

torch.manual_seed(0)
rng = np.random.default_rng(0)
N_VERTEX, N_HIS, N_PRED, T = 20, 12, 3, 2600

adj = np.zeros((N_VERTEX, N_VERTEX))
for i in range(N_VERTEX):
    adj[i, (i + 1) % N_VERTEX] = adj[(i + 1) % N_VERTEX, i] = 1
for i, j in rng.integers(0, N_VERTEX, size=(12, 2)):
    if i != j:
        adj[i, j] = adj[j, i] = 1
deg = adj.sum(1)
walk = adj / deg[:, None]
phase = rng.uniform(0, 2 * np.pi, N_VERTEX)
speed = np.zeros((T, N_VERTEX))
speed[0] = 60
for t in range(1, T):
    daily = 8 * np.sin(2 * np.pi * t / 288 + phase) + 4 * np.sin(4 * np.pi * t / 288 + 2 * phase)
    speed[t] = 0.55 * speed[t - 1] + 0.35 * walk @ speed[t - 1] + 0.1 * 60 + daily * 0.3 \
        + rng.normal(0, 1.0, N_VERTEX)

len_train, len_val = int(T * 0.7), int(T * 0.15)
train, val, test = speed[:len_train], speed[len_train:len_train + len_val], speed[len_train + len_val:]
mean, std = train.mean(), train.std()
train, val, test = (train - mean) / std, (val - mean) / std, (test - mean) / std


def data_transform(data, n_his, n_pred):
    n = len(data) - n_his - n_pred
    x = np.zeros([n, 1, n_his, N_VERTEX])
    y = np.zeros([n, N_VERTEX])
    for i in range(n):
        x[i, :, :, :] = data[i:i + n_his].reshape(1, n_his, N_VERTEX)
        y[i] = data[i + n_his + n_pred - 1]
    return torch.Tensor(x), torch.Tensor(y)


x_train, y_train = data_transform(train, N_HIS, N_PRED)
x_val, y_val = data_transform(val, N_HIS, N_PRED)
train_iter = utils.DataLoader(utils.TensorDataset(x_train, y_train), batch_size=32, shuffle=False)
val_iter = utils.DataLoader(utils.TensorDataset(x_val, y_val), batch_size=32, shuffle=False)

a_hat = adj + np.eye(N_VERTEX)
d_inv_sqrt = np.diag(a_hat.sum(1) ** -0.5)
gso = torch.Tensor(d_inv_sqrt @ a_hat @ d_inv_sqrt)


class TemporalConvLayer(nn.Module):
    def __init__(self, kt, c_in, c_out):
        super().__init__()
        self.kt, self.c_in, self.c_out = kt, c_in, c_out
        self.align = nn.Conv2d(c_in, c_out, kernel_size=(1, 1)) if c_in != c_out else nn.Identity()
        self.causal_conv = nn.Conv2d(c_in, 2 * c_out, kernel_size=(kt, 1))

    def forward(self, x):
        x_in = self.align(x)[:, :, self.kt - 1:, :]
        x_causal = self.causal_conv(x)
        x_p, x_q = x_causal[:, :self.c_out], x_causal[:, -self.c_out:]
        return torch.mul(x_p + x_in, torch.sigmoid(x_q))


class GraphConv(nn.Module):
    def __init__(self, c_in, c_out, gso):
        super().__init__()
        self.gso = gso
        self.weight = nn.Parameter(torch.empty(c_in, c_out))
        self.bias = nn.Parameter(torch.zeros(c_out))
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)

    def forward(self, x):
        x = torch.permute(x, (0, 2, 3, 1))
        x = torch.einsum("hi,btij->bthj", self.gso, x)
        x = torch.matmul(x, self.weight) + self.bias
        return torch.permute(x, (0, 3, 1, 2))


class STConvBlock(nn.Module):
    def __init__(self, kt, n_vertex, last_c, channels, gso, droprate):
        super().__init__()
        self.tmp_conv1 = TemporalConvLayer(kt, last_c, channels[0])
        self.graph_conv = GraphConv(channels[0], channels[1], gso)
        self.tmp_conv2 = TemporalConvLayer(kt, channels[1], channels[2])
        self.tc2_ln = nn.LayerNorm([n_vertex, channels[2]])
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(p=droprate)

    def forward(self, x):
        x = self.tmp_conv1(x)
        x = self.relu(self.graph_conv(x))
        x = self.tmp_conv2(x)
        x = self.tc2_ln(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.dropout(x)


class OutputBlock(nn.Module):
    def __init__(self, ko, last_c, channels, end_c, n_vertex):
        super().__init__()
        self.tmp_conv1 = TemporalConvLayer(ko, last_c, channels[0])
        self.fc1 = nn.Linear(channels[0], channels[1])
        self.fc2 = nn.Linear(channels[1], end_c)
        self.tc1_ln = nn.LayerNorm([n_vertex, channels[0]])
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.tmp_conv1(x)
        x = self.tc1_ln(x.permute(0, 2, 3, 1))
        x = self.fc2(self.relu(self.fc1(x))).permute(0, 3, 1, 2)
        return x


class STGCNGraphConv(nn.Module):
    def __init__(self, kt=3, blocks=((1,), (16, 8, 16), (16, 8, 16), (32, 32), (1,)), droprate=0.5):
        super().__init__()
        modules = [STConvBlock(kt, N_VERTEX, blocks[i][-1], blocks[i + 1], gso, droprate)
                   for i in range(len(blocks) - 3)]
        self.st_blocks = nn.Sequential(*modules)
        ko = N_HIS - (len(blocks) - 3) * 2 * (kt - 1)
        self.output = OutputBlock(ko, blocks[-3][-1], blocks[-2], blocks[-1][0], N_VERTEX)

    def forward(self, x):
        return self.output(self.st_blocks(x))


model = STGCNGraphConv()
loss = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.001, weight_decay=0.001, amsgrad=False)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.95)


@torch.no_grad()
def val():
    model.eval()
    l_sum, n = 0.0, 0
    for x, y in val_iter:
        y_pred = model(x).view(len(x), -1)
        l_sum += loss(y_pred, y).item() * y.shape[0]
        n += y.shape[0]
    return l_sum / n


for epoch in range(12):
    l_sum, n = 0.0, 0
    model.train()
    for x, y in train_iter:
        y_pred = model(x).view(len(x), -1)
        l = loss(y_pred, y)
        optimizer.zero_grad()
        l.backward()
        optimizer.step()
        scheduler.step()
        l_sum += l.item() * y.shape[0]
        n += y.shape[0]
    val_loss = val()
    print(f"Epoch: {epoch:03d} | Lr: {optimizer.param_groups[0]['lr']:.20f} |"
          f"Train loss: {l_sum / n:.6f} | Val loss: {val_loss:.6f}")
