"""What every framework callback does, whatever the framework: watch from the start of fit, hear
the validation loss the framework logs, warn of a plateau live (and ask the trainer to stop,
when told to), and diagnose at the end of fit, with the same capture and checks as
`lossdoctor run`. An error inside lossdoctor is shown once and never reaches the user's fit."""

from __future__ import annotations

import contextlib
import functools
import sys
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

from lossdoctor.capture.printed import is_validation_loss_name
from lossdoctor.curves import CurveVerdict
from lossdoctor.report.notebook import in_notebook
from lossdoctor.session import Report, Watch

#: The names frameworks give the validation loss by default (Lightning and Keras' "val_loss",
#: the HF Trainer's "eval_loss"), preferred to other names that look like one.
USUAL_NAMES = ("val_loss", "eval_loss", "validation_loss", "valid_loss")
#: Report files written at the end of fit, by the Report method that writes each.
REPORT_FILES = {"lossdoctor.json": "save_json", "lossdoctor.html": "save_html",
                "lossdoctor.md": "save_markdown"}


def _safely(method):
    """Run a hook of lossdoctor's; an error in it is warned of once, lossdoctor stops watching,
    and the fit goes on."""

    @functools.wraps(method)
    def guarded(fit: FitWatch, *args, **kwargs):
        if fit.broken:
            return None
        try:
            return method(fit, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - the user's fit must go on
            fit.give_up(f"{method.__name__}: {type(error).__name__}: {error}")
            return None

    return guarded


class FitWatch:
    """One fit, watched. The callbacks call ``start``, ``validation_ended`` and ``finish`` from
    their framework's hooks, and ``abandon`` when the fit raised."""

    def __init__(self, framework: str, stop_on_plateau: bool = False,
                 announce: Callable[[str], None] | None = None, render: bool = True,
                 verbose: bool = False, budget: float | None = None) -> None:
        self.framework = framework
        self.stop_on_plateau = stop_on_plateau
        self.announce = announce or _announce
        self.render, self.verbose, self.budget = render, verbose, budget
        self.watch: Watch | None = None
        self.stop_requested: CurveVerdict | None = None
        self.broken = False
        self.report: Report | None = None
        self.report_paths: list[Path] = []

    @property
    def watching(self) -> bool:
        return self.watch is not None

    @_safely
    def start(self, ask_to_stop: Callable[[], None] | None = None) -> None:
        """Put lossdoctor's hooks on; ``ask_to_stop`` asks the trainer to end the fit."""
        self.abandon()  # a previous fit that raised left its hooks on
        self.report, self.stop_requested, self.report_paths = None, None, []

        def stop(verdict: CurveVerdict) -> None:
            self.stop_requested = verdict
            if ask_to_stop is not None:
                ask_to_stop()

        self.watch = Watch(self.stop_on_plateau, self.announce, stop, label=self.framework)
        self.watch.start()

    @_safely
    def validation_ended(self, metrics: Mapping[str, object]) -> None:
        """A validation pass ended: read the validation loss the framework logged, and judge
        the curves now (a plateau is warned of, and the fit asked to stop, at this epoch)."""
        if not self.watching:
            return
        recorder = self.watch.recorder
        named = validation_loss(metrics)
        if named is not None:
            recorder.validation_reported("framework", *named)
        recorder.settle_losses()
        self.watch.monitor.judge(recorder)

    @_safely
    def finish(self, report_dir: str | Path | None = None) -> Report | None:
        """The end of fit: take the hooks off, diagnose, print the report and write its files
        into ``report_dir`` (if given)."""
        if not self.watching:
            return None
        watch, self.watch = self.watch, None
        watch.finish()
        self.report = watch.diagnose(self.budget)
        if self.render:
            self.report.render(verbose=self.verbose)
        if report_dir is not None:
            self.report_paths = _write(self.report, Path(report_dir))
        return self.report

    def abandon(self) -> None:
        """The fit raised: take the hooks off, diagnose nothing."""
        watch, self.watch = self.watch, None
        if watch is not None:
            with contextlib.suppress(Exception):  # the hooks are off once finish has begun
                watch.finish()

    def give_up(self, reason: str) -> None:
        self.broken = True
        self.abandon()
        warnings.warn(f"lossdoctor stopped watching after an internal error ({reason}); your "
                      "training goes on unaffected. Please report this.", RuntimeWarning,
                      stacklevel=3)


def validation_loss(metrics: Mapping[str, object]) -> tuple[str, float] | None:
    """The validation loss among a framework's logged metrics, as (name, value), or None."""
    names = [name for name in metrics if is_validation_loss_name(str(name))]
    preferred = [name for name in USUAL_NAMES if name in names]
    for name in preferred + sorted(names, key=str):
        value = _number(metrics[name])
        if value is not None:
            return str(name), value
    return None


def _number(value) -> float | None:
    try:
        return float(value)  # a Python number, a 0-d tensor or array
    except (TypeError, ValueError, RuntimeError):
        return None


def _write(report: Report, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, method in REPORT_FILES.items():
        getattr(report, method)(directory / name)
        paths.append(directory / name)
    _announce(f"report written to {directory / 'lossdoctor.html'} (also .json, .md)")
    return paths


def _announce(message: str) -> None:
    """A line of lossdoctor's: on stderr like `lossdoctor run`; on stdout in a notebook, where
    stderr shows as an error."""
    print(f"lossdoctor: {message}", file=sys.stdout if in_notebook() else sys.stderr)
