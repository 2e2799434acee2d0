"""Follows the loss curves while the training runs, for `lossdoctor run` and ``watch()``
alike: judges them, announces a plateau once, and on request ends the run there."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from lossdoctor.capture import Recorder
from lossdoctor.capture.loss_terms import summed_run
from lossdoctor.constant_guess import constant_guess_loss, loss_settings, targets_of
from lossdoctor.curves import PLATEAU, WINDOW, CurveVerdict, judge_trace, turning_up
from lossdoctor.symptom import symptom_of

#: Without validation passes, the training curve is judged at most this often (seconds).
TRAIN_ONLY_INTERVAL = 1.0
#: The most of the run's wall time the judging of validation passes may take. A judgement reads
#: the whole curve, so a run validating at every step paid for every pass again at each one
#: (quadratic: bench/monitor_cost.py); past this share, passes wait until the run has gone on
#: long enough. Issue 12 allows the watched step 3% over the plain one in all.
JUDGING_SHARE = 0.01
#: ... or, whatever the share, this much in all: a second over a whole run, the live status
#: line's own pace (TRAIN_ONLY_INTERVAL). A run validating once an epoch spends milliseconds on
#: each judgement and keeps every one of them (the bundled demo's plateau is announced at the
#: same epoch on any machine); only a run judged thousands of times meets the share.
JUDGING_FLOOR_SECONDS = 1.0


class StopRun(BaseException):
    """Raised by lossdoctor at an optimizer step, before the step is taken, to end a run whose
    validation loss has stopped improving. A BaseException, like KeyboardInterrupt, so that a
    training loop's ``except Exception`` does not swallow it."""

    def __init__(self, verdict: CurveVerdict) -> None:
        super().__init__(verdict.message)
        self.verdict = verdict


