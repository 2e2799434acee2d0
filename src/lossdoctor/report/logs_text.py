"""The words of a report read from logs (`lossdoctor logs`): what was read, what the curves
answer, what they cannot tell apart, and the command that would. Every renderer shows them
through :mod:`._common`."""

from __future__ import annotations

from lossdoctor.report._curve_words import curve_lines

FORMATS = {"tensorboard": "TensorBoard", "csv": "CSV", "trainer_state": "Hugging Face Trainer"}
ROLES = (("train", "training loss"), ("validation", "validation loss"), ("lr", "learning rate"))
QUESTIONS = {
    "flat": "flat (no real progress from where it started)",
    "at_chance": "no better than a constant guess",
    "oscillating": "swinging without progress",
    "diverging": "diverging (rising, or NaN)",
    "overfitting": "overfitting",
    "lr_schedule": "learning-rate schedule collapsed or raised into a rise",
}
ANSWERS = {True: "yes", False: "no", None: "cannot tell"}


def read_lines(document: dict) -> list[str]:
    """What was read, where the validation loss went, and the curves' answers."""
    logs, summary = document["logs"], document.get("summary", {})
    used = [f"{role} `{s['name']}` ({s['points']} points)" for key, role in ROLES
            if (s := logs["series"].get(key))]
    lines = [f"Read {logs['path']} ({FORMATS.get(logs['format'], logs['format'])}): "
             f"{', '.join(used)}."]
    if "validation_first" in summary:
        lines.append(f"Validation loss {_loss(summary['validation_first'])} -> "
                     f"{_loss(summary['validation_last'])} (best "
                     f"{_loss(summary['validation_best'])},"
                     f" pass {summary['validation_best_epoch'] + 1}"
                     f" of {summary['validation_passes']}).")
    curve = (document.get("curve") or {}).get("message")
    if curve and curve != (document.get("symptom") or {}).get("message"):
        lines += [f"Curve: {line[:1].lower()}{line[1:]}" for line in curve_lines(document)]
    if logs.get("chance_loss") is not None:
        lines.append(f"Constant guess's loss: {logs['chance_loss']:.4g} ({logs['chance_from']}).")
    lines.append("What the curves alone show:")
    lines += [f"  {QUESTIONS.get(a['question'], a['question'])}: {ANSWERS[a['answer']]}"
              + (f" ({a['detail']})" if a["detail"] else "") for a in logs["answers"]]
    return lines


def open_lines(document: dict) -> list[str]:
    """The causes the curves cannot tell apart, and the command that would."""
    logs = document["logs"]
    lines = [f"the curves cannot tell apart, in {group['where']}: {', '.join(group['ids'])}"
             for group in logs["open_causes"]]
    if logs["command"]:
        why = "to find which" if logs["open_causes"] else "to test the fix on copies"
        script = "" if logs["command"].split()[-1] != "train.py" else (
            " (with your training script and its arguments in place of train.py)")
        lines.append(f"{why}, run your training under lossdoctor: {logs['command']}{script}")
    return lines


def _loss(value) -> str:
    return "NaN or infinite" if value is None else f"{value:.4g}"
