"""What the diagnosis costs as the model grows: MLPs of about 0.1M to 50M parameters.

For each size, a synthetic, learnable classification (fixed seed) is trained by a generated
script, once as `python SCRIPT` and once as `lossdoctor run SCRIPT`; the table has the user's
training time, the time from the end of training to the end of `lossdoctor run` (the
diagnosis and the report), the slowest checks, the time from the JSON report's last write to
the process' exit, and the peak resident memory of each process.

    OMP_NUM_THREADS=1 nice -n 10 python bench/scaling.py [--sizes 0.1 1 4] [--budget SECONDS]

Sizes are millions of parameters. Big models train fewer steps (STEPS), so each size's
training takes tens of seconds on one core. Times are wall times on a shared machine: compare
sizes within one table, not across machines.

Session 12 (s12-scale, whose diagnosis is main 38accc6's; default budget; OMP_NUM_THREADS=1, no
nice; a 2-core machine loaded 11-15 by six other sessions for both runs; the 50M row ran alone,
the others in one call):

| params | steps | train plain / watched | after | checks | ran/stopped/skipped | exit | peak MB |
|---|---|---|---|---|---|---|---|
| 0.10M | 300 | 4.2 / 5.4 s | 63.7 s | 60.3 s | 21 / 0 / 1 | 1.90 s | 307 / 478 (1.56x) |
| 1.00M | 300 | 28.0 / 13.4 s | 58.6 s | 56.4 s | 21 / 0 / 1 | 1.34 s | 334 / 470 (1.41x) |
| 4.00M | 200 | 67.1 / 75.5 s | 58.3 s | 53.1 s | 20 / 0 / 2 | 2.56 s | 442 / 666 (1.50x) |
| 16.00M | 50 | 94.2 / 92.5 s | 34.1 s | 21.9 s | 17 / 3 / 2 | 2.37 s | 714 / 905 (1.27x) |
| 49.98M | 30 | 157.4 / 174.7 s | 64.4 s | 38.8 s | 17 / 3 / 2 | 2.66 s | 1493 / 1944 (1.30x) |

(after: from the end of training to the exit; exit: from the JSON report written to the exit;
peak MB: plain / watched.) Slowest checks (s): 0.1M underfit_capacity 37.3, learning_rate 10.8;
1M underfit_capacity 26.1, learning_rate 21.8; 4M learning_rate 23.7, batch_size 10.2; 16M
no_signal 6.2, train_val_shift 6.1; 50M bad_init 16.3, validation_path 7.1.

Again at 50M on 1772412 (a step whose warm-up takes a second or more is timed once), alone, at
load 1.3-2.1: training 20.4 / 22.2 s, after 51.4 s, checks 49.0 s (batch_size 44.5 s; 18 ran,
2 stopped, 2 skipped), exit 0.38 s, peak 1493 / 3096 MB (2.07x): at low load batch_size runs,
and its noise scale on copies of the 50M model sets the peak.

Issue 12's "done when" holds at 50M: the report 64 s after training (target 120 s), peak memory
1.30x the plain run's (target 2.5x). At 16M and 50M, batch_size, learning_rate and
underfit_capacity did not run (their least experiments exceed the 100 s default budget).
Where the 50M row's post-run time goes (a second run with phase timers, load 11-12, 56 s in
all): 1.1 s from the end of training to the end of the recording (0.55 s of it copying the
trained model); 20.6 s measuring the step time on copies (Replayer.step_seconds: one warm-up
and PROBE_STEPS timed steps, ~5 s each for this model at this load); 32.3 s of checks; 0.2 s
rendering and writing; 1.2 s of the exit's first steps, then ~2.7 s for the process to end
(the plain script also takes 6 s to exit after its training). Peak memory is reached during
training (1933 MB when training ended; 1965 MB at most during the diagnosis).

Session 32 (s32-explode, load 6-8): the 50M row's report came 135.0 s after training on main
a430c50 (exploding_gradients 89.0 s: the replay of the user's setup, made before the check
looked at anything, stopped by the budget with every check after it), 80.4, 51.1 and 42.9 s on
s32-explode, which makes that replay only when the growth from the init is seen
(docs/devset.md, "Session 32, helper s32-explode").

Session 33 (lead; main 0c4a7e6, all sizes in one call, OMP_NUM_THREADS=1, no nice, load 6.7-9
from five helpers' runs), per size: training plain / watched, after training, checks, peak MB
plain / watched: 0.1M 5.0 / 12.9 s, 194.8 s, 186.5 s, 307 / 487 (1.59x); 1M 48.4 / 42.5 s,
193.3 s, 184.2 s, 336 / 502 (1.49x); 4M 125.4 / 143.3 s, 181.4 s, 166.3 s, 416 / 685 (1.65x);
16M 138.6 / 136.5 s, 93.5 s, 53.5 s, 699 / 1010 (1.44x); 50M 157.7 / 182.8 s, 124.6 s, 73.6 s,
1495 / 2345 (1.57x); exit 2.0-3.7 s after the report.
Slowest checks (s): 0.1M underfit_capacity 118.5; 1M underfit_capacity 76.8, overfitting 65.3;
4M overfitting 77.3; 16M bad_init 19.3; 50M bad_init 34.6. Below 16M the default budget ends no
check (budget.enforced: it cut no replay), so at this load the small models' diagnoses ran 3-4
times their idle length. The 50M row again at c473f61 (the session's last code), load 1.5-2
(one other process): training 26.5 / 28.0 s, after 106.7 s, checks 95.1 s (batch_size 80.7 s:
at low load its noise scale on copies runs, and the budget stops it), 16 ran / 4 stopped / 2
skipped, exit 0.36 s, peak 1515 / 3121 MB (2.06x).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

INPUTS, CLASSES, BATCH = 128, 10, 64
#: Hidden width of the two-hidden-layer MLP for each size (millions of parameters):
#: parameters = 128w + w^2 + 10w + biases.
WIDTHS = {0.1: 256, 1: 930, 4: 1930, 16: 3930, 50: 7000}
#: Training steps per size: a few hundred where a step is cheap, fewer where it costs most of
#: a second, so that training takes tens of seconds.
STEPS = {0.1: 300, 1: 300, 4: 200, 16: 50, 50: 30}
STEPS_PER_EPOCH = 10
SLOWEST_SHOWN = 3

SCRIPT = """\
import sys, time
import torch
from torch import nn

