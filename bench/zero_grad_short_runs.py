"""From how many optimizer steps does a loop that never zeroes its gradients show it?

    python bench/zero_grad_short_runs.py --seeds 9000 9600 --steps 5 10 15 --out /tmp/zs

For each development seed of `missing_zero_grad` in the range, the base program of its
`no_zero_grad` case (`cases.build`) is cut to a run of exactly K optimizer steps: its training
rows are one batch of its own batch size, trained for K epochs (the shape of a short
full-batch demo). The broken script never zeroes the gradients, its twin zeroes them every step.
Both run plainly and the generator's validity rule (`twin-learns-broken-lags`) says whether the
broken run shows the symptom within K steps. It was written to choose a smaller bar than
`training_loop.MIN_STEPS` for runs that never zero at all (linear_regression_manual_grads stops
after 17 steps); on seeds 9000-9400 (9 bases, K = 5, 10, 20) it gave no support for one: the
twins of 8 bases did not learn within 20 full-batch steps, and the one that did (9142) was not
held back by never zeroing (docs/corpus.md, session 9). MIN_STEPS stays.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from devset.cases import build, part_of  # noqa: E402
from devset.operators import CAUSES, by_cause  # noqa: E402
from devset.validity import run_pair  # noqa: E402

CAUSE = "missing_zero_grad"
NO_ZERO_GRAD = next(op for op in by_cause()[CAUSE] if op.name == "no_zero_grad")


def pair(seed: int, steps: int):
    """The twin (zero_grad every step) and the broken program (never) of ``seed``'s base, cut
    to ``steps`` full-batch optimizer steps."""
    base = build(seed, NO_ZERO_GRAD).twin
    twin = base.with_data(n_train=base.train.batch_size).with_train(
        epochs=steps, schedule="none")
    return twin, twin.with_train(zero_grad="none")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs=2, required=True, help="first, last + 1")
    parser.add_argument("--steps", type=int, nargs="+", default=[5, 10, 15])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    seeds = [s for s in range(*args.seeds) if part_of(s) == "dev" and CAUSES[s % 26] == CAUSE]
    print("| seed | steps | twin gain | broken gain | kept |\n| ---: | ---: | ---: | ---: | --- |")
    for seed in seeds:
        for steps in args.steps:
            print(_row(seed, steps, args.out), flush=True)
    return 0


def _row(seed: int, steps: int, out: Path) -> str:
    twin, broken = pair(seed, steps)
    folder = out / f"{seed:05d}-k{steps}"
    runs, verdict = run_pair(folder, twin, broken)
    gains = [f"{g:.2f}" if g is not None else "-" for g in
             (runs["twin"].gain, runs["broken"].gain)]
    return (f"| {seed} | {steps} | {gains[0]} | {gains[1]} | "
            f"{'kept' if verdict.kept else verdict.reason} |")


if __name__ == "__main__":
    sys.exit(main())
