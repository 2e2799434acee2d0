# lossdoctor-expect: unscaled_targets
"""A multi-task model in the idiom of Ludwig's encoder-combiner-decoder (shared concat
combiner, one decoder per output feature, the loss computed inside forward and returned in a
dict with the predictions; the training loss is the sum of the output features' losses, Adam
1e-3, early stopping on the combined validation loss), as in
https://github.com/ludwig-ai/ludwig/issues/641.
Bug (the issue): one output feature is numerical and raw (a price near 5000, spread 2000), the
other binary; the numerical MSE is millions of times the binary loss, so the summed loss and its
gradient are the numerical feature's alone, the binary output does not learn, and early
stopping on the combined loss stops on the numerical feature's schedule. The answer: weight the
output features' losses (the `weight` of each output feature); here the numerical target is
standardized instead, which puts the two losses on one scale (s08)."""

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
N_IN = 10


def make(n):
    x = torch.randn(n, N_IN)
    binary = ((x[:, 0] * x[:, 1]) > 0).float()
    price = 5000 + 2000 * (0.8 * x[:, 2] + 0.5 * x[:, 3]) + 200 * torch.randn(n)
    return x, {"binary": binary, "price": price}


x_train, t_train = make(3000)
x_val, t_val = make(600)
price_target = {"train": t_train["price"], "val": t_val["price"]}


class MultiTaskModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.combiner = nn.Sequential(nn.Linear(N_IN, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
        self.decoders = nn.ModuleDict({"binary": nn.Linear(64, 1), "price": nn.Linear(64, 1)})

    def forward(self, x, targets=None):
        hidden = self.combiner(x)
        outputs = {name: decoder(hidden).squeeze(-1) for name, decoder in self.decoders.items()}
        if targets is None:
            return outputs
        losses = {
            "binary": F.binary_cross_entropy_with_logits(outputs["binary"], targets["binary"]),
            "price": F.mse_loss(outputs["price"], targets["price"]),
        }
        return {"outputs": outputs, "losses": losses, "loss": sum(losses.values())}


model = MultiTaskModel()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
best, patience, waited = float("inf"), 3, 0
for epoch in range(30):
    model.train()
    perm = torch.randperm(len(x_train))
    for i in range(0, len(perm), 128):
        idx = perm[i:i + 128]
        batch_targets = {"binary": t_train["binary"][idx], "price": price_target["train"][idx]}
        optimizer.zero_grad()
        result = model(x_train[idx], batch_targets)
        result["loss"].backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val = model(x_val, {"binary": t_val["binary"], "price": price_target["val"]})
    print(f"epoch {epoch}: combined {val['loss'].item():.4g} "
          f"binary {val['losses']['binary'].item():.4f} price {val['losses']['price'].item():.4g}")
    if val["loss"].item() < best * (1 - 1e-4):
        best, waited = val["loss"].item(), 0
    else:
        waited += 1
        if waited >= patience:
            break
