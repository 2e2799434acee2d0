# lossdoctor-expect: validation_path
"""An MNIST-style MLP with a validation split, in the idiom of udacity/deep-learning-v2-pytorch's
mnist_mlp_solution_with_validation notebook (https://github.com/udacity/deep-learning-v2-pytorch/issues/129):
one training set split by two SubsetRandomSamplers (80/20), a 784-512-512-10 MLP (here 128
wide) with dropout 0.2,
CrossEntropyLoss, SGD(lr=0.01), losses summed as loss.item() * data.size(0).
Bug (the issue): both averages divide by len(loader.dataset), the whole training set, so the
validation loss is divided by 5x as many rows as it has and is reported far below the training loss.
The fix: divide by len(train_sampler) and len(valid_sampler).
Synthetic 28x28 'digits': ten fixed stroke templates, shifted and noised (no download)."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.sampler import SubsetRandomSampler

torch.manual_seed(0)
np.random.seed(0)
templates = (torch.rand(10, 28, 28) > 0.75).float()
labels = torch.randint(0, 10, (2000,))
images = templates[labels]
images = torch.roll(images, shifts=int(np.random.randint(-2, 3)), dims=2)
images = (images + 1.2 * torch.randn_like(images)).clamp(0, 1)
images = (images - 0.5) / 0.5
train_data = TensorDataset(images.unsqueeze(1), labels)

valid_size = 0.2
num_train = len(train_data)
indices = list(range(num_train))
np.random.shuffle(indices)
split = int(np.floor(valid_size * num_train))
train_idx, valid_idx = indices[split:], indices[:split]
train_sampler = SubsetRandomSampler(train_idx)
valid_sampler = SubsetRandomSampler(valid_idx)
train_loader = DataLoader(train_data, batch_size=20, sampler=train_sampler)
valid_loader = DataLoader(train_data, batch_size=20, sampler=valid_sampler)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, 128)
        self.fc2 = nn.Linear(128, 128)
        self.fc3 = nn.Linear(128, 10)
        self.dropout = nn.Dropout(0.2)

    def forward(self, x):
        x = x.view(-1, 28 * 28)
        x = F.relu(self.fc1(x))
        x = self.dropout(x)
        x = F.relu(self.fc2(x))
        x = self.dropout(x)
        return self.fc3(x)


model = Net()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

n_epochs = 5
for epoch in range(n_epochs):
    train_loss = 0.0
    valid_loss = 0.0
    model.train()
    for data, target in train_loader:
        optimizer.zero_grad()
        output = model(data)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        train_loss += loss.item() * data.size(0)
    model.eval()
    for data, target in valid_loader:
        output = model(data)
        loss = criterion(output, target)
        valid_loss += loss.item() * data.size(0)
    train_loss = train_loss / len(train_loader.dataset)
    valid_loss = valid_loss / len(valid_loader.dataset)
    print(f"Epoch: {epoch + 1} \tTraining Loss: {train_loss:.6f} "
          f"\tValidation Loss: {valid_loss:.6f}")
