# lossdoctor-expect: unnormalized_inputs
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""torch/demos#6 (https://github.com/torch/demos/pull/6): "the SGD example as written gave terrible
prediction accuracy". The demo logistic-regression/example-logistic-regression.lua fits a
multinomial logistic regression of the brand bought (1 to 3) on two features, `female` (0 or 1)
and `age` (24 to 38), as given: nn.Linear(2,3) and nn.LogSoftMax, ClassNLLCriterion, optim.sgd
one example at a time with learningRate 1e-3 and learningRateDecay 1e-4. Here the demo in PyTorch
(the thread is Lua Torch; the same modules), on 735 synthetic purchases drawn from a multinomial
logit in the two features, the demo's one-example-at-a-time loop, 10 epochs instead of 100, and
the accuracy on 300 held-out purchases at the end."""

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

torch.manual_seed(0)
rng = np.random.default_rng(0)


def make_purchases(n):
    females = rng.integers(0, 2, size=n).astype(np.float32)
    ages = rng.integers(24, 39, size=n).astype(np.float32)
    logits = np.stack([np.zeros(n), -11.8 + 0.52 * females + 0.37 * ages, -22.7 + 0.47 * females + 0.69 * ages], axis=1)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    brands = np.array([rng.choice(3, p=row) for row in p]) + 1
    return females, ages, brands


females, ages, brands = make_purchases(735)
dataset_inputs = torch.zeros(len(brands), 2)
dataset_inputs[:, 0] = torch.from_numpy(females)
dataset_inputs[:, 1] = torch.from_numpy(ages)
dataset_outputs = torch.from_numpy(brands).long()

test_females, test_ages, test_brands = make_purchases(300)
test_inputs = torch.stack([torch.from_numpy(test_females), torch.from_numpy(test_ages)], dim=1)
test_outputs = torch.from_numpy(test_brands).long()

linLayer = nn.Linear(2, 3)
softMaxLayer = nn.LogSoftmax(dim=-1)
model = nn.Sequential()
model.add_module("linear", linLayer)
model.add_module("logsoftmax", softMaxLayer)

criterion = nn.NLLLoss()

sgd_params = {
    "learningRate": 1e-3,
    "learningRateDecay": 1e-4,
    "weightDecay": 0,
    "momentum": 0,
}
optimizer = optim.SGD(model.parameters(), lr=sgd_params["learningRate"], momentum=sgd_params["momentum"], weight_decay=sgd_params["weightDecay"])
# optim.sgd: clr = learningRate / (1 + nevals * learningRateDecay)
scheduler = optim.lr_scheduler.LambdaLR(optimizer, lambda nevals: 1 / (1 + nevals * sgd_params["learningRateDecay"]))

epochs = 10

for i in range(epochs):
    current_loss = 0
    for n in range(len(dataset_inputs)):
        inputs = dataset_inputs[n:n + 1]
        target = dataset_outputs[n:n + 1] - 1  # brands 1..3 -> class indices
        optimizer.zero_grad()
        loss_x = criterion(model(inputs), target)
        loss_x.backward()
        optimizer.step()
        scheduler.step()
        current_loss = current_loss + loss_x.item()
    current_loss = current_loss / len(dataset_inputs)
    print("epoch = %d of %d current loss = %.4f" % (i + 1, epochs, current_loss))

with torch.no_grad():
    predicted = model(test_inputs).argmax(1) + 1
print("held-out accuracy %.3f (the most frequent brand alone: %.3f)" % ((predicted == test_outputs).float().mean().item(), max((test_outputs == b).float().mean().item() for b in (1, 2, 3))))
