# lossdoctor-expect:
# source: https://github.com/pytorch/pytorch/issues/2623
# fix: clip the gradient norm before the update, torch.nn.utils.clip_grad_norm_(rnn.parameters(), 0.25)
# ruff: noqa: E501, UP008
"""The char_rnn_classification tutorial's RNN (hidden = i2h(cat(input, hidden)), no squashing,
LogSoftmax output, NLLLoss, a hand-written SGD update) applied to long strings, trained in
mini-batches of 32 strings of 50 characters; fixed: the gradient norm is clipped to 0.25."""

import string

import torch
import torch.nn as nn

torch.manual_seed(0)

all_letters = string.ascii_letters + " .,;'"
n_letters, n_categories = len(all_letters), 8
letter_weights = torch.rand(n_categories, n_letters) ** 6
batch_size, line_length, learning_rate = 32, 50, 0.1


def random_batch():
    category_tensor = torch.randint(0, n_categories, (batch_size,))
    letters = torch.multinomial(letter_weights[category_tensor], line_length, replacement=True)
    line_tensor = torch.zeros(line_length, batch_size, n_letters)
    line_tensor[torch.arange(line_length)[:, None], torch.arange(batch_size)[None, :], letters.T] = 1
    return category_tensor, line_tensor


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

    def init_hidden(self, batch):
        return torch.zeros(batch, self.hidden_size)


rnn = RNN(n_letters, 128, n_categories)
criterion = nn.NLLLoss()


def train(category_tensor, line_tensor):
    hidden = rnn.init_hidden(line_tensor.size(1))
    rnn.zero_grad()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    loss = criterion(output, category_tensor)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(rnn.parameters(), 0.25)
    for p in rnn.parameters():
        p.data.add_(p.grad.data, alpha=-learning_rate)
    return output, loss.item()


current_loss = 0.0
for iteration in range(1, 251):
    output, loss = train(*random_batch())
    current_loss += loss
    if iteration % 25 == 0:
        print(f"{iteration} average loss {current_loss / 25:.4f}")
        current_loss = 0.0
