"""Hugging Face's ``trainer_state.json``, which Trainer writes into each checkpoint folder: its
``log_history`` holds one entry per logging step (``loss``, ``learning_rate``, ``grad_norm``)
and per evaluation (``eval_loss``), each with its ``step`` and (fractional) ``epoch``."""

from __future__ import annotations

import json

from lossdoctor.logs.series import LogData, LogsError

#: The entry Trainer adds when training ends: its ``train_loss`` is the mean over the whole run,
#: one point that is not part of the training curve.
SUMMARY_KEY = "train_runtime"


def read(path: str) -> LogData:
    history = _history(path)
    data = LogData(path, "trainer_state")
    for entry in history:
        if not isinstance(entry, dict) or SUMMARY_KEY in entry:
            continue
        step, epoch = _number(entry.get("step")), _number(entry.get("epoch"))
        for key, value in entry.items():
            if key not in ("step", "epoch") and _number(value) is not None:
                data.series_named(key).add(step, epoch, float(value))
    return data


def _history(path: str) -> list:
    try:
        with open(path, encoding="utf-8") as file:
            state = json.load(file)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LogsError(f"{path} is not a JSON file ({error}).") from None
    history = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(history, list):
        raise LogsError(f"{path} has no log_history: give the trainer_state.json that Hugging "
                        "Face's Trainer writes into each checkpoint folder.")
    return history


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)  # NaN and infinity kept: a loss that became NaN diverged
