"""lossdoctor as a Hugging Face ``TrainerCallback``::

    from lossdoctor.integrations.transformers import LossDoctorCallback

    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=val,
                      callbacks=[LossDoctorCallback()])
    trainer.train()

It watches from ``on_train_begin``, reads ``eval_loss`` at each evaluation, warns of a plateau
there (and, with ``stop_on_plateau``, sets ``control.should_training_stop``), and at
``on_train_end`` prints the diagnosis and writes it to ``args.output_dir`` (lossdoctor.html,
.json, .md). Only the main process watches. A ``train()`` that raises leaves lossdoctor's hooks
on until the callback's next ``train()`` (the Trainer has no hook for errors).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

try:
    from transformers import TrainerCallback
except ImportError as error:  # pragma: no cover - depends on what is installed
    raise ImportError("lossdoctor's Trainer callback needs transformers: "
                      "pip install 'lossdoctor[transformers]'") from error

from lossdoctor.integrations._fit import FitWatch
from lossdoctor.session import Report


class LossDoctorCallback(TrainerCallback):
    """Diagnose the training it is given to. ``stop_on_plateau`` ends the training when the
    evaluation loss stops improving; ``announce`` is called with the plateau warning (default: a
    line on stderr); ``render`` prints the report at the end, ``verbose`` with its evidence;
    ``report_dir`` overrides ``args.output_dir``; ``budget`` caps the seconds the checks take
    (0: no experiment on copies). The report stays as ``.report``."""

    def __init__(self, stop_on_plateau: bool = False,
                 announce: Callable[[str], None] | None = None, render: bool = True,
                 verbose: bool = False, report_dir: str | Path | None = None,
                 budget: float | None = None) -> None:
        self.report_dir = report_dir
        self._fit = FitWatch("Hugging Face Trainer.train", stop_on_plateau, announce, render,
                             verbose, budget)

    @property
    def report(self) -> Report | None:
        """The last training's report, once it ended."""
        return self._fit.report

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self._fit.start()

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self._fit.validation_ended(metrics or {})
        return self._stop_if_asked(control)

    def on_step_end(self, args, state, control, **kwargs):
        return self._stop_if_asked(control)

    def on_train_end(self, args, state, control, **kwargs):
        self._fit.finish(self.report_dir or args.output_dir)

    def _stop_if_asked(self, control):
        if self._fit.stop_requested is not None and self._fit.watching:
            control.should_training_stop = True
        return control