width, steps = int(sys.argv[1]), int(sys.argv[2])
torch.manual_seed(0)
teacher = torch.randn({inputs}, {classes})
x = torch.randn({rows}, {inputs})
y = (x @ teacher + 0.5 * torch.randn({rows}, {classes})).argmax(1)
x_val = torch.randn(512, {inputs})
y_val = (x_val @ teacher).argmax(1)
model = nn.Sequential(nn.Linear({inputs}, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                      nn.Linear(width, {classes}))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
loss_fn = nn.CrossEntropyLoss()
start = time.perf_counter()
for epoch in range(steps // {per_epoch}):
    model.train()
    for i in range({per_epoch}):
        rows = slice(i * {batch}, (i + 1) * {batch})
        optimizer.zero_grad()
        loss_fn(model(x[rows]), y[rows]).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        loss_fn(model(x_val), y_val)
print("TRAINING", time.perf_counter() - start, "ENDED", time.time(), flush=True)
"""


@dataclass
class Process:
    wall: float  # seconds from start to exit
    training: float  # seconds the script's training loop took
    after_training: float  # seconds from the end of the training loop to the exit
    peak_mb: float  # peak resident memory
    exited_at: float  # time.time() at the exit


@dataclass
class Row:
    millions: float
    parameters: int
    steps: int
    plain: Process
    watched: Process
    checks: list[dict]
    exit_after_report: float  # seconds from the JSON report written (the last file) to the exit

    @property
    def diagnosis_seconds(self) -> float:
        return sum(check.get("seconds", 0.0) for check in self.checks)


def parameters(width: int) -> int:
    return INPUTS * width + width + width * width + width + width * CLASSES + CLASSES


def measured(command: list[str], cwd: Path) -> Process:
    """Runs ``command``; its wall time, training time and peak RSS (wait4: this child only)."""
    start = time.perf_counter()
    with open(cwd / "stderr.txt", "w") as errors:
        child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=errors,
                                 text=True)
        output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    exited, wall = time.time(), time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{command} exited with {child.returncode}")
    words = output.split("TRAINING", 1)[1].split()
    training, ended = float(words[0]), float(words[2])
    return Process(wall, training, exited - ended, usage.ru_maxrss / 1024, exited)


def measure(millions: float, folder: Path, budget: float | None) -> Row:
    width, steps = WIDTHS[millions], STEPS[millions]
    script = folder / "train.py"
    script.write_text(SCRIPT.format(inputs=INPUTS, classes=CLASSES, batch=BATCH,
                                    rows=STEPS_PER_EPOCH * BATCH, per_epoch=STEPS_PER_EPOCH))
    arguments = [script.name, str(width), str(steps)]
    plain = measured([sys.executable, *arguments], folder)
    report = folder / "report.json"
    options = ["--budget", str(budget)] if budget is not None else []
    watched = measured([sys.executable, "-m", "lossdoctor", "run", "--quiet", *options,
                        "--json", str(report), *arguments], folder)
    checks = json.loads(report.read_text())["checks"]
    if not checks:  # no diagnosis: show why
        print((folder / "stderr.txt").read_text()[-2000:], file=sys.stderr)
    return Row(millions, parameters(width), steps, plain, watched, checks,
               watched.exited_at - report.stat().st_mtime)


def slowest(checks: list[dict]) -> str:
    ranked = sorted(checks, key=lambda check: -check.get("seconds", 0.0))[:SLOWEST_SHOWN]
    return ", ".join(f"{c['name']} {c.get('seconds', 0.0):.1f}" for c in ranked)


def not_run(checks: list[dict]) -> int:
    return sum(1 for check in checks if "budget" in check.get("reason", ""))


def by_status(checks: list[dict]) -> str:
    """Checks that ran / were stopped (the budget: cut, or not started) / were skipped."""
    counts = [sum(1 for check in checks if check.get("status") == status)
              for status in ("ran", "stopped", "skipped")]
    return " / ".join(map(str, counts))


HEADER = ("| parameters | steps | training (plain) | training (watched) | after training | "
          "checks | slowest checks (s) | ran / stopped / skipped | not run (budget) | "
          "exit after report | peak MB plain | peak MB watched | ratio |")


def table_row(row: Row) -> str:
    return (f"| {row.parameters / 1e6:.2f}M | {row.steps} | {row.plain.training:.1f} s | "
            f"{row.watched.training:.1f} s | {row.watched.after_training:.1f} s | "
            f"{row.diagnosis_seconds:.1f} s | {slowest(row.checks)} | {by_status(row.checks)} | "
            f"{not_run(row.checks)} | {row.exit_after_report:.2f} s | "
            f"{row.plain.peak_mb:.0f} | {row.watched.peak_mb:.0f} | "
            f"{row.watched.peak_mb / row.plain.peak_mb:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=sorted(WIDTHS),
                        help="millions of parameters, among " + ", ".join(map(str, WIDTHS)))
    parser.add_argument("--budget", type=float, help="passed to lossdoctor run --budget")
    parser.add_argument("--jsonl", help="also append each row, as JSON, to this file")
    options = parser.parse_args()
    print(f"load {os.getloadavg()[0]:.1f} at the start")
    print(HEADER)
    print("|" + "---|" * HEADER.count(" | ") + "---|")
    for millions in options.sizes:
        with tempfile.TemporaryDirectory() as folder:
            row = measure(millions, Path(folder), options.budget)
        print(table_row(row), flush=True)
        if options.jsonl:
            with open(options.jsonl, "a") as out:
                out.write(json.dumps({"millions": millions, "plain": vars(row.plain),
                                      "watched": vars(row.watched),
                                      "checks": row.checks,
                                      "exit_after_report": row.exit_after_report}) + "\n")
    print(f"load {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
