# lossdoctor-expect: unscaled_targets
# source: https://github.com/atomistic-machine-learning/schnetpack/issues/336
# answer: the loss is huge (1e8) because the energy targets are not standardized; take the mean and std from train_loader.get_statistics and give them to the output module
# ruff: noqa: E501
"""A SchNetPack-style atomwise model (per-atom embeddings -> MLP -> atomwise contributions summed
per molecule) trained with MSE on total energies in eV, whose values are in the thousands; the
Atomwise output module gets no mean / stddev."""

import torch
from torch import nn

torch.manual_seed(0)

n_molecules, max_atoms, n_types = 1200, 12, 5
atom_types = torch.randint(0, n_types, (n_molecules, max_atoms))
present = torch.rand(n_molecules, max_atoms) < 0.75
environment = torch.randn(n_molecules, max_atoms, 8)

reference_energy = torch.tensor([-13.6, -1029.8, -1485.3, -2042.6, -2715.6])
atom_energy = reference_energy[atom_types] + 0.5 * torch.tanh(environment[..., :3].sum(-1))
energy = (atom_energy * present).sum(dim=1, keepdim=True)

train, valid = slice(0, 1000), slice(1000, n_molecules)


class AtomwiseModel(nn.Module):
    def __init__(self, mean=0.0, stddev=1.0):
        super().__init__()
        self.embedding = nn.Embedding(n_types, 16)
        self.net = nn.Sequential(nn.Linear(16 + 8, 64), nn.Tanh(), nn.Linear(64, 1))
        self.mean, self.stddev = mean, stddev

    def forward(self, types, env, mask):
        contributions = self.net(torch.cat([self.embedding(types), env], dim=-1)).squeeze(-1)
        contributions = contributions * self.stddev + self.mean
        return (contributions * mask).sum(dim=1, keepdim=True)


model = AtomwiseModel()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.MSELoss()

for epoch in range(30):
    model.train()
    for start in range(0, 1000, 50):
        batch = slice(start, start + 50)
        optimizer.zero_grad()
        loss = loss_fn(model(atom_types[batch], environment[batch], present[batch]), energy[batch])
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = loss_fn(model(atom_types[valid], environment[valid], present[valid]), energy[valid]).item()
    print(f"epoch {epoch} train loss {loss.item():.1f} validation loss {val_loss:.1f}")
