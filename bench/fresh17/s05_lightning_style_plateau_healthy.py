# lossdoctor-expect:
"""Lightning-style code without Lightning installed: a module with training_step(batch, batch_idx),
validation_step and configure_optimizers() returning {"optimizer", "lr_scheduler": {"scheduler":
ReduceLROnPlateau, "monitor": "val_loss"}}, and a small hand-written Trainer.fit() that runs the
loop the way Lightning's automatic optimization does (zero_grad, training_step, backward, step;
the plateau scheduler stepped on the epoch's val_loss). Data: a tabular regression (energy use of
a building from 8 standardized features, target standardized). Healthy."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(42)


def buildings(n, g):
    x = torch.randn(n, 8, generator=g)
    y = 1.5 * x[:, 0] - x[:, 1] * x[:, 2] + torch.sin(2 * x[:, 3]) + 0.5 * x[:, 4] ** 2
    y = y + 0.2 * torch.randn(n, generator=g)
    return x, y


g = torch.Generator().manual_seed(7)
x_tr, y_tr = buildings(5000, g)
x_va, y_va = buildings(1000, g)
mean, std = y_tr.mean(), y_tr.std()
train_dl = DataLoader(TensorDataset(x_tr, (y_tr - mean) / std), batch_size=64, shuffle=True)
val_dl = DataLoader(TensorDataset(x_va, (y_va - mean) / std), batch_size=250)


class LitRegressor(nn.Module):
    def __init__(self, hidden=64, lr=1e-3):
        super().__init__()
        self.lr = lr
        self.net = nn.Sequential(
            nn.Linear(8, hidden),
            nn.SiLU(),
            nn.Linear(hidden, hidden),
            nn.SiLU(),
            nn.Linear(hidden, 1),
        )
        self.logged = {}

    def forward(self, x):
        return self.net(x).squeeze(-1)

    def log(self, name, value):
        self.logged.setdefault(name, []).append(float(value))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.mse_loss(self(x), y)
        self.log("train_loss", loss.item())
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        loss = F.mse_loss(self(x), y)
        self.log("val_loss", loss.item())
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=self.lr)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "monitor": "val_loss"},
        }


class Trainer:
    def __init__(self, max_epochs):
        self.max_epochs = max_epochs

    def fit(self, module, train_dataloaders, val_dataloaders):
        config = module.configure_optimizers()
        optimizer, sched = config["optimizer"], config["lr_scheduler"]
        for epoch in range(self.max_epochs):
            module.logged = {}
            module.train()
            for batch_idx, batch in enumerate(train_dataloaders):
                optimizer.zero_grad()
                loss = module.training_step(batch, batch_idx)
                loss.backward()
                optimizer.step()
            module.eval()
            with torch.no_grad():
                for batch_idx, batch in enumerate(val_dataloaders):
                    module.validation_step(batch, batch_idx)
            metrics = {k: sum(v) / len(v) for k, v in module.logged.items()}
            sched["scheduler"].step(metrics[sched["monitor"]])
            print(
                f"Epoch {epoch}: train_loss={metrics['train_loss']:.4f} "
                f"val_loss={metrics['val_loss']:.4f}"
            )


Trainer(max_epochs=12).fit(LitRegressor(), train_dataloaders=train_dl, val_dataloaders=val_dl)
