# lossdoctor-expect: over_regularized
# source: https://github.com/hunkim/DeepLearningZeroToAll/issues/204
# answer: tf.layers.dropout's rate is the fraction dropped, not keep_prob; rate=0.7 drops 70% of the units after every layer, so it should be 0.3 (with 0.3 kept, too many units are dropped and performance is bad)
# ruff: noqa: E501
"""Lab 11-4's MNIST CNN written with layers (three conv + max-pool blocks of 32, 64 and 128
filters, a 625-unit dense layer, dropout after each block and the dense layer, Adam at 0.001,
batches of 100), ported to PyTorch: `nn.Dropout(p)` takes the drop rate as `tf.layers.dropout`
does, and the lab's 0.7 (meant as the keep probability) drops 70%. Synthetic 28x28 digits:
each class is a fixed stroke pattern, placed with a random shift and noise."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
DROPOUT_RATE = 0.7


def make_digits(n, n_class=10, size=28):
    prototypes = (torch.rand(n_class, 1, 20, 20) < 0.25).float()
    labels = torch.randint(0, n_class, (n,))
    images = 0.3 * torch.randn(n, 1, size, size)
    shifts = torch.randint(0, size - 20, (n, 2))
    for i in range(n):
        dy, dx = shifts[i].tolist()
        images[i, :, dy:dy + 20, dx:dx + 20] += prototypes[labels[i]]
    return images, labels


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        def block(c_in, c_out):
            return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True), nn.Dropout(DROPOUT_RATE))
        self.features = nn.Sequential(block(1, 32), block(32, 64), block(64, 128))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(128 * 4 * 4, 625), nn.ReLU(), nn.Dropout(DROPOUT_RATE), nn.Linear(625, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


images, labels = make_digits(2400)
train_loader = DataLoader(TensorDataset(images[:2000], labels[:2000]), batch_size=100, shuffle=True)
val_x, val_y = images[2000:], labels[2000:]

model = Model()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.001)

for epoch in range(6):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        cost = criterion(model(x), y)
        cost.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        logits = model(val_x)
        val_cost = criterion(logits, val_y).item()
        accuracy = (logits.argmax(1) == val_y).float().mean().item()
    print(f"Epoch: {epoch + 1:04d} cost = {cost.item():.6f} val cost = {val_cost:.6f} accuracy = {accuracy:.3f}")
