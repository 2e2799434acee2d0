# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905, UP028  (the threads' own idioms kept)
"""jongwook/onsets-and-frames#24 (https://github.com/jongwook/onsets-and-frames/issues/24),
"Gradient clipping in the wrong place?": "In your train.py, you have the gradient clipping after the
`.backward()` and `.step()` operations." The maintainer: "Yeah it definitely should. I'm not sure
why I did like that. In practice the gradient was well below the clip value during most of the
training though." The repository's train.py (Adam(0.0006), StepLR(step_size=10000, gamma=0.98)
stepped every iteration, loss = sum(losses.values()) from model.run_on_batch(batch) on a dict batch
of audio, onset, offset, frame and velocity labels, clip_grad_norm_(model.parameters(), 3) after
optimizer.step() and scheduler.step(), the validation set evaluated every validation_interval
iterations under model.eval() and no_grad) and its transcriber.py (OnsetsAndFrames: ConvStack
encoders with batch norm and dropout, BiLSTM onset and offset heads, a frame head fed the detached
onset and offset predictions through a BiLSTM, a velocity head; binary cross-entropy on the
sigmoid outputs and an onset-masked squared error for velocity, all computed inside
run_on_batch). Here the same code with model_complexity 4 (fc_size 64, 32 LSTM units), 16 pitches,
a 32-band log spectrogram computed inside run_on_batch from 4 kHz synthetic piano-roll audio
(sums of decaying sines), 64-frame sequences, batch 8, 800 iterations, validation every 100, a
frame-level F1 printed with the validation loss."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import clip_grad_norm_
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
np.random.seed(0)

SAMPLE_RATE = 4000
HOP_LENGTH = 64
N_FFT = 256
N_MELS = 32
MIN_MIDI, MAX_MIDI = 60, 75
N_KEYS = MAX_MIDI - MIN_MIDI + 1


# ---- mel.py: a fixed filter bank on the STFT magnitude ----
def _filter_bank():
    freqs = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    edges = np.geomspace(150, 1900, N_MELS + 2)
    bank = np.zeros((N_MELS, len(freqs)), dtype=np.float32)
    for m in range(N_MELS):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        bank[m] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0, None)
    return torch.from_numpy(bank)


MEL_BANK = _filter_bank()


def melspectrogram(audio):
    spec = torch.stft(audio, N_FFT, HOP_LENGTH, window=torch.hann_window(N_FFT), center=True, return_complex=True).abs()[..., :-1]
    return torch.log(torch.clamp(MEL_BANK @ spec, min=1e-5))


# ---- lstm.py ----
class BiLSTM(nn.Module):
    inference_chunk_length = 512

    def __init__(self, input_features, recurrent_features):
        super().__init__()
        self.rnn = nn.LSTM(input_features, recurrent_features, batch_first=True, bidirectional=True)

    def forward(self, x):
        return self.rnn(x)[0]


# ---- transcriber.py ----
class ConvStack(nn.Module):
    def __init__(self, input_features, output_features):
        super().__init__()

        # input is batch_size * 1 channel * frames * input_features
        self.cnn = nn.Sequential(
            # layer 0
            nn.Conv2d(1, output_features // 16, (3, 3), padding=1),
            nn.BatchNorm2d(output_features // 16),
            nn.ReLU(),
            # layer 1
            nn.Conv2d(output_features // 16, output_features // 16, (3, 3), padding=1),
            nn.BatchNorm2d(output_features // 16),
            nn.ReLU(),
            # layer 2
            nn.MaxPool2d((1, 2)),
            nn.Dropout(0.25),
            nn.Conv2d(output_features // 16, output_features // 8, (3, 3), padding=1),
            nn.BatchNorm2d(output_features // 8),
            nn.ReLU(),
            # layer 3
            nn.MaxPool2d((1, 2)),
            nn.Dropout(0.25),
        )
        self.fc = nn.Sequential(
            nn.Linear((output_features // 8) * (input_features // 4), output_features),
            nn.Dropout(0.5)
        )

    def forward(self, mel):
        x = mel.view(mel.size(0), 1, mel.size(1), mel.size(2))
        x = self.cnn(x)
        x = x.transpose(1, 2).flatten(-2)
        x = self.fc(x)
        return x


class OnsetsAndFrames(nn.Module):
    def __init__(self, input_features, output_features, model_complexity=48):
        super().__init__()

        fc_size = model_complexity * 16
        lstm_units = model_complexity * 8

        self.onset_stack = nn.Sequential(
            ConvStack(input_features, fc_size),
            BiLSTM(fc_size, lstm_units),
            nn.Linear(lstm_units * 2, output_features),
            nn.Sigmoid()
        )
        self.offset_stack = nn.Sequential(
            ConvStack(input_features, fc_size),
            BiLSTM(fc_size, lstm_units),
            nn.Linear(lstm_units * 2, output_features),
            nn.Sigmoid()
        )
        self.frame_stack = nn.Sequential(
            ConvStack(input_features, fc_size),
            nn.Linear(fc_size, output_features),
            nn.Sigmoid()
        )
        self.combined_stack = nn.Sequential(
            BiLSTM(output_features * 3, lstm_units),
            nn.Linear(lstm_units * 2, output_features),
            nn.Sigmoid()
        )
        self.velocity_stack = nn.Sequential(
            ConvStack(input_features, fc_size),
            nn.Linear(fc_size, output_features)
        )

    def forward(self, mel):
        onset_pred = self.onset_stack(mel)
        offset_pred = self.offset_stack(mel)
        activation_pred = self.frame_stack(mel)
        combined_pred = torch.cat([onset_pred.detach(), offset_pred.detach(), activation_pred], dim=-1)
        frame_pred = self.combined_stack(combined_pred)
        velocity_pred = self.velocity_stack(mel)
        return onset_pred, offset_pred, activation_pred, frame_pred, velocity_pred

    def run_on_batch(self, batch):
        audio_label = batch['audio']
        onset_label = batch['onset']
        offset_label = batch['offset']
        frame_label = batch['frame']
        velocity_label = batch['velocity']

        mel = melspectrogram(audio_label.reshape(-1, audio_label.shape[-1])[:, :-1]).transpose(-1, -2)
        onset_pred, offset_pred, _, frame_pred, velocity_pred = self(mel)

        predictions = {
            'onset': onset_pred.reshape(*onset_label.shape),
            'offset': offset_pred.reshape(*offset_label.shape),
            'frame': frame_pred.reshape(*frame_label.shape),
            'velocity': velocity_pred.reshape(*velocity_label.shape)
        }

        losses = {
            'loss/onset': F.binary_cross_entropy(predictions['onset'], onset_label),
            'loss/offset': F.binary_cross_entropy(predictions['offset'], offset_label),
            'loss/frame': F.binary_cross_entropy(predictions['frame'], frame_label),
            'loss/velocity': self.velocity_loss(predictions['velocity'], velocity_label, onset_label)
        }

        return predictions, losses

    def velocity_loss(self, velocity_pred, velocity_label, onset_label):
        denominator = onset_label.sum()
        if denominator.item() == 0:
            return denominator
        else:
            return (onset_label * (velocity_label - velocity_pred) ** 2).sum() / denominator


# ---- dataset.py: synthetic piano rolls in place of MAESTRO ----
class PianoRolls(Dataset):
    def __init__(self, n, frames, seed):
        rng = np.random.default_rng(seed)
        self.items = [self._piece(rng, frames) for _ in range(n)]

    @staticmethod
    def _piece(rng, frames):
        n_samples = frames * HOP_LENGTH + 1
        t = np.arange(n_samples) / SAMPLE_RATE
        audio = np.zeros(n_samples)
        onset = np.zeros((frames, N_KEYS), dtype=np.float32)
        offset = np.zeros((frames, N_KEYS), dtype=np.float32)
        frame = np.zeros((frames, N_KEYS), dtype=np.float32)
        velocity = np.zeros((frames, N_KEYS), dtype=np.float32)
        for _ in range(rng.integers(10, 17)):
            key = rng.integers(0, N_KEYS)
            start = rng.integers(0, frames - 6)
            length = rng.integers(8, 30)
            end = min(frames - 1, start + length)
            vel = rng.uniform(0.3, 1.0)
            f0 = 440.0 * 2 ** ((key + MIN_MIDI - 69) / 12)
            s0, s1 = start * HOP_LENGTH, end * HOP_LENGTH
            env = vel * np.exp(-3 * (t[s0:s1] - t[s0]))
            audio[s0:s1] += env * (np.sin(2 * np.pi * f0 * t[s0:s1]) + 0.4 * np.sin(4 * np.pi * f0 * t[s0:s1]))
            onset[start, key] = 1
            offset[end, key] = 1
            frame[start:end, key] = 1
            velocity[start, key] = vel
        audio += rng.normal(scale=0.01, size=n_samples)
        return dict(audio=torch.tensor(audio, dtype=torch.float32), onset=torch.from_numpy(onset),
                    offset=torch.from_numpy(offset), frame=torch.from_numpy(frame),
                    velocity=torch.from_numpy(velocity))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


def cycle(iterable):
    while True:
        for item in iterable:
            yield item


def evaluate(dataset, model):
    metrics = {'loss': [], 'frame_f1': []}
    for label in DataLoader(dataset, batch_size=8):
        pred, losses = model.run_on_batch(label)
        metrics['loss'].append(sum(losses.values()).item())
        p = (pred['frame'] > 0.5).float()
        tp = (p * label['frame']).sum()
        metrics['frame_f1'].append((2 * tp / (p.sum() + label['frame'].sum() + 1e-9)).item())
    return metrics


# ---- train.py ----
iterations = 800
batch_size = 8
sequence_frames = 64
model_complexity = 4
learning_rate = 0.0006
learning_rate_decay_steps = 10000
learning_rate_decay_rate = 0.98
clip_gradient_norm = 3
validation_interval = 100

dataset = PianoRolls(400, sequence_frames, seed=0)
validation_dataset = PianoRolls(64, sequence_frames, seed=1)
loader = DataLoader(dataset, batch_size, shuffle=True, drop_last=True)

model = OnsetsAndFrames(N_MELS, MAX_MIDI - MIN_MIDI + 1, model_complexity)
optimizer = torch.optim.Adam(model.parameters(), learning_rate)
scheduler = StepLR(optimizer, step_size=learning_rate_decay_steps, gamma=learning_rate_decay_rate)

for i, batch in zip(range(1, iterations + 1), cycle(loader)):
    predictions, losses = model.run_on_batch(batch)

    loss = sum(losses.values())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()

    if clip_gradient_norm:
        clip_grad_norm_(model.parameters(), clip_gradient_norm)

    if i % validation_interval == 0:
        model.eval()
        with torch.no_grad():
            values = evaluate(validation_dataset, model)
        print('iteration {}: train loss {:.4f}, validation loss {:.4f}, frame F1 {:.3f}'.format(
            i, loss.item(), np.mean(values['loss']), np.mean(values['frame_f1'])))
        model.train()
