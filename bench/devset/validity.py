"""The validity filter: keep a broken case only if it shows the symptom and its twin learns.

Both scripts are run plainly with python (through `probe.py`, which adds the constant-guess
loss after the script ends). A run's *gain* is how far its final loss got below the constant
guess, in its own loss and units: gain = 1 - final / constant (0 at the constant guess, 1 at a
perfect fit). The final loss is the mean of the last FINAL_EPOCHS printed validation losses
(training losses for a script without a validation set).

Rule `twin-learns-broken-lags`:
- the twin learns: its gain is at least TWIN_MIN_GAIN;
- the broken run shows the symptom: its final loss is not finite, or is negative where a
  well-posed loss cannot be (cross-entropy family and squared or absolute errors), or its gain
  is at most SYMPTOM_SHARE of the twin's gain (flat or worse than a constant guess is gain <= 0).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .probe import PREFIX
from .render import render, target_names

PROBE = Path(__file__).with_name("probe.py")
#: Printed epochs averaged into the final loss: one epoch alone is noisy for an oscillating run.
FINAL_EPOCHS = 2
#: The twin must end at most 80% of the constant guess's loss: clearly learned, not noise.
TWIN_MIN_GAIN = 0.2
#: The broken run may keep at most half of the twin's gain over the constant guess.
SYMPTOM_SHARE = 0.5
#: CPU seconds (torch's import included) above which a plain run is too slow for a benchmark
#: of many cases: twice the ~5 s aimed at. CPU time, so a busy machine does not drop cases.
SLOW_CPU_SECONDS = 10.0
TIMEOUT = 180
ENV_THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
LOSS_LINE = {name: re.compile(rf"\b{name}[= ]+([-+]?(?:nan|inf|[0-9.]+(?:e[-+]?\d+)?))")
             for name in ("train_loss", "val_loss")}


@dataclass
class Run:
    seconds: float
    train: list[float]
    val: list[float]
    constant: float | None
    cpu_seconds: float | None = None
    error: str = ""

    @property
    def watched(self) -> list[float]:
        return self.val or self.train

    @property
    def final(self) -> float | None:
        tail = self.watched[-FINAL_EPOCHS:]
        return sum(tail) / len(tail) if tail else None

    @property
    def gain(self) -> float | None:
        final, constant = self.final, self.constant
        if final is None or constant is None or not math.isfinite(final) or constant <= 0:
            return None
        return 1 - final / constant

    def summary(self) -> dict:
        return {"seconds": round(self.seconds, 2), "cpu_seconds": self.cpu_seconds,
                "final": _rounded(self.final),
                "constant": _rounded(self.constant), "gain": _rounded(self.gain),
                "error": self.error, "epochs": len(self.watched)}


def run_plain(script: Path, loss_kind: str, targets: tuple[str, str | None]) -> Run:
    """Run ``script`` in its folder with python and read its losses and constant guess."""
    command = [sys.executable, str(PROBE), script.name, loss_kind, targets[0]]
    command += [targets[1]] if targets[1] else []
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=script.parent, capture_output=True, text=True,
                              env={**os.environ, **ENV_THREADS}, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return Run(TIMEOUT, [], [], None, error=f"timed out after {TIMEOUT} s")
    seconds = time.perf_counter() - start
    train, val = (_losses(done.stdout, name) for name in ("train_loss", "val_loss"))
    probed = _probed(done.stdout)
    error = "" if done.returncode == 0 else _last_line(done.stderr)
    return Run(seconds, train, val, probed.get("constant"), probed.get("cpu_seconds"), error)


@dataclass
class Verdict:
    kept: bool
    reason: str


def run_pair(folder: Path, twin, broken) -> tuple[dict[str, Run], Verdict]:
    """Both programs written into ``folder`` as twin.py and broken.py, each run plainly, and
    whether the pair shows the fault."""
    folder.mkdir(parents=True, exist_ok=True)
    runs = {}
    for name, program in (("twin", twin), ("broken", broken)):
        (folder / f"{name}.py").write_text(render(program), encoding="utf-8")
        runs[name] = run_plain(folder / f"{name}.py", program.loss.kind,
                               tuple(target_names(program)))
    return runs, judge(runs["twin"], runs["broken"])


def judge(twin: Run, broken: Run) -> Verdict:
    """Apply the rule `twin-learns-broken-lags` to a case's two runs."""
    for name, run in (("twin", twin), ("broken", broken)):
        if run.error:
            return Verdict(False, f"{name} script failed: {run.error}")
        if not run.watched:
            return Verdict(False, f"{name} script printed no losses")
        if (run.cpu_seconds or 0) > SLOW_CPU_SECONDS:
            return Verdict(False, f"{name} script too slow ({run.cpu_seconds:.0f} CPU s)")
    if twin.gain is None or twin.gain < TWIN_MIN_GAIN:
        return Verdict(False, f"twin did not learn (gain {_shown(twin.gain)} < {TWIN_MIN_GAIN})")
    if broken.final is None or not math.isfinite(broken.final):
        return Verdict(True, "symptom: the loss is not finite")
    if broken.final < 0:
        return Verdict(True, f"symptom: a loss that cannot go below 0 is {broken.final:.3g}")
    if broken.gain is None:
        return Verdict(False, "no constant-guess level for the broken run")
    if broken.gain <= SYMPTOM_SHARE * twin.gain:
        return Verdict(True, f"symptom: gain {broken.gain:.2f} <= {SYMPTOM_SHARE} x twin's "
                             f"{twin.gain:.2f}")
    return Verdict(False, f"no symptom: gain {broken.gain:.2f} > {SYMPTOM_SHARE} x twin's "
                          f"{twin.gain:.2f}")


def _losses(stdout: str, name: str) -> list[float]:
    return [float(match.group(1)) for line in stdout.splitlines()
            if (match := LOSS_LINE[name].search(line))]


def _probed(stdout: str) -> dict:
    for line in reversed(stdout.splitlines()):
        if line.startswith(PREFIX):
            return json.loads(line[len(PREFIX):])
    return {}


def _last_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "non-zero exit"


def _rounded(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None if value is None else str(value)
    return round(value, 4)


def _shown(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
