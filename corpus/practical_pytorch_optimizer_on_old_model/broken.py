# lossdoctor-expect: frozen_params
# source: https://github.com/spro/practical-pytorch/issues/9
# answer: the model is instantiated twice, and the optimizer holds the parameters of the first instance, so the model being trained never changes; build the optimizer after the second instantiation
# ruff: noqa: E501, UP008
"""practical-pytorch's char-RNN name classifier (i2h / i2o linear layers, LogSoftmax, NLLLoss,
one name per step) switched to torch.optim.SGD(lr=0.005); the notebook creates `rnn` once near
the class definition, builds the optimizer, and creates `rnn` again before the training loop."""

import string

import torch
import torch.nn as nn

torch.manual_seed(0)

all_letters = string.ascii_lowercase
n_letters = len(all_letters)
n_categories = 6
letter_weights = torch.rand(n_categories, n_letters) ** 8


def random_training_pair():
    category = torch.randint(0, n_categories, (1,))
    length = torch.randint(4, 9, (1,)).item()
    letters = torch.multinomial(letter_weights[category.item()], length, replacement=True)
    line_tensor = torch.zeros(length, 1, n_letters)
    line_tensor[torch.arange(length), 0, letters] = 1
    return category, line_tensor


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(input_size + hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        combined = torch.cat((input, hidden), 1)
        hidden = self.i2h(combined)
        output = self.i2o(combined)
        output = self.softmax(output)
        return output, hidden

    def init_hidden(self):
        return torch.zeros(1, self.hidden_size)


n_hidden = 128
rnn = RNN(n_letters, n_hidden, n_categories)

learning_rate = 0.005
optimizer = torch.optim.SGD(rnn.parameters(), lr=learning_rate)
criterion = nn.NLLLoss()


def train(category_tensor, line_tensor):
    rnn.zero_grad()
    hidden = rnn.init_hidden()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    loss = criterion(output, category_tensor)
    loss.backward()
    optimizer.step()
    return output, loss.item()


rnn = RNN(n_letters, n_hidden, n_categories)

n_epochs, print_every = 1500, 250
current_loss = 0.0
for epoch in range(1, n_epochs + 1):
    category_tensor, line_tensor = random_training_pair()
    output, loss = train(category_tensor, line_tensor)
    current_loss += loss
    if epoch % print_every == 0:
        print(f"{epoch} {epoch / n_epochs * 100:.0f}% average loss {current_loss / print_every:.4f}")
        current_loss = 0.0
