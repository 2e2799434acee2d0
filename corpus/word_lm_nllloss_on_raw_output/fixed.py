# lossdoctor-expect:
# source: https://github.com/pytorch/examples/pull/732
# fix: the model returns F.log_softmax of the decoder output, so NLLLoss gets log-probabilities
# ruff: noqa: E501
"""pytorch/examples' word_language_model (embedding, LSTM, linear decoder; fixed: log_softmax before NLLLoss; plain SGD
lr 20 with clip 0.25; batchify + get_batch with bptt) on a small synthetic corpus drawn from a
Markov chain."""

import torch
import torch.nn as nn

torch.manual_seed(1111)

ntokens, bptt, batch_size, lr, clip = 50, 20, 10, 20.0, 0.25
transition = torch.softmax(3 * torch.randn(ntokens, ntokens), dim=1)


def corpus(length):
    tokens = [0]
    for _ in range(length - 1):
        tokens.append(torch.multinomial(transition[tokens[-1]], 1).item())
    return torch.tensor(tokens)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    return data[: nbatch * bsz].view(bsz, -1).t().contiguous()


def get_batch(source, i):
    seq_len = min(bptt, len(source) - 1 - i)
    return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].view(-1)


train_data = batchify(corpus(12000), batch_size)
val_data = batchify(corpus(2000), 10)


class RNNModel(nn.Module):
    def __init__(self, ntoken, ninp, nhid):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid)
        self.decoder = nn.Linear(nhid, ntoken)

    def forward(self, input, hidden):
        output, hidden = self.rnn(self.encoder(input), hidden)
        decoded = self.decoder(output).view(-1, self.decoder.out_features)
        return torch.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(1, bsz, self.rnn.hidden_size), weight.new_zeros(1, bsz, self.rnn.hidden_size))


def repackage_hidden(h):
    return tuple(v.detach() for v in h)


model = RNNModel(ntokens, 32, 64)
criterion = nn.NLLLoss()


def evaluate(data_source):
    model.eval()
    total_loss = 0.0
    hidden = model.init_hidden(10)
    with torch.no_grad():
        for i in range(0, data_source.size(0) - 1, bptt):
            data, targets = get_batch(data_source, i)
            output, hidden = model(data, hidden)
            hidden = repackage_hidden(hidden)
            total_loss += len(data) * criterion(output, targets).item()
    return total_loss / (len(data_source) - 1)


for epoch in range(1, 4):
    model.train()
    hidden = model.init_hidden(batch_size)
    for i in range(0, train_data.size(0) - 1, bptt):
        data, targets = get_batch(train_data, i)
        hidden = repackage_hidden(hidden)
        model.zero_grad()
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
    print(f"| end of epoch {epoch} | valid loss {evaluate(val_data):5.2f}")
