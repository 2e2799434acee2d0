# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905, UP035, UP006, F401  (the threads' own idioms kept)
"""Marcovaldong/lstmp.pytorch#2 (https://github.com/Marcovaldong/lstmp.pytorch/issues/2):
lstmp.py's LSTMPCell and LSTMPLayer stacked twice into a frame classifier, trained as the poster
trains it after the thread (see bench/fresh26/README.md). The twin of s05."""

import math
from typing import List, Tuple

import numpy as np
import torch
import torch.jit as jit
from torch import Tensor
from torch.nn import Parameter, init

torch.manual_seed(0)
np.random.seed(0)


class LSTMPCell(jit.ScriptModule):
    def __init__(self, input_size, hidden_size, projection_size):
        super(LSTMPCell, self).__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.projection_size = projection_size
        self.weight_ih = Parameter(torch.randn(4 * hidden_size, input_size))
        self.weight_hh = Parameter(torch.randn(4 * hidden_size, projection_size))
        self.weight_hr = Parameter(torch.randn(projection_size, hidden_size))
        self.bias_ih = Parameter(torch.randn(4 * hidden_size))
        self.bias_hh = Parameter(torch.randn(4 * hidden_size))
        self.init_weights()

    @jit.script_method
    def forward(self, input, state):
        # type: (Tensor, Tuple[Tensor, Tensor]) -> Tuple[Tensor, Tuple[Tensor, Tensor]]
        hx, cx = state
        gates = (torch.mm(input, self.weight_ih.t()) + self.bias_ih +
                 torch.mm(hx, self.weight_hh.t()) + self.bias_hh)
        ingate, forgetgate, cellgate, outgate = gates.chunk(4, 1)

        ingate = torch.sigmoid(ingate)
        forgetgate = torch.sigmoid(forgetgate)
        cellgate = torch.tanh(cellgate)
        outgate = torch.sigmoid(outgate)

        cy = (forgetgate * cx) + (ingate * cellgate)
        hy = outgate * torch.tanh(cy)
        hy = torch.mm(hy, self.weight_hr.t())

        return hy, (hy, cy)

    def init_weights(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        init.uniform_(self.weight_ih, -stdv, stdv)
        init.uniform_(self.weight_hh, -stdv, stdv)
        init.uniform_(self.weight_hr, -stdv, stdv)
        init.uniform_(self.bias_ih)
        init.uniform_(self.bias_hh)


class LSTMPLayer(jit.ScriptModule):
    def __init__(self, input_size, hidden_size, projection_size):
        super(LSTMPLayer, self).__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.projection_size = projection_size
        self.cell = LSTMPCell(input_size=input_size, hidden_size=hidden_size, projection_size=projection_size)

    @jit.script_method
    def forward(self, input, state):
        # type: (Tensor, Tuple[Tensor, Tensor]) -> Tuple[Tensor, Tuple[Tensor, Tensor]]
        inputs = input.unbind(0)
        outputs = torch.jit.annotate(List[Tensor], [])
        for i in range(len(inputs)):
            out, state = self.cell(inputs[i], state)
            outputs += [out]
        return torch.stack(outputs), state


class FrameClassifier(torch.nn.Module):
    def __init__(self, input_size=40, hidden_size=256, projection_size=64, num_classes=24):
        super().__init__()
        self.hidden_size, self.projection_size = hidden_size, projection_size
        self.layer1 = LSTMPLayer(input_size, hidden_size, projection_size)
        self.layer2 = LSTMPLayer(projection_size, hidden_size, projection_size)
        self.output = torch.nn.Linear(projection_size, num_classes)

    def init_state(self, x):
        hx = x.new_zeros(x.size(1), self.projection_size, requires_grad=False)
        cx = x.new_zeros(x.size(1), self.hidden_size, requires_grad=False)
        return (hx, cx)

    def forward(self, x):
        h1, _ = self.layer1(x, self.init_state(x))
        h2, _ = self.layer2(h1, self.init_state(x))
        return self.output(h2)  # (time, batch, classes)


NUM_CLASSES, FEAT, FRAMES = 24, 40, 300
class_means = torch.randn(NUM_CLASSES, FEAT) * 1.5


def make_utterances(n, rng):
    xs, ys = [], []
    for _ in range(n):
        bounds = np.sort(rng.choice(np.arange(10, FRAMES - 10), size=14, replace=False))
        labels = np.zeros(FRAMES, dtype=np.int64)
        start = 0
        for end in list(bounds) + [FRAMES]:
            labels[start:end] = rng.integers(NUM_CLASSES)
            start = end
        y = torch.from_numpy(labels)
        x = class_means[y] + torch.randn(FRAMES, FEAT)
        xs.append(x)
        ys.append(y)
    return torch.stack(xs, dim=1), torch.stack(ys, dim=1)  # time-major


rng = np.random.default_rng(0)
train_x, train_y = make_utterances(96, rng)
valid_x, valid_y = make_utterances(16, rng)

model = FrameClassifier()
criterion = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
batch_size = 8

for epoch in range(6):
    model.train()
    order = torch.randperm(train_x.size(1))
    total = 0.0
    for start in range(0, train_x.size(1), batch_size):
        idx = order[start:start + batch_size]
        x, y = train_x[:, idx], train_y[:, idx]
        optimizer.zero_grad()
        logits = model(x)
        loss = criterion(logits.reshape(-1, NUM_CLASSES), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item()
    model.eval()
    with torch.no_grad():
        val_logits = model(valid_x)
        val_loss = criterion(val_logits.reshape(-1, NUM_CLASSES), valid_y.reshape(-1)).item()
        acc = (val_logits.argmax(-1) == valid_y).float().mean().item()
    print("epoch %d  train loss %.4f  valid loss %.4f  frame acc %.3f" % (epoch, total / (train_x.size(1) // batch_size), val_loss, acc))
