"""The steady state of ordinary steps (capture/steady_steps.py) changes nothing a check reads:
each script is run with the steady state on and off (run_script, seed 0, no diagnosis), and a
digest of what the run leaves (the trace as JSON, the curve verdict, the exit code, the loss
copied and the batches kept for the replays) is compared. Also printed: the share of steps the
steady state took, and which events sent a step back to the full handlers (the steady function
that left, by count).
Each script runs in a subprocess of its own (both modes in it, steady state first).
Run: OMP_NUM_THREADS=1 nice -n 10 python bench/steady_traces.py [SCRIPT ...] (default: every
example in examples/).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def digest(run) -> str:
    copies = run.copies
    summary = {"loss_fn": type(copies.loss_fn).__name__, "problem": copies.loss_problem,
               "train": kept(copies.train), "validation": kept(copies.validation)}
    text = json.dumps([run.trace.to_dict(), str(run.curve), run.exit_code, summary],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def kept(sample) -> list:
    """The batches the data sample kept for the replays: step, rows, row keys and target."""
    return [(batch.step, batch.rows, batch.keys, repr(batch.target)) for batch in sample.batches]


def recorded(script: str, steady: bool) -> tuple[str, int, int, Counter]:
    """The run's digest, steps, steps the steady state finished, and why steps left it."""
    from lossdoctor.capture import steady_steps
    from lossdoctor.runner import run_script

    steady_steps.STEADY = steady
    taken, left = [0], Counter()
    finished, leave = steady_steps.SteadySteps.steady_step_finished, \
        steady_steps.SteadySteps._leave_steady

    def counting(self, optimizer):
        taken[0] += 1
        finished(self, optimizer)

    def leaving(self):
        if self._steady:
            left[sys._getframe(1).f_code.co_name] += 1
        leave(self)

    steady_steps.SteadySteps.steady_step_finished = counting
    steady_steps.SteadySteps._leave_steady = leaving
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            run = run_script(script, [], seed=0)
    finally:
        steady_steps.SteadySteps.steady_step_finished = finished
        steady_steps.SteadySteps._leave_steady = leave
    return digest(run), run.trace.steps, taken[0], left


def one(script: str) -> None:
    """In a subprocess: both modes of one script, printed as one JSON line."""
    on, steps, taken, left = recorded(script, True)
    off, _, _, _ = recorded(script, False)
    print(json.dumps({"script": script, "same": on == off, "steps": steps, "steady": taken,
                      "left": dict(left)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scripts", nargs="*")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.one:
        one(options.one)
        return
    scripts = [str(Path(s).resolve()) for s in options.scripts] or sorted(
        str(p) for p in (ROOT / "examples").glob("*.py"))
    same = steps = steady = 0
    for script in scripts:
        done = subprocess.run([sys.executable, __file__, "--one", script], capture_output=True,
                              text=True, cwd=Path(script).parent)
        lines = done.stdout.strip().splitlines()
        if not lines:
            print(f"{Path(script).name}: failed: {done.stderr.strip()[-300:]}", flush=True)
            continue
        result = json.loads(lines[-1])
        same += result["same"]
        steps += result["steps"]
        steady += result["steady"]
        print(f"{Path(script).name}: {'identical' if result['same'] else 'DIFFERENT'}, "
              f"{result['steady']} of {result['steps']} steps steady, left at "
              f"{result['left']}", flush=True)
    print(f"{same} of {len(scripts)} identical; {steady} of {steps} steps steady "
          f"({steady / max(steps, 1):.0%})")


if __name__ == "__main__":
    main()
