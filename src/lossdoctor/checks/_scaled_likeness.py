"""The torch loss a hand-written one computes like once its final scaling by a number is set
aside: ``0.5 * ((out - y) ** 2).sum()``, the quadratic cost of textbooks and of C libraries
ported to PyTorch, is half the squared error, which no torch loss gives, so the capture names no
likeness and its kind (a regression) stays unknown. Multiplying a loss by a number changes its
scale, not what it compares: the recorded program without its scaling, run on a kept training
batch by the untrained copy, is held against the torch losses (capture/loss_likeness.py)."""

from __future__ import annotations

import copy
from dataclasses import replace

import torch

from lossdoctor.capture.loss_likeness import alike_loss
from lossdoctor.capture.loss_program import LossProgram
from lossdoctor.losses import alike


def likeness(case) -> str | None:
    """The torch loss the run's loss is named alike, or the one its unscaled program computes
    like; None when neither is known."""
    named = alike(case.trace.setup.loss_name)
    return named if named is not None else _unscaled_likeness(case)


def _unscaled_likeness(case) -> str | None:
    program = case.copies.loss_replay
    batches = case.replayer.train_batches
    if not isinstance(program, LossProgram) or program.scale is None or not batches:
        return None
    if case.copies.initial_model is None or not isinstance(batches[0].target, torch.Tensor):
        return None
    model = copy.deepcopy(case.copies.initial_model).eval()
    try:
        with torch.no_grad():
            value = float(replace(program, scale=None).loss(model, batches[0]))
            prediction = program.predict(model, batches[0])
    except Exception:  # noqa: BLE001 - a batch the copy cannot score says nothing
        return None
    return alike_loss(value, prediction, batches[0].target)
