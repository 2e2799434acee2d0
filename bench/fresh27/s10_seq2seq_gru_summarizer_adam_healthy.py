# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905, SIM210  (the threads' own idioms kept)
"""emalgorithm/structured-neural-summarization-replication#3
(https://github.com/emalgorithm/structured-neural-summarization-replication/issues/3): "[minor]
Replace SGD eventually". models/lstm_to_lstm_training.py at the time of the issue (the PyTorch
seq2seq tutorial's loop): an encoder (nn.Embedding, nn.GRU) and a decoder (nn.Embedding, relu,
nn.GRU, nn.Linear, nn.LogSoftmax) trained one pair at a time, `loss += criterion(decoder_output,
target_tensor[di])` over the target tokens with nn.NLLLoss, teacher forcing half of the time, the
decoder stopping at EOS when it feeds itself, `encoder_optimizer = optim.SGD(encoder.parameters(),
lr=learning_rate)` and the same for the decoder, learning_rate=0.01, training pairs drawn with
random.choice; models/lstm_to_lstm_full_training.py added an evaluation of the validation pairs
every print_every iterations. Here the same modules and loop on synthetic "method bodies" (6 to 9
tokens from a vocabulary of 40) whose "summary" is the three tokens that follow the marker token,
in order, then EOS; 1500 training and 100 validation pairs, 4000 iterations, the validation loss
every 500. This twin is the change the issue led to ("Changed to Adam!"): both optimizers
optim.Adam(..., lr=0.001), the learning rate of models/lstm_to_lstm_full_training.py."""

import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim

random.seed(0)
torch.manual_seed(0)
rng = np.random.default_rng(0)
device = torch.device("cpu")

SOS_token = 0
EOS_token = 1
MARKER = 2
VOCAB = 40
MAX_LENGTH = 12


def make_pair():
    n = int(rng.integers(6, 10))
    body = list(rng.integers(3, VOCAB, size=n))
    at = int(rng.integers(0, n - 3))
    body.insert(at, MARKER)
    summary = body[at + 1:at + 4]
    return body, summary


pairs = [make_pair() for _ in range(1600)]
train_pairs, val_pairs = pairs[:1500], pairs[1500:]


def tensorFromSentence(indexes):
    indexes = list(indexes) + [EOS_token]
    return torch.tensor(indexes, dtype=torch.long, device=device).view(-1, 1)


def tensorsFromPair(pair):
    return (tensorFromSentence(pair[0]), tensorFromSentence(pair[1]))


class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size):
        super(EncoderRNN, self).__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size)

    def forward(self, input, hidden):
        embedded = self.embedding(input).view(1, 1, -1)
        output = embedded
        output, hidden = self.gru(output, hidden)
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, 1, self.hidden_size, device=device)


class LSTMDecoder(nn.Module):
    def __init__(self, hidden_size, output_size):
        super(LSTMDecoder, self).__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size)
        self.out = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        output = self.embedding(input).view(1, 1, -1)
        output = F.relu(output)
        output, hidden = self.gru(output, hidden)
        output = self.softmax(self.out(output[0]))
        return output, hidden


teacher_forcing_ratio = 0.5


def train(input_tensor, target_tensor, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion, max_length=MAX_LENGTH):
    encoder_hidden = encoder.initHidden()
    encoder_optimizer.zero_grad()
    decoder_optimizer.zero_grad()
    input_length = input_tensor.size(0)
    target_length = target_tensor.size(0)
    loss = 0
    for ei in range(input_length):
        encoder_output, encoder_hidden = encoder(input_tensor[ei], encoder_hidden)
    decoder_input = torch.tensor([[SOS_token]], device=device)
    decoder_hidden = encoder_hidden
    use_teacher_forcing = True if random.random() < teacher_forcing_ratio else False
    if use_teacher_forcing:
        for di in range(target_length):
            decoder_output, decoder_hidden = decoder(decoder_input, decoder_hidden)
            loss += criterion(decoder_output, target_tensor[di])
            decoder_input = target_tensor[di]  # Teacher forcing
    else:
        for di in range(target_length):
            decoder_output, decoder_hidden = decoder(decoder_input, decoder_hidden)
            topv, topi = decoder_output.topk(1)
            decoder_input = topi.squeeze().detach()  # detach from history as input
            loss += criterion(decoder_output, target_tensor[di])
            if decoder_input.item() == EOS_token:
                break
    loss.backward()
    encoder_optimizer.step()
    decoder_optimizer.step()
    return loss.item() / target_length


def evaluate(encoder, decoder, eval_pairs, criterion):
    with torch.no_grad():
        total = 0.0
        for input_tensor, target_tensor in eval_pairs:
            encoder_hidden = encoder.initHidden()
            for ei in range(input_tensor.size(0)):
                encoder_output, encoder_hidden = encoder(input_tensor[ei], encoder_hidden)
            decoder_input = torch.tensor([[SOS_token]], device=device)
            decoder_hidden = encoder_hidden
            loss = 0
            for di in range(target_tensor.size(0)):
                decoder_output, decoder_hidden = decoder(decoder_input, decoder_hidden)
                loss += criterion(decoder_output, target_tensor[di])
                decoder_input = target_tensor[di]
            total += loss.item() / target_tensor.size(0)
        return total / len(eval_pairs)


def trainIters(encoder, decoder, n_iters, print_every=500, learning_rate=0.01):
    print_loss_total = 0
    encoder_optimizer = optim.Adam(encoder.parameters(), lr=0.001)
    decoder_optimizer = optim.Adam(decoder.parameters(), lr=0.001)
    training_pairs = [tensorsFromPair(random.choice(train_pairs)) for i in range(n_iters)]
    val_tensor_pairs = [tensorsFromPair(p) for p in val_pairs]
    criterion = nn.NLLLoss()
    for iter in range(1, n_iters + 1):
        training_pair = training_pairs[iter - 1]
        input_tensor = training_pair[0]
        target_tensor = training_pair[1]
        loss = train(input_tensor, target_tensor, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion)
        print_loss_total += loss
        if iter % print_every == 0:
            print_loss_avg = print_loss_total / print_every
            print_loss_total = 0
            val_loss = evaluate(encoder, decoder, val_tensor_pairs, criterion)
            print("(%d %d%%) train %.4f  val %.4f" % (iter, iter / n_iters * 100, print_loss_avg, val_loss))


hidden_size = 64
encoder1 = EncoderRNN(VOCAB, hidden_size).to(device)
decoder1 = LSTMDecoder(hidden_size, VOCAB).to(device)
trainIters(encoder1, decoder1, 4000, print_every=500)
