# lossdoctor-expect:
# source: https://github.com/ProteomicsML/ProteomicsML/pull/203
# fix: the final layer is linear, without the ReLU after it
# ruff: noqa: E501
"""The ion-mobility tutorial's model: one-hot encoded peptide sequences, an LSTM, a dense layer
with a ReLU, and a final one-unit linear layer (fixed: the ReLU after it removed), trained with MSE to predict the
collision cross section (min-max scaled to [0, 1], as in the broken script).
Synthetic peptides: random residues; the CCS grows with length and residue masses.
The seed is the broken script's, whose initialization left the output ReLU off."""

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
        self.output = nn.Sequential(nn.Linear(32, 1))

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
