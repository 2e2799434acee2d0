"""What watching costs a training step: median time per step, bare against watched.

Bare and watched blocks of steps alternate in one process, so both see the same machine state.
Run: python bench/step_overhead.py [--blocks 20] [--steps 25]
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import nullcontext

import torch
from torch import nn

from lossdoctor.capture import Recorder, watching


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


def step_times(model, optimizer, batches, steps: int, context) -> list[float]:
    loss_fn = nn.CrossEntropyLoss()
    times = []
    with context:
        for step in range(steps):
            x, y = batches[step % len(batches)]
            start = time.perf_counter()
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
            times.append(time.perf_counter() - start)
    return times


def measure(name: str, blocks: int, steps: int) -> tuple[str, list[float]]:
    build, shape = MODELS[name]
    torch.manual_seed(0)
    model = build()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    batches = [(torch.randn(shape), torch.randint(0, 10, (shape[0],))) for _ in range(8)]
    recorder = Recorder()  # one recorder across blocks: its step count and schedule advance
    ratios = []
    step_times(model, optimizer, batches, steps, nullcontext())  # warm-up
    for _ in range(blocks):
        bare = statistics.median(step_times(model, optimizer, batches, steps, nullcontext()))
        watched = step_times(model, optimizer, batches, steps, watching(recorder))
        ratios.append(statistics.median(watched) / bare)
    return name, ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--steps", type=int, default=25)
    options = parser.parse_args()
    print(f"torch threads: {torch.get_num_threads()}; {options.blocks} blocks of "
          f"{options.steps} steps each, bare and watched alternating")
    print(f"{'model':24} {'median':>8} {'min':>8} {'max':>8}   (watched / bare step time)")
    for name in MODELS:
        _, ratios = measure(name, options.blocks, options.steps)
        print(f"{name:24} {statistics.median(ratios):8.3f} {min(ratios):8.3f} "
              f"{max(ratios):8.3f}")


if __name__ == "__main__":
    main()
