# lossdoctor-expect: frozen_params
# ruff: noqa: E501
"""Channel pruning then fine-tuning, in the idiom of NNI's pruning examples
(https://github.com/microsoft/nni/issues/4521): a CNN is trained, its convolutions are pruned
to the channels with the largest L1 norms, and `speedup` replaces each pruned layer with a
smaller one holding the kept weights (written by hand here: NNI's ModelSpeedup does the same
replacement); fine-tuning then continues with the optimizer built before the pruning.
Bug (the maintainer's answer): "speedup_model() will replace the layers in the original model
with smaller ones ... So the parameters registered in the optimizer are outdated. You need to
update the parameters in the optimizer to the new ones, an easy way is reinitializing a new
optimizer" (the poster: "I solved this problem by redefining an optimizer"): the fine-tuning
steps update the old, detached layers, and the pruned model never recovers its accuracy."""

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
N_CLASSES = 6
templates = torch.randn(N_CLASSES, 1, 16, 16)


def make(n):
    y = torch.randint(0, N_CLASSES, (n,))
    return 0.5 * templates[y] + torch.randn(n, 1, 16, 16), y


x_train, y_train = make(1500)
x_val, y_val = make(400)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, N_CLASSES)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def train_epoch(model, optimizer):
    model.train()
    perm = torch.randperm(len(x_train))
    for i in range(0, len(perm), 32):
        idx = perm[i:i + 32]
        optimizer.zero_grad()
        F.cross_entropy(model(x_train[idx]), y_train[idx]).backward()
        optimizer.step()


def evaluate(model, tag):
    model.eval()
    with torch.no_grad():
        loss = F.cross_entropy(model(x_val), y_val).item()
    print(f"{tag}: validation loss {loss:.4f}")


def speedup_model(model, sparsity=0.75):
    """Keep the conv channels with the largest L1 norms; replace conv1, conv2 and fc1 by smaller
    layers holding the kept weights (what NNI's ModelSpeedup does after L1NormPruner)."""
    keep1 = model.conv1.weight.abs().sum((1, 2, 3)).argsort(descending=True)[:int(16 * (1 - sparsity))]
    keep2 = model.conv2.weight.abs().sum((1, 2, 3)).argsort(descending=True)[:int(32 * (1 - sparsity))]
    conv1 = nn.Conv2d(1, len(keep1), 3, padding=1)
    conv2 = nn.Conv2d(len(keep1), len(keep2), 3, padding=1)
    fc1 = nn.Linear(len(keep2) * 16, 64)
    with torch.no_grad():
        conv1.weight.copy_(model.conv1.weight[keep1])
        conv1.bias.copy_(model.conv1.bias[keep1])
        conv2.weight.copy_(model.conv2.weight[keep2][:, keep1])
        conv2.bias.copy_(model.conv2.bias[keep2])
        fc1.weight.copy_(model.fc1.weight.view(64, 32, 16)[:, keep2].reshape(64, -1))
        fc1.bias.copy_(model.fc1.bias)
    model.conv1, model.conv2, model.fc1 = conv1, conv2, fc1


model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
for epoch in range(3):
    train_epoch(model, optimizer)
    evaluate(model, f"pretrain epoch {epoch}")
speedup_model(model)
evaluate(model, "after speedup")
for epoch in range(6):
    train_epoch(model, optimizer)
    evaluate(model, f"finetune epoch {epoch}")
