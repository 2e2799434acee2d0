"""A development set for the loss_setup rule on log_softmax over a softmax output (issue 11:
thresholds are chosen on development cases, never on the corpus).

Small classifiers on synthetic data, trained in-process under lossdoctor's hooks: each "broken"
model ends in a softmax and its loss is nll_loss(log_softmax(.)) (or cross_entropy) of it; each
twin is the same model without the softmax. Prints, per case, the widest row of the loss's
input on the last sampled calls and whether every sampled call stayed in the band a softmax
output allows (rows_log_softmax_of_probabilities).

    python bench/double_softmax_dev.py
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import record  # noqa: E402

LATE_CALLS = 3  # loss_setup.MIN_CALLS


def data(classes: int, noise: float, seed: int, rows: int = 600, features: int = 16):
    generator = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, features, generator=generator)
    y = torch.randint(0, classes, (rows,), generator=generator)
    x = centers[y] + noise * torch.randn(rows, features, generator=generator)
    return x, y


def train(model, optimizer, x, y, loss_of, epochs: int):
    for _ in range(epochs):
        for rows in torch.arange(len(x)).split(32):
            optimizer.zero_grad()
            loss_of(model(x[rows]), y[rows]).backward()
            optimizer.step()


def model_for(classes: int, softmax: bool, hidden: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    layers = [nn.Linear(16, hidden), nn.ReLU(), nn.Linear(hidden, classes)] if hidden else [
        nn.Linear(16, classes)]
    return nn.Sequential(*layers, *([nn.Softmax(dim=1)] if softmax else []))


LOSSES = {
    "nll(log_softmax)": lambda out, y: F.nll_loss(F.log_softmax(out, dim=1), y),
    "cross_entropy(log_softmax)": lambda out, y: F.cross_entropy(F.log_softmax(out, dim=1), y),
}


#: Learning rates: a usual one, and one 10 times lower (a model that has not learnt much).
RATES = {"adam": (1e-2, 1e-3), "sgd": (0.1, 0.01)}


def one(classes, noise, hidden, optimizer_name, slow, loss_name, softmax, seed):
    x, y = data(classes, noise, seed)
    model = model_for(classes, softmax, hidden, seed)
    lr = RATES[optimizer_name][slow]
    optimizer = (torch.optim.Adam(model.parameters(), lr=lr) if optimizer_name == "adam"
                 else torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9))
    case = record(train, model, optimizer, x, y, LOSSES[loss_name], epochs=8)
    seen = case.trace.loss_inputs
    late = sorted(seen, key=lambda s: s.step)[-LATE_CALLS:]
    return (all(s.rows_log_softmax_of_probabilities for s in seen),
            min(s.widest_row for s in late))


def main() -> int:
    torch.set_num_threads(1)
    print("| classes | noise | hidden | optimizer | lr | loss | softmax head | in band | "
          "late widest row |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | ---: |")
    grid = itertools.product((2, 3, 4, 10), (0.5, 3.0, 8.0), (0, 32), ("adam", "sgd"),
                             (False, True), LOSSES)
    for seed, (classes, noise, hidden, opt, slow, loss) in enumerate(grid):
        for softmax in (True, False):
            band, widest = one(classes, noise, hidden, opt, slow, loss, softmax, seed)
            print(f"| {classes} | {noise} | {hidden} | {opt} | {'low' if slow else 'usual'} | "
                  f"{loss} | {softmax} | {band} | {widest:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
