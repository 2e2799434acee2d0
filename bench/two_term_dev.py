"""Development cases for a loss of two terms added up outside the model (issue 11; bench/fresh24
s06's Tacotron2Loss): the generator (bench/devset.py) has no base whose criterion returns
``MSELoss()(frames, y) + BCEWithLogitsLoss()(gate, stop)`` on two heads, so this writes such
scripts, one folder of the form bench/fresh.py scores, from dev seeds:

    python bench/two_term_dev.py OUT --seeds 346000 346001
    python bench/fresh.py OUT --timeout 900

Each seed draws a small sequence model (a GRU over feature frames, a frame head and a stop
head) and writes its healthy run (the sum returned by a criterion module, and the same sum
written in the loop) and faults applied to it: a learning rate far too high, and the stop head
frozen before the optimizer is built (its BCE never learns)."""

from __future__ import annotations

import argparse
import random
from pathlib import Path

TEMPLATE = '''# lossdoctor-expect: {expect}
"""Two-term dev case {name} (seed {seed}): frames by MSE plus a stop gate by BCE with logits,
added up{where}."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed({seed})
FRAMES, FEATURES, BANDS = {frames}, {features}, {bands}


def make(n, generator):
    x = torch.randn(n, FRAMES, FEATURES, generator=generator).cumsum(1) / FRAMES ** 0.5
    mix = torch.randn(FEATURES, BANDS, generator=torch.Generator().manual_seed({seed}))
    frames = torch.tanh(x @ mix) + {noise} * torch.randn(n, FRAMES, BANDS, generator=generator)
    stop = torch.zeros(n, FRAMES)
    stop[:, -1] = 1.0
    return TensorDataset(x, frames, stop)


class Speaker(nn.Module):
    def __init__(self, hidden={hidden}):
        super().__init__()
        self.rnn = nn.GRU(FEATURES, hidden, batch_first=True)
        self.frames = nn.Linear(hidden, BANDS)
        self.stop = nn.Linear(hidden, 1)

    def forward(self, x):
        h, _ = self.rnn(x)
        return self.frames(h), self.stop(h).squeeze(-1)


class FramesAndStopLoss(nn.Module):
    def forward(self, output, targets):
        frames, stop = output
        frames_target, stop_target = targets
        return nn.MSELoss()(frames, frames_target) + nn.BCEWithLogitsLoss()(stop, stop_target)


def loss_of(model, x, frames, stop):
{loss_body}


generator = torch.Generator().manual_seed({seed})
train_loader = DataLoader(make({n_train}, generator), batch_size={batch}, shuffle=True)
val_loader = DataLoader(make({n_val}, generator), batch_size=64)
model = Speaker()
{freeze}optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr={lr})
criterion = FramesAndStopLoss()

for epoch in range({epochs}):
    model.train()
    for x, frames, stop in train_loader:
        optimizer.zero_grad()
        loss = loss_of(model, x, frames, stop)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val = sum(loss_of(model, x, f, s).item() for x, f, s in val_loader) / len(val_loader)
    print(f"epoch {{epoch}} train loss {{loss.item():.4f}} validation loss {{val:.4f}}")
'''

CRITERION = "    return criterion(model(x), (frames, stop))"
IN_THE_LOOP = ("    out_frames, out_stop = model(x)\n"
               "    return (nn.MSELoss()(out_frames, frames)\n"
               "            + nn.BCEWithLogitsLoss()(out_stop, stop))")
FREEZE = "model.stop.requires_grad_(False)\n"

#: name: (expected cause, loss body, where the sum is written, lr factor, frozen stop head)
VARIANTS = {
    "healthy_criterion": ("", CRITERION, " by a criterion module", 1.0, False),
    "healthy_in_the_loop": ("", IN_THE_LOOP, " in the training loop", 1.0, False),
    "lr_too_high": ("lr_too_high", CRITERION, " by a criterion module", 3000.0, False),
    "stop_head_frozen": ("frozen_params", CRITERION, " by a criterion module", 1.0, True),
}


def write(out: Path, seeds: list[int]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for index, seed in enumerate(seeds):
        rng = random.Random(seed)
        shape = {"frames": rng.randrange(8, 14), "features": rng.randrange(3, 7),
                 "bands": rng.randrange(3, 9), "hidden": rng.choice([24, 32, 48]),
                 "noise": round(rng.uniform(0.02, 0.1), 3), "n_train": rng.randrange(480, 800),
                 "n_val": rng.randrange(128, 256), "batch": rng.choice([16, 32]),
                 "epochs": rng.randrange(6, 10)}
        lr = 10 ** rng.uniform(-3, -2.5)
        for number, (name, (expect, body, where, factor, frozen)) in enumerate(VARIANTS.items()):
            path = out / f"s{index * len(VARIANTS) + number + 1:02d}_{seed}_{name}.py"
            path.write_text(TEMPLATE.format(
                expect=expect, name=name, seed=seed, where=where, loss_body=body,
                lr=f"{lr * factor:.3g}", freeze=FREEZE if frozen else "", **shape))
            written.append(path)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[346000])
    args = parser.parse_args()
    for path in write(args.out, args.seeds):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
