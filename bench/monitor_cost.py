"""What the live monitor costs a run that validates at every step.

A small regression (a 4-64-1 MLP, batches of 64) trained for N steps with a validation pass
after each, watched by a Recorder with the live Monitor as its listener and by one without; the
table has both wall times, the monitor's judgements and, where the monitor counts it, the time
spent judging. Each judgement reads the whole curve, so judging every pass costs a quadratic
time in the run's length; monitor.JUDGING_SHARE bounds it.

    OMP_NUM_THREADS=1 python bench/monitor_cost.py [--steps 250 500 1000 2000]

Session 32 (s32-explode): see docs/devset.md, "Session 32, helper s32-explode".
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch import nn

from lossdoctor.capture import Recorder, watching
from lossdoctor.monitor import Monitor

WARM_UP_STEPS = 50


def train(steps: int) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
    x, x_val = torch.randn(64, 4), torch.randn(64, 4)
    y, y_val = x.sum(1, keepdim=True), x_val.sum(1, keepdim=True)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        with torch.no_grad():
            nn.functional.mse_loss(model(x_val), y_val)


def watched_seconds(steps: int, monitor: Monitor | None) -> float:
    recorder = Recorder(listener=monitor)
    start = time.perf_counter()
    with watching(recorder):
        train(steps)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[250, 500, 1000, 2000])
    options = parser.parse_args()
    watched_seconds(WARM_UP_STEPS, None)  # the first calls of torch and of the hooks
    print(f"load {os.getloadavg()[0]:.1f} at the start")
    print("| steps (= passes) | watched, no monitor | with the monitor | judgements | "
          "judging |")
    print("|---|---|---|---|---|")
    for steps in options.steps:
        plain = watched_seconds(steps, None)
        monitor = Monitor()
        monitored = watched_seconds(steps, monitor)
        judging = getattr(monitor, "judging_seconds", None)
        judged = getattr(monitor, "judgements", None)
        print(f"| {steps} | {plain:.1f} s | {monitored:.1f} s | "
              f"{'-' if judged is None else judged} | "
              f"{'-' if judging is None else f'{judging:.1f} s'} |", flush=True)
    print(f"load {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
