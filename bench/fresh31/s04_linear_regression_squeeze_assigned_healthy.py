# lossdoctor-expect:
# ruff: noqa: E501, E731, UP008, UP031, UP032  (the threads' own idioms kept)
# source: https://discuss.pytorch.org/t/why-the-model-fail-to-converge-without-a-manul-weight-initialization/50431
"""discuss.pytorch.org, "Why the model fail to converge without a manul weight initialization?",
with the forward's squeeze kept: s03 with `x = x.squeeze()` in place of the bare `x.squeeze()`, so
the model's output has the target's shape (a batch of 100 numbers) without the reporter's manual
initialization line. The mapping rests on the code: the stored page ends before any reply. One
bias-free Linear(2, 1) on y = 5 * x1 + 3 * x2 + noise with the inputs scaled by 100, 10000
samples, 30 epochs of batch 100, MSELoss, RMSprop at its default learning rate, seeded, no
validation set as in the thread."""

import numpy as np
import torch

torch.manual_seed(0)
np.random.seed(0)


class Net(torch.nn.Module):

    def __init__(self, input_dim, output_dim):
        super(Net, self).__init__()
        self.layer1 = torch.nn.Linear(input_dim, output_dim, bias=False)

    def forward(self, x):
        x = self.layer1(x)
        x = x.squeeze()
        return x

# generate data using the linear regression setup y = 5 * x1 + 3 * x2


sample_size = 10000
input_dim = 2
output_dim = 1
epoch = 30
bs = 100

data = np.random.randn(sample_size, 3)
data[:, :2] = data[:, :2] * 100
# add a normal noise term
data[:, 2] = 5 * data[:, 0] + 3 * data[:, 1] + np.random.randn(sample_size)
data = torch.Tensor(data)
train_x = data[:, :input_dim]
train_y = data[:, input_dim]

net = Net(input_dim, output_dim)
net.zero_grad()
criterion = torch.nn.MSELoss()
optimizer = torch.optim.RMSprop(net.parameters())

for i in range(epoch):
    for j in range(sample_size // bs):
        x = train_x[j * bs:(j + 1) * bs]
        y = train_y[j * bs:(j + 1) * bs]
        optimizer.zero_grad()
        output = net(x)
        loss = criterion(output, y)
        loss.backward()
        optimizer.step()
    print('epoch {}, loss {}'.format(i, loss.item()))

print('weight', net.layer1.weight.data.view(-1).tolist())
