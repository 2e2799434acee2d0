# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""md-mohaiminul/ViS4mer#4 (https://github.com/md-mohaiminul/ViS4mer/issues/4), the author's
suggested fix applied: run_lvu.py's ReduceLROnPlateau gets mode='max', since the value it is
stepped with every tenth epoch is the validation accuracy. Otherwise s01 unchanged (ViS4mer with
S4D blocks, synthetic long clip features, CrossEntropyLoss, setup_optimizer's two AdamW groups,
patience 1, factor 0.2, 36 epochs with eval every 3): the rate is now cut only when accuracy
stops rising."""

import math
import random

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


set_seed(1112)


class S4DKernel(nn.Module):
    """Diagonal state-space convolution kernel (S4D-Lin initialisation)."""

    def __init__(self, d_model, N=32, dt_min=0.001, dt_max=0.1, lr=None):
        super().__init__()
        H = d_model
        log_dt = torch.rand(H) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        C = torch.randn(H, N // 2, dtype=torch.cfloat)
        self.C = nn.Parameter(torch.view_as_real(C))
        self.register("log_dt", log_dt, lr)
        self.register("log_A_real", torch.log(0.5 * torch.ones(H, N // 2)), lr)
        self.register("A_imag", math.pi * torch.arange(N // 2).float().repeat(H, 1), lr)

    def forward(self, L):
        dt = torch.exp(self.log_dt)
        C = torch.view_as_complex(self.C)
        A = -torch.exp(self.log_A_real) + 1j * self.A_imag
        dtA = A * dt.unsqueeze(-1)
        K = dtA.unsqueeze(-1) * torch.arange(L, device=A.device)
        C = C * (torch.exp(dtA) - 1.0) / A
        return 2 * torch.einsum("hn, hnl -> hl", C, torch.exp(K)).real

    def register(self, name, tensor, lr=None):
        self.register_parameter(name, nn.Parameter(tensor))
        optim_hint = {"weight_decay": 0.0}
        if lr is not None:
            optim_hint["lr"] = lr
        getattr(self, name)._optim = optim_hint


class S4D(nn.Module):
    def __init__(self, d_model, d_state=32, dropout=0.0, transposed=True, lr=0.001):
        super().__init__()
        self.h = d_model
        self.transposed = transposed
        self.D = nn.Parameter(torch.randn(self.h))
        self.kernel = S4DKernel(self.h, N=d_state, lr=lr)
        self.activation = nn.GELU()
        self.dropout = nn.Dropout(dropout)
        self.output_linear = nn.Sequential(nn.Conv1d(self.h, 2 * self.h, kernel_size=1), nn.GLU(dim=-2))

    def forward(self, u):
        if not self.transposed:
            u = u.transpose(-1, -2)
        L = u.size(-1)
        k = self.kernel(L=L)
        k_f = torch.fft.rfft(k, n=2 * L)
        u_f = torch.fft.rfft(u, n=2 * L)
        y = torch.fft.irfft(u_f * k_f, n=2 * L)[..., :L]
        y = y + u * self.D.unsqueeze(-1)
        y = self.dropout(self.activation(y))
        y = self.output_linear(y)
        if not self.transposed:
            y = y.transpose(-1, -2)
        return y


class ViS4mer(nn.Module):
    def __init__(self, d_input, l_max, d_output, d_model, n_layers, dropout=0.2, prenorm=True):
        super().__init__()
        self.prenorm = prenorm
        self.encoder = nn.Linear(d_input, d_model)
        self.s4_layers = nn.ModuleList()
        self.norms = nn.ModuleList()
        self.dropouts = nn.ModuleList()
        self.pools = nn.ModuleList()
        self.linears = nn.ModuleList()
        self.gelus = nn.ModuleList()
        for i in range(n_layers):
            self.s4_layers.append(S4D(H := d_model, dropout=dropout, transposed=True, lr=min(0.001, 0.001)))
            self.norms.append(nn.LayerNorm(H))
            self.dropouts.append(nn.Dropout(dropout))
            self.pools.append(nn.AvgPool1d(2))
            self.linears.append(nn.Linear(d_model, d_model // 2))
            self.gelus.append(nn.GELU())
            d_model = d_model // 2
            l_max = l_max // 2
        self.decoder = nn.Linear(d_model, d_output)

    def forward(self, x):
        x = self.encoder(x)  # (B, L, d_input) -> (B, L, d_model)
        x = x.transpose(-1, -2)  # (B, d_model, L)
        for layer, norm, dropout, pool, linear, gelu in zip(self.s4_layers, self.norms, self.dropouts, self.pools, self.linears, self.gelus):
            z = x
            if self.prenorm:
                z = norm(z.transpose(-1, -2)).transpose(-1, -2)
            z = layer(z)
            z = dropout(z)
            x = z + x
            if not self.prenorm:
                x = norm(x.transpose(-1, -2)).transpose(-1, -2)
            x = pool(x)
            x = x.transpose(-1, -2)
            x = gelu(linear(x))
            x = x.transpose(-1, -2)
        x = x.transpose(-1, -2)
        x = x.mean(dim=1)
        return self.decoder(x)


class CustomDataset(torch.utils.data.Dataset):
    """Synthetic clip features: a class motif of 6 frames hidden at a random time in noise."""

    motifs = torch.randn(4, 6, 32, generator=torch.Generator().manual_seed(7))

    def __init__(self, split, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(0, 4, (n,), generator=g)
        self.features = 1.0 * torch.randn(n, 64, 32, generator=g)
        starts = torch.randint(0, 64 - 6, (n,), generator=g)
        for i in range(n):
            s = int(starts[i])
            self.features[i, s:s + 6] += self.motifs[self.labels[i]]
        self.names = [f"{split}_{i // 2}" for i in range(n)]

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return self.names[idx], self.features[idx], self.labels[idx]


def setup_optimizer(model, lr, weight_decay, patience):
    all_parameters = list(model.parameters())
    params = [p for p in all_parameters if not hasattr(p, "_optim")]
    optimizer = optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    hps = [p._optim for p in all_parameters if hasattr(p, "_optim")]
    hps = [dict(s) for s in set(frozenset(hp.items()) for hp in hps)]
    for hp in hps:
        params = [p for p in all_parameters if getattr(p, "_optim", None) == hp]
        optimizer.add_param_group({"params": params, **hp})
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=patience, factor=0.2, mode="max")
    return optimizer, scheduler


def train(trainloader, model, optimizer, criterion):
    model.train()
    train_loss, correct, total = 0, 0, 0
    for batch_idx, (video_name_batch, inputs, targets) in enumerate(trainloader):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        train_loss += loss.item()
        _, predicted = outputs.max(1)
        total += targets.size(0)
        correct += predicted.eq(targets).sum().item()
    return train_loss / (batch_idx + 1), 100.0 * correct / total


def eval(dataloader, model, criterion):
    model.eval()
    eval_loss, correct, total = 0, 0, 0
    with torch.no_grad():
        for batch_idx, (video_name_batch, inputs, targets) in enumerate(dataloader):
            outputs = model(inputs)
            loss = criterion(outputs, targets)
            eval_loss += loss.item()
            _, predicted = outputs.max(1)
            total += targets.size(0)
            correct += predicted.eq(targets).sum().item()
    return eval_loss / (batch_idx + 1), 100.0 * correct / total


def main():
    trainset = CustomDataset("train", 960, seed=1)
    valset = CustomDataset("val", 256, seed=2)
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=16, shuffle=False)
    valloader = torch.utils.data.DataLoader(valset, batch_size=32, shuffle=False)

    model = ViS4mer(d_input=32, l_max=64, d_output=4, d_model=64, n_layers=3, dropout=0.2, prenorm=True)
    criterion = nn.CrossEntropyLoss()
    optimizer, scheduler = setup_optimizer(model, lr=0.001, weight_decay=0.01, patience=1)

    for epoch in range(36):
        train_loss, train_acc = train(trainloader, model, optimizer, criterion)
        if (epoch + 1) % 3 == 0:
            val_loss, val_acc = eval(valloader, model, criterion)
            print("epoch %d train_loss %.4f val_loss %.4f val_acc %.1f lr %.2e" % (epoch + 1, train_loss, val_loss, val_acc, optimizer.param_groups[0]["lr"]))
            scheduler.step(val_acc)


if __name__ == "__main__":
    main()
