# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""ruohoruotsi/LSTM-Music-Genre-Classification#12
(https://github.com/ruohoruotsi/LSTM-Music-Genre-Classification/issues/12): "Problem with
pytorch". lstm_genre_classifier_pytorch.py sets `model.hidden = model.init_hidden()` before each
batch, but forward() calls `self.lstm(input)` without it, so the assignment does nothing; the
poster first feared a stateful LSTM and then corrected himself: "since you do not provide
(h_0, c_0) in lstm_out, hidden = self.lstm(input), both h_0 and c_0 will default to zero every
batch", which is what a genre classifier over independent clips wants; the maintainer invited a
clean-up PR. So training is not affected: a healthy case with dead code that looks like a bug.
Here the script's shape (a 2-layer LSTM over MFCC-like frames fed time first, the last step's
output through a Linear and log_softmax, NLLLoss, Adam 1e-3, batches of 35, init_hidden assigned
every batch) on synthetic clips of 8 genres (each genre a spectral envelope and a rhythm, 64
frames of 33 features; 60 training and 15 validation clips a genre), 12 epochs, the validation
loss printed each epoch. Expected: healthy."""

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
GENRES, FRAMES, FEATURES = 8, 64, 33


class LSTM(nn.Module):
    def __init__(self, input_dim, hidden_dim, batch_size, output_dim=8, num_layers=2):
        super(LSTM, self).__init__()
        self.input_dim = input_dim
        self.hidden_dim = hidden_dim
        self.batch_size = batch_size
        self.num_layers = num_layers
        self.lstm = nn.LSTM(self.input_dim, self.hidden_dim, self.num_layers)
        self.linear = nn.Linear(self.hidden_dim, output_dim)

    def init_hidden(self):
        return (torch.zeros(self.num_layers, self.batch_size, self.hidden_dim),
                torch.zeros(self.num_layers, self.batch_size, self.hidden_dim))

    def forward(self, input):
        lstm_out, hidden = self.lstm(input)
        logits = self.linear(lstm_out[-1])
        genre_scores = F.log_softmax(logits, dim=1)
        return genre_scores

    def get_accuracy(self, logits, target):
        corrects = (torch.max(logits, 1)[1].view(target.size()).data == target.data).sum()
        return 100.0 * corrects / self.batch_size


def make_clips(per_genre, generator):
    gen = torch.Generator().manual_seed(8)
    envelopes = torch.randn(GENRES, FEATURES, generator=gen)
    tempo = torch.linspace(2, 9, GENRES)
    t = torch.arange(FRAMES).float()
    x, y = [], []
    for g in range(GENRES):
        beat = torch.sin(2 * torch.pi * tempo[g] * t / FRAMES)[:, None]
        for _ in range(per_genre):
            x.append(envelopes[g][None, :] * (1 + 0.5 * beat) + 0.8 * torch.randn(FRAMES, FEATURES, generator=generator))
            y.append(g)
    order = torch.randperm(len(y), generator=generator)
    return torch.stack(x)[order], torch.tensor(y)[order]


batch_size = 35
generator = torch.Generator().manual_seed(0)
train_X, train_Y = make_clips(60, generator)
dev_X, dev_Y = make_clips(15, generator)

model = LSTM(input_dim=FEATURES, hidden_dim=128, batch_size=batch_size, output_dim=GENRES, num_layers=2)
loss_function = nn.NLLLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
num_batches = int(train_X.shape[0] / batch_size)
num_dev_batches = int(dev_X.shape[0] / batch_size)

for epoch in range(12):
    train_running_loss, train_acc = 0.0, 0.0
    model.hidden = model.init_hidden()
    for i in range(num_batches):
        model.zero_grad()
        X_local_minibatch = train_X[i * batch_size:(i + 1) * batch_size]
        y_local_minibatch = train_Y[i * batch_size:(i + 1) * batch_size]
        X_local_minibatch = X_local_minibatch.permute(1, 0, 2)  # (seq_len, batch, features)
        y_pred = model(X_local_minibatch)
        loss = loss_function(y_pred, y_local_minibatch)
        loss.backward()
        optimizer.step()
        train_running_loss += loss.detach().item()
        train_acc += model.get_accuracy(y_pred, y_local_minibatch)

    val_running_loss, val_acc = 0.0, 0.0
    with torch.no_grad():
        model.eval()
        model.hidden = model.init_hidden()
        for i in range(num_dev_batches):
            X_local_validation_minibatch = dev_X[i * batch_size:(i + 1) * batch_size].permute(1, 0, 2)
            y_local_validation_minibatch = dev_Y[i * batch_size:(i + 1) * batch_size]
            y_pred = model(X_local_validation_minibatch)
            val_loss = loss_function(y_pred, y_local_validation_minibatch)
            val_running_loss += val_loss.detach().item()
            val_acc += model.get_accuracy(y_pred, y_local_validation_minibatch)
        model.train()
    print("Epoch:  %d | NLLoss: %.4f | Train Accuracy: %.2f | Val Loss %.4f  | Val Accuracy: %.2f"
          % (epoch, train_running_loss / num_batches, train_acc / num_batches,
             val_running_loss / num_dev_batches, val_acc / num_dev_batches))
