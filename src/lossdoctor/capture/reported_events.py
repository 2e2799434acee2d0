"""Validation losses the script reports itself: metrics its framework logs (given by a
lossdoctor callback), scalars written to TensorBoard and numbers in the lines it prints.
Trace.validation_passes decides when they are used (its sources)."""

from __future__ import annotations

from lossdoctor.capture.guard import guarded
from lossdoctor.trace import ReportedLoss, Trace


class ReportedEvents:
    # Shared with the other event families, set by Recorder.__init__:
    trace: Trace
    events_since_step: bool
    validated_since_step: bool

    @guarded
    def validation_reported(self, source: str, name: str, value: float) -> None:
        """``source`` is "framework", "tensorboard" or "printed"; ``name`` the metric's name,
        the tag or the line's words."""
        self.trace.add_reported(ReportedLoss(self.step, float(value), source, name))
        self.events_since_step = self.validated_since_step = True
