# lossdoctor-expect: shape_broadcast
# ruff: noqa: E501, E731, UP008, UP031, UP032  (the threads' own idioms kept)
# source: https://discuss.pytorch.org/t/why-the-model-fail-to-converge-without-a-manul-weight-initialization/50431
"""discuss.pytorch.org, "Why the model fail to converge without a manul weight initialization?":
"I am trying to create a most simple 1 linear layer network to fit a linear regression ... in my
model's init() method, I have to add a manual initialization step ... to have the model quickly
converge to my regression function ... Without this line, the model never converge, the training
loss just randomly oscillates in the range of hundreds of thousands. With this line, it quickly
decreases to near 1." The reporter's script: Net with one bias-free torch.nn.Linear(2, 1), a
forward that calls x.squeeze(), data y = 5 * x1 + 3 * x2 + noise with the inputs scaled by 100,
10000 samples, 30 epochs of batch 100, MSELoss and RMSprop. Here without the manual
initialization line (the run that "never converge"), seeded; the optimizer's arguments and the
loop after `torch.optim.RMSprop(ne...` were cut off in the stored page and are written in the
usual shape (RMSprop's default learning rate, consecutive batches, the last loss printed per
epoch). No validation set, as in the thread."""

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
        x.squeeze()
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
