# lossdoctor-expect: lr_schedule
# ruff: noqa: E501, E731, UP008, UP031, UP032  (the threads' own idioms kept)
# source: https://github.com/Lightning-AI/pytorch-lightning/issues/2643
"""Lightning-AI/pytorch-lightning#2643 (https://github.com/Lightning-AI/pytorch-lightning/issues/2643),
"Trouble tracing why convergence is slower in Lightning": the reporter ported the AssemblyAI speech
recognition tutorial to Lightning and found it converging more slowly than the plain PyTorch
version. The reporter's LightningModule: SpeechTrainModel wrapping SpeechRecognitionModel
(a strided Conv2d, ResidualCNN blocks with CNNLayerNorm, a fully connected layer, bidirectional
GRUs, a classifier), nn.CTCLoss(blank=28) on log_softmax outputs transposed to (time, batch,
class) in training_step and validation_step, AdamW with a OneCycleLR(max_lr,
steps_per_epoch=int(len(self.train_dataset)), epochs, anneal_strategy='linear') stepped every
batch. Here the same module in Lightning 2 (pytorch_lightning; the loss returned and logged with
self.log) on 800 synthetic 32-band "spectrograms" of 64 frames in memory, each a sequence of 3 to 5
characters (10 of the 28) drawn as band patterns with noise, 200 more for validation; 1 CNN and 1 GRU layer of 64
units, batch 16, 8 epochs, learning rate 3e-3 (the tutorial's 5e-4 left both this run and its fix on
CTC's all-blank plateau within 8 epochs), seeded, CPU. Needs
pytorch_lightning: run with /work/venv-fw/bin/python."""

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

pl.seed_everything(0)
rng = np.random.default_rng(0)


class CNNLayerNorm(nn.Module):
    def __init__(self, n_feats):
        super(CNNLayerNorm, self).__init__()
        self.layer_norm = nn.LayerNorm(n_feats)

    def forward(self, x):
        x = x.transpose(2, 3).contiguous()  # (batch, channel, time, feature)
        x = self.layer_norm(x)
        return x.transpose(2, 3).contiguous()  # (batch, channel, feature, time)


