# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""pytorch/tutorials#1624 (https://github.com/pytorch/tutorials/issues/1624), "[quickstart_tutorial]
why model.eval() in not turn off at training stage": the quickstart's test() calls model.eval()
and its train() never calls model.train(), so from the second epoch on the model trains in eval
mode (see also pytorch/tutorials#1602). Here the quickstart as it stood then (NeuralNetwork:
Flatten, Linear(784, 512), ReLU, Linear(512, 512), ReLU, Linear(512, 10); CrossEntropyLoss;
SGD(lr=1e-3); batch 64; 5 epochs; train() and test() as written) on 20000 synthetic 28x28
FashionMNIST-like images of 10 classes and 1000 test images (no download)."""

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def fashion_like(n, seed):
    rng = np.random.default_rng(seed)
    protos = np.random.default_rng(99).uniform(0, 1, size=(10, 28, 28)) > 0.6
    y = rng.integers(0, 10, size=n)
    x = 1.0 * protos[y] + rng.uniform(0, 0.3, size=(n, 28, 28))
    return TensorDataset(torch.tensor(np.clip(x, 0, 1), dtype=torch.float32).unsqueeze(1), torch.tensor(y))


training_data = fashion_like(20000, 1)
test_data = fashion_like(1000, 2)

batch_size = 64
train_dataloader = DataLoader(training_data, batch_size=batch_size, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=batch_size)

device = "cpu"
print(f"Using {device} device")


class NeuralNetwork(nn.Module):
    def __init__(self):
        super(NeuralNetwork, self).__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10)
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork().to(device)
print(model)

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)


def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)

        # Compute prediction error
        pred = model(X)
        loss = loss_fn(pred, y)

        # Backpropagation
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        if batch % 100 == 0:
            loss, current = loss.item(), batch * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")


epochs = 5
for t in range(epochs):
    print(f"Epoch {t+1}\n-------------------------------")
    train(train_dataloader, model, loss_fn, optimizer)
    test(test_dataloader, model, loss_fn)
print("Done!")
