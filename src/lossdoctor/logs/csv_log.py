"""A CSV of metrics: Lightning's CSVLogger ``metrics.csv`` (sparse rows: ``epoch,step,
train_loss,val_loss``, each row filling only what was logged at that step), Keras' CSVLogger
(``epoch,loss,val_loss,...``, one row per epoch), or any CSV with a step or epoch column and a
column per series."""

from __future__ import annotations

import csv

from lossdoctor.logs.series import LogData, LogsError

#: Column names that number the rows by optimizer step, and by epoch (compared in lower case).
STEP_COLUMNS = ("step", "global_step", "steps", "iteration", "iter")
EPOCH_COLUMNS = ("epoch", "epochs")


def read(path: str) -> LogData:
    rows, columns = _rows(path)
    step_column, epoch_column = _column(columns, STEP_COLUMNS), _column(columns, EPOCH_COLUMNS)
    if step_column is None and epoch_column is None:
        raise LogsError(f"{path} has no step or epoch column (its columns: "
                        f"{', '.join(columns)}): lossdoctor logs reads a CSV with a column named "
                        "step or epoch and a column per loss.")
    data = LogData(path, "csv")
    values = [c for c in columns if c not in (step_column, epoch_column)]
    for row in rows:
        step, epoch = _number(row.get(step_column)), _number(row.get(epoch_column))
        if step is None and epoch is None:
            continue
        for column in values:
            value = _number(row.get(column))
            if value is not None:
                data.series_named(column).add(step, epoch, value)
    return data


def _rows(path: str) -> tuple[list[dict], list[str]]:
    try:
        with open(path, newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            rows, columns = list(reader), list(reader.fieldnames or [])
    except UnicodeDecodeError:
        raise LogsError(f"{path} is not a text CSV file.") from None
    except csv.Error as error:
        raise LogsError(f"{path} is not a readable CSV file ({error}).") from None
    if not columns:
        raise LogsError(f"{path} is empty: the run logged nothing to it (yet).")
    return rows, columns


def _column(columns: list[str], names: tuple[str, ...]) -> str | None:
    return next((c for c in columns if c.strip().lower() in names), None)


def _number(text) -> float | None:
    """The cell's number ("nan" and "inf" included), or None for an empty or non-numeric one."""
    if text is None or not str(text).strip():
        return None
    try:
        return float(text)
    except ValueError:
        return None
