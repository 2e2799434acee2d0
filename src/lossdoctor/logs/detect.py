"""Which log PATH is, and its reader: a folder with TensorBoard event files, a folder holding
one ``metrics.csv`` or ``trainer_state.json``, or the file itself."""

from __future__ import annotations

import os
import re

from lossdoctor.logs import csv_log, tensorboard, trainer_state
from lossdoctor.logs.series import LogData, LogsError

WHAT_TO_GIVE = ("Give a TensorBoard log folder, a CSV of metrics (Lightning's metrics.csv, "
                "Keras' CSVLogger) or Hugging Face's trainer_state.json.")
#: File names a log folder is searched for, when it holds no TensorBoard event file.
LOG_FILES = ("metrics.csv", "trainer_state.json")
CHECKPOINT = re.compile(r"checkpoint-(\d+)$")


def read_logs(path: str) -> LogData:
    if not os.path.exists(path):
        raise LogsError(f"no such file or folder: {path}. {WHAT_TO_GIVE}")
    if os.path.isdir(path):
        if tensorboard.event_folders(path):
            return tensorboard.read(path)
        return read_file(_log_file_in(path))
    return read_file(path)


def read_file(path: str) -> LogData:
    if tensorboard.is_event_file(path):
        return tensorboard.read(path)
    if path.lower().endswith(".csv"):
        return csv_log.read(path)
    if path.lower().endswith(".json"):
        return trainer_state.read(path)
    raise LogsError(f"{path} is not a log lossdoctor reads. {WHAT_TO_GIVE}")


def _log_file_in(folder: str) -> str:
    found = sorted(os.path.join(root, name) for root, _, files in os.walk(folder)
                   for name in files if name in LOG_FILES)
    if not found:
        raise LogsError(f"{folder} holds no TensorBoard event file, metrics.csv or "
                        f"trainer_state.json. {WHAT_TO_GIVE}")
    if len(found) == 1:
        return found[0]
    latest = _latest_checkpoint(found)
    if latest is not None:
        return latest
    listed = ", ".join(os.path.relpath(p, folder) for p in found[:5])
    raise LogsError(f"{folder} holds several logs ({listed}): give the one to read.")


def _latest_checkpoint(paths: list[str]) -> str | None:
    """Trainer's checkpoint-N folders each keep the whole history so far: the last one has it
    all. None unless every path is a trainer_state.json in a checkpoint folder of one parent."""
    folders = [os.path.dirname(p) for p in paths]
    matches = [CHECKPOINT.search(os.path.basename(f)) for f in folders]
    if not all(matches) or len({os.path.dirname(f) for f in folders}) != 1 or not all(
            os.path.basename(p) == "trainer_state.json" for p in paths):
        return None
    return max(zip(matches, paths, strict=True), key=lambda pair: int(pair[0].group(1)))[1]
