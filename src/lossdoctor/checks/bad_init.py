"""bad_init: the model starts far from where a standard initialization puts it.

The untrained model's loss on the captured training batches is compared with the same model
re-initialized the PyTorch default way (``reset_parameters`` on a copy) and with the constant
guess: at a standard init a classifier's outputs are near zero and its loss near the constant
guess's (about -log(1/C) for C balanced classes). A loss :data:`FAR` times the default init's,
with outputs far larger, is a bad init. So is a start that no training can leave: a layer whose
units are all identical (constant or all-zero weights: every unit gets the same gradient, so
the symmetry is never broken) or a normalization layer whose scale is zero (nothing passes it).
Either is reported when a replay from the default init lowers the validation loss. A start
that is far off by its loss but whose replay has caught up with the default init's by the
replays' first evaluation (:func:`undone_at_once`) cost the training a few steps, not the run,
unless its weights are far larger than any standard init makes them (:mod:`._weight_scale`: a
GPT's Linear weights drawn N(0, 1)): the loss's excess goes at once, the weights' scale stays
(attention scores far too large) and the training goes on slower. Such weights are replayed
from the default init whenever the start's loss is above the default init's, however little
(a normalization layer after them keeps a post-norm transformer's start under FAR; a resumed
or pretrained model, whose trained weights can be as large, starts below it). A start far off
by its loss with such weights is reported without a replayed fix when the replays cannot tell
(neither leaves the constant guess within its steps): a broken start is not called healthy
for want of a replay long enough to show it.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from lossdoctor.capture.tensor_program import TensorModel
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._dead_units import BUILT_DEAD, dead_layers
from lossdoctor.checks._fix import MEANINGFUL_IMPROVEMENT, fix_experiment, helped, settled_loss
from lossdoctor.checks._joint import init_and_rate, joint_evidence, too_fast
from lossdoctor.checks._plain import plain_lr
from lossdoctor.checks._reinit import default_init_replay, never_below_start
from lossdoctor.checks._suited_init import (
    start_reference,
    start_reference_name,
    suited_fix,
    suited_replay,
    suited_squashing,
)
from lossdoctor.checks._weight_scale import LARGE_WEIGHTS, oversized_weights
from lossdoctor.experiments import Plan, Replayer, ReplayResult
from lossdoctor.findings import INIT_STAGE, Cause, Experiment, Finding, Skip
from lossdoctor.measured_consequences import FIX_CHANGES_A_SETTING
from lossdoctor.sandbox import isolated
from lossdoctor.symptom import NEAR_CHANCE_SHARE

BAD_INIT = Cause(
    id="bad_init",
    title="The initialization is off",
    fix=(
        "Use the default or a standard initialization (kaiming or xavier), and start the output "
        "bias at the label prior."
    ),
    question="Did the initialization start the model far off?",
    test=(
        "initial loss, output size and each weight's size against a copy with PyTorch's default "
        "init; replay from the default init (for the run's length when a 300-step replay barely "
        "tells them apart)"
    ),
    # A start with identical units or a zero scale leaves the model as small as one unit.
    # Not saturated_activation: units pinned before any update are that check's own shown root,
    # whose fix names the smaller initialization; declared here, bad_init's replay led them
    # (evidence_kinds rule 1) and the large-init dev operators, whose cause is the saturation,
    # went from 5/7 to 0/7 right first (dev seeds 70000-70011, s15-rank).
    explains={"dead_relu", "exploding_gradients", "lr_too_high", "underfit_capacity",
              "nan_inf"},
    stage=INIT_STAGE,
)

CAUSES = (BAD_INIT,)


#: The initial loss must be this many times the default init's: the default init's own spread
#: over seeds is well within a factor of two on the same batches.
FAR = 3.0
#: A finding that needs the rate lowered too rests on three replays (each fix alone, and both)
#: instead of one: as sure as the single replay's 0.9 less the chance that the lower rate,
#: tried at two points only, would have done it alone at another.
JOINT_CONFIDENCE = 0.85
#: The evidence key (1.0) of a finding whose fix needs the learning rate lowered as well: the
#: lr finding is then a root beside it, not its consequence (lossdoctor.measured_consequences).
NEEDS_LOWER_RATE = FIX_CHANGES_A_SETTING
#: A start undone within the replays' first evaluation still counts as the cause when, from
#: there, the replay from it takes off less than this share of what the default init's replay
#: takes off (_trains_on_alike): half, the generator's own bar for a run that lags its twin
#: (bench/devset/validity.py: a gain at most half the twin's). Dev: 0.15 (output_layer_scaled
#: 312007, broken) against 0.91 (irnn_without_clipping 30004's twin, quiet).
KEEPS_LEARNING_SHARE = 0.5
#: Training batches the initial loss is measured on.
BATCHES = 8
#: A start whose outputs vary across the rows less than 1/FLAT_START of what the default
#: init's vary (the spread over rows of each output, averaged) barely reads its inputs: a deep
#: stack of weights too small shrinks the signal layer by layer, so its outputs are about the
#: same for every row, and its loss is the default init's (both near the constant guess), which
#: the FAR test cannot see. Tested, like a far start, by a replay from the default init.
#: Measured (scratch, 256 standard normal rows): deep tanh MLPs of 10-14 layers, 32-64 units,
#: weights N(0, 0.05) (the generator's deep_tanh_tiny_init) spread 5e-5 to 0.011 times the
#: default's; default inits of another seed (depths 2-12, tanh or ReLU, 6 seeds) 0.52-1.7. An
#: order of magnitude sits far from both. Not for a model with a ReLU layer mostly dead at its
#: first sample (more than BUILT_DEAD): its outputs are flat because its units are off, which
#: dead_relu reads and names (dev negative_weight_init 322464: every unit of the later layers
#: off, outputs identical for every row; dead_relu 0.97 first on main, and bad_init by this
#: rule would have led it).
FLAT_START = 10.0
#: A start far off (FAR) with weights far larger than any standard init (LARGE_WEIGHTS), whose
#: replays cannot tell (neither the user's setup nor the default init's left the constant guess
#: within the replay's steps: a transformer on its first plateau), is reported on what it shows,
#: below the replayed fix's 0.9 and the joint replay's 0.85: the start is measured, its cost to
#: the run is not. Twins start at the default init and never meet both bars.
UNCONFIRMED_CONFIDENCE = 0.6
#: A run longer than REPLAY_STEPS whose weights are far too large, and whose default-init
#: replay ended lower but short of a fix, is replayed for its own length, at most this long: a
#: transformer's gap from its start can still be opening at 300 steps (a small GPT on digit
#: sums, /tmp dev script of session 31: no start leaves the constant guess before step 300,
#: GPT-2's init is at 0.05 by step 700 where N(0, 1) is at 1.83). Three times the replays'
#: length keeps the two replays of a small transformer (0.03 s a step here) within a minute;
#: the budget sizes them down on larger models.
LONGEST_REPLAY = 3 * REPLAY_STEPS
#: The fix named when weights are far larger than any standard init: a GPT's own init is the
#: one its users know.
OVERSIZED_FIX = ("Draw the weights at a scale for their size: PyTorch's default init, kaiming "
                 "or xavier, or N(0, 0.02) as GPT-2 does (nn.init.normal_ without std draws "
                 "them with std 1).")
#: Normalization layers, whose weight is a per-channel scale.
NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def check(case) -> list[Finding]:
    replayer = case.require_replay()
    initial = replayer.copies.initial_model
    default = start_reference(case, initial)
    if default is None:
        raise Skip("needs a model with layers that have reset_parameters (torch.nn layers)")
    batches = replayer.train_batches[:BATCHES]
    user_loss, default_loss = _start_losses(replayer, initial, default, batches)
    stuck = stuck_layers(initial)
    spreads = _output_spreads(replayer, initial, default, batches)
    flat = flat_start(*spreads) and not _relus_off_at_start(case.trace)
    oversized = oversized_weights(initial, default)
    worse_and_oversized = bool(oversized) and user_loss > default_loss
    if not (user_loss > FAR * default_loss or stuck or flat or worse_and_oversized):
        return []
    before, after, experiment = _default_init_experiment(case, default, oversized)
    evidence = _evidence(case, replayer, initial, default, batches, user_loss, default_loss)
    evidence.update(_oversized_evidence(oversized))
    excused = not (stuck or oversized) and undone_at_once(before, after)
    if not helped(experiment, case) or excused:
        return (_with_a_lower_rate(case, default, after, evidence)
                or _unconfirmed(case, before, after, evidence, oversized))
    evidence["layers_stuck_at_init"] = len(stuck)
    evidence["outputs_flat_at_start"] = float(flat)
    evidence["initial_output_spread"], evidence["default_init_output_spread"] = spreads
    evidence.update(never_below_start(case, after))
    return [Finding(BAD_INIT, 0.9, _verdict(evidence, experiment, stuck,
                                            start_reference_name(case, initial), oversized),
                    evidence, experiment=experiment, fix=_fix(case, oversized))]


def _fix(case, oversized: dict[str, float]) -> str:
    """The fix: OVERSIZED_FIX for weights far too large; the init that suits the hidden
    sigmoid/tanh layers (Xavier/Glorot with their gain, not He, which is ReLU's); else the
    cause's own."""
    if oversized:
        return OVERSIZED_FIX
    kind = suited_squashing(case.trace)
    return suited_fix(kind) if kind is not None else ""


def _default_init_experiment(case, default: nn.Module, oversized: dict[str, float]
                             ) -> tuple[ReplayResult, ReplayResult, Experiment]:
    """The replays from the user's start and from ``default``, and their experiment. With
    oversized weights, a default init ahead but short of a fix is replayed again for the run's
    length (_as_long_as_the_run)."""
    description = (f"the model re-initialized with "
                   f"{start_reference_name(case, case.copies.initial_model)}")
    before, after = case.baseline, _reference_replay(case, default)
    experiment = fix_experiment(description, before, after)
    if oversized and not helped(experiment, case) and settled_loss(after) < settled_loss(before):
        before, after = _as_long_as_the_run(case, default) or (before, after)
        experiment = fix_experiment(description, before, after)
    return before, after, experiment


def _reference_replay(case, reference: nn.Module) -> ReplayResult:
    """The replay from start_reference's init: the default init's is shared with
    exploding_gradients (_reinit.default_init_replay)."""
    if isinstance(reference, TensorModel) and suited_squashing(case.trace) is not None:
        return suited_replay(case, reference)
    return default_init_replay(case, reference)


def _oversized_evidence(oversized: dict[str, float]) -> dict[str, float]:
    if not oversized:
        return {}
    return {"weights_far_above_default_init": float(len(oversized)),
            "largest_weight_scale_to_default_init": max(oversized.values())}


def _as_long_as_the_run(case, default: nn.Module) -> tuple[ReplayResult, ReplayResult] | None:
    """The user's setup and the default init replayed for as many steps as the run took, at
    most LONGEST_REPLAY; None when the run took no more than REPLAY_STEPS."""
    steps = min(case.trace.steps, LONGEST_REPLAY)
    if steps <= REPLAY_STEPS:
        return None
    fresh = case.shared(f"replay.default_init.{steps}", lambda: case.replayer.replay(
        Plan(model=copy.deepcopy(default), steps=steps)))
    return case.baseline_for(steps), fresh


def _unconfirmed(case, own: ReplayResult, after: ReplayResult, evidence: dict,
                 oversized: dict[str, float]) -> list[Finding]:
    """A start far off by its loss, with weights far larger than any standard init gives their
    layers, whose replays (``own`` from it, ``after`` from the default init) could not tell
    (_why_unconfirmed): reported on what the start shows, at UNCONFIRMED_CONFIDENCE, without a
    replayed fix. Full replays that did not find the default init better keep the check
    quiet."""
    far = evidence.get("initial_loss", 0.0) > FAR * evidence["default_init_loss"]
    why = _why_unconfirmed(case, own, after) if far and oversized else ""
    if not why:
        return []
    evidence["replay_loss_from_your_init"] = settled_loss(own)
    evidence["replay_loss_from_default_init"] = settled_loss(after)
    return [Finding(BAD_INIT, UNCONFIRMED_CONFIDENCE,
                    _unconfirmed_verdict(evidence, oversized, why), evidence,
                    fix=OVERSIZED_FIX)]


def _why_unconfirmed(case, own: ReplayResult, after: ReplayResult) -> str:
    """Why the replays neither confirm nor refute the start as the cause, in words; "" when
    they could tell. The budget cut them short of REPLAY_STEPS: a replay cut short compares the
    first steps, where the default init can still trail (a small GPT sorting digits, /tmp dev
    script of session 31, Linear weights N(0, 1): the default init's replay 16% behind at 120
    steps, at 0.26 against 0.68 at 300). Or neither left the constant guess
    (_both_at_the_guess)."""
    steps = min(own.planned_steps or REPLAY_STEPS, after.planned_steps or REPLAY_STEPS)
    if steps < REPLAY_STEPS:
        return f"the time budget cut the replays to {steps} steps, too few to tell"
    if _both_at_the_guess(case, own, after):
        return "neither got clearly below a constant guess within their steps"
    return ""


def _both_at_the_guess(case, own: ReplayResult, after: ReplayResult) -> bool:
    """Neither replay settled clearly below the constant guess (by NEAR_CHANCE_SHARE of it, the
    symptom's bar for a run that learned next to nothing): within the replays' steps neither
    start learned."""
    constant = case.constant_guess_loss("validation")
    if constant is None or not (math.isfinite(constant) and constant > 0):
        return False
    bar = (1 - NEAR_CHANCE_SHARE) * constant
    return all(settled_loss(result) >= bar for result in (own, after))


def _oversized_text(oversized: dict[str, float]) -> str:
    names = sorted(oversized, key=oversized.get, reverse=True)
    shown = ", ".join(f"{name} ({oversized[name]:.0f}x)" for name in names[:3])
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return (f"{len(names)} of its weight matrices start far larger than PyTorch's default init "
            f"draws them for their size: {shown}{more}, where the usual inits (kaiming, xavier, "
            f"GPT-2's std 0.02) stay within {LARGE_WEIGHTS:g} times it")


def _unconfirmed_verdict(evidence: dict, oversized: dict[str, float], why: str) -> str:
    return (
        f"Your model starts with a training loss of {evidence['initial_loss']:.3g}, against "
        f"{evidence['default_init_loss']:.3g} for the same model with PyTorch's default "
        f"initialization: {_oversized_text(oversized)}. Weights drawn without scaling by their "
        "fan-in (e.g. normal_(w) with std 1) make every layer's outputs, and a transformer's "
        "attention scores, far too large. Trained on copies, it reaches a validation loss of "
        f"{evidence['replay_loss_from_your_init']:.3g} from your start and "
        f"{evidence['replay_loss_from_default_init']:.3g} from the default init: {why}, so "
        "this is what the start shows, not a measured fix."
    )


def flat_start(own: float, fresh: float) -> bool:
    """The untrained model's outputs vary across rows (``own``) less than 1/FLAT_START of the
    default init's (``fresh``; see FLAT_START)."""
    return math.isfinite(own) and math.isfinite(fresh) and own * FLAT_START < fresh


def _relus_off_at_start(trace) -> bool:
    """A ReLU layer more than BUILT_DEAD dead at its first sample (checks._dead_units)."""
    try:
        layers = dead_layers(trace)
    except Skip:
        return False
    return any(layer.at_start > BUILT_DEAD for layer in layers)


def _output_spreads(replayer: Replayer, initial: nn.Module, default: nn.Module,
                    batches) -> tuple[float, float]:
    return _output_spread(replayer, initial, batches), _output_spread(replayer, default, batches)


def _times(evidence: dict) -> str:
    own, fresh = evidence["initial_output_spread"], evidence["default_init_output_spread"]
    return f"{fresh / own:,.0f} times" if own > 0 else "infinitely"


def _output_spread(replayer: Replayer, model: nn.Module, batches) -> float:
    """The spread over rows of each output of a copy of ``model`` in eval mode, averaged over
    outputs and batches; NaN when the replayed loss gives no prediction to read (a contrastive
    loss scoring the model's outputs against each other, corpus clip_small_dataset)."""
    copied = copy.deepcopy(model).eval()
    spreads = []
    with isolated(0), torch.no_grad():
        for batch in batches:
            output = replayer.predict(copied, batch)
            if not isinstance(output, torch.Tensor):
                continue
            output = output.float()
            if output.dim() > 0 and output.shape[0] > 1:
                spreads.append(float(output.reshape(output.shape[0], -1).std(0).mean()))
    return sum(spreads) / len(spreads) if spreads else math.nan


def _start_losses(replayer: Replayer, initial: nn.Module, default: nn.Module,
                  batches) -> tuple[float, float]:
    """The untrained model's loss and the default init's on ``batches``, in the mode that
    sets them furthest apart: eval mode, and training mode, which is what the run's first steps
    saw. A BatchNorm layer at the start holds running statistics of mean 0 and variance 1, so
    in eval mode it passes small activations on small, and an output layer scaled up 250
    times looked only 3.2 times the default's loss (dev output_layer_scaled 312004: 3.53
    against 1.09), where training mode, normalizing each batch, shows the 77 (against 1.17)
    the run started at (its first step's loss: 71)."""
    pairs = [(replayer.evaluate(initial, batches), replayer.evaluate(default, batches)),
             (training_mode_loss(replayer, initial, batches),
              training_mode_loss(replayer, default, batches))]
    finite = [pair for pair in pairs if all(map(math.isfinite, pair)) and pair[1] > 0]
    return max(finite, key=lambda pair: pair[0] / pair[1], default=pairs[0])


def training_mode_loss(replayer: Replayer, model: nn.Module, batches) -> float:
    """Row-weighted mean loss of a copy of ``model`` in training mode (batch statistics in
    its normalization layers, as at the run's first step), the RNGs restored."""
    model = copy.deepcopy(model).train()
    with isolated(0), torch.no_grad():  # isolated enables grad mode: no_grad inside it
        total = sum(float(replayer.scored_loss(model, b)) * b.rows for b in batches)
    return total / max(sum(b.rows for b in batches), 1)


def _with_a_lower_rate(case, default, after: ReplayResult, evidence: dict) -> list[Finding]:
    """The start is far off, but the default init at the user's rate did not help: when that
    replay blew up or barely trained (a rate too high for any start), the two fixes together
    (:mod:`._joint`): reported when they help and the lower rate alone does not. A default-init
    replay that caught up with the run at once (undone_at_once) may have done so because both
    collapsed at that rate: the same question is asked there."""
    if not too_fast(after, case.constant_guess_loss("validation")):
        return []
    joint = init_and_rate(case, default)
    if joint is None or not joint.needed(case):
        return []
    evidence.update(joint_evidence(joint, after))
    evidence[NEEDS_LOWER_RATE] = 1.0
    initialization = start_reference_name(case, case.copies.initial_model)
    user_lr = plain_lr(case.replayer.user_lr, 3)
    experiment = fix_experiment(
        f"the model re-initialized with {initialization} and the learning rate lowered from "
        f"{user_lr} to {plain_lr(joint.lr)}", case.baseline, joint.both)
    return [Finding(BAD_INIT, JOINT_CONFIDENCE, _joint_verdict(evidence, experiment, user_lr,
                                                               initialization), evidence,
                    fix=(f"{BAD_INIT.fix} And lower the learning rate from {user_lr} to about "
                         f"{plain_lr(joint.lr)}: either change alone did not help."),
                    experiment=experiment)]


def _joint_verdict(evidence: dict, experiment: Experiment, user_lr: str,
                   initialization: str) -> str:
    e = evidence
    at_your_rate = _loss_text(e, "default_init_at_your_rate_loss")
    lower = plain_lr(e["joint_lr"])
    alone = (f"from {initialization} at your rate, {at_your_rate}; from your own start at lr "
             f"{lower}, {_loss_text(e, 'lower_rate_only_loss')}")
    return (
        f"Your model starts with a training loss of {e.get('initial_loss', math.inf):.3g}, "
        f"against {e['default_init_loss']:.3g} for the same model with {initialization}, and "
        f"your learning rate ({user_lr}) is too high for it: trained on copies with only one "
        f"of the two changed, it does not get better ({alone}). With both changed it reaches "
        f"a validation loss of {experiment.after:.3g}, {_as_you_train(experiment.before)}."
    )


def _as_you_train(before: float) -> str:
    if math.isfinite(before):
        return f"against {before:.3g} as you train it"
    return "where a copy trained as you train it blows up"


def _loss_text(evidence: dict, key: str) -> str:
    value = evidence.get(key)
    return "it blows up" if value is None else f"validation loss {value:.3g}"


def undone_at_once(own: ReplayResult, default: ReplayResult) -> bool:
    """The replay from the user's init is, at its first evaluation (a tenth of the replay's
    steps), no worse than the replay from the default init by the bar of a fix
    (MEANINGFUL_IMPROVEMENT): the start's excess loss was gone within those steps, and a gap
    that opens later is how the two models train from there, not a start that training spends
    its steps undoing. Dev 30004's irnn_without_clipping twin (an identity-initialized ReLU RNN,
    the deliberate init of Le et al. 2015) starts at 4.9 against the default init's 1.02, is at
    0.950 against 0.952 after 30 steps, and was called badly initialized for ending 300 steps at
    0.178 against 0.106; the N(0, 0.4-0.7) starts of deep_relu_large_init are 499 against 0.61
    there (dev 30000)."""
    if not (own.validation_losses and default.validation_losses):
        return False
    first_own, first_default = own.validation_losses[0], default.validation_losses[0]
    if not (math.isfinite(first_own) and math.isfinite(first_default)):
        return False
    return (first_own <= (1 + MEANINGFUL_IMPROVEMENT) * first_default
            and _trains_on_alike(own, default))


def _trains_on_alike(own: ReplayResult, default: ReplayResult) -> bool:
    """From the first evaluation on, the replay from the user's init took off at least
    KEEPS_LEARNING_SHARE of the share of its loss the replay from the default init took off:
    it trains on as the default does, and only its first steps were spent on the start. A
    start whose excess loss is gone at once but that leaves the model unable to learn from there
    is still the start's doing: dev output_layer_scaled 312007 (head x300, SGD 0.01), full
    replays: 0.506 at the first evaluation against the default's 0.608, then 0.442 against
    0.081 at the end (a fall of 13% of its loss against 87%); the irnn twin of 30004 fell from
    0.950 to 0.178 (81%) where the default fell from 0.952 to 0.106 (89%)."""
    falls = [_fall(result) for result in (own, default)]
    if not all(map(math.isfinite, falls)) or falls[1] <= 0:
        return True
    return falls[0] >= KEEPS_LEARNING_SHARE * falls[1]


def _fall(result: ReplayResult) -> float:
    """The share of its first evaluation's validation loss a replay took off by its end."""
    first, end = result.validation_losses[0], settled_loss(result)
    return (first - end) / first if math.isfinite(end) and first > 0 else math.nan


def stuck_layers(model: nn.Module) -> list[str]:
    """Layers the training cannot get out of their start: the name of each layer whose units
    (rows of its weight) are all identical, and of each normalization layer
    whose scale is all zero."""
    if isinstance(model, TensorModel):
        return [f"tensor {i}" for i, tensor in enumerate(model.tensors)
                if _identical_columns(tensor)]
    return [name or type(module).__name__ for name, module in model.named_modules()
            if _zero_scale(module) or _identical_units(module)]


def _identical_columns(tensor: torch.Tensor) -> bool:
    """A weight matrix of a model written as plain tensors (``x @ w``: a column per unit)
    whose units all start the same."""
    if tensor.dim() != 2 or tensor.shape[1] < 2:
        return False
    units = tensor.detach().T
    return bool((units == units[:1]).all())


def _zero_scale(module: nn.Module) -> bool:
    weight = getattr(module, "weight", None)
    return isinstance(module, NORMS) and isinstance(weight, torch.Tensor) and not weight.any()


def _identical_units(module: nn.Module) -> bool:
    """Every unit of a linear or convolution layer starts with the same weights (the rows of
    its weight matrix equal). Its biases may differ (a constant init of the weights leaves
    PyTorch's random biases): every unit still reads one and the same combination of its
    inputs, so the layer passes on one direction of them, as a layer of one unit would; and the
    units' weights move by the same input rows at every step, weighted only by how each unit's
    gate differs, so the rows stay close copies. PyTorch's default init draws every weight
    independently: two equal rows never happen by chance."""
    if not isinstance(module, (nn.Linear, nn.modules.conv._ConvNd)):
        return False
    weight = module.weight.detach()
    if isinstance(module, nn.modules.conv._ConvTransposeNd):  # (in, out / groups, ...)
        weight = weight.transpose(0, 1)
    units = weight.reshape(weight.shape[0], -1)
    if units.shape[0] < 2:
        return False
    return bool((units == units[:1]).all())


def largest_output(replayer: Replayer, model: nn.Module, batches) -> float:
    """The largest output of a copy of ``model`` on ``batches``, in eval or training mode
    (see _start_losses)."""
    largest = 0.0
    for training in (False, True):
        copied = copy.deepcopy(model).train(training)
        with isolated(0), torch.no_grad():
            largest = max([largest] + [float(replayer.predict(copied, b).abs().max())
                                       for b in batches])
    return largest


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


def _verdict(evidence: dict, experiment: Experiment, stuck: list[str],
             initialization: str = "PyTorch's default initialization",
             oversized: dict[str, float] | None = None) -> str:
    replayed = (f"Trained on copies from {initialization}, your model reaches a "
                f"validation loss of {experiment.after:.3g}, against {experiment.before:.3g} "
                "from its own.")
    if stuck:
        return (
            f"Your model starts with layers training cannot get out of: {', '.join(stuck[:5])} "
            "(every unit with the same weights, as with constant or all-zero weights, so "
            "each reads the same combination of its inputs and gets the same gradient, and "
            "they stay copies of one unit; or a normalization scale of zero, which lets nothing "
            "through). " + replayed
        )
    # 'on the training labels': the summary's constant guess is the validation one (bad_init_mlp:
    # 'constant guess (0.6875)' above '0.672 for a constant guess' read as two figures for one)
    reference = (f" and {evidence['constant_guess_loss']:.3g} for a constant guess on the "
                 f"training labels" if "constant_guess_loss" in evidence else "")
    if evidence.get("outputs_flat_at_start") and not evidence.get("initial_loss", 0) > FAR * \
            evidence["default_init_loss"]:
        return ("Your model starts with outputs that are about the same for every row: its "
                "initial weights are too small for its depth, so each layer shrinks the signal "
                f"and its inputs barely reach the output (at {initialization} they vary "
                f"{_times(evidence)} as much over the rows). Training cannot get the "
                "gradients back through the layers. " + replayed)
    return (
        f"Your model starts with a training loss of "
        f"{evidence.get('initial_loss', math.inf):.3g}, "
        f"against {evidence['default_init_loss']:.3g} for the same model with "
        f"{initialization}{reference}; its outputs reach "
        f"{evidence.get('largest_initial_output', math.inf):.3g} before training (default "
        f"init: {evidence['largest_default_init_output']:.3g}). "
        + (f"{_oversized_text(oversized)}. " if oversized else "")
        + "Training spends its steps undoing the initialization. " + replayed
    )
