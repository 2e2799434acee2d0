"""What a watched run produced, as plain data. The diagnosis and the report read it without
knowing how the run was watched (a script under `lossdoctor run`, or ``watch()``)."""

from __future__ import annotations

from dataclasses import dataclass

from lossdoctor.capture.copies import Copies
from lossdoctor.curves import CurveVerdict
from lossdoctor.trace import Trace


@dataclass
class ScriptRun:
    script: str  # the script's path, or "watch()"
    exit_code: int
    raised: str  # the exception's name when the script raised, else ""
    trace: Trace
    copies: Copies
    curve: CurveVerdict | None = None  # what the loss curve did; stopped_early if we ended it
    seeded: bool | None = None  # torch's generator seeded (by the script or --seed); None: unknown
    #: What the crash said (lossdoctor.crash_reading: its message and, for a crash that names
    #: its cause, the label or step it names); None when the script did not raise.
    crash: dict | None = None
