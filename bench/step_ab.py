"""Two versions of lossdoctor's watched step, compared in one process: what load cannot move.

bench/step_overhead.py compares bare and watched blocks of one version; two versions run as
two processes side by side differ from run to run by more than a change of a few tens of
microseconds (docs/devset.md, session 27). Here each round runs a bare block and a watched
block of each version (50 steps each) in a random order, on one model and optimizer; each
version keeps its Recorder and Monitor across its blocks, so its sampled steps come at the
rate a run has them. Each src tree is copied under a new package name (its imports renamed)
so that both can be imported at once.
Run: OMP_NUM_THREADS=1 nice -n 10 python bench/step_ab.py OLD_SRC NEW_SRC [--model mlp|deep]
[--rounds 40] [--metric]  (OLD_SRC: e.g. a snapshot's src from git worktree add --detach).
Prints old / bare, new / bare and new / old (mean of the per-round ratios +- 2 SE), and the
pooled means over the bare mean.
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

STEPS = 50


def renamed_copy(src: str, name: str, into: Path):
    """``src``'s lossdoctor package copied as ``name`` (every ``lossdoctor`` word renamed), then
    its capture and monitor modules imported."""
    target = into / name
    shutil.copytree(Path(src) / "lossdoctor", target,
                    ignore=shutil.ignore_patterns("__pycache__"))
    for path in target.rglob("*.py"):
        path.write_text(re.sub(r"\blossdoctor\b", name, path.read_text()))
    return importlib.import_module(f"{name}.capture"), importlib.import_module(f"{name}.monitor")


def models():
    mlp = (lambda: nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                                 nn.Linear(512, 10)), (128, 784))
    deep = (lambda: nn.Sequential(*[nn.Sequential(nn.Linear(64, 64), nn.ReLU())
                                    for _ in range(200)], nn.Linear(64, 10)), (64, 64))
    return {"mlp": mlp, "deep": deep}


def block(model, optimizer, batches, watched=None, metric: bool = False) -> float:
    """Mean CPU seconds of a step over a block (its first step untimed: it narrows the hooks).
    ``metric``: each step also scores the detached output with a loss function before
    backward, as loops that print a second measure do."""
    loss_fn, times = nn.CrossEntropyLoss(), []
    capture, recorder = watched or (None, None)
    with capture.watching(recorder) if capture else nullcontext():
        for step in range(STEPS + 1):
            x, y = batches[step % len(batches)]
            start = time.thread_time()
            optimizer.zero_grad()
            out = model(x)
            loss = loss_fn(out, y)
            if metric:
                F.nll_loss(out.detach().log_softmax(1), y)
            loss.backward()
            optimizer.step()
            if step:
                times.append(time.thread_time() - start)
    return statistics.mean(times)


def ratio(numerators, denominators) -> str:
    ratios = [n / d for n, d in zip(numerators, denominators, strict=True)]
    error = 2 * statistics.stdev(ratios) / len(ratios) ** 0.5
    return f"{statistics.mean(ratios):.3f} +- {error:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old_src")
    parser.add_argument("new_src")
    parser.add_argument("--model", choices=("mlp", "deep"), default="mlp")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--metric", action="store_true",
                        help="each step also scores the detached output before backward")
    options = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        sys.path.insert(0, folder)
        versions = {}
        for key, src in (("old", options.old_src), ("new", options.new_src)):
            capture, monitor = renamed_copy(src, f"lossdoctor_{key}", Path(folder))
            versions[key] = (capture, capture.Recorder(listener=monitor.Monitor()))
        build, shape = models()[options.model]
        torch.manual_seed(0)
        model = build()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        batches = [(torch.randn(shape), torch.randint(0, 10, (shape[0],))) for _ in range(8)]
        metric = options.metric
        block(model, optimizer, batches, metric=metric)  # warm-up
        for watched in versions.values():  # each version's dense first steps
            block(model, optimizer, batches, watched, metric)
        rng, times = random.Random(1), {"bare": [], "old": [], "new": []}
        for _ in range(options.rounds):
            order = list(times)
            rng.shuffle(order)
            for key in order:
                times[key].append(block(model, optimizer, batches, versions.get(key), metric))
    bare = statistics.mean(times["bare"])
    pooled = {key: statistics.mean(times[key]) / bare for key in ("old", "new")}
    loop = ", metric" if options.metric else ""
    print(f"{options.model}{loop}, {options.rounds} rounds, bare {1000 * bare:.2f} ms, load "
          f"{os.getloadavg()[0]:.1f}: old / bare {ratio(times['old'], times['bare'])}, new / "
          f"bare {ratio(times['new'], times['bare'])}, new / old "
          f"{ratio(times['new'], times['old'])}; pooled old {pooled['old']:.3f}, new "
          f"{pooled['new']:.3f}")


if __name__ == "__main__":
    main()
