"""Runs launched by torchrun: one process per rank, each running `lossdoctor run`. Rank 0
watches its training and diagnoses it; the other ranks run the script as python would, watched
by nothing and silent, so that there is one diagnosis and one set of report files.

The rank comes from the environment torchrun sets for each process (``RANK``, with
``WORLD_SIZE``), or from torch.distributed once the script has initialized it."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


def rank() -> int:
    """This process's rank: 0 when not launched as one of several."""
    group = _initialized_group()
    if group is not None:
        return group.get_rank()
    if "WORLD_SIZE" not in os.environ:  # a RANK of something else's, not of a launcher
        return 0
    return _environment_number("RANK", 0)


def world_size() -> int:
    """How many ranks train together: 1 when not launched by torchrun (or alike)."""
    group = _initialized_group()
    if group is not None:
        return group.get_world_size()
    return _environment_number("WORLD_SIZE", 1)


def is_other_rank() -> bool:
    """A rank other than 0: it trains, but diagnoses nothing and writes no report."""
    return rank() != 0


def rank_notes() -> list[str]:
    """What the report of rank 0's run says of the ranks it did not watch."""
    ranks = world_size()
    if ranks <= 1:
        return []
    return [f"Rank 0 of {ranks} was watched: the curves are its training loss and its share of "
            "the validation data, which may differ from a validation loss your script "
            "averages over all ranks."]


@contextlib.contextmanager
def diagnosing() -> Iterator[bool]:
    """Once the script has ended: whether this process diagnoses (rank 0, or the only
    process). Its process group is taken down first (leave_process_group), and the other ranks
    are told when the script has ended and when the diagnosis is done."""
    from lossdoctor import rank_signals

    here = not is_other_rank()
    leave_process_group()
    if here:
        rank_signals.tell(rank_signals.SCRIPT_ENDED)
    try:
        yield here
    finally:
        if here:
            rank_signals.tell(rank_signals.DIAGNOSED)


def leave_process_group() -> None:
    """After rank 0's script: take down the process group it left initialized, so that nothing
    lossdoctor runs afterwards can call a collective. The other ranks have finished, or will
    without waiting for rank 0: a collective now would wait for them forever, and SyncBatchNorm
    without a process group computes its statistics locally, as BatchNorm does. Shutting down
    a process group waits for no other rank."""
    distributed = _initialized_group()
    if distributed is not None:
        with contextlib.suppress(Exception):  # one that cannot shut down is left to python's exit
            distributed.destroy_process_group()


def _initialized_group():
    """torch.distributed when the script has initialized its default process group, else None.
    Never imports it: a script that did not use it has nothing to ask."""
    distributed = sys.modules.get("torch.distributed")
    if distributed is None or not distributed.is_available() or not distributed.is_initialized():
        return None
    return distributed


def _environment_number(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default
