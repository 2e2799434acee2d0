"""Watch a training loop from inside your own code or notebook, with the same capture as
`lossdoctor run`:

    with lossdoctor.watch() as doctor:
        train()
        doctor.log("val_loss", 0.41)   # values computed by hand join the curves
    doctor.diagnose().render()
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

from lossdoctor.capture import Recorder, watching
from lossdoctor.curves import CurveVerdict
from lossdoctor.monitor import Monitor, StopRun
from lossdoctor.report import document
from lossdoctor.script_run import ScriptRun
from lossdoctor.verdict import diagnose_run

#: Where the evidence is, in the words of this API (the command line's hint names its flags).
#: Characters of the headline a Report's repr keeps: one line in a notebook or a REPL (the whole
#: verdict is in render(), the HTML and the files); a slow run's symptom alone runs to ~290.
REPR_HEADLINE = 200
API_HINT = ("The evidence behind each cause: render(verbose=True), or save_html(PATH) for the "
            "figures.")


@dataclass(repr=False)
class Report:
    """A diagnosis as the report's plain data (``document``, the JSON). ``render()`` prints it;
    in Jupyter it shows as the HTML report, figures included."""

    document: dict
    diagnosis: object = None
    curve: CurveVerdict | None = None

    def render(self, console=None, verbose: bool = False) -> None:
        """Print the report: to stdout in a notebook, else to stderr like `lossdoctor run`.
        ``verbose`` adds the evidence numbers, dismissed findings and skipped checks."""
        from lossdoctor.report import terminal

        terminal.render(self.document, console or _console(), verbose=verbose, hint=API_HINT)

    def save_json(self, path: str) -> None:
        from lossdoctor.report import json_file

        json_file.write(self.document, str(path))

    def save_html(self, path: str) -> None:
        """The HTML report: one self-contained file with the figures."""
        from lossdoctor.report import html

        html.write(self.document, str(path))

    def save_markdown(self, path: str) -> None:
        from lossdoctor.report import markdown

        markdown.write(self.document, str(path))

    def _repr_html_(self) -> str:
        from lossdoctor.report import html
        from lossdoctor.report.notebook import inline_html

        return inline_html(html.render(self.document))

    def __repr__(self) -> str:
        from lossdoctor.report._common import cause_tag, headline

        causes = self.document["causes"]
        tag = f" {cause_tag(causes[0])}" if causes else ""
        short = textwrap.shorten(headline(self.document), REPR_HEADLINE, placeholder=" ...")
        return f"<lossdoctor Report: {short}{tag}>"

    def __getitem__(self, key: str):
        return self.document[key]


def _console():
    from rich.console import Console

    from lossdoctor import own_output
    from lossdoctor.report.notebook import in_notebook

    if in_notebook():  # stderr would show red; Jupyter's own display is not text
        return Console(file=sys.stdout, force_jupyter=False, highlight=False)
    return own_output.console()


@dataclass
class Watch:
    """The context manager ``watch()`` returns; see the module's docstring. A framework's
    callback calls ``start()`` and ``finish()`` instead of entering the block."""

    stop_on_plateau: bool = False
    announce: Callable[[str], None] | None = None
    #: How a plateau stops the run; None raises StopRun (the ``with`` block ends there).
    stop: Callable[[CurveVerdict], None] | None = None
    #: What the report calls the run.
    label: str = "watch()"
    recorder: Recorder = field(init=False, repr=False)
    stopped: bool = False

    def __post_init__(self) -> None:
        self.monitor = Monitor(self.stop_on_plateau, self.announce, self.stop)
        self.recorder = Recorder(listener=self._on_step)
        self._hooks = None
        self._model = None  # held while watching, so the trained model can be copied at the end
        self._report: Report | None = None

    def __enter__(self) -> Watch:
        self.start()
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        self.finish(kind, error, traceback)
        return isinstance(error, StopRun)

    def start(self) -> None:
        """Put the hooks on: every training event from now on is recorded."""
        self._hooks = watching(self.recorder)
        self._hooks.__enter__()

    def finish(self, kind=None, error=None, traceback=None) -> None:
        """Take the hooks off and close the books (the arguments: an exception that ended the
        run, as ``__exit__`` gets it)."""
        self.recorder.keep_trained_model()
        self._model = None
        self._hooks.__exit__(kind, error, traceback)
        self.stopped = isinstance(error, StopRun) or self.monitor.stopped is not None
        self.curve = self.monitor.final_verdict(self.recorder)
        self.trace, self.copies = self.recorder.finish()

    def _on_step(self, recorder: Recorder) -> None:
        if self._model is None or recorder.events_since_step:
            self._model = recorder.model
        self.monitor(recorder)

    #: As the Monitor's: told at the first step and after a validation loss or a new
    #: data-loader pass only, the steps at which either of the two above does anything.
    _on_step.told_every_step = False

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

    def diagnose(self, budget: float | None = None) -> Report:
        """Run lossdoctor's checks on what was watched; returns the Report (``.render()``).
        ``budget``: seconds for the checks (None: no limit; 0: no experiment on copies)."""
        if self._report is None:
            self._report = _diagnose(self, budget)
        return self._report


def _diagnose(watch: Watch, budget: float | None) -> Report:
    if not hasattr(watch, "trace"):
        raise RuntimeError("diagnose() reads a finished watch: call it after the `with` block")
    run = ScriptRun(watch.label, 0, "", watch.trace, watch.copies, curve=watch.curve)
    diagnosis = diagnose_run(run, budget=budget)
    return Report(document.build(run, diagnosis), diagnosis, watch.curve)


def watch(stop_on_plateau: bool = False, announce: Callable[[str], None] | None = None) -> Watch:
    """Watch the PyTorch training run inside the ``with`` block. ``stop_on_plateau`` ends the
    block's training when the validation loss stops improving (at the next optimizer step);
    ``announce`` is called with a message once, when a plateau is confirmed."""
    return Watch(stop_on_plateau=stop_on_plateau, announce=announce)
