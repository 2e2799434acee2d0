"""lossdoctor as a Lightning callback::

    from lossdoctor.integrations.lightning import LossDoctorCallback

    trainer = L.Trainer(callbacks=[LossDoctorCallback()])
    trainer.fit(model, train_loader, val_loader)

It watches from ``on_fit_start``, reads the validation loss logged with ``self.log`` when each
validation pass ends, warns of a plateau there (and, with ``stop_on_plateau``, sets
``trainer.should_stop``), and at ``on_fit_end`` prints the diagnosis and writes it to
``trainer.log_dir`` (lossdoctor.html, .json, .md). Only the global rank 0 watches.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

try:
    from lightning.pytorch import Callback
except ImportError as error:  # pragma: no cover - depends on what is installed
    raise ImportError("lossdoctor's Lightning callback needs lightning: "
                      "pip install 'lossdoctor[lightning]'") from error

from lossdoctor.integrations._fit import FitWatch
from lossdoctor.session import Report


class LossDoctorCallback(Callback):
    """Diagnose the fit it is given to. ``stop_on_plateau`` ends the fit when the validation
    loss stops improving; ``announce`` is called with the plateau warning (default: a line on
    stderr); ``render`` prints the report at the end, ``verbose`` with its evidence;
    ``report_dir`` overrides ``trainer.log_dir`` (None there: no files); ``budget`` caps the
    seconds the checks take (0: no experiment on copies). The report stays as ``.report``."""

    def __init__(self, stop_on_plateau: bool = False,
                 announce: Callable[[str], None] | None = None, render: bool = True,
                 verbose: bool = False, report_dir: str | Path | None = None,
                 budget: float | None = None) -> None:
        super().__init__()
        self.report_dir = report_dir
        self._fit = FitWatch("Lightning Trainer.fit", stop_on_plateau, announce, render,
                             verbose, budget)

    @property
    def report(self) -> Report | None:
        """The last fit's report, once it ended."""
        return self._fit.report

    def on_fit_start(self, trainer, pl_module) -> None:
        if trainer.global_rank == 0:
            self._fit.start(lambda: setattr(trainer, "should_stop", True))

    def on_validation_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self._fit.validation_ended(trainer.callback_metrics)

    def on_fit_end(self, trainer, pl_module) -> None:
        directory = self.report_dir or trainer.log_dir  # log_dir: called on every rank
        self._fit.finish(directory)

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        self._fit.abandon()
