"""A training loss added up over the loss calls of several model calls: a seq2seq decoder
called once a target token, ``loss += criterion(decoder_output, target[t])``, one backward pass
on the sum (the PyTorch seq2seq tutorial's loop). Each call's loss tensor is gone by then (the
sum replaced it), so backward cannot be seen to go through it: all but the last call's losses
were read as evaluations, a validation pass at every step. Learned once, at the first training
backward pass, from the values: the losses computed last add up to the tensor backward was
called on. From then on each training loss call is followed by its autograd node, which a
backward pass through the sum reaches."""

from __future__ import annotations

import math

from lossdoctor.capture.loss_terms import ADDS_UP_TOLERANCE


def summed_last_calls(waiting: list, total: float) -> list:
    """The held losses computed last before the backward pass whose values add up to
    ``total`` (the most of them that do), when they come from two or more model calls; else
    []. Read once a run: a read per step would wait for an accelerator."""
    found, running = [], 0.0
    for count, held in enumerate(reversed(waiting), start=1):
        running += _value(held)  # the sum of the last ``count``: one pass, not one per count
        if count >= 2 and _adds_up(running, total):
            found = waiting[-count:]
    return found if len({held.forward for held in found}) > 1 else []


def follow_to_backward(output, held) -> None:
    """Have a backward pass through ``output``'s node mark ``held`` as trained, however the
    script combines the tensor (its Python object may be gone by then)."""
    if output.grad_fn is not None:
        output.grad_fn.register_prehook(held.mark_reached)


def _adds_up(running: float, total: float) -> bool:
    """summed_calls' test, on a running sum (a value that is not finite makes it so)."""
    return (math.isfinite(running) and math.isfinite(total)
            and math.isclose(running, total, rel_tol=ADDS_UP_TOLERANCE, abs_tol=1e-7))


def _value(held) -> float:
    return held.record.value if held.unread is None else float(held.unread.item())
