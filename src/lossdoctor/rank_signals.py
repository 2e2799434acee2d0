"""What rank 0 tells the other ranks through torchrun's store: that its script has ended, and
that its diagnosis is done.

torchrun stops every rank as soon as one exits with a failure. A rank whose script failed
together with rank 0's (the same exception on every rank, or ``sys.exit(1)`` after training)
would cut rank 0's diagnosis short; so such a rank, once its script has ended, holds its exit
until rank 0's diagnosis is done. It holds it only when rank 0's script has ended too: a rank 0
still training is left for torchrun to stop, as without lossdoctor. A rank whose script
succeeded exits at once: torchrun waits for rank 0 anyway. Training is never held."""

from __future__ import annotations

import contextlib
import os
import time
from datetime import timedelta

SCRIPT_ENDED, DIAGNOSED = "script_ended", "diagnosed"
#: How long a failed rank waits to hear that rank 0's script has ended too. Ranks that fail
#: together are held in step by their collectives: rank 0 ends at most one step, plus the
#: copy of its model at the end of the run, after the others.
SCRIPT_END_GRACE_SECONDS = 10.0
#: The longest a failed rank holds its exit for rank 0's diagnosis (an unbounded diagnosis of
#: a large model takes minutes; a rank 0 that dies on the way makes torchrun stop this one).
DIAGNOSIS_WAIT_SECONDS = 3600.0
#: How often a waiting rank asks the store: a fraction of a second next to a diagnosis.
POLL_SECONDS = 0.2
#: How long to try reaching torchrun's store, which runs in torchrun's own process.
CONNECT_SECONDS = 5.0


def tell(event: str) -> None:
    """Rank 0: let the other ranks know ``event`` happened (nothing outside torchrun)."""
    store = _store()
    if store is not None:
        with contextlib.suppress(Exception):  # the other ranks then simply do not wait
            store.set(event, "1")


def wait_for_rank_zero_diagnosis() -> None:
    """A failed rank: hold the exit while rank 0, whose script has ended too, diagnoses."""
    store = _store()
    if store is not None and _heard(store, SCRIPT_ENDED, SCRIPT_END_GRACE_SECONDS):
        _heard(store, DIAGNOSED, DIAGNOSIS_WAIT_SECONDS)


def _heard(store, event: str, seconds: float) -> bool:
    """Whether ``event`` was told within ``seconds``. The store is polled: its own blocking
    wait logs a warning of torch's on stderr when it times out."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if store.check([event]):
                return True
        except Exception:  # noqa: BLE001 - torchrun's store gone: nothing to wait for
            return False
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)


def _store():
    """torchrun's store, under keys of this run and attempt; None outside torchrun."""
    host, port = os.environ.get("MASTER_ADDR"), os.environ.get("MASTER_PORT")
    run = os.environ.get("TORCHELASTIC_RUN_ID")
    if not (host and port and run):
        return None
    from torch import distributed

    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    try:
        store = distributed.TCPStore(host, int(port), is_master=False,
                                     timeout=timedelta(seconds=CONNECT_SECONDS))
    except Exception:  # noqa: BLE001 - no store to reach: nobody waits
        return None
    return distributed.PrefixStore(f"lossdoctor/{run}/{attempt}", store)
