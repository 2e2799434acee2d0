"""How many optimizer steps per epoch make a zero_grad written in the epoch loop hurt?

    python bench/zero_grad_epochs.py --seeds 9100 9400 --steps 2 3 4 8 --out /tmp/zg [--diagnose]

For each development seed of `missing_zero_grad` in the range, the base program of its
`zero_grad_once_per_epoch` case (`cases.build`) is given epochs of exactly K optimizer steps
(K batches of its own batch size: K x batch_size training rows) and as many epochs as keep its
number of steps and of rows seen (at most MAX_EPOCHS); the broken
script zeroes the gradients once per epoch, its twin every step. Both run plainly and the
generator's validity rule (`twin-learns-broken-lags`) says whether the broken run shows the
symptom. With `--diagnose`, lossdoctor also runs on each pair and the table says whether it
reported `missing_zero_grad` on the broken script and anything on the twin. This is the
development evidence for `training_loop.MIN_STEPS_PER_EPOCH` (docs/devset.md, session 8).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from devset.cases import build, part_of  # noqa: E402
from devset.diagnose import diagnose  # noqa: E402
from devset.operators import CAUSES, by_cause  # noqa: E402
from devset.validity import run_pair  # noqa: E402

CAUSE = "missing_zero_grad"
ONCE_PER_EPOCH = next(op for op in by_cause()[CAUSE] if op.name == "zero_grad_once_per_epoch")
#: Epochs at most: a script of 2-step epochs would otherwise validate hundreds of times.
MAX_EPOCHS = 100


def pair(seed: int, steps: int):
    """The twin (zero_grad every step) and the broken program (once per epoch) of ``seed``'s
    base, in epochs of ``steps`` optimizer steps."""
    base = build(seed, ONCE_PER_EPOCH).twin
    t = base.train
    base_steps = t.epochs * -(-base.data.n_train // t.batch_size)
    twin = base.with_data(n_train=steps * t.batch_size).with_train(
        epochs=min(MAX_EPOCHS, max(2, round(base_steps / steps))), schedule="none")
    return twin, twin.with_train(zero_grad="epoch")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs=2, required=True, help="first, last + 1")
    parser.add_argument("--steps", type=int, nargs="+", default=[2, 3, 4, 8])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--diagnose", action="store_true")
    args = parser.parse_args()
    seeds = [s for s in range(*args.seeds) if part_of(s) == "dev" and CAUSES[s % 26] == CAUSE]
    print("| seed | steps/epoch | epochs | twin gain | broken gain | kept | lossdoctor broken "
          "| lossdoctor twin |\n| ---: | ---: | ---: | ---: | ---: | --- | --- | --- |")
    for seed in seeds:
        for steps in args.steps:
            print(_row(seed, steps, args.out, args.diagnose), flush=True)
    return 0


def _row(seed: int, steps: int, out: Path, with_diagnosis: bool) -> str:
    twin, broken = pair(seed, steps)
    folder = out / f"{seed:05d}-k{steps}"
    runs, verdict = run_pair(folder, twin, broken)
    found = ["", ""]
    if with_diagnosis:
        found = [", ".join(diagnose(folder / f"{name}.py", True).ids[:3]) or "-"
                 for name in ("broken", "twin")]
    gains = [f"{g:.2f}" if g is not None else "-" for g in
             (runs["twin"].gain, runs["broken"].gain)]
    return (f"| {seed} | {steps} | {twin.train.epochs} | {gains[0]} | {gains[1]} | "
            f"{'kept' if verdict.kept else verdict.reason} | {found[0]} | {found[1]} |")


if __name__ == "__main__":
    sys.exit(main())
