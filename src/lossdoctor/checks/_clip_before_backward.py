"""A gradient clip the script wrote where it clips nothing.

``clip_grad_norm_`` called before ``loss.backward()`` (just after ``zero_grad()`` set every
gradient to None) finds no gradient: the run trains unclipped, at whatever step its rate and
gradients make (bench/projects7's word_language_model: lr 20, meant to be safe by a clip at
0.25). The capture records such a clip apart (``Copies.unapplied_clip``) and replays do not
clip; this module replays the run with the clip it wrote, applied between backward and the
step, against the replay of the run as it was.
"""

from __future__ import annotations

from lossdoctor.capture.clipping import GradientClip
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._fix import fix_experiment
from lossdoctor.experiments import Plan
from lossdoctor.findings import Experiment, Skip


def unapplied_clip(case) -> GradientClip | None:
    """The clip the script called where no gradient existed, when no call of it had any."""
    copies = case.copies
    return copies.unapplied_clip if copies.gradient_clip is None else None


def clip_applied_experiment(case, clip: GradientClip) -> Experiment | None:
    """The run as it was (unclipped) against the same run with ``clip`` applied before each
    step; None without replays or an optimizer to replay."""
    try:
        replayer = case.require_replay()
        baseline = case.baseline
    except Skip:
        return None
    optimizer_class = case.copies.optimizer_class
    if optimizer_class is None:
        return None
    hparams = dict(case.copies.optimizer_hparams)
    if replayer.user_lr is not None:
        hparams["lr"] = replayer.user_lr  # the peak of a schedule
    plan = Plan(optimizer_class=clipping(optimizer_class, clip), hparams=hparams,
                steps=REPLAY_STEPS)
    return fix_experiment(f"your {describe(clip)} applied after backward", baseline,
                          replayer.replay(plan))


def describe(clip: GradientClip) -> str:
    return (f"clip_grad_norm_(..., {clip.limit:g})" if clip.kind == "norm"
            else f"clip_grad_value_(..., {clip.limit:g})")


def clipping(optimizer_class: type, clip: GradientClip) -> type:
    """The optimizer class, applying ``clip`` to its parameters' gradients before each step."""

    class Clipped(optimizer_class):
        def step(self, closure=None):
            clip.apply([p for group in self.param_groups for p in group["params"]])
            return super().step(closure)

    Clipped.__name__ = f"Clipped{optimizer_class.__name__}"
    return Clipped
