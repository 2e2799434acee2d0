# lossdoctor-expect:
"""An MLP with dropout trained with Bjarten/early-stopping-pytorch's EarlyStopping class (its
MNIST example: two hidden layers of 512 with dropout 0.5, Adam, patience, the best checkpoint
kept in memory), on small synthetic 'digit' vectors.
Healthy (Bjarten/early-stopping-pytorch#18, 'Is it normal that the validation set loss is less
than the training set loss here?' - the maintainer: 'It's actually not an error ... Regularization
(like dropout) is applied during training but not during validation'): the validation loss sits
below the training loss because dropout is off in eval mode; nothing is wrong."""

import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset


class EarlyStopping:
    """Stops the training if the validation loss doesn't improve after a given patience."""

    def __init__(self, patience=7, verbose=False, delta=0):
        self.patience = patience
        self.verbose = verbose
        self.counter = 0
        self.best_val_loss = None
        self.early_stop = False
        self.val_loss_min = np.inf
        self.delta = delta
        self.best_state = None

    def __call__(self, val_loss, model):
        if self.best_val_loss is None or val_loss < self.best_val_loss - self.delta:
            self.best_val_loss = val_loss
            self.best_state = copy.deepcopy(model.state_dict())
            self.counter = 0
        else:
            self.counter += 1
            if self.counter >= self.patience:
                self.early_stop = True


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 512)
        self.fc2 = nn.Linear(512, 512)
        self.fc3 = nn.Linear(512, 10)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x):
        x = self.dropout(F.relu(self.fc1(x)))
        x = self.dropout(F.relu(self.fc2(x)))
        return self.fc3(x)


torch.manual_seed(0)
prototypes = torch.randn(10, 64)
labels = torch.randint(0, 10, (3000,))
inputs = prototypes[labels] + 1.3 * torch.randn(3000, 64)
train_loader = DataLoader(TensorDataset(inputs[:2000], labels[:2000]), batch_size=64, shuffle=True)
valid_loader = DataLoader(TensorDataset(inputs[2000:2500], labels[2000:2500]), batch_size=256)

model = Net()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters())
early_stopping = EarlyStopping(patience=4)
avg_train_losses, avg_valid_losses = [], []

for epoch in range(1, 16):
    model.train()
    train_losses = []
    for data, target in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(data), target)
        loss.backward()
        optimizer.step()
        train_losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        valid_losses = [criterion(model(data), target).item() for data, target in valid_loader]
    train_loss, valid_loss = np.average(train_losses), np.average(valid_losses)
    avg_train_losses.append(train_loss)
    avg_valid_losses.append(valid_loss)
    print(f"[{epoch}/15] train_loss: {train_loss:.5f} valid_loss: {valid_loss:.5f}")
    early_stopping(valid_loss, model)
    if early_stopping.early_stop:
        print("Early stopping")
        break

model.load_state_dict(early_stopping.best_state)
