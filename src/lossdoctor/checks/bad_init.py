"""bad_init: the model starts far from where a standard initialization puts it.

The untrained model's loss on the captured training batches is compared with the same model
re-initialized the PyTorch default way (``reset_parameters`` on a copy) and with the constant
guess: at a standard init a classifier's outputs are near zero and its loss near the constant
guess's (about -log(1/C) for C balanced classes). A loss :data:`FAR` times the default init's,
with outputs far larger, is a bad init; it is reported when a replay from the default init
lowers the validation loss.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._fix import fix_experiment, helped
from lossdoctor.experiments import Plan, Replayer
from lossdoctor.findings import Cause, Experiment, Finding, Skip
from lossdoctor.sandbox import isolated

BAD_INIT = Cause(
    id="bad_init",
    title="The initialization is off",
    fix=(
        "Use the default or a standard initialization (kaiming or xavier), and start the output "
        "bias at the label prior."
    ),
    question="Did the initialization start the model far off?",
    test=(
        "initial loss and output size against a copy with PyTorch's default init; replay from the "
        "default init"
    ),
    explains={"dead_relu", "exploding_gradients", "lr_too_high", "saturated_activation"},
)

CAUSES = (BAD_INIT,)


#: The initial loss must be this many times the default init's: the default init's own spread
#: over seeds is well within a factor of two on the same batches.
FAR = 3.0
#: Training batches the initial loss is measured on.
BATCHES = 8


def check(case) -> list[Finding]:
    replayer = case.require_replay()
    initial = replayer.copies.initial_model
    default = default_init(initial)
    if default is None:
        raise Skip("needs a model with layers that have reset_parameters (torch.nn layers)")
    batches = replayer.train_batches[:BATCHES]
    user_loss = replayer.evaluate(initial, batches)
    default_loss = replayer.evaluate(default, batches)
    if not user_loss > FAR * default_loss:
        return []
    after = replayer.replay(Plan(model=default, steps=REPLAY_STEPS))
    experiment = fix_experiment(
        "the model re-initialized with PyTorch's default initialization", case.baseline, after
    )
    if not helped(experiment):
        return []
    evidence = _evidence(case, replayer, initial, default, batches, user_loss, default_loss)
    return [Finding(BAD_INIT, 0.9, _verdict(evidence, experiment), evidence,
                    experiment=experiment)]


def default_init(model: nn.Module) -> nn.Module | None:
    """A copy of the model with every layer's reset_parameters called (seeded); None when no
    layer has one."""
    fresh = copy.deepcopy(model)
    layers = [m for m in fresh.modules() if callable(getattr(m, "reset_parameters", None))]
    if not layers:
        return None
    with isolated(0):
        for layer in layers:
            layer.reset_parameters()
    return fresh


@torch.no_grad()
def largest_output(replayer: Replayer, model: nn.Module, batches) -> float:
    model = copy.deepcopy(model).eval()
    return max(float(replayer.predict(model, b).abs().max()) for b in batches)


def _evidence(case, replayer, initial, default, batches, user_loss, default_loss) -> dict:
    evidence = {
        "initial_loss": user_loss, "default_init_loss": default_loss,
        "largest_initial_output": largest_output(replayer, initial, batches),
        "largest_default_init_output": largest_output(replayer, default, batches),
    }
    constant = case.constant_guess_loss("training")
    if constant is not None:
        evidence["constant_guess_loss"] = constant
    return {k: v for k, v in evidence.items() if math.isfinite(v)}


def _verdict(evidence: dict, experiment: Experiment) -> str:
    reference = (f" and {evidence['constant_guess_loss']:.3g} for a constant guess"
                 if "constant_guess_loss" in evidence else "")
    return (
        f"Your model starts with a loss of {evidence.get('initial_loss', math.inf):.3g}, "
        f"against {evidence['default_init_loss']:.3g} for the same model with PyTorch's "
        f"default initialization{reference}; its outputs reach "
        f"{evidence.get('largest_initial_output', math.inf):.3g} before training (default "
        f"init: {evidence['largest_default_init_output']:.3g}). Training spends its steps "
        "undoing the initialization. Replayed from the default initialization, the validation "
        f"loss went from {experiment.before:.3g} to {experiment.after:.3g}."
    )
