"""The report as plain data: what the JSON file holds, and what every renderer reads.

Renderers take this dict, never live objects, so a saved JSON re-renders to the same report.
"""

from __future__ import annotations

import math
from dataclasses import asdict

from lossdoctor._version import __version__
from lossdoctor.diagnosis import Diagnosis
from lossdoctor.experiments import split
from lossdoctor.findings import Finding
from lossdoctor.script_run import ScriptRun

SCHEMA_VERSION = "1"


def build(run: ScriptRun, diagnosis: Diagnosis | None) -> dict:
    trace = run.trace
    return _finite(
        {
            "version": SCHEMA_VERSION,
            "lossdoctor_version": __version__,
            "script": run.script,
            "exit_code": run.exit_code,
            "partial": bool(run.raised),
            "script_error": run.raised,
            "script_error_message": (getattr(run, "crash", None) or {}).get("message", ""),
            "status": diagnosis.status if diagnosis else "no_training",
            "symptom": asdict(diagnosis.symptom) if diagnosis and diagnosis.symptom else None,
            "causes": with_root_titles([finding_dict(f) for f in diagnosis.causes])
            if diagnosis else [],
            "dismissed": [finding_dict(f) for f in diagnosis.dismissed] if diagnosis else [],
            "checks": [asdict(o) for o in diagnosis.outcomes] if diagnosis else [],
            "setup": asdict(trace.setup),
            "steps": trace.steps,
            "summary": summary(trace),
            "validation_data": validation_data(run.copies),
            "curves": trace.curves(),
            "curve": run.curve.as_dict() if getattr(run, "curve", None) else None,
            "gradients": gradient_norms(trace),
            "activations": activation_stats(trace),
            "notes": list(trace.notes),
            "seeded": getattr(run, "seeded", None),
        }
    )


def summary(trace) -> dict:
    """The run in a few numbers: how long it trained and where its losses went."""
    train = trace.epoch_train_losses()
    validation = [(p.epoch, p.loss) for p in trace.validation_passes()]
    result = {"steps": trace.steps, "epochs": len(train), "validation_passes": len(validation),
              "loader_epochs": bool(trace.epoch_starts)}
    for name, values in (("train", train), ("validation", validation)):
        if values:
            best_epoch, best = min(values, key=lambda epoch_loss: epoch_loss[1])
            result.update({f"{name}_first": values[0][1], f"{name}_last": values[-1][1],
                           f"{name}_best": best, f"{name}_best_epoch": best_epoch})
    return result


def validation_data(copies) -> dict:
    """Whether the run had validation batches; without them, how many of the training batches
    the experiments held out to stand in for them (see experiments.split)."""
    seen = any(b.target is not None for b in copies.validation.batches)
    train, held_out, rows = split(copies)
    by_batches = not seen and not rows
    return {"seen": seen, "held_out_batches": len(held_out) if by_batches else 0,
            "held_out_rows": 0 if seen else rows,
            "training_batches": len(train) + (len(held_out) if by_batches else 0)}


def gradient_norms(trace) -> list[dict]:
    """Per parameter, in the model's order: its gradient norm at each sampled step."""
    layers: dict[str, dict] = {}
    for record in trace.gradients:
        layer = layers.setdefault(record.name, {"name": record.name, "steps": [], "norms": []})
        layer["steps"].append(record.step)
        layer["norms"].append(record.grad_norm)
    return list(layers.values())


def activation_stats(trace) -> list[dict]:
    """Per activation, in the order first seen: saturated and dead fractions at sampled steps."""
    layers: dict[tuple[str, str], dict] = {}
    for stat in trace.activations:
        layer = layers.setdefault((stat.layer, stat.kind), {
            "layer": stat.layer, "kind": stat.kind, "units": stat.units,
            "steps": [], "saturated": [], "dead": [],
        })
        layer["steps"].append(stat.step)
        layer["saturated"].append(stat.saturated_fraction)
        layer["dead"].append(stat.dead_fraction)
    return list(layers.values())


def with_root_titles(causes: list[dict]) -> list[dict]:
    """Each consequence with the titles its roots are reported under ("root_titles"), which a
    finding may set for its variant of a cause (Finding.title)."""
    titles = {cause["id"]: cause["title"] for cause in causes}
    for cause in causes:
        cause["root_titles"] = {i: titles[i] for i in cause["explained_by"] if i in titles}
    return causes


def finding_dict(finding: Finding) -> dict:
    experiment = finding.experiment
    return {
        "id": finding.cause.id,
        "title": finding.title,
        "figures": list(finding.cause.figures),
        "confidence": round(finding.confidence, 3),
        "own_confidence": _rounded(finding.own_confidence),
        "verdict": finding.verdict,
        "evidence": dict(finding.evidence),
        "fix": finding.fix,
        "experiment": asdict(experiment) if experiment else None,
        "details": finding.details,
        "explained_by": list(finding.explained_by),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _finite(value):
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
