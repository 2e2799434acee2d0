"""Watch a training loop from inside your own code or notebook, with the same capture as
`lossdoctor run`:

    with lossdoctor.watch() as doctor:
        train()
        doctor.log("val_loss", 0.41)   # values computed by hand join the curves
    doctor.diagnose().render()
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lossdoctor.capture import Recorder, watching
from lossdoctor.capture.tensors import first_tensor
from lossdoctor.curves import CurveVerdict, constant_guess_loss, judge_trace

#: Without validation passes, the training curve is judged at most this often (seconds).
TRAIN_ONLY_INTERVAL = 1.0


class StopRun(BaseException):
    """Raised by lossdoctor at an optimizer step, before the step is taken, to end a run whose
    validation loss has stopped improving. A BaseException, like KeyboardInterrupt, so that a
    training loop's ``except Exception`` does not swallow it."""

    def __init__(self, verdict: CurveVerdict) -> None:
        super().__init__(verdict.message)
        self.verdict = verdict


class Monitor:
    """Follows the curves as the run goes: judges them when a validation pass ends, announces a
    plateau once, and with ``stop_on_plateau`` ends the run there (raises StopRun)."""

    def __init__(self, stop_on_plateau: bool = False,
                 announce: Callable[[str], None] | None = None) -> None:
        self.stop_on_plateau = stop_on_plateau
        self.announce = announce
        self.verdict: CurveVerdict | None = None
        self.plateau: CurveVerdict | None = None  # the first confirmed plateau
        self.stopped: CurveVerdict | None = None
        self.step, self.train_loss = 0, None
        self.validation_loss: float | None = None
        self.epoch = 0  # validation passes so far: the epoch, when validating once an epoch
        self._judged_at = 0.0

    def __call__(self, recorder: Recorder) -> None:
        self.step, self.train_loss = recorder.step, recorder.last_train_loss
        if recorder.validated_since_step or (
            recorder.events_since_step and time.monotonic() - self._judged_at > TRAIN_ONLY_INTERVAL
        ):
            self._judge(recorder)

    def _judge(self, recorder: Recorder) -> None:
        self._judged_at = time.monotonic()
        passes = recorder.trace.validation_passes()
        self.validation_loss = passes[-1].loss if passes else None
        self.epoch = len(passes)
        self.verdict = judge_trace(recorder.trace, live_chance_loss(recorder))
        if self._confirms_plateau(self.verdict):
            self.plateau = self.verdict
            self.plateau.flagged_at_epoch = len(passes) - 1
            if self.announce is not None:
                self.announce(self.verdict.message)
            if self.stop_on_plateau:
                self._stop(recorder)

    def _confirms_plateau(self, verdict: CurveVerdict) -> bool:
        """Only the validation curve is trusted live: a training curve judged before the
        first validation passes would speak too early."""
        return self.plateau is None and verdict.is_plateau and verdict.curve == "validation"

    def _stop(self, recorder: Recorder) -> None:
        verdict = self.verdict
        verdict.stopped_early = True
        verdict.stopped_at_step = recorder.step
        verdict.stopped_at_epoch = recorder.trace.epoch_of(recorder.step) if (
            recorder.trace.epoch_starts) else len(recorder.trace.validation_passes()) - 1
        verdict.message += (f"; lossdoctor stopped the run at step {recorder.step} "
                            f"(epoch {verdict.stopped_at_epoch})")
        self.stopped = verdict
        raise StopRun(verdict)

    def final_verdict(self, recorder: Recorder) -> CurveVerdict:
        """The verdict on the whole run; the one that stopped it, if lossdoctor stopped it."""
        if self.stopped is not None:
            return self.stopped
        verdict = judge_trace(recorder.trace, live_chance_loss(recorder))
        if self.plateau is not None:
            verdict.flagged_at_epoch = self.plateau.flagged_at_epoch
        return verdict


def live_chance_loss(recorder: Recorder) -> float | None:
    """The constant guess's loss, estimated from the labels of the batches captured so far."""
    copies = recorder.copies
    train = _targets(copies.train.batches)
    validation = _targets(copies.validation.batches)
    setup = recorder.trace.setup
    return constant_guess_loss(setup.loss_name, setup.loss_kwargs, train,
                               validation if validation is not None else train)


def _targets(batches):
    import torch

    tensors = [first_tensor(b.target) for b in batches]
    tensors = [t for t in tensors if t is not None]
    if not tensors or len({t.shape[1:] for t in tensors}) != 1:
        return None
    return torch.cat(tensors).numpy()


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
    from lossdoctor.report import document
    from lossdoctor.runner import ScriptRun
    from lossdoctor.verdict import diagnose_run

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
