"""What watching costs a training step: median time per step, bare against watched.

Bare and watched blocks of steps alternate in one process, so both see the same machine state.
The watched blocks run as `lossdoctor run` does by default: the recorder on PyTorch's global
hooks, with the live curve monitor listening (no status line: that is drawn by rich's thread).
Prints, per model, the median, min and max over blocks of (watched median / bare median), and
the ratio of the pooled medians. On a loaded machine, look at the median and the pooled ratio.
Run: python bench/step_overhead.py [--blocks 30] [--steps 20] [--threads N] [--clock cpu]
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import nullcontext

import torch
from torch import nn

from lossdoctor.capture import Recorder, watching
from lossdoctor.session import Monitor


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


def cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )


MODELS = {"mlp 784-512-512-10": (mlp, (128, 784)), "cnn 2 conv + linear": (cnn, (128, 1, 28, 28))}


#: perf_counter: wall time, what a user waits. thread_time: this thread's CPU time, steadier
#: on a machine other processes load (use it with --threads 1: torch's workers are not counted).
CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}
clock = time.perf_counter


def step_times(model, optimizer, batches, steps: int, context) -> list[float]:
    loss_fn = nn.CrossEntropyLoss()
    times = []
    with context:
        for step in range(steps):
            x, y = batches[step % len(batches)]
            start = clock()
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
            times.append(clock() - start)
    return times


def measure(name: str, blocks: int, steps: int) -> tuple[list[float], float]:
    """Per-block ratios, and the ratio of the medians of all steps pooled."""
    build, shape = MODELS[name]
    torch.manual_seed(0)
    model = build()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    batches = [(torch.randn(shape), torch.randint(0, 10, (shape[0],))) for _ in range(8)]
    recorder = Recorder()  # one recorder across blocks: its step count and schedule advance
    recorder.listener = Monitor()
    ratios, bare_all, watched_all = [], [], []
    step_times(model, optimizer, batches, steps, nullcontext())  # warm-up
    for _ in range(blocks):
        bare = step_times(model, optimizer, batches, steps, nullcontext())
        watch = step_times(model, optimizer, batches, steps, watching(recorder))
        ratios.append(statistics.median(watch) / statistics.median(bare))
        bare_all += bare
        watched_all += watch
    return ratios, statistics.median(watched_all) / statistics.median(bare_all)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=30)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--clock", choices=CLOCKS, default="wall")
    options = parser.parse_args()
    global clock
    clock = CLOCKS[options.clock]
    if options.threads:
        torch.set_num_threads(options.threads)
    print(f"torch threads: {torch.get_num_threads()}; {options.clock} clock; {options.blocks} "
          f"blocks of {options.steps} steps each, bare and watched alternating")
    print(f"{'model':24} {'median':>8} {'min':>8} {'max':>8} {'pooled':>8}"
          "   (watched / bare median step time)")
    for name in MODELS:
        ratios, pooled = measure(name, options.blocks, options.steps)
        print(f"{name:24} {statistics.median(ratios):8.3f} {min(ratios):8.3f} "
              f"{max(ratios):8.3f} {pooled:8.3f}")


if __name__ == "__main__":
    main()
