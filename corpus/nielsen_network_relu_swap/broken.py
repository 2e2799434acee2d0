# lossdoctor-expect: lr_too_high, bad_init
# source: https://github.com/MichalDanielDobrzanski/DeepLearningPython/issues/13
# answer: after swapping sigmoid for ReLU the [784, 30, 10] network is stuck at chance; use a learning rate of 0.01 and initialize the weights and biases much smaller (x 0.1)
# ruff: noqa: E501
"""Nielsen's network.py ([784, 30, 10], weights and biases drawn from N(0, 1), quadratic cost,
mini-batches of 10, eta 3.0) with its sigmoid replaced by ReLU everywhere, ported to PyTorch
tensors, on MNIST-shaped digits in [0, 1]."""

import torch
import torch.nn.functional as F

torch.manual_seed(0)

sizes, eta, mini_batch_size = [784, 30, 10], 3.0, 10

strokes = (torch.rand(10, 1, 7, 7) > 0.6).float()
prototypes = F.interpolate(strokes, size=(28, 28), mode="bilinear", align_corners=False).view(10, 784)
labels = torch.randint(0, 10, (3000,))
images = (prototypes[labels] + 0.3 * torch.randn(3000, 784)).clamp(0, 1)
training_data, test_data = (images[:2500], labels[:2500]), (images[2500:], labels[2500:])

weights = [torch.randn(y, x).requires_grad_() for x, y in zip(sizes[:-1], sizes[1:], strict=True)]
biases = [torch.randn(y).requires_grad_() for y in sizes[1:]]
optimizer = torch.optim.SGD(weights + biases, lr=eta)


def relu(z):
    return z * (z > 0)


def feedforward(a):
    for w, b in zip(weights, biases, strict=True):
        a = relu(a @ w.T + b)
    return a


def quadratic_cost(output, y):
    return 0.5 * ((output - F.one_hot(y, 10).float()) ** 2).sum(dim=1).mean()


for j in range(4):
    order = torch.randperm(2500)
    for k in range(0, 2500, mini_batch_size):
        batch = order[k:k + mini_batch_size]
        optimizer.zero_grad()
        cost = quadratic_cost(feedforward(training_data[0][batch]), training_data[1][batch])
        cost.backward()
        optimizer.step()
    with torch.no_grad():
        output = feedforward(test_data[0])
        correct = int((output.argmax(1) == test_data[1]).sum())
        test_cost = quadratic_cost(output, test_data[1]).item()
    print(f"Epoch {j}: {correct} / {len(test_data[1])}, test cost {test_cost:.4f}")
