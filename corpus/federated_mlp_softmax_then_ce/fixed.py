# lossdoctor-expect:
# source: https://github.com/shaoxiongji/federated-learning/issues/9
# fix: return the logits (no softmax) and let cross entropy apply it
# ruff: noqa: E501
"""The repository's MLP baseline (784 -> 200 -> 10, dropout); fixed: it returns logits trained centrally
with cross entropy and SGD (lr 0.01, momentum 0.5) on MNIST-shaped digits (synthetic here)."""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def make_digits(n, prototypes):
    labels = torch.randint(0, 10, (n,))
    images = prototypes[labels] + 1.2 * torch.randn(n, 1, 28, 28)
    images = images.clamp(0, 1)
    return (images - 0.1307) / 0.3081, labels


strokes = torch.rand(10, 1, 7, 7) > 0.6
prototypes = F.interpolate(strokes.float(), size=(28, 28), mode="bilinear", align_corners=False)
train_x, train_y = make_digits(3000, prototypes)
test_x, test_y = make_digits(1000, prototypes)
train_loader = DataLoader(TensorDataset(train_x, train_y), batch_size=64, shuffle=True)
test_loader = DataLoader(TensorDataset(test_x, test_y), batch_size=500)


class MLP(nn.Module):
    def __init__(self, dim_in, dim_hidden, dim_out):
        super().__init__()
        self.layer_input = nn.Linear(dim_in, dim_hidden)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout()
        self.layer_hidden = nn.Linear(dim_hidden, dim_out)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        x = x.view(-1, x.shape[1] * x.shape[-2] * x.shape[-1])
        x = self.layer_input(x)
        x = self.dropout(x)
        x = self.relu(x)
        x = self.layer_hidden(x)
        return x


net = MLP(dim_in=784, dim_hidden=200, dim_out=10)
optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.5)

for epoch in range(5):
    net.train()
    for data, target in train_loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(net(data), target)
        loss.backward()
        optimizer.step()
    net.eval()
    test_loss, correct = 0.0, 0
    with torch.no_grad():
        for data, target in test_loader:
            log_probs = net(data)
            test_loss += F.cross_entropy(log_probs, target, reduction="sum").item()
            correct += (log_probs.argmax(dim=1) == target).sum().item()
    print(f"epoch {epoch} test loss {test_loss / 1000:.4f} accuracy {correct / 10:.1f}%")
