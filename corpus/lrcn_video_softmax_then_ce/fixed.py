# lossdoctor-expect:
# source: https://github.com/doronharitan/human_activity_recognition_LRCN/issues/4
# fix: remove the Softmax from the output layer; CrossEntropyLoss gets the linear outputs
# ruff: noqa: E501
"""The repository's LRCN (a CNN encoder per frame, an LSTM over the frames, a linear layer;
fixed: no Softmax before CrossEntropyLoss; Adam) on synthetic 8-frame clips of a blob moving in one of four
directions (the original uses a pretrained ResNet per frame; a small CNN stands in)."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

frames, size = 8, 12
moves = torch.tensor([[0, 1], [0, -1], [1, 0], [-1, 0]])


def make_clips(n):
    labels = torch.randint(0, 4, (n,))
    clips = 0.3 * torch.randn(n, frames, 1, size, size)
    start = torch.randint(3, size - 3, (n, 2))
    for i in range(n):
        for t in range(frames):
            r, c = (start[i] + (t // 2) * moves[labels[i]]).clamp(0, size - 2).tolist()
            clips[i, t, 0, r:r + 2, c:c + 2] += 1.5
    return clips, labels


class ConvLstm(nn.Module):
    def __init__(self, latent_dim=32, hidden_size=32, n_class=4):
        super().__init__()
        self.conv_model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                        nn.Linear(8 * 6 * 6, latent_dim), nn.ReLU())
        self.lstm = nn.LSTM(latent_dim, hidden_size, batch_first=True)
        self.output_layer = nn.Sequential(nn.Linear(hidden_size, n_class))

    def forward(self, x):
        batch_size, timesteps = x.shape[:2]
        features = self.conv_model(x.view(batch_size * timesteps, *x.shape[2:]))
        lstm_output, _ = self.lstm(features.view(batch_size, timesteps, -1))
        return self.output_layer(lstm_output[:, -1])


clips, labels = make_clips(500)
train_loader = DataLoader(TensorDataset(clips[:400], labels[:400]), batch_size=16, shuffle=True)
val_x, val_y = clips[400:], labels[400:]

model = ConvLstm()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

for epoch in range(6):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        outputs = model(val_x)
    print(f"epoch {epoch} val loss {criterion(outputs, val_y).item():.4f} val acc {(outputs.argmax(1) == val_y).float().mean():.3f}")
