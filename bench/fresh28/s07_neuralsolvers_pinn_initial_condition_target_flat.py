# lossdoctor-expect: shape_broadcast
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""Photon-AI-Research/NeuralSolvers#20
(https://github.com/Photon-AI-Research/NeuralSolvers/issues/20): "UserWarning in
InitalCondition.py": PINNFramework's InitialCondition term computes `prediction = model(x)` and
`self.weight * self.norm(prediction, gt_y)` with norm torch.nn.MSELoss(), on the reporter's own
initial-condition dataset. Here
PINNFramework's shape (LossTerm classes InitialCondition, DirichletBC and PDELoss, a PINN object
that sums them in fit(), Adam, one batch of each dataset per step) on the 1D heat equation u_t =
0.1 u_xx on x in [-1, 1], t in [0, 1], u(x, 0) = sin(pi x), u(+-1, t) = 0, with an initial
condition dataset that returns the 128 initial values as a flat vector; 600 steps, Adam at 3e-3, the error
against the exact solution exp(-0.1 pi^2 t) sin(pi x) printed every 100 steps."""

import math

import torch
import torch.nn as nn
from torch.utils.data import Dataset

torch.manual_seed(0)

# ---------------------------------------------------------------- PINNFramework/LossTerm.py ...


class LossTerm:
    def __init__(self, dataset, name, norm="L2", weight=1.0):
        self.dataset = dataset
        self.name = name
        self.weight = weight
        if norm == "L2":
            self.norm = torch.nn.MSELoss()
        elif norm == "L1":
            self.norm = torch.nn.L1Loss()
        else:
            raise ValueError("Loss {} not implemented".format(norm))


class InitialCondition(LossTerm):
    def __init__(self, dataset, name, norm="L2", weight=1.0):
        super(InitialCondition, self).__init__(dataset, name, norm, weight)

    def __call__(self, x, model, gt_y):
        prediction = model(x)  # is equal to y
        return self.weight * self.norm(prediction, gt_y)


class DirichletBC(LossTerm):
    def __init__(self, func, dataset, name, norm="L2", weight=1.0):
        super(DirichletBC, self).__init__(dataset, name, norm, weight)
        self.func = func

    def __call__(self, x, model):
        prediction = model(x)
        return self.weight * self.norm(prediction, self.func(x))


class PDELoss(LossTerm):
    def __init__(self, dataset, pde, name, norm="L2", weight=1.0):
        super(PDELoss, self).__init__(dataset, name, norm, weight)
        self.pde = pde

    def __call__(self, x, model):
        x = x.clone().requires_grad_(True)
        u = model(x)
        residual = self.pde(x, u)
        zeros = torch.zeros(residual.shape)
        return self.weight * self.norm(residual, zeros)


# ---------------------------------------------------------------- datasets


class InitialConditionDataset(Dataset):
    def __init__(self, n0):
        x = torch.linspace(-1, 1, n0)
        self.x = torch.stack([x, torch.zeros(n0)], dim=1)
        self.u = torch.sin(math.pi * x)  # the initial values, one per point

    def __len__(self):
        return 1

    def __getitem__(self, idx):
        return self.x, self.u


class BoundaryDataset(Dataset):
    def __init__(self, nb):
        t = torch.rand(nb)
        side = torch.where(torch.rand(nb) < 0.5, -1.0, 1.0)
        self.x = torch.stack([side, t], dim=1)

    def __len__(self):
        return 1

    def __getitem__(self, idx):
        return self.x


class PDEDataset(Dataset):
    def __init__(self, nf, batches):
        self.nf = nf
        self.batches = batches

    def __len__(self):
        return self.batches

    def __getitem__(self, idx):
        if idx >= self.batches:
            raise IndexError(idx)
        return torch.cat([torch.rand(self.nf, 1) * 2 - 1, torch.rand(self.nf, 1)], dim=1)


# ---------------------------------------------------------------- PINNFramework/PINN.py


class PINN(nn.Module):
    def __init__(self, model, input_dimension, output_dimension, pde_loss, initial_condition, boundary_condition):
        super(PINN, self).__init__()
        self.model = model
        self.input_dimension = input_dimension
        self.output_dimension = output_dimension
        self.pde_loss = pde_loss
        self.initial_condition = initial_condition
        self.boundary_condition = boundary_condition

    def forward(self, x):
        return self.model(x)

    def pinn_loss(self, pde_x, ic_x, ic_y, bc_x):
        loss = self.pde_loss(pde_x, self.model)
        loss = loss + self.initial_condition(ic_x, self.model, ic_y)
        loss = loss + self.boundary_condition(bc_x, self.model)
        return loss

    def fit(self, epochs, optimizer="Adam", learning_rate=1e-3, validate=None):
        if optimizer == "Adam":
            optim = torch.optim.Adam(self.model.parameters(), lr=learning_rate)
        for epoch in range(epochs):
            for pde_x in self.pde_loss.dataset:
                ic_x, ic_y = self.initial_condition.dataset[0]
                bc_x = self.boundary_condition.dataset[0]
                optim.zero_grad()
                loss = self.pinn_loss(pde_x, ic_x, ic_y, bc_x)
                loss.backward()
                optim.step()
            if validate is not None and (epoch + 1) % 10 == 0:
                print("epoch %d pinn loss %.5f relative L2 error %.4f" % (epoch + 1, loss.item(), validate(self.model)))


def heat_equation(x, u):
    grads = torch.autograd.grad(u, x, torch.ones_like(u), create_graph=True)[0]
    u_x, u_t = grads[:, 0], grads[:, 1]
    u_xx = torch.autograd.grad(u_x, x, torch.ones_like(u_x), create_graph=True)[0][:, 0]
    return u_t - 0.1 * u_xx


xs, ts = torch.meshgrid(torch.linspace(-1, 1, 41), torch.linspace(0, 1, 21), indexing="ij")
grid = torch.stack([xs.reshape(-1), ts.reshape(-1)], dim=1)
exact = torch.exp(-0.1 * math.pi ** 2 * grid[:, 1]) * torch.sin(math.pi * grid[:, 0])


def relative_error(model):
    with torch.no_grad():
        u = model(grid).reshape(-1)
    return (torch.linalg.norm(u - exact) / torch.linalg.norm(exact)).item()


model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))
ic = InitialCondition(InitialConditionDataset(128), "initial condition")
bc = DirichletBC(lambda x: torch.zeros(x.shape[0], 1), BoundaryDataset(64), "boundary")
pde = PDELoss(PDEDataset(128, batches=10), heat_equation, "heat equation")
pinn = PINN(model, 2, 1, pde, ic, bc)
pinn.fit(60, optimizer="Adam", learning_rate=3e-3, validate=relative_error)
