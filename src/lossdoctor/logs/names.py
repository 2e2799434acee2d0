"""Which series is the training loss, the validation loss and the learning rate, by their
names: "loss", "train_loss", "train/loss", "Loss_train/Loss"; "val_loss", "eval_loss",
"validation/epoch_loss"; "lr", "learning_rate", "lr-Adam". The user's own choice (--train, --val,
--lr) comes first; a guess that cannot pick one raises LogsError, naming the options."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lossdoctor.logs.series import LogData, LogsError, Series

VALIDATION_WORDS = frozenset({"val", "valid", "validation", "eval", "evaluation", "dev", "test"})
TRAIN_WORDS = frozenset({"train", "training"})
LOSS_WORDS = frozenset({"loss", "losses"})
#: Words that say when a value was logged, not what it is ("train_loss_step", "epoch_loss").
TIMING_WORDS = frozenset({"step", "steps", "epoch", "epochs", "batch", "iter", "iteration"})
LR_WORDS = frozenset({"lr", "learning", "rate"})
ROLES = ("train", "validation", "lr")
OPTIONS = {"train": "--train", "validation": "--val", "lr": "--lr"}
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


@dataclass
class Chosen:
    """The series the diagnosis reads, each None when the logs have none."""

    train: Series | None
    validation: Series | None
    lr: Series | None


def words(name: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(name)]


def role_of(name: str) -> str | None:
    """"train", "validation", "lr", or None for a series that is none of them."""
    said = set(words(name))
    if "lr" in said or {"learning", "rate"} <= said:
        return "lr"
    if not said & LOSS_WORDS:
        return None
    return "validation" if said & VALIDATION_WORDS else "train"


def choose(data: LogData, named: dict[str, str | None]) -> Chosen:
    """The series of each role: the one named in ``named`` (role -> name, or None to guess)."""
    series = data.non_empty()
    picked = {role: _named(data, series, name) if name else _guess(data, series, role)
              for role, name in ((role, named.get(role)) for role in ROLES)}
    if picked["train"] is None and picked["validation"] is None:
        shown = ", ".join(sorted(series)[:12]) or "none"
        raise LogsError(f"no loss found in {data.path} (its series: {shown}). Name the training "
                        "loss with --train NAME and the validation loss with --val NAME.")
    return Chosen(**picked)


def _named(data: LogData, series: dict[str, Series], name: str) -> Series:
    if name not in series:
        shown = ", ".join(sorted(series)[:12]) or "none"
        raise LogsError(f"no series named {name!r} in {data.path} (its series: {shown}).")
    return series[name]


def _guess(data: LogData, series: dict[str, Series], role: str) -> Series | None:
    """The candidate with the fewest words that are not about its role or timing, then the most
    points. Ambiguous when several tie on extra words and have some ("loss_cls" and
    "loss_box"), or when the same tag stands in several folders (two runs in one log folder):
    more points cannot tell those apart."""
    candidates = [s for name, s in series.items() if role_of(name) == role]
    if not candidates:
        return None
    candidates.sort(key=lambda s: (_extra_words(s.name), -len(s.points), s.name))
    best = candidates[0]
    tied = [s.name for s in candidates if _extra_words(s.name) == _extra_words(best.name)]
    if _extra_words(best.name) == 0 or len(tied) == 1:
        tied = [s.name for s in candidates if _tag(s.name) == _tag(best.name)]
    if role != "lr" and len(tied) > 1:
        raise LogsError(f"several {role} losses in {data.path}: {', '.join(tied[:6])}. Choose "
                        f"one with {OPTIONS[role]} NAME (or give the folder of one run).")
    return best


def _tag(name: str) -> str:
    """The name without its folder: "loss" for "baseline/train/loss"."""
    return name.rsplit("/", 1)[-1]


def _extra_words(name: str) -> int:
    known = VALIDATION_WORDS | TRAIN_WORDS | LOSS_WORDS | TIMING_WORDS | LR_WORDS
    return len([w for w in words(name) if w not in known])
