# lossdoctor-expect: label_range
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""codeplea/genann#54 (https://github.com/codeplea/genann/issues/54): "Example1 always shows 1 or
0, even when output is {3,4,5,6}". genann's example1.c trains a network with 2 inputs, one hidden
layer of 2 neurons and 1 output (genann_init(2, 1, 2, 1); sigmoid activations on the hidden and
output neurons, weights random in [-0.5, 0.5], squared error), by genann_train on each of the four
XOR inputs in turn, 500 times, with learning rate 3; the poster changed the outputs
{0, 1, 1, 0} to {3, 4, 5, 6}. Here the same network in PyTorch (nn.Linear(2, 2), nn.Sigmoid,
nn.Linear(2, 1), nn.Sigmoid, weights drawn as genann draws them), the same one-example-at-a-time
SGD at lr=3 on half the squared error, 500 rounds over the four inputs, the four outputs printed at
the end; no validation set (the training set is the whole problem)."""

import torch
import torch.nn as nn

torch.manual_seed(0)

input = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
output = torch.tensor([[3.0], [4.0], [5.0], [6.0]])

ann = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())
with torch.no_grad():
    for p in ann.parameters():
        p.uniform_(-0.5, 0.5)

optimizer = torch.optim.SGD(ann.parameters(), lr=3)

for i in range(500):
    for j in range(4):
        optimizer.zero_grad()
        err = 0.5 * ((ann(input[j:j + 1]) - output[j:j + 1]) ** 2).sum()
        err.backward()
        optimizer.step()
    if i % 100 == 0:
        with torch.no_grad():
            print("round %d  squared error %.4f" % (i, (0.5 * (ann(input) - output) ** 2).sum().item()))

with torch.no_grad():
    for j in range(4):
        print("Output for [%1.f, %1.f] is %1.f." % (input[j, 0], input[j, 1], ann(input[j:j + 1]).item()))
