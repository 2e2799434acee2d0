"""What a script's crash says, read while its exception is still at hand.

A run that raised was reported by the exception's name alone ("IndexError"), with the generic
reasons a training is not seen (bench/projects6's prompt masked with -100: the answer was in
the traceback). Two crashes name their cause themselves:

- **A class label out of range**: torch's cross-entropy and NLL losses raise ``IndexError:
  Target 5 is out of bounds.`` on CPU (a device-side assert on CUDA), a hand-written loss's
  ``gather`` raises ``index 5 is out of bounds for dimension 1 with size 5``, ``one_hot`` says
  ``Class values must be smaller than num_classes``. The loss's own frame in the traceback
  holds the scores and the labels it was given, so the report can say which label, how many
  classes the output has, and what the loss ignores.
- **A scheduler stepped past its length**: OneCycleLR raises ``Tried to step N times. The
  specified number of total steps is M``: sized for fewer steps than the run takes (its
  ``steps_per_epoch`` or ``total_steps`` counted otherwise than the batches it is stepped at).

The reading is plain data (a dict), so the report can be built from it after the traceback and
its frames are gone.
"""

from __future__ import annotations

import re

import torch

#: Torch losses whose Python frame holds the scores as ``input`` and the labels as ``target``.
CLASS_LOSSES = ("cross_entropy", "nll_loss")
TARGET_OUT_OF_BOUNDS = re.compile(r"Target (-?\d+) is out of bounds")
INDEX_OUT_OF_BOUNDS = re.compile(r"index (-?\d+) is out of bounds for dimension (\d+) with size "
                                 r"(\d+)")
ASSERTS = ("t >= 0 && t < n_classes", "Class values must be smaller than num_classes",
           "device-side assert triggered")
SCHEDULE_OVERRUN = re.compile(r"Tried to step (\d+) times?\. The specified number of total "
                              r"steps is (\d+)")


def read_crash(error: BaseException) -> dict:
    """The crash as ``{"error": name, "message": its first line, "kind": ...}`` with what the
    kind adds: ``label_out_of_range`` (``label``, ``lowest``, ``highest``, ``classes``,
    ``ignore_index`` where known) or ``schedule_overrun`` (``stepped``, ``total_steps``); kind
    "" for any other crash."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    reading = {"error": type(error).__name__, "message": message[:300], "kind": ""}
    overrun = SCHEDULE_OVERRUN.search(message)
    if overrun:
        return {**reading, "kind": "schedule_overrun", "stepped": int(overrun.group(1)),
                "total_steps": int(overrun.group(2))}
    out_of_bounds = TARGET_OUT_OF_BOUNDS.search(message)
    indexed = INDEX_OUT_OF_BOUNDS.search(message)
    if out_of_bounds or any(text in message for text in ASSERTS):
        labels = _loss_frame_labels(error.__traceback__)
        if out_of_bounds:
            labels["label"] = int(out_of_bounds.group(1))
        return {**reading, "kind": "label_out_of_range", **labels}
    if indexed and int(indexed.group(2)) >= 1 and _in_a_loss(error.__traceback__):
        return {**reading, "kind": "label_out_of_range", "label": int(indexed.group(1)),
                "classes": int(indexed.group(3))}
    return reading


def _loss_frame_labels(traceback) -> dict:
    """The labels' lowest and highest values, the classes the scores have and the index the
    loss ignores, from the innermost torch loss frame of the traceback; {} when none."""
    found: dict = {}
    for frame in _frames(traceback):
        if frame.f_code.co_name not in CLASS_LOSSES:
            continue
        scores, labels = frame.f_locals.get("input"), frame.f_locals.get("target")
        if not (isinstance(scores, torch.Tensor) and isinstance(labels, torch.Tensor)):
            continue
        found = {"classes": int(scores.shape[1] if scores.dim() > 1 else scores.shape[0])}
        if labels.numel() and not labels.is_floating_point():
            found.update(lowest=int(labels.min()), highest=int(labels.max()))
        ignored = frame.f_locals.get("ignore_index")
        if isinstance(ignored, int):
            found["ignore_index"] = ignored
    return found


def _in_a_loss(traceback) -> bool:
    """A frame of the traceback computes a loss (its function's name says so): a hand-written
    cross-entropy's ``gather`` over the classes, not any indexing error."""
    return any("loss" in frame.f_code.co_name.lower() or "entropy" in frame.f_code.co_name.lower()
               for frame in _frames(traceback))


def _frames(traceback):
    while traceback is not None:
        yield traceback.tb_frame
        traceback = traceback.tb_next
