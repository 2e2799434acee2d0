"""The cause a crash names (lossdoctor.crash_reading), as a finding in the user's words.

Read, not inferred: the exception says which label or which step, and the loss's frame what
the output could take. Confidence CRASH_READ: the crash is the run's own record of the fault.
"""

from __future__ import annotations

from lossdoctor.checks.loss_setup import LABEL_RANGE
from lossdoctor.checks.lr_schedule import LR_SCHEDULE
from lossdoctor.findings import Finding

#: A crash whose message names the fault (a label past the classes, a schedule stepped past
#: its length) is the fault's own record: as sure as a setting read from the run (MODE_READ of
#: checks/lr_schedule.py is 0.75 where a setting's cost was not measured; here the cost is the
#: run itself, which stopped).
CRASH_READ = 0.9


def crash_finding(crash: dict | None) -> Finding | None:
    """The finding of a crash that names its cause, else None."""
    if not crash:
        return None
    if crash.get("kind") == "label_out_of_range":
        return _label_finding(crash)
    if crash.get("kind") == "schedule_overrun":
        return _overrun_finding(crash)
    return None


def _label_finding(crash: dict) -> Finding:
    label, classes = crash.get("label"), crash.get("classes")
    lowest, highest = crash.get("lowest"), crash.get("highest")
    ignored = crash.get("ignore_index")
    said = f'Your script crashed with "{crash["message"]}"'
    if label is not None and classes is not None:
        said += (f": the loss was given the class label {label}, but your model has {classes} "
                 f"outputs, so the labels it can take are 0 to {classes - 1}")
    elif label is not None:
        said += f": the loss was given the class label {label}, outside the classes it scores"
    else:
        said += ": a class label is outside the classes the loss scores"
    if lowest is not None and highest is not None:
        said += f" (the batch's labels went from {lowest} to {highest})"
    if ignored is not None and label is not None and label < 0 and label != ignored:
        said += f"; the loss ignores only the label {ignored}"
    evidence = {name: float(crash[name]) for name in ("label", "classes", "lowest", "highest",
                                                      "ignore_index") if name in crash}
    return Finding(LABEL_RANGE, CRASH_READ, said + ".", evidence, fix=_label_fix(crash),
                   root=True)


def _label_fix(crash: dict) -> str:
    label, classes = crash.get("label"), crash.get("classes")
    lowest, ignored = crash.get("lowest"), crash.get("ignore_index")
    if label is not None and label < 0:
        return (f"Mark the positions to skip with the value your loss ignores "
                f"(ignore_index={ignored if ignored is not None else -100}), or give the loss "
                f"ignore_index={label}.")
    if label is not None and classes is not None and label == classes and lowest == 1:
        return (f"Your labels look counted from 1 (1 to {classes}): subtract 1 so they run "
                f"from 0 to {classes - 1}.")
    if label is not None and classes is not None:
        return (f"Give the model one output per class ({label + 1} or more outputs), or map "
                f"the labels to 0..{classes - 1}.")
    return "Make the class labels run from 0 to the number of the model's outputs minus 1."


def _overrun_finding(crash: dict) -> Finding:
    stepped, total = crash["stepped"], crash["total_steps"]
    verdict = (f'Your script crashed with "{crash["message"]}": the learning-rate schedule was '
               f"sized for {total:,} steps, but the training stepped it more often than that, "
               f"so it ran out before the run ended.")
    fix = ("Size the schedule from the steps it is stepped at: steps_per_epoch="
           "len(train_loader) (batches, not rows) and the number of epochs the loop runs, or "
           "total_steps=epochs * len(train_loader); and step it once a batch.")
    return Finding(LR_SCHEDULE, CRASH_READ, verdict,
                   {"stepped": float(stepped), "total_steps": float(total)}, fix=fix, root=True)
