"""What the hook layer alone costs an ordinary step, against the whole watched step, in one
process: bare blocks, watched blocks, and watched blocks whose handlers all return at once
(a broken recorder's, as step_overhead.py --off), in a random order each round, one Recorder
and Monitor; ordinary steps only (sampled ones, and those of a block's first step, are left
out). Prints each variant's mean of the per-round ratios to bare, +- 2 SE.
``off-nomod`` also puts torch's nn.Module.__call__ back for the block (no module wrapper),
``off-nobwd`` torch's autograd.backward (no backward wrapper).
Run: OMP_NUM_THREADS=1 nice -n 10 python bench/step_floor.py [ROUNDS] [full,off,...]
Session 29 (MLP, 40 rounds): full 1.030 +- 0.008, off 1.012 +- 0.007 at load 17; full
1.020 +- 0.015, off 1.009 +- 0.015 at load 9.
"""

import os
import random
import statistics
import sys
import time
from contextlib import nullcontext

import torch
from torch import nn
from torch.nn.modules.loss import _Loss

from lossdoctor.capture import Recorder, watching
from lossdoctor.monitor import Monitor

TORCH_CALL = nn.Module.__dict__["__call__"]
TORCH_BACKWARD = torch.autograd.backward
VARIANTS = ("full", "off", "off-nomod", "off-nobwd")


def block(variant, model, optimizer, batches, recorder, steps=50) -> float:
    """Mean CPU seconds of the block's ordinary steps."""
    loss_fn, times, saved = nn.CrossEntropyLoss(), [], {}
    with watching(recorder) if variant != "bare" else nullcontext():
        for step in range(steps + 1):
            if step == 1 and variant.startswith("off"):
                recorder.broken = True
                if variant == "off-nomod":
                    saved["call"] = (nn.Module.__dict__["__call__"], _Loss.__dict__["__call__"])
                    nn.Module.__call__ = _Loss.__call__ = TORCH_CALL
                if variant == "off-nobwd":
                    saved["backward"] = torch.autograd.backward
                    torch.autograd.backward = TORCH_BACKWARD
            x, y = batches[step % len(batches)]
            sampled = variant == "full" and (recorder.sampled
                                             or recorder.schedule.is_sampled(recorder.step - 1))
            start = time.thread_time()
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
            if step and not sampled:
                times.append(time.thread_time() - start)
        if "call" in saved:
            nn.Module.__call__, _Loss.__call__ = saved["call"]
        if "backward" in saved:
            torch.autograd.backward = saved["backward"]
    recorder.broken = False
    return statistics.mean(times)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    variants = sys.argv[2].split(",") if len(sys.argv) > 2 else list(VARIANTS)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    batches = [(torch.randn(128, 784), torch.randint(0, 10, (128,))) for _ in range(8)]
    recorder = Recorder(listener=Monitor())
    for variant in ("bare", "full", "full"):  # warm-up, and the run's dense first steps
        block(variant, model, optimizer, batches, recorder)
    ratios = {v: [] for v in variants}
    for _ in range(rounds):
        order = ["bare", *variants]
        random.shuffle(order)
        means = {v: block(v, model, optimizer, batches, recorder) for v in order}
        for v in variants:
            ratios[v].append(means[v] / means["bare"])
    print(f"load {os.getloadavg()[0]:.1f}, {rounds} rounds, bare {1000 * means['bare']:.2f} ms")
    for v, xs in ratios.items():
        print(f"{v:10} {statistics.mean(xs):.4f} +- {2 * statistics.stdev(xs) / len(xs) ** .5:.4f}")


if __name__ == "__main__":
    main()
