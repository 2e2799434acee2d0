# lossdoctor-expect:
# source: https://github.com/aymericdamien/TensorFlow-Examples/issues/270
# fix: apply ReLU after each hidden layer
# ruff: noqa: E501
"""TensorFlow-Examples' neural_network_raw (784 -> 256 -> 256 -> 10; fixed: ReLU after each
hidden layer, softmax cross entropy, Adam, batches of 128) ported to PyTorch with nn.Linear layers, on
MNIST-shaped inputs whose classes depend on sign patterns that no linear map separates."""

import torch
from torch import nn

torch.manual_seed(0)

num_input, n_hidden_1, n_hidden_2, num_classes = 784, 256, 256, 10
batch_size, num_steps, learning_rate = 128, 500, 1e-3


def make_data(n, mixing):
    latent = torch.randn(n, 6)
    signs = (latent[:, :4] > 0).long()
    code = (signs[:, 0] ^ signs[:, 1]) * 4 + (signs[:, 2] ^ signs[:, 3]) * 2 + (latent[:, 4] > 0).long()
    labels = code % num_classes
    return torch.sigmoid(latent @ mixing + 0.1 * torch.randn(n, num_input)), labels


mixing = torch.randn(6, num_input)
train_x, train_y = make_data(6000, mixing)
test_x, test_y = make_data(1000, mixing)


class NeuralNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.h1 = nn.Linear(num_input, n_hidden_1)
        self.h2 = nn.Linear(n_hidden_1, n_hidden_2)
        self.out = nn.Linear(n_hidden_2, num_classes)

    def forward(self, x):
        layer_1 = torch.relu(self.h1(x))
        layer_2 = torch.relu(self.h2(layer_1))
        return self.out(layer_2)


model = NeuralNet()
optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
loss_op = nn.CrossEntropyLoss()

for step in range(1, num_steps + 1):
    idx = torch.randint(0, len(train_x), (batch_size,))
    optimizer.zero_grad()
    loss = loss_op(model(train_x[idx]), train_y[idx])
    loss.backward()
    optimizer.step()
    if step % 100 == 0:
        with torch.no_grad():
            logits = model(test_x)
        acc = (logits.argmax(1) == test_y).float().mean().item()
        print(f"Step {step}, Minibatch Loss= {loss.item():.4f}, Test loss= {loss_op(logits, test_y).item():.4f}, "
              f"Testing Accuracy= {acc:.3f}")