class Monitor:
    """Follows the curves as the run goes: judges them when a validation pass ends, announces a
    plateau once, and with ``stop_on_plateau`` ends the run there: ``stop`` is called with the
    verdict (by default it raises StopRun; a framework's callback asks its trainer instead)."""

    #: The recorder tells it at its first step and at steps after a validation loss or a new
    #: data-loader pass, not at every step (~6 us of an ordinary step, bench/step_overhead.py):
    #: it judges only then, and reads the step and the last loss from the recorder when asked.
    told_every_step = False

    def __init__(self, stop_on_plateau: bool = False,
                 announce: Callable[[str], None] | None = None,
                 stop: Callable[[CurveVerdict], None] | None = None) -> None:
        self.stop_on_plateau = stop_on_plateau
        self.announce = announce
        self.stop = stop or _raise_stop
        self.verdict: CurveVerdict | None = None
        self.plateau: CurveVerdict | None = None  # the first confirmed plateau
        self.settled = False  # the plateau came after real progress: converged, not stuck
        self.stopped: CurveVerdict | None = None
        self._recorder: Recorder | None = None  # the one that told it last
        self.validation_loss: float | None = None
        self.epoch = 0  # validation passes so far: the epoch, when validating once an epoch
        self._judged_at = 0.0
        self.judgements = 0
        self.judging_seconds = 0.0  # spent judging, against the run's time since _started
        self._started: float | None = None

    @property
    def step(self) -> int:
        return self._recorder.step if self._recorder is not None else 0

    @property
    def train_loss(self) -> float | None:
        return self._recorder.last_train_loss if self._recorder is not None else None

    def __call__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        now = time.monotonic()
        if self._started is None:
            self._started = now
        if self._affordable(now) and (recorder.validated_since_step or (
            recorder.events_since_step and now - self._judged_at > TRAIN_ONLY_INTERVAL
        )):
            self.judge(recorder)

    def _affordable(self, now: float) -> bool:
        """Whether judging now keeps the judging within JUDGING_SHARE of the run's time (or
        JUDGING_FLOOR_SECONDS)."""
        allowed = max(JUDGING_FLOOR_SECONDS, JUDGING_SHARE * (now - self._started))
        return self.judging_seconds <= allowed

    def judge(self, recorder: Recorder) -> None:
        """Judge the curves now (a framework's callback calls it when a validation pass ends)."""
        self._judged_at = time.monotonic()
        try:
            self._judge(recorder)
        finally:
            self.judgements += 1
            self.judging_seconds += time.monotonic() - self._judged_at

    def _judge(self, recorder: Recorder) -> None:
        self._recorder = recorder
        recorder.read_losses()  # training losses an accelerator still holds join the curves
        passes = recorder.trace.validation_passes()
        self.validation_loss = passes[-1].loss if passes else None
        self.epoch = len(passes)
        chance = live_chance_loss(recorder)
        self.verdict = judge_trace(recorder.trace, chance)
        if self._confirms_plateau(self.verdict, passes):
            self.plateau = self.verdict
            self.plateau.flagged_at_epoch = len(passes) - 1
            self.settled = symptom_of(recorder.trace, self.verdict, chance) is None
            if self.announce is not None and not self.settled:
                self.announce(_announcement(self.verdict, self.plateau.flagged_at_epoch,
                                            recorder.step))
        if self.stop_on_plateau and self.stopped is None and self.plateau is not None and (
                self.verdict.is_plateau and _passes_since_best(passes) >= WINDOW):
            self._stop(recorder)

    def _confirms_plateau(self, verdict: CurveVerdict, passes) -> bool:
        """Only the validation curve is trusted live: a training curve judged before the
        first validation passes would speak too early. A curve turning up is not called flat:
        the announcement waits for the next pass (a rise, once clear, is no plateau); one at or
        above a constant guess is announced as that, rising or not."""
        return (self.plateau is None and verdict.is_plateau and verdict.curve == "validation"
                and not (verdict.kind == PLATEAU and turning_up([p.loss for p in passes])))

    def _stop(self, recorder: Recorder) -> None:
        verdict = self.verdict
        verdict.stopped_early = True
        verdict.stopped_at_step = recorder.step
        verdict.stopped_at_epoch = recorder.trace.epoch_of(recorder.step) if (
            recorder.trace.epoch_starts) else len(recorder.trace.validation_passes()) - 1
        verdict.message += (f"; lossdoctor stopped the run at step {recorder.step} "
                            f"(epoch {verdict.stopped_at_epoch})")
        self.stopped = verdict
        self.stop(verdict)

    def final_verdict(self, recorder: Recorder) -> CurveVerdict:
        """The verdict on the whole run; the one that stopped it, if lossdoctor stopped it."""
        if self.stopped is not None:
            return self.stopped
        verdict = judge_trace(recorder.trace, live_chance_loss(recorder))
        if self.plateau is not None:
            verdict.flagged_at_epoch = self.plateau.flagged_at_epoch
        return verdict


def _announcement(verdict: CurveVerdict, epoch: int, step: int) -> str:
    """The verdict with the moment it was made: the report at the end judges the whole run and
    may date the plateau later ('since epoch 4' after an announced 'since epoch 3'), and both
    must read as right."""
    at = f"at epoch {epoch}" if verdict.unit == "epoch" else f"at step {step}"
    return f"{at}, on the passes so far: {verdict.message}"


def _raise_stop(verdict: CurveVerdict) -> None:
    raise StopRun(verdict)


def _passes_since_best(passes) -> int:
    """Validation passes since the lowest loss so far: a run is never stopped within WINDOW
    passes of a new best, however small (the patience of early stopping)."""
    finite = [(i, p.loss) for i, p in enumerate(passes) if math.isfinite(p.loss)]
    if not finite:
        return len(passes)
    best = min(finite, key=lambda pair: pair[1])[0]
    return len(passes) - 1 - best


def live_chance_loss(recorder: Recorder) -> float | None:
    """The constant guess's loss, estimated from the labels of the batches captured so far."""
    copies = recorder.copies
    train = targets_of(copies.train.batches)
    validation = targets_of(copies.validation.batches)
    setup = recorder.trace.setup
    if summed_run(setup):  # as Case.constant_guess_loss: no guess of one term stands for a sum
        return None
    return constant_guess_loss(setup.loss_name, loss_settings(copies.loss_fn, setup.loss_kwargs),
                               train, validation if validation is not None else train)
