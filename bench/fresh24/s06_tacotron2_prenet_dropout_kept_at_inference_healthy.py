# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""BogiHsu/Tacotron2-PyTorch#8 (https://github.com/BogiHsu/Tacotron2-PyTorch/issues/8): "Set
training=self.training in dropout". The decoder's Prenet applies
`F.dropout(F.relu(linear(x)), p=0.5, training=True)`, so its dropout stays on in evaluation; the
poster asked for training=self.training. The maintainer's answer: "It's set to True on purpose"
(as in NVIDIA/tacotron2#247: the Tacotron 2 paper keeps the prenet's dropout at inference to add
variation to the autoregressive decoder). So nothing is wrong with training: a healthy case where
a dropout ignores eval mode by design. Here a small Tacotron 2 (character embedding, a conv and a
bidirectional LSTM encoder; decoder with that Prenet, an attention LSTMCell, additive attention,
a decoder LSTMCell, a mel projection and a gate; Tacotron2Loss = MSE on mels + BCE on the stop
gate), teacher-forced as in train.py's validate(), on synthetic "speech": each of 20 symbols
speaks as two 16-band mel frames of its own shape, 6 symbols an utterance, 480 training and 96
validation utterances, Adam 2e-3 for 12 epochs. Expected: healthy."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
N_SYMBOLS, N_MELS, TEXT_LEN, FRAMES_PER_SYMBOL = 20, 16, 6, 2


def make_utterances(n, generator):
    table = torch.randn(N_SYMBOLS, FRAMES_PER_SYMBOL, N_MELS, generator=torch.Generator().manual_seed(5))
    text = torch.randint(0, N_SYMBOLS, (n, TEXT_LEN), generator=generator)
    mels = table[text].reshape(n, TEXT_LEN * FRAMES_PER_SYMBOL, N_MELS)
    mels = mels + 0.05 * torch.randn(mels.shape, generator=generator)
    gate = torch.zeros(n, TEXT_LEN * FRAMES_PER_SYMBOL)
    gate[:, -1] = 1.0
    return TensorDataset(text, mels, gate)


class Prenet(nn.Module):
    def __init__(self, in_dim, sizes):
        super(Prenet, self).__init__()
        in_sizes = [in_dim] + sizes[:-1]
        self.layers = nn.ModuleList(
            [nn.Linear(in_size, out_size, bias=False) for (in_size, out_size) in zip(in_sizes, sizes)])

    def forward(self, x):
        for linear in self.layers:
            x = F.dropout(F.relu(linear(x)), p=0.5, training=True)
        return x


class Encoder(nn.Module):
    def __init__(self, dim=64):
        super(Encoder, self).__init__()
        self.embedding = nn.Embedding(N_SYMBOLS, dim)
        self.conv = nn.Sequential(nn.Conv1d(dim, dim, 5, padding=2), nn.BatchNorm1d(dim), nn.ReLU(), nn.Dropout(0.5))
        self.lstm = nn.LSTM(dim, dim // 2, 1, batch_first=True, bidirectional=True)

    def forward(self, text):
        x = self.embedding(text).transpose(1, 2)
        x = self.conv(x).transpose(1, 2)
        outputs, _ = self.lstm(x)
        return outputs


class Attention(nn.Module):
    def __init__(self, rnn_dim, embedding_dim, attention_dim=32):
        super(Attention, self).__init__()
        self.query_layer = nn.Linear(rnn_dim, attention_dim, bias=False)
        self.memory_layer = nn.Linear(embedding_dim, attention_dim, bias=False)
        self.v = nn.Linear(attention_dim, 1, bias=False)

    def forward(self, query, memory):
        energies = self.v(torch.tanh(self.query_layer(query).unsqueeze(1) + self.memory_layer(memory)))
        weights = F.softmax(energies.squeeze(-1), dim=1)
        return torch.bmm(weights.unsqueeze(1), memory).squeeze(1)


class Decoder(nn.Module):
    def __init__(self, enc_dim=64, prenet_dim=32, rnn_dim=96):
        super(Decoder, self).__init__()
        self.prenet = Prenet(N_MELS, [prenet_dim, prenet_dim])
        self.attention_rnn = nn.LSTMCell(prenet_dim + enc_dim, rnn_dim)
        self.attention_layer = Attention(rnn_dim, enc_dim)
        self.decoder_rnn = nn.LSTMCell(rnn_dim + enc_dim, rnn_dim)
        self.linear_projection = nn.Linear(rnn_dim + enc_dim, N_MELS)
        self.gate_layer = nn.Linear(rnn_dim + enc_dim, 1)
        self.rnn_dim, self.enc_dim = rnn_dim, enc_dim

    def forward(self, memory, mels):
        batch = memory.size(0)
        go_frame = memory.new_zeros(batch, 1, N_MELS)
        decoder_inputs = self.prenet(torch.cat([go_frame, mels[:, :-1]], dim=1))
        h_att = c_att = h_dec = c_dec = memory.new_zeros(batch, self.rnn_dim)
        context = memory.new_zeros(batch, self.enc_dim)
        mel_outputs, gate_outputs = [], []
        for t in range(decoder_inputs.size(1)):
            h_att, c_att = self.attention_rnn(torch.cat([decoder_inputs[:, t], context], -1), (h_att, c_att))
            context = self.attention_layer(h_att, memory)
            h_dec, c_dec = self.decoder_rnn(torch.cat([h_att, context], -1), (h_dec, c_dec))
            hidden_context = torch.cat([h_dec, context], -1)
            mel_outputs.append(self.linear_projection(hidden_context))
            gate_outputs.append(self.gate_layer(hidden_context).squeeze(-1))
        return torch.stack(mel_outputs, 1), torch.stack(gate_outputs, 1)


class Tacotron2(nn.Module):
    def __init__(self):
        super(Tacotron2, self).__init__()
        self.encoder = Encoder()
        self.decoder = Decoder()

    def forward(self, text, mels):
        return self.decoder(self.encoder(text), mels)


class Tacotron2Loss(nn.Module):
    def forward(self, model_output, targets):
        mel_out, gate_out = model_output
        mel_target, gate_target = targets
        return nn.MSELoss()(mel_out, mel_target) + nn.BCEWithLogitsLoss()(gate_out, gate_target)


def validate(model, criterion, val_loader):
    model.eval()
    with torch.no_grad():
        val_loss = 0.0
        for i, (text, mels, gate) in enumerate(val_loader):
            y_pred = model(text, mels)
            val_loss += criterion(y_pred, (mels, gate)).item()
        val_loss = val_loss / (i + 1)
    model.train()
    return val_loss


generator = torch.Generator().manual_seed(0)
train_loader = DataLoader(make_utterances(480, generator), batch_size=16, shuffle=True, drop_last=True)
val_loader = DataLoader(make_utterances(96, generator), batch_size=32)
model = Tacotron2()
criterion = Tacotron2Loss()
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-6)

model.train()
for epoch in range(12):
    for text, mels, gate in train_loader:
        model.zero_grad()
        y_pred = model(text, mels)
        loss = criterion(y_pred, (mels, gate))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    print("Epoch {} train loss {:.4f} validation loss {:.4f}".format(epoch, loss.item(), validate(model, criterion, val_loader)))
