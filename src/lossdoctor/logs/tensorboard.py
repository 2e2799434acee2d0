"""A TensorBoard log folder, read with tensorboard's own EventAccumulator: every scalar of every
event file under the folder. A scalar of a subfolder is named after it ("Loss_val/Loss" for
torch's ``add_scalars``, "validation/epoch_loss" for Keras), so that the same tag in two
subfolders stays two series."""

from __future__ import annotations

import os

from lossdoctor.logs.series import LogData, LogsError

EVENT_FILE_PREFIX = "events.out.tfevents"
INSTALL_HINT = 'pip install "lossdoctor[logs]"'


def is_event_file(path: str) -> bool:
    return os.path.basename(path).startswith(EVENT_FILE_PREFIX)


def event_folders(path: str) -> list[str]:
    """The folders under ``path`` (itself included) that hold event files, in name order."""
    return sorted(root for root, _, files in os.walk(path)
                  if any(is_event_file(name) for name in files))


def read(path: str) -> LogData:
    """Every scalar under ``path``, a log folder or one event file."""
    event_accumulator = _event_accumulator()
    data = LogData(path, "tensorboard")
    sources = [path] if os.path.isfile(path) else event_folders(path)
    for source in sources:
        prefix = "" if os.path.isfile(path) else os.path.relpath(source, path)
        accumulator = event_accumulator.EventAccumulator(
            source, size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0})
        accumulator.Reload()
        for tag, points in _scalars(accumulator):
            series = data.series_named(tag if prefix in ("", ".") else f"{prefix}/{tag}")
            for step, value in points:
                series.add(step, None, value)
    return data


def _event_accumulator():
    try:
        from tensorboard.backend.event_processing import event_accumulator
    except ImportError:
        raise LogsError("reading TensorBoard logs needs the tensorboard package: "
                        f"{INSTALL_HINT}") from None
    return event_accumulator


def _scalars(accumulator):
    """(tag, [(step, value)]) of the scalars: written as scalar summaries (torch's
    SummaryWriter, TF1), or as tensors of the scalars plugin (TF2 and Keras)."""
    tags = accumulator.Tags()
    for tag in tags.get("scalars", []):
        yield tag, [(float(e.step), float(e.value)) for e in accumulator.Scalars(tag)]
    for tag in tags.get("tensors", []):
        if accumulator.SummaryMetadata(tag).plugin_data.plugin_name == "scalars":
            yield tag, [(float(e.step), _tensor_value(e.tensor_proto))
                        for e in accumulator.Tensors(tag)]


def _tensor_value(proto) -> float:
    from tensorboard.util import tensor_util

    return float(tensor_util.make_ndarray(proto).item())
