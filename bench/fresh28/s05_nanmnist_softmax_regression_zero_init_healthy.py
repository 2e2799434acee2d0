# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""wagonhelm/NaNmnist#2 (https://github.com/wagonhelm/NaNmnist/issues/2): "Highly improper way of
weight initialization": the notebook's MNIST softmax regression (TensorFlow's "MNIST for ML
beginners": W = tf.Variable(tf.zeros([784, 10])), b = tf.Variable(tf.zeros([10])), y =
softmax(xW + b), cross-entropy, gradient descent at 0.5, 1000 steps of 100 images) starts from
all-zero weights, which the issue (quoting CS231n) calls a pitfall. Here the same
model and loop in PyTorch (W and b as zero tensors, torch.optim.SGD at 0.5) on 6000 synthetic
28x28 "digits" (ten stroke patterns, noise and shifts) and 1000 test images, the test loss and
accuracy every 200 steps."""

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)

templates = np.zeros((10, 28, 28), dtype=np.float32)
for k in range(10):
    for s in range(3):
        r0, c0 = rng.integers(4, 20, size=2)
        dr, dc = rng.integers(-1, 2, size=2)
        for t in range(8):
            r, c = np.clip(r0 + dr * t, 0, 27), np.clip(c0 + dc * t, 0, 27)
            templates[k, max(r - 1, 0):r + 2, max(c - 1, 0):c + 2] = 1.0


def make_digits(n):
    y = rng.integers(0, 10, size=n)
    x = np.empty((n, 28, 28), dtype=np.float32)
    for i, k in enumerate(y):
        shifted = np.roll(templates[k], tuple(rng.integers(-2, 3, size=2)), axis=(0, 1))
        x[i] = np.clip(shifted + rng.normal(0, 0.5, size=(28, 28)), 0, 1)
    return torch.from_numpy(x.reshape(n, 784)), torch.from_numpy(y)


train_images, train_labels = make_digits(6000)
test_images, test_labels = make_digits(1000)


def next_batch(step, batch_size=100):
    start = (step * batch_size) % len(train_images)
    return train_images[start:start + batch_size], train_labels[start:start + batch_size]


# Create the model
W = torch.zeros(784, 10, requires_grad=True)
b = torch.zeros(10, requires_grad=True)


def model(x):
    return x @ W + b


optimizer = torch.optim.SGD([W, b], lr=0.5)

for step in range(1000):
    batch_xs, batch_ys = next_batch(step)
    logits = model(batch_xs)
    cross_entropy = F.cross_entropy(logits, batch_ys)
    optimizer.zero_grad()
    cross_entropy.backward()
    optimizer.step()
    if step % 200 == 199:
        with torch.no_grad():
            test_logits = model(test_images)
            test_loss = F.cross_entropy(test_logits, test_labels).item()
            accuracy = (test_logits.argmax(1) == test_labels).float().mean().item()
        print("step %d train loss %.4f test loss %.4f test accuracy %.4f" % (step + 1, cross_entropy.item(), test_loss, accuracy))
