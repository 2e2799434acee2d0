# lossdoctor-expect:
"""TrainCheck's fixed version of Stack Overflow 60335387 (OrderLab/TrainCheck-Evaluation-Workloads,
silent-issue-detection/bug-reprod-scripts/stackoverflow-60335387/fixed.py): the MNIST CNN, Adam
at 1e-4, batch size 30, on small synthetic 28x28 digits made here (no download), 4 epochs."""

import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset


def make_digits(n, seed, classes=10, size=28):
    """n grey images (uint8, like MNIST's) of `classes` stroke patterns, shifted and noisy."""
    rng = np.random.default_rng(1234)  # the same patterns for every split
    patterns = np.zeros((classes, size + 8, size + 8), dtype=np.float32)
    for c in range(classes):
        for _ in range(3):
            x0, y0, x1, y1 = rng.uniform(8, size, 4)
            for t in np.linspace(0, 1, 40):
                x, y = int(x0 + t * (x1 - x0)), int(y0 + t * (y1 - y0))
                patterns[c, y - 1:y + 2, x - 1:x + 2] = 1.0
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    images = np.empty((n, size, size), dtype=np.uint8)
    for i, c in enumerate(labels):
        dx, dy = rng.integers(0, 9, 2)
        img = patterns[c, dy:dy + size, dx:dx + size] * rng.uniform(0.6, 1.0)
        img = img + rng.normal(0, 0.25, img.shape)
        images[i] = (np.clip(img, 0, 1) * 255).astype(np.uint8)
    return images, labels


class TinyMNIST(Dataset):
    """Stands in for torchvision.datasets.MNIST with ToTensor() and Normalize((0.1307,), (0.3081,))."""

    def __init__(self, train):
        self.data, self.targets = make_digits(2000 if train else 500, seed=1 if train else 2)

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        img = torch.tensor(self.data[index], dtype=torch.float32).unsqueeze(0) / 255.0
        return (img - 0.1307) / 0.3081, int(self.targets[index])


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.fc2(x)
        # output = F.log_softmax(x, dim=1)
        return x


def evaluate(model, data_loader, criterion, device):
    model.eval()
    total_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in data_loader:
            data, target = data.to(device, non_blocking=True), target.to(device, non_blocking=True)
            output = model(data)
            total_loss += criterion(output, target).item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()

    total_loss /= len(data_loader.dataset)
    accuracy = 100. * correct / len(data_loader.dataset)
    return total_loss, accuracy


torch.manual_seed(0)
device = "cpu"

train_set = TinyMNIST(train=True)
test_set = TinyMNIST(train=False)

batch_size = 30  # Use the same batch size for both training and testing

train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True)
test_loader = DataLoader(test_set, batch_size=batch_size, shuffle=False)

model = Net().to(device)
criterion = nn.CrossEntropyLoss()

config = {
    "learning_rate": 1e-4,
    "num_epoch": 4,
    "output": "result_stats"
}

learning_rate = config.get('learning_rate')
optimizer = optim.Adam(model.parameters(), lr=learning_rate)
epochs = config.get('num_epoch')

results = {
    'train_loss': [],
    'train_accuracy': [],
    'validation_loss': [],
    'validation_accuracy': []
}

for epoch in range(epochs):
    model.train()
    running_loss = 0.0
    correct = 0
    total = 0
    for batch_idx, (data, label) in enumerate(train_loader):
        data, label = data.to(device), label.to(device)
        optimizer.zero_grad()  # Clear previous gradients
        pred_score = model(data)
        loss = criterion(pred_score, label)
        loss.backward()
        optimizer.step()

        running_loss += loss.item()
        _, pred = pred_score.topk(1)
        pred = pred.t().squeeze()
        correct += pred.eq(label).sum().item()
        total += label.size(0)

        if batch_idx % 200 == 0:
            print('epoch', epoch, batch_idx, '/', len(train_loader), 'loss', loss.item())

    train_loss = running_loss / len(train_loader)
    train_accuracy = 100. * correct / total
    print(f'\nTrain set: Average loss: {train_loss:.4f}, Accuracy: {correct}/{total} ({train_accuracy:.0f}%)\n')

    validation_loss, validation_accuracy = evaluate(model, test_loader, criterion, device=device)
    print(f'Validation set: Average loss: {validation_loss:.4f}, Accuracy: {validation_accuracy:.0f}%')

    results['train_loss'].append(train_loss)
    results['train_accuracy'].append(train_accuracy)
    results['validation_loss'].append(validation_loss)
    results['validation_accuracy'].append(validation_accuracy)

print(json.dumps(results))