class ResidualCNN(nn.Module):
    def __init__(self, in_channels, out_channels, kernel, stride, dropout, n_feats):
        super(ResidualCNN, self).__init__()
        self.cnn1 = nn.Conv2d(in_channels, out_channels, kernel, stride, padding=kernel // 2)
        self.cnn2 = nn.Conv2d(out_channels, out_channels, kernel, stride, padding=kernel // 2)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.layer_norm1 = CNNLayerNorm(n_feats)
        self.layer_norm2 = CNNLayerNorm(n_feats)

    def forward(self, x):
        residual = x
        x = self.layer_norm1(x)
        x = F.gelu(x)
        x = self.dropout1(x)
        x = self.cnn1(x)
        x = self.layer_norm2(x)
        x = F.gelu(x)
        x = self.dropout2(x)
        x = self.cnn2(x)
        x += residual
        return x


class BidirectionalGRU(nn.Module):
    def __init__(self, rnn_dim, hidden_size, dropout, batch_first):
        super(BidirectionalGRU, self).__init__()
        self.BiGRU = nn.GRU(input_size=rnn_dim, hidden_size=hidden_size, num_layers=1,
                            batch_first=batch_first, bidirectional=True)
        self.layer_norm = nn.LayerNorm(rnn_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        x = self.layer_norm(x)
        x = F.gelu(x)
        x, _ = self.BiGRU(x)
        x = self.dropout(x)
        return x


class SpeechRecognitionModel(nn.Module):
    def __init__(self, n_cnn_layers, n_rnn_layers, rnn_dim, n_class, n_feats, stride=2, dropout=0.1):
        super(SpeechRecognitionModel, self).__init__()
        n_feats = n_feats // 2
        self.cnn = nn.Conv2d(1, 32, 3, stride=stride, padding=3 // 2)
        self.rescnn_layers = nn.Sequential(*[
            ResidualCNN(32, 32, kernel=3, stride=1, dropout=dropout, n_feats=n_feats)
            for _ in range(n_cnn_layers)
        ])
        self.fully_connected = nn.Linear(n_feats * 32, rnn_dim)
        self.birnn_layers = nn.Sequential(*[
            BidirectionalGRU(rnn_dim=rnn_dim if i == 0 else rnn_dim * 2,
                             hidden_size=rnn_dim, dropout=dropout, batch_first=i == 0)
            for i in range(n_rnn_layers)
        ])
        self.classifier = nn.Sequential(
            nn.Linear(rnn_dim * 2, rnn_dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(rnn_dim, n_class)
        )

    def forward(self, x):
        x = self.cnn(x)
        x = self.rescnn_layers(x)
        sizes = x.size()
        x = x.view(sizes[0], sizes[1] * sizes[2], sizes[3])  # (batch, feature, time)
        x = x.transpose(1, 2)  # (batch, time, feature)
        x = self.fully_connected(x)
        x = self.birnn_layers(x)
        x = self.classifier(x)
        return x


# ---- synthetic utterances in place of LibriSpeech ----
N_FEATS, FRAMES, N_CLASS = 32, 64, 29
templates = rng.normal(size=(28, N_FEATS)).astype("float32")


class Utterances(Dataset):
    def __init__(self, n):
        self.items = []
        for _ in range(n):
            chars = rng.integers(0, 10, size=rng.integers(3, 6))
            spec = rng.normal(scale=0.5, size=(N_FEATS, FRAMES)).astype("float32")
            width = FRAMES // len(chars)
            for k, c in enumerate(chars):
                spec[:, k * width + 2:(k + 1) * width - 2] += templates[c][:, None]
            self.items.append((torch.tensor(spec).unsqueeze(0), torch.tensor(chars)))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def data_processing(data):
    spectrograms = torch.stack([spec for spec, _ in data])
    labels = nn.utils.rnn.pad_sequence([label for _, label in data], batch_first=True)
    input_lengths = [FRAMES // 2] * len(data)
    label_lengths = [len(label) for _, label in data]
    return spectrograms, labels, input_lengths, label_lengths


class SpeechTrainModel(pl.LightningModule):
    def __init__(self, hparams):
        super().__init__()
        self.save_hyperparameters(hparams)
        self.model = SpeechRecognitionModel(
            hparams['n_cnn_layers'], hparams['n_rnn_layers'], hparams['rnn_dim'],
            hparams['n_class'], hparams['n_feats'], hparams['stride'], hparams['dropout']
        )
        self.criterion = nn.CTCLoss(blank=28)
        self.train_dataset = Utterances(800)
        self.valid_dataset = Utterances(200)

    def forward(self, x):
        return self.model(x)

    def training_step(self, batch, batch_nb):
        spectrograms, labels, input_lengths, label_lengths = batch
        output = self(spectrograms)  # (batch, time, n_class)
        output = F.log_softmax(output, dim=2)
        output = output.transpose(0, 1)  # (time, batch, n_class)
        loss = self.criterion(output, labels, input_lengths, label_lengths)
        self.log('train_loss', loss)
        return loss

    def validation_step(self, batch, batch_nb):
        spectrograms, labels, input_lengths, label_lengths = batch
        output = self(spectrograms)  # (batch, time, n_class)
        output = F.log_softmax(output, dim=2)
        output = output.transpose(0, 1)  # (time, batch, n_class)
        loss = self.criterion(output, labels, input_lengths, label_lengths)
        self.log('val_loss', loss, prog_bar=True)
        return loss

    def on_validation_epoch_end(self):
        if not self.trainer.sanity_checking:
            print('epoch %d val_loss %.4f lr %.3g' % (self.current_epoch, self.trainer.callback_metrics['val_loss'],
                                                      self.trainer.optimizers[0].param_groups[0]['lr']))

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.model.parameters(), self.hparams['learning_rate'])
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=self.hparams['learning_rate'],
            steps_per_epoch=int(len(self.train_dataset)),
            epochs=self.hparams['epochs'], anneal_strategy='linear')
        return [optimizer], [{'scheduler': scheduler, 'interval': 'step'}]

    def train_dataloader(self):
        return DataLoader(self.train_dataset, batch_size=self.hparams['batch_size'], shuffle=True,
                          collate_fn=data_processing)

    def val_dataloader(self):
        return DataLoader(self.valid_dataset, batch_size=self.hparams['batch_size'], shuffle=False,
                          collate_fn=data_processing)


hparams = {
    "n_cnn_layers": 1,
    "n_rnn_layers": 1,
    "rnn_dim": 64,
    "n_class": N_CLASS,
    "n_feats": N_FEATS,
    "stride": 2,
    "dropout": 0.1,
    "learning_rate": 3e-3,
    "batch_size": 16,
    "epochs": 8,
}
model = SpeechTrainModel(hparams)
trainer = pl.Trainer(max_epochs=hparams['epochs'], accelerator='cpu', logger=False,
                     enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
trainer.fit(model)
