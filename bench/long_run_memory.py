"""Memory of a long watched run: what lossdoctor holds after 10,000 and after 100,000 steps.

A tiny model trains for --steps optimizer steps under the hooks, with a validation pass every
--every steps; tracemalloc measures what is allocated and still held at checkpoints. Flat
means the trace is bounded: loss history decimated, statistics on a logarithmic schedule.
Run: python bench/long_run_memory.py [--steps 100000] [--every 500]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import torch
from torch import nn

from lossdoctor.capture import Recorder, watching
from lossdoctor.session import Monitor

CHECKPOINTS = (1_000, 10_000, 30_000, 100_000)
baseline = 0  # bytes held before the watched run starts


def train(steps: int, every: int) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    batches = [(torch.randn(16, 4), torch.randint(0, 2, (16,))) for _ in range(64)]
    recorder = Recorder()
    recorder.listener = Monitor()
    start = time.perf_counter()
    global baseline
    baseline = tracemalloc.get_traced_memory()[0]
    with watching(recorder):
        for step in range(1, steps + 1):
            x, y = batches[step % len(batches)]
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
            if step % every == 0:
                with torch.no_grad():
                    for xv, yv in batches[:4]:
                        loss_fn(model(xv), yv)
            if step in CHECKPOINTS:
                report(step, recorder, start)


def report(step: int, recorder: Recorder, start: float) -> None:
    held, peak = tracemalloc.get_traced_memory()
    trace = recorder.trace
    print(f"{step:>8,} steps: {(held - baseline) / 1e6:7.2f} MB held since the start "
          f"(peak {(peak - baseline) / 1e6:6.2f} MB), "
          f"{len(trace.losses):6,} loss records, {len(trace.gradients):5,} gradient and "
          f"{len(trace.activations):5,} activation stats, {time.perf_counter() - start:5.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=500)
    options = parser.parse_args()
    torch.set_num_threads(1)
    tracemalloc.start()
    train(options.steps, options.every)


if __name__ == "__main__":
    main()
