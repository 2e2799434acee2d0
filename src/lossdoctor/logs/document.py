"""The report of a run read from its logs: the same document as `lossdoctor run` writes (so the
same renderers show it and `lossdoctor report` re-renders it), with no checks, no setup but the
learning rate, and a ``logs`` object: what was read, what the curves answer, the causes they
cannot tell apart and the `lossdoctor run` command that would."""

from __future__ import annotations

from dataclasses import asdict

from lossdoctor._version import __version__
from lossdoctor.logs.diagnose import LogDiagnosis
from lossdoctor.logs.names import Chosen
from lossdoctor.logs.series import LogData, Series
from lossdoctor.report.document import SCHEMA_VERSION, _finite, finding_dict, summary
from lossdoctor.trace import Trace


def build(data: LogData, chosen: Chosen, trace: Trace, result: LogDiagnosis, unit: str,
          chance: tuple[float, str] | None) -> dict:
    """``chance``: the constant guess's loss and where it came from ("--classes 10")."""
    diagnosis = result.diagnosis
    return _finite({
        "version": SCHEMA_VERSION,
        "lossdoctor_version": __version__,
        "script": data.path,
        "exit_code": None,
        "partial": False,
        "script_error": "",
        "status": diagnosis.status,
        "symptom": asdict(diagnosis.symptom) if diagnosis.symptom else None,
        "causes": [finding_dict(f) for f in diagnosis.causes],
        "dismissed": [finding_dict(f) for f in diagnosis.dismissed],
        "checks": [],
        "setup": asdict(trace.setup),
        "steps": trace.steps,
        "summary": summary(trace),
        "curves": trace.curves(),
        "curve": result.curve.as_dict(),
        "gradients": [],
        "activations": [],
        "notes": _notes(chosen),
        "seeded": None,
        "logs": {
            "path": data.path,
            "format": data.format,
            "unit": unit,
            "series": {"train": _series(chosen.train), "validation": _series(chosen.validation),
                       "lr": _series(chosen.lr)},
            "chance_loss": chance[0] if chance else None,
            "chance_from": chance[1] if chance else None,
            "answers": [asdict(a) for a in result.answers],
            "open_causes": [asdict(g) for g in result.open],
            "command": result.command,
        },
    })


def _series(series: Series | None) -> dict | None:
    return {"name": series.name, "points": len(series.points)} if series else None


def _notes(chosen: Chosen) -> list[str]:
    if chosen.validation is not None:
        return []
    return ["These logs have no validation loss: the training loss was judged, and overfitting "
            "cannot be seen. Name a validation loss with --val NAME if it is there."]
