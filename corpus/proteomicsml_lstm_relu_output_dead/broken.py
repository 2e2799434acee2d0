# lossdoctor-expect: dead_relu
# source: https://github.com/ProteomicsML/ProteomicsML/pull/203
# answer: the LSTM returns a constant 0 for every peptide because the final regression layer ends in a ReLU: with an unlucky initialization its input is negative for every peptide, so no gradient flows; do not put a ReLU after the final layer
# ruff: noqa: E501
"""The ion-mobility tutorial's model: one-hot encoded peptide sequences, an LSTM, a dense layer
with a ReLU, and a final one-unit layer followed by a ReLU, trained with MSE to predict the
collision cross section (min-max scaled to [0, 1], so the ReLU's range covers the targets).
Synthetic peptides: random residues; the CCS grows with length and residue masses.
The seed is one whose initialization leaves the output ReLU off for every peptide, the
"unlucky initialization" of the pull request."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(3)
AMINO_ACIDS, MAX_LEN = 20, 20


def make_peptides(n):
    lengths = torch.randint(7, MAX_LEN + 1, (n,))
    residues = torch.randint(0, AMINO_ACIDS, (n, MAX_LEN))
    present = torch.arange(MAX_LEN)[None, :] < lengths[:, None]
    one_hot = nn.functional.one_hot(residues, AMINO_ACIDS).float() * present[..., None]
    mass = torch.linspace(0.6, 1.6, AMINO_ACIDS)
    ccs = (mass[residues] * present).sum(1) ** 0.75 + 0.2 * torch.randn(n)
    ccs = (ccs - ccs.min()) / (ccs.max() - ccs.min())
    return one_hot, ccs[:, None]


class CCSModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(AMINO_ACIDS, 32, batch_first=True)
        self.dense = nn.Sequential(nn.Linear(32, 32), nn.ReLU())
        self.output = nn.Sequential(nn.Linear(32, 1), nn.ReLU())

    def forward(self, x):
        _, (hidden, _) = self.lstm(x)
        return self.output(self.dense(hidden[-1]))


peptides, ccs = make_peptides(3000)
train_loader = DataLoader(TensorDataset(peptides[:2500], ccs[:2500]), batch_size=64, shuffle=True)
val_x, val_y = peptides[2500:], ccs[2500:]

model = CCSModel()
criterion = nn.MSELoss()
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
        prediction = model(val_x)
        val_loss = criterion(prediction, val_y).item()
    print(f"epoch {epoch} loss {loss.item():.4f} val loss {val_loss:.4f} predictions {prediction.min().item():.3f}..{prediction.max().item():.3f}")
