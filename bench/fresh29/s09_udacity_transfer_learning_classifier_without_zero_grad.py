# lossdoctor-expect: missing_zero_grad
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""udacity/deep-learning-v2-pytorch#160 (https://github.com/udacity/deep-learning-v2-pytorch/pull/160),
a change to the Transfer Learning notebook. The notebook (intro-to-pytorch, Part 8 - Transfer
Learning) freezes a DenseNet-121's features (param.requires_grad = False), replaces
model.classifier with nn.Sequential(Linear(1024, 256), ReLU, Dropout(0.2), Linear(256, 2),
LogSoftmax(dim=1)), trains it with NLLLoss and optim.Adam(model.classifier.parameters(), lr=0.003)
on batches of 64, and every 5 steps prints the running train loss, the test loss and the test
accuracy (model.eval() under torch.no_grad(), then model.train()). Here the same loop as the
notebook stood before that change, on a DenseNet-shaped feature extractor built in the script (two
small dense blocks of BatchNorm-ReLU-Conv layers and a 1x1 convolution to 1024 channels, frozen,
its weights random: no torchvision and no download of the ImageNet weights here) and 2400
synthetic 16x16 "cat" and "dog" images (random flips), 256 test images, 2 epochs."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)


class DenseLayer(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.norm = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, growth, 3, padding=1, bias=False)

    def forward(self, x):
        return torch.cat([x, self.conv(F.relu(self.norm(x)))], 1)


class Transition(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, cout, 1, bias=False), nn.AvgPool2d(2))


class DenseNetShaped(nn.Module):
    def __init__(self):
        super().__init__()
        layers = [nn.Conv2d(3, 32, 3, padding=1, bias=False)]
        c = 32
        for block in range(2):
            for _ in range(3):
                layers.append(DenseLayer(c, 16))
                c += 16
            if block < 1:
                layers.append(Transition(c, c // 2))
                c //= 2
        layers += [nn.BatchNorm2d(c), nn.Conv2d(c, 1024, 1, bias=False)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(1024, 1000)

    def forward(self, x):
        features = self.features(x)
        out = F.relu(features, inplace=True)
        out = F.adaptive_avg_pool2d(out, (1, 1)).flatten(1)
        return self.classifier(out)


class CatsDogs(Dataset):
    def __init__(self, n, seed, train):
        rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[0:16, 0:16] / 15.0
        self.labels = rng.integers(0, 2, size=n)
        self.images = []
        for label in self.labels:
            base = rng.normal(0, 1, size=(3, 16, 16)) * 0.8
            if label == 0:
                base[0] += 1.0 * np.sin(6 * xx)
            else:
                base[2] += 1.0 * np.sin(6 * yy)
            self.images.append(base.astype(np.float32))
        self.train = train

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        img = self.images[i]
        if self.train and np.random.rand() < 0.5:
            img = img[:, :, ::-1].copy()
        return torch.from_numpy(img), int(self.labels[i])


np.random.seed(0)
trainloader = DataLoader(CatsDogs(2400, 1, True), batch_size=64, shuffle=True)
testloader = DataLoader(CatsDogs(256, 2, False), batch_size=64)

device = torch.device("cpu")
model = DenseNetShaped()

# Freeze parameters so we don't backprop through them
for param in model.parameters():
    param.requires_grad = False

model.classifier = nn.Sequential(nn.Linear(1024, 256),
                                 nn.ReLU(),
                                 nn.Dropout(0.2),
                                 nn.Linear(256, 2),
                                 nn.LogSoftmax(dim=1))

criterion = nn.NLLLoss()

# Only train the classifier parameters, feature parameters are frozen
optimizer = optim.Adam(model.classifier.parameters(), lr=0.003)

model.to(device)

epochs = 2
steps = 0
running_loss = 0
print_every = 5
for epoch in range(epochs):
    for inputs, labels in trainloader:
        steps += 1
        # Move input and label tensors to the default device
        inputs, labels = inputs.to(device), labels.to(device)

        logps = model.forward(inputs)
        loss = criterion(logps, labels)
        loss.backward()
        optimizer.step()

        running_loss += loss.item()

        if steps % print_every == 0:
            test_loss = 0
            accuracy = 0
            model.eval()
            with torch.no_grad():
                for inputs, labels in testloader:
                    inputs, labels = inputs.to(device), labels.to(device)
                    logps = model.forward(inputs)
                    batch_loss = criterion(logps, labels)

                    test_loss += batch_loss.item()

                    # Calculate accuracy
                    ps = torch.exp(logps)
                    top_p, top_class = ps.topk(1, dim=1)
                    equals = top_class == labels.view(*top_class.shape)
                    accuracy += torch.mean(equals.type(torch.FloatTensor)).item()

            print(f"Epoch {epoch+1}/{epochs}.. "
                  f"Train loss: {running_loss/print_every:.3f}.. "
                  f"Test loss: {test_loss/len(testloader):.3f}.. "
                  f"Test accuracy: {accuracy/len(testloader):.3f}")
            running_loss = 0
            model.train()
