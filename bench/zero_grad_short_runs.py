"""Do short runs that never zero the gradients lose anything in their own steps?

    OMP_NUM_THREADS=1 PYTHONPATH=src python bench/zero_grad_short_runs.py

Small seeded scripts, not the generator's (its runs all take more than 20 steps): an MLP on a
tabular rule (SGD with momentum 0.9 at 0.05, Adam at 1e-2 and 1e-3, hand-written SGD at 0.1) and
a linear regression with hand-written SGD at 0.05, for 3, 5, 8, 12 and 17 steps, seeds 1 and 2,
never zeroing against zeroing every step. Each line: both runs' gains (the generator's
validity rule: the broken run lags when its gain is at most half the twin's), then what
training_loop.check says of the broken run (confidence, whether the replayed fix ended lower,
gradient-norm growth) and of the twin. The development evidence for
training_loop.OWN_LENGTH_BELOW (docs/devset.md, session 15).
"""
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import torch  # noqa: E402
from torch import nn  # noqa: E402

import lossdoctor.checks.training_loop as tl  # noqa: E402
from conftest import mlp, record  # noqa: E402


def data(seed, rows=600, features=8, regression=False):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, features, generator=g)
    if regression:
        y = x @ torch.randn(features, 1, generator=g)
        y = y + 0.1 * torch.randn(rows, 1, generator=g)
    else:
        y = (x[:, 0] - x[:, 1] + 0.5 * torch.tanh(x[:, 2] * x[:, 3]) > 0).long()
    return (x[:450], y[:450]), (x[450:], y[450:])


def loop(model, optimizer, loss_fn, train, validation, steps, zero, lr=None, batch=32):
    """``steps`` steps of ``optimizer`` (or hand-written SGD at ``lr``), zeroing or not."""
    x, y = train
    g = torch.Generator().manual_seed(0)
    losses, done, params = [], 0, list(model.parameters())
    while done < steps:
        for rows in torch.randperm(len(x), generator=g).split(batch)[:steps - done]:
            if zero and optimizer is not None:
                optimizer.zero_grad()
            loss_fn(model(x[rows]), y[rows]).backward()
            if optimizer is not None:
                optimizer.step()
            else:
                _by_hand(params, lr, zero)
            done += 1
        with torch.no_grad():
            losses.append(loss_fn(model(validation[0]), validation[1]).item())
    return losses


def _by_hand(params, lr, zero):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            if zero:
                p.grad.zero_()


SETUPS = {  # name: (optimizer, regression, hand-written lr)
    "sgd_m09_0.05": (lambda m: torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9), False,
                     None),
    "adam_1e-2": (lambda m: torch.optim.Adam(m.parameters(), lr=1e-2), False, None),
    "adam_1e-3": (lambda m: torch.optim.Adam(m.parameters(), lr=1e-3), False, None),
    "manual_linreg_0.05": (None, True, 0.05),
    "manual_mlp_0.1": (None, False, 0.1),
}


def run(name, steps, zero, seed):
    make, regression, lr = SETUPS[name]
    train, validation = data(seed, regression=regression)
    torch.manual_seed(seed)
    model = nn.Linear(8, 1) if regression else mlp(8, 32, 2)
    loss_fn = nn.MSELoss() if regression else nn.CrossEntropyLoss()
    with torch.no_grad():
        start = loss_fn(model(validation[0]), validation[1]).item()
    optimizer = make(model) if make else None
    kept = {}

    def train_fn():
        kept["losses"] = loop(model, optimizer, loss_fn, train, validation, steps, zero, lr)

    case = record(train_fn)
    end = kept["losses"][-1]
    gain = (start - end) / start if math.isfinite(end) else -math.inf
    found = [f for f in tl.check(case) if f.cause is tl.MISSING_ZERO_GRAD]
    return gain, found[0] if found else None


def _said(finding):
    if finding is None:
        return "-"
    fix = finding.experiment
    lower = fix is not None and fix.after < fix.before
    return (f"{finding.confidence:.2f} {lower} "
            f"{finding.evidence['gradient_norm_growth']:.2f}")


def main():
    print("setup steps seed | gain_broken gain_twin lags | conf fix_lower growth | twin")
    for name in SETUPS:
        for steps in (3, 5, 8, 12, 17):
            for seed in (1, 2):
                broken_gain, broken = run(name, steps, False, seed)
                twin_gain, twin = run(name, steps, True, seed)
                lags = broken_gain <= 0.5 * twin_gain
                print(f"{name} {steps} {seed} | {broken_gain:.3f} {twin_gain:.3f} {lags} | "
                      f"{_said(broken)} | {_said(twin)}", flush=True)


if __name__ == "__main__":
    main()
