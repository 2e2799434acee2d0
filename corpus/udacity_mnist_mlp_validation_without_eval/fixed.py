# lossdoctor-expect:
# source: https://github.com/udacity/deep-learning-v2-pytorch/issues/3
# fix: model.train() before the training loop and model.eval() before validating, as the course now does
# ruff: noqa: E501
"""The course's mnist_mlp_solution_with_validation (784 -> 512 -> 512 -> 10, ReLU, dropout 0.2,
SGD lr 0.01, batches of 20, 20% validation split) on synthetic MNIST-shaped digits; fixed:
model.train() for training, model.eval() for validation."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

strokes = (torch.rand(10, 1, 7, 7) > 0.6).float()
prototypes = F.interpolate(strokes, size=(28, 28), mode="bilinear", align_corners=False)
labels = torch.randint(0, 10, (2000,))
images = ((prototypes[labels] + 0.9 * torch.randn(2000, 1, 28, 28)).clamp(0, 1) - 0.5) / 0.5

train_loader = DataLoader(TensorDataset(images[:1600], labels[:1600]), batch_size=20, shuffle=True)
valid_loader = DataLoader(TensorDataset(images[1600:], labels[1600:]), batch_size=20)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, 512)
        self.fc2 = nn.Linear(512, 512)
        self.fc3 = nn.Linear(512, 10)
        self.dropout = nn.Dropout(0.2)

    def forward(self, x):
        x = x.view(-1, 28 * 28)
        x = self.dropout(F.relu(self.fc1(x)))
        x = self.dropout(F.relu(self.fc2(x)))
        return self.fc3(x)


model = Net()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

for epoch in range(5):
    train_loss, valid_loss = 0.0, 0.0
    model.train()
    for data, target in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(data), target)
        loss.backward()
        optimizer.step()
        train_loss += loss.item() * data.size(0)
    model.eval()
    for data, target in valid_loader:
        loss = criterion(model(data), target)
        valid_loss += loss.item() * data.size(0)
    print(f"Epoch: {epoch + 1} \tTraining Loss: {train_loss / 1600:.6f} \tValidation Loss: {valid_loss / 400:.6f}")
