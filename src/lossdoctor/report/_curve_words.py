"""The curve's verdict as a line of the report, for a watched run and a run read from logs."""

from __future__ import annotations

#: Curve verdicts that, in a healthy run, are a loss that has converged.
SETTLING = ("plateau", "oscillating")


def curve_lines(document: dict) -> list[str]:
    """The curve's verdict, unless the line above already says it (an improving validation
    loss: then the symptom, if any, in its place); a plateau in a healthy run is convergence,
    said as "settled"."""
    curve = document.get("curve") or {}
    message = curve.get("message")
    summarized = "validation_first" in document.get("summary", {})
    if curve.get("verdict") == "improving" and summarized:
        return symptom_lines(document)
    if not message:
        return []
    if settled(document):
        message = message.replace(" flat since ", " settled since ", 1)
        message = message.replace(" with no steady progress", " around where it settled", 1)
    return [sentence(message)]


def symptom_lines(document: dict) -> list[str]:
    """The symptom of a run whose curve is still improving (a loss still falling, only just
    below a constant guess), unless the headline already says it (an unexplained run): with the
    curve line omitted, a report with causes said nothing of how close to the guess it ended."""
    message = (document.get("symptom") or {}).get("message")
    if not message or document.get("status") == "unexplained":
        return []
    return [sentence(message)]


def settled(document: dict) -> bool:
    """A plateau (or a wobble about a level) in a run without the symptom and without a cause
    found: the validation loss converged. With a cause found the plateau is where that cause
    held it, and stays "flat"."""
    still = (document.get("curve") or {}).get("verdict") in SETTLING
    return still and not document.get("symptom") and not document.get("causes")


def sentence(text: str) -> str:
    """A message written to follow a colon, made to stand as a line of its own."""
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."
