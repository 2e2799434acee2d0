"""Watch a training loop from inside your own code or notebook, with the same capture as
`lossdoctor run`:

    with lossdoctor.watch() as doctor:
        train()
        doctor.log("val_loss", 0.41)   # values computed by hand join the curves
    doctor.diagnose().render()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lossdoctor.capture import Recorder, watching
from lossdoctor.curves import CurveVerdict
from lossdoctor.monitor import Monitor, StopRun
from lossdoctor.report import document
from lossdoctor.script_run import ScriptRun
from lossdoctor.verdict import diagnose_run


@dataclass
class Report:
    """A diagnosis as the report's plain data; ``render()`` prints it, ``document`` is the JSON."""

    document: dict
    diagnosis: object = None
    curve: CurveVerdict | None = None

    def render(self, console=None) -> None:
        from lossdoctor.report import terminal

        terminal.render(self.document, console)

    def save_json(self, path: str) -> None:
        from lossdoctor.report import json_file

        json_file.write(self.document, path)

    def __getitem__(self, key: str):
        return self.document[key]


@dataclass
class Watch:
    """The context manager ``watch()`` returns; see the module's docstring."""

    stop_on_plateau: bool = False
    announce: Callable[[str], None] | None = None
    recorder: Recorder = field(init=False)
    stopped: bool = False

    def __post_init__(self) -> None:
        self.monitor = Monitor(self.stop_on_plateau, self.announce)
        self.recorder = Recorder(listener=self._on_step)
        self._hooks = None
        self._model = None  # held while watching, so the trained model can be copied at the end
        self._report: Report | None = None

    def __enter__(self) -> Watch:
        self._hooks = watching(self.recorder)
        self._hooks.__enter__()
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        self.recorder.keep_trained_model()
        self._model = None
        self._hooks.__exit__(kind, error, traceback)
        self.stopped = isinstance(error, StopRun)
        self.curve = self.monitor.final_verdict(self.recorder)
        self.trace, self.copies = self.recorder.finish()
        return self.stopped

    def _on_step(self, recorder: Recorder) -> None:
        if self._model is None or recorder.events_since_step:
            self._model = recorder.model
        self.monitor(recorder)

    def log(self, name: str, value: float, step: int | None = None) -> None:
        """Record a value you computed yourself. A name with "loss" in it joins the loss curves:
        validation when it also says "val", "test" or "eval" ("val_loss"), training otherwise;
        other names (metrics such as "accuracy") are kept as they are. ``step`` defaults to the
        optimizer steps taken so far."""
        self.recorder.log(name, value, step)

    @property
    def verdict(self) -> CurveVerdict:
        """What the curves are doing now."""
        return self.monitor.final_verdict(self.recorder)

    def diagnose(self) -> Report:
        """Run lossdoctor's checks on what was watched; returns the Report (``.render()``)."""
        if self._report is None:
            self._report = _diagnose(self)
        return self._report


def _diagnose(watch: Watch) -> Report:
    if not hasattr(watch, "trace"):
        raise RuntimeError("diagnose() reads a finished watch: call it after the `with` block")
    run = ScriptRun("watch()", 0, "", watch.trace, watch.copies, curve=watch.curve)
    diagnosis = diagnose_run(run)
    return Report(document.build(run, diagnosis), diagnosis, watch.curve)


def watch(stop_on_plateau: bool = False, announce: Callable[[str], None] | None = None) -> Watch:
    """Watch the PyTorch training run inside the ``with`` block. ``stop_on_plateau`` ends the
    block's training when the validation loss stops improving (at the next optimizer step);
    ``announce`` is called with a message once, when a plateau is confirmed."""
    return Watch(stop_on_plateau=stop_on_plateau, announce=announce)
