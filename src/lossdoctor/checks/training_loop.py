"""Mistakes in the training loop itself: parameters that are never trained, gradients that are
never zeroed, and a model left in the wrong train/eval mode."""

from __future__ import annotations

import copy
import dataclasses
import math
import types

import torch
from torch import nn

from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._carried_gradients import CarriedGradients, carried_gradients
from lossdoctor.checks._dropout import DropoutCalls
from lossdoctor.checks._eval_dropout import eval_dropout
from lossdoctor.checks._fix import (
    MEANINGFUL_IMPROVEMENT,
    fix_experiment,
    helped,
    hurt,
    improvement,
)
from lossdoctor.checks._plain import plain_number, plain_share
from lossdoctor.checks._unapplied_steps import empty_steps, unstepped_passes
from lossdoctor.experiments import Plan, ReplayResult
from lossdoctor.findings import Cause, Experiment, Finding, Skip
from lossdoctor.sandbox import isolated

FROZEN_PARAMS = Cause(
    id="frozen_params",
    title="Some parameters are never trained",
    fix=(
        "Pass all the model's trainable parameters to the optimizer (model.parameters()), and "
        "check requires_grad, detach() and no_grad in the forward pass."
    ),
    question="Are some parameters never trained?",
    test=(
        "parameters outside the optimizer, with `requires_grad` off or never a gradient; replay "
        "with all of them trained"
    ),
    explains={"lr_too_low", "underfit_capacity"},
)
MISSING_ZERO_GRAD = Cause(
    id="missing_zero_grad",
    title="Gradients accumulate across steps",
    fix="Call optimizer.zero_grad() before each loss.backward().",
    question="Do gradients pile up across steps?",
    test="`zero_grad` calls between optimizer steps; replay with and without zeroing",
    explains={"exploding_gradients", "lr_too_high", "nan_inf"},
    # Gradients summed over every step make ever larger steps, which pin tanh and sigmoid units
    # (makemore's MLP without zero_grad: its tanh layer 96% pinned at the end, reported as a
    # cause of its own), once zeroing them is replayed and helps.
    explains_if_fixed={"saturated_activation"},
)
TRAIN_EVAL_MODE = Cause(
    id="train_eval_mode",
    title="The model is in the wrong mode (train/eval)",
    fix="Call model.train() before training and model.eval() before validating.",
    question="Is dropout/BatchNorm in the wrong mode?",
    test=(
        "the model's mode at training and validation losses, and the dropout that ran in the "
        "validation passes (layers and calls such as F.dropout in the forward); the trained "
        "model scored in both modes, with dropout calls that model.eval() does not reach "
        "turned off"
    ),
    # Validated with dropout on, any replay that turns dropout off also takes the validation
    # noise away, so "dropout holds the model back" is confounded (dev case 21025: dropout off
    # fell 37%, eval mode alone 10%); trained in eval mode (BatchNorm frozen at its starting
    # statistics) the model learns slowly, and a higher rate makes up for it. Its own
    # experiment re-scores the trained model, never retrains it, so it cannot measure either.
    explains={"over_regularized", "lr_too_low"},
)

CAUSES = (FROZEN_PARAMS, MISSING_ZERO_GRAD, TRAIN_EVAL_MODE)


#: zero_grad in fewer than one step in this many is "almost never": gradient accumulation on
#: purpose zeroes every few steps (8, 16, even 64), not once in hundreds.
ACCUMULATION_LIMIT = 100
#: A second optimizer step is the first that can add its gradient to a previous one.
MIN_STEPS = 2
#: A run shorter than this is judged by replays as long as itself: from the counts alone it
#: cannot be told from one that resets every few steps (the periods ACCUMULATION_LIMIT allows,
#: 8 or 16), and over REPLAY_STEPS, gradients piling up cost a loop more than they cost it in
#: its own few steps. Dev scripts (docs/devset.md, session 15: /tmp/s15-fewstep/zg, an MLP and
#: a linear regression, 3-17 steps, seeds 1-2, never zeroing against zeroing): a 300-step replay
#: reported the loop in 33 of the 43 runs that did not lag their twins (3-12-step runs of SGD
#: with momentum and of hand-written SGD got further than their twins: accumulated gradients
#: act as a larger rate early); at its own length it reported all 7 that lagged (hand-written
#: linear regression from 8 steps, SGD with momentum at 17) and 1 of the 43. The step bar was
#: 20, without a measured source, and left a 17-step linear regression that never zeroes
#: unexplained.
OWN_LENGTH_BELOW = 20
#: zero_grad at most once per epoch, in epochs of at least this many optimizer steps, is a
#: zero_grad written in the epoch loop instead of the batch loop (issue 11 lists it among the
#: misses: "zero_grad called once per epoch instead of per step"), whatever ACCUMULATION_LIMIT
#: says of the run as a whole: on purpose, accumulation counts batches, not epochs. Chosen on
#: development cases (docs/devset.md, session 8; bench/zero_grad_epochs.py): the generator's
#: zero_grad_once_per_epoch bases given epochs of K steps broke (twin learns, broken lags) from
#: K = 3 with SGD and momentum (dev 09350: loss not finite) and from K = 8 with AdamW (09168);
#: at K = 2 neither did. At K = 1 (the whole training set as one batch) a loop that zeroes every
#: step zeroes once per epoch, so the bar must stay above 1. (It was 4, from the yolov5-style
#: project of bench/projects, 12 steps per epoch.)
MIN_STEPS_PER_EPOCH = 3
#: Share of the losses in one phase taken in the other mode before it is called a habit.
WRONG_MODE_SHARE = 0.5
#: Parameters that still require a gradient but that no optimizer group holds are a fact about
#: the loop, not an inference: autograd computes their gradient and nothing ever applies it.
#: Freezing on purpose turns requires_grad off; this is parameter groups that missed some. Such
#: a finding is reported, just above the report threshold (so after any cause a replay
#: confirmed), even when a replay training them too gains little: it then measures what they
#: cost, not whether the loop is wrong.
LEFT_OUT_CONFIDENCE = 0.55


#: Backward passes a loop needs before "no parameter ever changed" says something about it: one
#: backward and the end of the script is a gradient looked at once; a second one, with nothing
#: updated in between, is a loop that computes gradients and never applies them.
MIN_BACKWARD_PASSES = 2
#: A loop that never updates anything is a fact read off the run (no optimizer step, no
#: parameter changed by hand, the kept copies from before the first backward and after the
#: run equal), not an inference from a replay.
NEVER_UPDATED_CONFIDENCE = 0.95
#: Sampled steps, at least, that an optimized parameter must have gone without a gradient, all
#: after its last one, to count as dropped from the model: gradients are sampled every few
#: steps (capture.schedule), so three samples span tens of steps, not one batch that skipped a
#: branch (a module used on some batches gets a gradient again at a later sample).
MIN_STOPPED_SAMPLES = 3
#: ... and at least this share of all the sampled steps: a layer that a LayerDrop-style model
#: skips with probability p misses k samples in a row with probability p^k, which 3 samples
#: alone leave at 0.8-12% for p = 0.2-0.5; a tenth of a run's samples (tens of them in a run of
#: hundreds of steps) makes that negligible, and a layer replaced mid-run is gone for far more
#: (s16: from step 128 of 423, 70% of the run).
MIN_STOPPED_SHARE = 0.1
#: An optimizer stepping tensors that no longer get gradients is a fact read off the run, as a
#: loop that never updates is, and unlike a group left out of the optimizer
#: (LEFT_OUT_CONFIDENCE) it cannot be deliberate; but no replay measures what the current
#: layers lose by it (replays start from the model as first built), so it stays below
#: NEVER_UPDATED_CONFIDENCE.
STOPPED_CONFIDENCE = 0.7
#: Steps whose update was measured (capture.schedule measures the dense start and powers of
#: two), at least, at which a parameter got a gradient and the optimizer step left it exactly
#: as it was, before it counts as never trained by the optimizer that holds it (a parameter
#: group of learning rate 0: mmengine's ``lr_mult=0``). A rate that starts at 0 (warmup from
#: zero) leaves the first step's parameters as they were, and only that step: three steps
#: reach past it (the second and third measured steps are steps 1 and 2).
MIN_UNMOVED_STEPS = 3
#: ... counting only steps whose gradient norm is at least this share of the parameter's norm:
#: a smaller gradient may leave a float32 parameter exactly as it was at a plain SGD rate
#: (float32 keeps 24 bits: a change below about 6e-8 of a value is rounded away). A Linear
#: bias just before a BatchNorm gets a gradient of rounding noise (1e-8 of its norm,
#: measured on bench/projects4's mmengine MLP) and is never moved by a healthy run; from
#: 1e-3 up, any SGD rate from 1e-4 moves the parameter by 1e-7 of its norm or more.
MIN_MOVING_GRADIENT = 1e-3


#: Kept training batches on which the starting model's gradient is computed before "no update
#: ran" is said: a few stand for the run (a model dead from its first step is dead on every
#: batch), and each costs one forward and backward pass of the user's model.
ZERO_GRADIENT_BATCHES = 4
#: Why the check says nothing of a run whose every gradient is zero, in the user's words.
ALL_ZERO_GRADIENTS = ("every gradient of your model is exactly zero from the start, so no update "
                      "could change it: whether an update ran cannot be told")


def check(case) -> list[Finding]:
    if case.trace.steps == 0:
        never = _never_updated(case)
        if never is None:
            raise Skip("needs optimizer steps: none were seen")
        if _gradients_all_zero(case):
            raise Skip(ALL_ZERO_GRADIENTS)
        return [never]
    findings = [_stepped_without_backward(case) or _frozen(case) or _unregistered(case)
                or _stopped(case) or _unstepped(case) or _empty_steps(case),
                _missing_zero_grad(case), *_wrong_mode(case)]
    return [f for f in findings if f is not None]


# --- parameters never trained ------------------------------------------------------------------


def backward_passes(trace) -> int:
    """Training losses backward went through (a loss is a training one by that alone)."""
    if trace.backward_never_ran:
        return 0
    return sum(record.calls for record in trace.train_losses())


def _stepped_without_backward(case) -> Finding | None:
    """The optimizer stepped and backward never ran on any loss (capture/unbackpropagated.py):
    no parameter had a gradient, so no step changed anything."""
    trace = case.trace
    if not trace.backward_never_ran:
        return None
    return Finding(
        FROZEN_PARAMS, NEVER_UPDATED_CONFIDENCE,
        verdict=(f"Your optimizer stepped {trace.steps:,} times, but backward() never ran on "
                 "the loss: no parameter got a gradient, so no step changed anything and your "
                 "model is still the one you started with."),
        evidence={"optimizer_steps": float(trace.steps), "backward_passes": 0.0,
                  "training_losses_computed": float(len(trace.train_losses()))},
        fix=("Call loss.backward() before optimizer.step(); in PyTorch Lightning, return the "
             "loss from training_step (a step that returns None skips backward)."),
    )


def _never_updated(case) -> Finding | None:
    """Backward ran MIN_BACKWARD_PASSES times or more and no parameter ever changed: no
    optimizer step was taken, none was updated by hand, and the model the run left equals the
    one before its first backward (when both were kept)."""
    passes = backward_passes(case.trace)
    changed = changed_tensors(case.copies.initial_model, case.copies.final_model)
    if passes < MIN_BACKWARD_PASSES or changed:
        return None
    count = case.trace.setup.parameter_count or _elements(case.copies.initial_model)
    evidence = {"backward_passes": float(passes), "optimizer_steps": 0.0,
                "parameters_changed": 0.0}
    if count:
        evidence["parameter_elements"] = float(count)
    return Finding(
        FROZEN_PARAMS, NEVER_UPDATED_CONFIDENCE,
        verdict=(f"{_never_changed_text(passes)} No optimizer step ran and no parameter was "
                 "updated by hand, so your model is still the one you started with: the "
                 "gradients are computed and never applied."),
        evidence=evidence,
        fix=("Call optimizer.step() after each loss.backward(), on an optimizer built over "
             "this model's parameters (model.parameters())."),
    )


def _gradients_all_zero(case) -> bool:
    """Whether the model the run started from gets a gradient of exactly zero in every
    parameter on each of the first ZERO_GRADIENT_BATCHES kept training batches: updates by
    hand (``p -= lr * p.grad``) of such gradients change nothing, so a run that changed no
    parameter may have updated it at every step (an output ReLU dead from the start). False
    when it cannot be computed."""
    replayer, model = case.replayer, case.copies.initial_model
    if model is None or case.copies.replay_loss is None or not replayer.train_batches:
        return False
    try:
        with isolated(0):
            model = copy.deepcopy(model)
            for batch in replayer.train_batches[:ZERO_GRADIENT_BATCHES]:
                model.zero_grad(set_to_none=True)
                replayer.loss(model, batch).backward()
                if any(p.grad is not None and bool(p.grad.any()) for p in model.parameters()):
                    return False
    except Skip:
        return False
    return any(p.grad is not None for p in model.parameters())


def changed_tensors(before: nn.Module | None, after: nn.Module | None) -> int | None:
    """How many parameter tensors differ between two copies of a model; None when either
    copy is missing or they do not hold the same parameters."""
    changed = changed_names(before, after)
    return None if changed is None else len(changed)


def changed_names(before: nn.Module | None, after: nn.Module | None) -> set[str] | None:
    """The names of the parameters that differ between two copies of a model; None when
    either copy is missing or they do not hold the same parameters."""
    if before is None or after is None:
        return None
    old, new = dict(before.named_parameters()), dict(after.named_parameters())
    if old.keys() != new.keys():
        return None
    return {name for name in old
            if not torch.equal(old[name].detach().cpu(), new[name].detach().cpu())}


def _without_later_training(trace, copies):
    """The trace with the parameters frozen when training started but changed by its end
    taken off ``requires_grad_off``: a fine-tuning callback unfreezes a backbone after its
    first epochs (Lightning's BaseFinetuning), and the setup is read at the first step
    (bench/projects5's healthy Lightning run was given frozen_params 0.96)."""
    changed = changed_names(copies.initial_model, copies.final_model) or set()
    off = trace.setup.requires_grad_off
    if not changed & off.keys():
        return trace
    kept = {name: count for name, count in off.items() if name not in changed}
    return dataclasses.replace(trace, setup=dataclasses.replace(trace.setup,
                                                                requires_grad_off=kept))


def _elements(model: nn.Module | None) -> int:
    return sum(p.numel() for p in model.parameters()) if model is not None else 0


def _untrained(trace, model: nn.Module | None = None) -> dict[str, int]:
    """The model's parameters that never train, by name. Optimized tensors that are not the
    model's (an optimizer built for another model) never get a gradient either, but are not
    the model's parameters: counted, they made "708 of 706" of them untrained."""
    setup = trace.setup
    own = {name for name, _ in model.named_parameters()} if model is not None else None
    never = {
        name: entry["elements"]
        for name, entry in trace.gradientless.items()
        if entry["sampled_steps"] >= trace.gradient_samples > 0 and (own is None or name in own)
    }
    return {**setup.not_in_optimizer, **setup.requires_grad_off, **never,
            **_unmoved(trace, model)}


def _unmoved(trace, model: nn.Module | None = None) -> dict[str, int]:
    """The parameters the optimizer holds and never moved: at every step whose update was
    measured, at least MIN_UNMOVED_STEPS of them with a gradient, the step left them exactly
    as they were (every group holding them at learning rate 0). By name, their element count
    (1 each without the model: the names are what a replay needs)."""
    measured: dict[str, list[bool]] = {}
    for record in trace.gradients:
        if record.named and record.update_ratio is not None and _gradient_moves(record):
            measured.setdefault(record.name, []).append(record.update_ratio == 0)
    sizes = (None if model is None
             else {name: p.numel() for name, p in model.named_parameters()})
    return {name: sizes[name] if sizes is not None else 1
            for name, still in measured.items()
            if len(still) >= MIN_UNMOVED_STEPS and all(still)
            and (sizes is None or name in sizes)}


def _gradient_moves(record) -> bool:
    """Whether a step at any plain rate would visibly move the parameter: its gradient is at
    least MIN_MOVING_GRADIENT of its norm (any gradient, for a parameter of norm 0)."""
    if record.weight_norm == 0:
        return record.grad_norm > 0
    return record.grad_norm >= MIN_MOVING_GRADIENT * record.weight_norm


def _frozen(case) -> Finding | None:
    trace = _without_later_training(case.trace, case.copies)
    setup = trace.setup
    untrained = _untrained(trace, case.copies.initial_model)
    if not untrained or setup.parameter_count == 0:
        return None
    share = sum(untrained.values()) / setup.parameter_count
    unmoved = _unmoved(trace, case.copies.initial_model)
    mechanical = setup.not_in_optimizer or setup.requires_grad_off or unmoved
    experiment = _train_everything(case, trace) if mechanical else None
    evidence = {
        "untrained_elements": float(sum(untrained.values())),
        "parameter_elements": float(setup.parameter_count),
        "untrained_share": share,
        "left_out_of_optimizer": float(sum(setup.not_in_optimizer.values())),
        "requires_grad_off": float(sum(setup.requires_grad_off.values())),
        "no_gradient_at_sampled_steps": float(len(untrained) - len(setup.not_in_optimizer)
                                              - len(setup.requires_grad_off) - len(unmoved)),
        "never_moved_by_optimizer": float(sum(unmoved.values())),
        "optimizer_elements_outside_model": float(setup.optimizer_elements_outside_model),
    }
    _add_experiment_numbers(evidence, experiment)
    confidence = _frozen_confidence(share, setup, experiment, case)
    verdict = _frozen_verdict(trace, untrained, share, experiment, unmoved)
    if share >= 1 and changed_tensors(case.copies.initial_model, case.copies.final_model) == 0:
        passes = backward_passes(trace)
        evidence |= {"backward_passes": float(passes), "parameters_changed": 0.0}
        confidence = max(confidence, NEVER_UPDATED_CONFIDENCE)
        verdict = f"{_never_changed_text(passes)} {verdict}"
    return Finding(
        FROZEN_PARAMS, confidence, verdict=verdict, evidence=evidence,
        experiment=experiment, details={"untrained_parameters": untrained},
    )


def stopped_parameters(trace) -> dict[str, int]:
    """Optimized parameters that got gradients, then none at any later sampled step (at least
    MIN_STOPPED_SAMPLES of them, and MIN_STOPPED_SHARE of all): by name, the step of their last
    gradient. The optimizer still
    holds them, so they are no longer in the model's forward pass: layers replaced after the
    optimizer was built (pruning's speedup, a new head), or a model rebuilt."""
    last_grad: dict[str, int] = {}
    for record in trace.gradients:
        if record.named:
            last_grad[record.name] = max(record.step, last_grad.get(record.name, -1))
    sampled = sorted({record.step for record in trace.gradients})
    stopped = {}
    for name, entry in trace.gradientless.items():
        if name not in last_grad:
            continue
        later = sum(step > last_grad[name] for step in sampled)
        without = entry["sampled_steps"]
        enough = max(MIN_STOPPED_SAMPLES, MIN_STOPPED_SHARE * len(sampled))
        if later >= enough and without >= later:
            stopped[name] = last_grad[name]
    return stopped


def _stopped(case) -> Finding | None:
    stopped = stopped_parameters(case.trace)
    if not stopped:
        return None
    names = sorted(stopped, key=stopped.get)
    since = min(stopped.values())
    return Finding(
        FROZEN_PARAMS, STOPPED_CONFIDENCE,
        verdict=(f"{len(stopped)} parameter tensors your optimizer updates ({', '.join(names[:3])}"
                 f"{', ...' if len(names) > 3 else ''}) got gradients until step {since:,} and "
                 "none after it, while the optimizer kept stepping: the model no longer uses "
                 "them, so the layers it uses now are not in the optimizer and do not learn "
                 "(layers replaced after the optimizer was built, or the model rebuilt)."),
        evidence={"stopped_tensors": float(len(stopped)), "last_gradient_step": float(since),
                  "optimizer_steps": float(case.trace.steps)},
        fix=("Build the optimizer after replacing layers (or rebuilding the model), over the "
             "parameters the model has then: optimizer = torch.optim.X(model.parameters(), ...)."),
        details={"stopped_parameters": stopped},
    )


#: Backward passes the loop went on taking after its optimizer stopped stepping, and an
#: optimizer stepping tensors that never have a gradient, are read off the run as a loop that
#: never updates is (NEVER_UPDATED_CONFIDENCE); what the steps not taken cost is not replayed,
#: so a little below it, as CARRIED_CONFIDENCE.
UNAPPLIED_CONFIDENCE = 0.9


def _unstepped(case) -> Finding | None:
    found = unstepped_passes(case.trace)
    if found is None:
        return None
    share = plain_share(found.passes_after / found.passes)
    return Finding(
        FROZEN_PARAMS, UNAPPLIED_CONFIDENCE,
        verdict=(f"Your loop took {found.last_step:,} optimizer steps, then went on with "
                 f"{found.passes_after:,} more backward passes ({share} of its training) "
                 "without any step: their gradients were computed and never applied, so your "
                 "model stopped training there. Something between "
                 "loss.backward() and the update skips optimizer.step() (a wrapper around it, "
                 "a condition, an early return)."),
        evidence={"optimizer_steps": float(found.last_step),
                  "backward_passes": float(found.passes),
                  "backward_passes_after_last_step": float(found.passes_after)},
        fix="Call optimizer.step() after every loss.backward() (or every accumulation window).",
    )


def _empty_steps(case) -> Finding | None:
    steps = empty_steps(case.trace)
    if not steps:
        return None
    trace = case.trace
    outside = trace.later_optimizer_outside_model
    whose = (f"{plain_share(outside / max(trace.later_optimizer_elements, 1))} of them are not "
             "your model's parameters: copies restored from a checkpoint, or an earlier "
             "model's. " if outside else "")
    return Finding(
        FROZEN_PARAMS, UNAPPLIED_CONFIDENCE,
        verdict=(f"After optimizer step {trace.steps:,} your loop stepped another optimizer "
                 f"{steps:,} times, and at every one of those steps none of the tensors it "
                 f"holds had a gradient: it updates tensors your forward pass does not use "
                 f"({whose}The model you train computes with other parameters), so those steps "
                 "changed nothing and your model did not train after step "
                 f"{trace.steps:,}."),
        evidence={"optimizer_steps": float(trace.steps), "steps_without_gradients": float(steps),
                  "optimizer_elements_outside_model": float(outside)},
        fix=("Build the optimizer over the parameters of the model you train, after building "
             "or loading it: optimizer = torch.optim.X(model.parameters(), ...); restore an "
             "optimizer's state with optimizer.load_state_dict(), not its parameter lists."),
    )


def _never_changed_text(passes: int) -> str:
    return f"Your script called backward {passes:,} times, but no parameter changed."


def _frozen_confidence(share: float, setup, experiment: Experiment | None, case) -> float:
    """Facts alone: an optimizer for another model is near-certain; a frozen share is as
    suggestive as it is large. A replay training everything confirms or refutes it, except
    for parameters left out of the optimizer (LEFT_OUT_CONFIDENCE), unless training them
    clearly hurts: leaving them out may then be deliberate."""
    base = 0.9 if setup.optimizer_elements_outside_model else 0.4 + 0.3 * share
    if experiment is None:
        return base
    gain = improvement(experiment)
    if helped(experiment):
        return max(base, replayed_fix_confidence(gain))
    refuted = min(base, 0.3 + max(gain, 0.0))
    if setup.not_in_optimizer and not hurt(experiment, case):
        return max(refuted, LEFT_OUT_CONFIDENCE)
    return refuted


def _frozen_verdict(trace, untrained, share, experiment, unmoved) -> str:
    setup = trace.setup
    largest = sorted(untrained, key=untrained.get, reverse=True)[:3]
    share_text = plain_share(share)
    parts = [f"{share_text[:1].upper()}{share_text[1:]} of your model's parameters "
             f"({sum(untrained.values()):,} of {setup.parameter_count:,}) are never trained, "
             f"e.g. {', '.join(largest)}."]
    if setup.optimizer_elements_outside_model:
        parts.append("Your optimizer holds parameters that are not your model's: it was "
                     "built for another model (or an earlier copy of it).")
    elif setup.not_in_optimizer:
        parts.append(f"{len(setup.not_in_optimizer)} trainable parameter tensors were not "
                     "given to the optimizer.")
    if setup.requires_grad_off:
        parts.append(f"{len(setup.requires_grad_off)} have requires_grad=False.")
    if unmoved:
        parts.append(f"{len(unmoved)} parameter tensors got gradients, but your optimizer "
                     "steps never changed them, as a learning rate of 0 does: look for a "
                     "parameter group with lr 0 (a per-group rate or an lr multiplier of 0).")
    if len(untrained) > (len(setup.not_in_optimizer) + len(setup.requires_grad_off)
                         + len(unmoved)):
        parts.append("Some optimized parameters never got a gradient: look for detach(), "
                     ".data or torch.no_grad() in the forward pass.")
    if experiment is not None:
        parts.append(f"Training all of them took the validation loss from "
                     f"{experiment.before:.3g} to {experiment.after:.3g}"
                     + ("." if helped(experiment) else
                        ": little change, so they may not be what holds your loss back, but "
                        "as your loop is written they never learn."))
    return " ".join(parts)


def unregistered_layers(model: nn.Module) -> dict[str, int]:
    """Layers kept in a plain list, tuple or dict attribute of a module, by attribute path, with
    their parameter counts. PyTorch registers only modules assigned directly or held in
    nn.ModuleList / nn.ModuleDict: these are missing from model.parameters(), so an optimizer
    built from it never trains them."""
    found = {}
    for prefix, module in model.named_modules():
        for attr, value in vars(module).items():
            layers = _plain_container_layers(value) if not attr.startswith("_") else []
            count = sum(p.numel() for layer in layers for p in layer.parameters())
            if count:
                found[f"{prefix}.{attr}" if prefix else attr] = count
    return found


def _plain_container_layers(value) -> list[nn.Module]:
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        items = list(value.values())
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        return []
    return items if items and all(isinstance(v, nn.Module) for v in items) else []


def registered(model: nn.Module, paths) -> nn.Module:
    """A copy of the model with each plain container at ``paths`` made a ModuleList or
    ModuleDict, so its layers are the model's own parameters."""
    fixed = copy.deepcopy(model)
    for path in paths:
        prefix, _, attr = path.rpartition(".")
        parent = fixed.get_submodule(prefix)
        value = getattr(parent, attr)
        delattr(parent, attr)
        setattr(parent, attr,
                nn.ModuleDict(value) if isinstance(value, dict) else nn.ModuleList(value))
    return fixed


def _unregistered(case) -> Finding | None:
    """Layers the model uses but never registered: the capture sees only model.parameters(),
    so they are found on the model's copy, and a replay with them registered tests it."""
    try:
        replayer = case.require_replay()
    except Skip:
        return None
    hidden = unregistered_layers(replayer.copies.initial_model)
    if not hidden:
        return None
    fixed = registered(replayer.copies.initial_model, hidden)
    after = replayer.replay(Plan(model=fixed, steps=REPLAY_STEPS))
    experiment = fix_experiment("register the layers (nn.ModuleList / nn.ModuleDict)",
                                case.baseline, after)
    elements = sum(hidden.values())
    evidence = {"untrained_elements": float(elements),
                "parameter_elements": float(elements + case.trace.setup.parameter_count),
                "unregistered_containers": float(len(hidden))}
    _add_experiment_numbers(evidence, experiment)
    names = ", ".join(f"self.{path}" for path in hidden)
    verdict = (
        f"Your model keeps layers in a plain Python list or dict ({names}): PyTorch does not "
        f"register them, so their {elements:,} parameters are not in model.parameters() and "
        "your optimizer never trains them (nor does .to(), state_dict() or eval() reach them). "
        f"Held in nn.ModuleList / nn.ModuleDict, they train, and copies of your model reach a "
        f"validation loss of {experiment.after:.3g}, against {experiment.before:.3g} now."
    )
    confidence = replayed_fix_confidence(improvement(experiment)) if helped(
        experiment) else 0.3
    return Finding(FROZEN_PARAMS, confidence, verdict, evidence, experiment=experiment,
                   fix=f"Hold {names} in nn.ModuleList (or nn.ModuleDict) instead of a plain "
                       "list (or dict).",
                   details={"untrained_parameters": hidden})


def _train_everything(case, trace) -> Experiment | None:
    """Replay with only the parameters the user trains against a replay that trains them all."""
    try:
        replayer = case.require_replay()
    except Skip:
        return None
    untrained = set(_untrained(trace))
    as_user = copy.deepcopy(replayer.copies.initial_model)
    everything = copy.deepcopy(replayer.copies.initial_model)
    for name, param in as_user.named_parameters():
        param.requires_grad_(name not in untrained)
    if not any(p.requires_grad for p in as_user.parameters()):
        return None  # nothing would train: the facts speak for themselves
    unfrozen(everything)
    before = replayer.replay(Plan(model=as_user, steps=REPLAY_STEPS))
    after = replayer.replay(Plan(model=everything, steps=REPLAY_STEPS))
    return fix_experiment("train all the model's parameters", before, after)


def unfrozen(model: nn.Module) -> nn.Module:
    """``model`` with every parameter requiring a gradient, kept so through ``train()``: a
    module whose own ``train()`` freezes again (mmcv's and timm's backbones call
    ``_freeze_stages()`` there, for ``frozen_stages``) gets nn.Module's plain ``train()``, or
    the replay that trains everything would train the user's frozen stages no more than the
    run did."""
    for param in model.parameters():
        param.requires_grad_(True)
    model.train()
    if all(param.requires_grad for param in model.parameters()):
        return model
    for module in model.modules():
        if type(module).train is not nn.Module.train:
            module.train = types.MethodType(nn.Module.train, module)
    for param in model.parameters():
        param.requires_grad_(True)
    return model


# --- gradients never zeroed ---------------------------------------------------------------------


def _missing_zero_grad(case) -> Finding | None:
    trace = case.trace
    carried = carried_gradients(trace)
    if carried is not None:
        return _carried_finding(carried)
    rare = _zeroings(trace) * ACCUMULATION_LIMIT <= trace.steps
    if trace.steps < MIN_STEPS or not (rare or _once_per_epoch(trace)):
        return None
    experiment = _accumulation_experiment(case)
    evidence = {
        "optimizer_steps": float(trace.steps),
        "zero_grad_calls": float(trace.zero_grad_calls),
        "steps_without_zero_grad": float(trace.steps_without_zero_grad),
        "gradient_norm_growth": _gradient_growth(trace),
    }
    _add_experiment_numbers(evidence, experiment)
    return Finding(
        MISSING_ZERO_GRAD, _zero_grad_confidence(trace, experiment),
        verdict=_zero_grad_verdict(trace, experiment), evidence=evidence, experiment=experiment,
    )


#: Updates that stopped at the first non-finite loss while backward passes went on without a
#: zero_grad (checks/_carried_gradients.py) are read off the run's records, as a loop that
#: never updates is (NEVER_UPDATED_CONFIDENCE); that the NaN gradient kept the updates
#: skipped is inferred from the stop coming with it, so a little below that.
CARRIED_CONFIDENCE = 0.9
CARRIED_FIX = ("Call optimizer.zero_grad() after every accumulation window, also when the "
               "update is skipped (a non-finite gradient norm), so that one bad batch's "
               "gradient is not carried into every later one.")


def _carried_finding(carried: CarriedGradients) -> Finding:
    verdict = (f"Your training stopped updating the model after optimizer step "
               f"{carried.last_step:,}, where its first non-finite loss came, while "
               f"{carried.passes_after:,} more backward passes ran with no zero_grad() in "
               "between: the NaN gradient of that batch was never cleared, every later "
               "backward pass added to it, and every later update was skipped.")
    evidence = {"last_update_step": float(carried.last_step),
                "backward_passes_after": float(carried.passes_after),
                "nonfinite_losses_after": float(carried.nonfinite_after)}
    return Finding(MISSING_ZERO_GRAD, CARRIED_CONFIDENCE, verdict=verdict, evidence=evidence,
                   fix=CARRIED_FIX, root=True)


def _once_per_epoch(trace) -> bool:
    """At most one zeroing per epoch, in epochs of MIN_STEPS_PER_EPOCH steps or more. Epochs
    are the training data's iterations, else the validation passes (batches sliced by hand
    mark no epoch; the pass at the end of each does), as in Trace.epoch_of."""
    epochs = len(trace.epoch_starts) or len(trace.validation_passes())
    return (epochs >= 2 and _zeroings(trace) <= epochs
            and trace.steps >= MIN_STEPS_PER_EPOCH * epochs)


def _zeroings(trace) -> int:
    """zero_grad() calls, and steps whose gradients the loop reset by hand."""
    return trace.zero_grad_calls + trace.manual_grad_resets


def _gradient_growth(trace) -> float:
    """Last sampled total gradient norm over the first: gradients that pile up keep growing."""
    by_step: dict[int, float] = {}
    for record in trace.gradients:
        by_step[record.step] = by_step.get(record.step, 0.0) + record.grad_norm**2
    if len(by_step) < 2:
        return 1.0
    steps = sorted(by_step)
    return (by_step[steps[-1]] / max(by_step[steps[0]], 1e-30)) ** 0.5


def _zero_grad_confidence(trace, experiment: Experiment | None) -> float:
    """No zero_grad in the whole run is a strong fact (gradients set to None or zeroed in place
    by hand are seen and counted as zeroing); the replay that zeroes against one that
    accumulates shows what it costs."""
    base = 0.6 if trace.zero_grad_calls == 0 else 0.5
    if experiment is None:
        return base
    gain = improvement(experiment)
    if helped(experiment):
        return replayed_fix_confidence(gain)
    return 0.35


def _ends_at(loss: float) -> str:
    return f"ends at {plain_number(loss)}" if math.isfinite(loss) else "blows up (inf or NaN)"


def _zero_grad_verdict(trace, experiment) -> str:
    calls = "never called" if trace.zero_grad_calls == 0 else (
        f"called only {trace.zero_grad_calls} times")
    parts = [f"zero_grad() was {calls} in {trace.steps:,} optimizer steps, so each step "
             "adds its gradient to all the previous ones. (Accumulating over a few steps on "
             f"purpose is fine; {_reset_words(trace)}.)"]
    if experiment is not None:
        # written as the experiment line writes them (missing_zero_grad_gru_sensor: '1.48e+03'
        # here, '1,480' in the line below)
        parts.append(f"A replay that zeroes the gradients each step ends at a validation loss "
                     f"of {plain_number(experiment.after)}; one that accumulates them like your "
                     f"loop {_ends_at(experiment.before)}.")
    return " ".join(parts)


def _reset_words(trace) -> str:
    """How rarely the gradients are reset, in place of 'far rarer than that', which left the
    reader to work out what was rarer (missing_zero_grad_gru_sensor)."""
    if trace.zero_grad_calls == 0:
        return "here they are never reset"
    return f"here they are reset once every {trace.steps // trace.zero_grad_calls:,} steps"


def _accumulation_experiment(case) -> Experiment | None:
    """The baseline replay zeroes gradients every step (the fix); against it, the same replay
    with gradients left to pile up, as in the user's loop. Both as long as the run when it is
    shorter than OWN_LENGTH_BELOW steps."""
    steps = case.trace.steps if case.trace.steps < OWN_LENGTH_BELOW else REPLAY_STEPS
    try:
        replayer = case.require_replay()
        baseline = case.baseline if steps == REPLAY_STEPS else replayer.replay(Plan(steps=steps))
    except Skip:
        return None
    accumulating = _accumulating_replay(replayer, steps)
    return fix_experiment("call zero_grad() every step", accumulating, baseline)


def _accumulating_replay(replayer, steps: int = REPLAY_STEPS) -> ReplayResult:
    with isolated(0):
        model = copy.deepcopy(replayer.copies.initial_model)
        optimizer = replayer.optimizer_for(model, Plan())
        optimizer.zero_grad = lambda *args, **kwargs: None  # the user's loop never zeroes
        return replayer._train(model, optimizer, Plan(steps=replayer.sized(steps)))


# --- train/eval mode ---------------------------------------------------------------------------


def _mode_counts(trace) -> dict[str, float]:
    train = [r.model_training for r in trace.train_losses() if r.model_training is not None]
    evals = [r.model_training for r in trace.losses
             if r.phase == "eval" and r.model_training is not None]
    return {
        "training_losses": float(len(train)),
        "training_losses_in_eval_mode": float(sum(not t for t in train)),
        "validation_losses": float(len(evals)),
        "validation_losses_in_train_mode": float(sum(evals)),
        "mode_sensitive_layers": float(trace.setup.mode_sensitive_layers),
        "validation_losses_with_dropout": float(trace.validation_losses_dropped),
        "validation_losses_with_dropout_in_eval_mode": float(
            trace.validation_losses_dropped_in_eval_mode),
    }


def _wrong_mode(case) -> list[Finding]:
    counts = _mode_counts(case.trace)
    findings = []
    layers = counts["mode_sensitive_layers"]
    if (layers or _dropped_in_train_mode(counts)) and _share(
            counts, "validation_losses_in_train_mode", "validation_losses") > WRONG_MODE_SHARE:
        findings.append(_validating_in_train_mode(case, counts))
    if layers and _share(counts, "training_losses_in_eval_mode",
                         "training_losses") > WRONG_MODE_SHARE:
        findings.append(_training_in_eval_mode(case, counts))
    left_on = None if findings else _dropout_left_on(case, counts)
    return findings + ([left_on] if left_on is not None else [])


def _share(counts: dict, part: str, whole: str) -> float:
    return counts[part] / counts[whole] if counts[whole] else 0.0


def _dropped_in_train_mode(counts: dict) -> bool:
    """Dropout ran in validation passes of the model in train mode (capture/dropout_events.py):
    a dropout its forward calls itself (``F.dropout(x, p, training=self.training)``, as a GCN
    does), which no Dropout layer counted among the mode-sensitive ones shows."""
    return (counts["validation_losses_with_dropout"]
            > counts["validation_losses_with_dropout_in_eval_mode"])


def _validating_in_train_mode(case, counts) -> Finding:
    experiment, still_dropping = _evaluate_both_modes(case)
    evidence = dict(counts)
    _add_experiment_numbers(evidence, experiment)
    verdict = (f"{counts['validation_losses_in_train_mode']:.0f} of "
               f"{counts['validation_losses']:.0f} validation batches were scored with the "
               f"model in train mode, so {_what_behaved_as_in_training(case, counts)} "
               "behaved as in training: a noisy, pessimistic validation loss.")
    if experiment is not None:
        verdict += (f" Your trained model scores {experiment.before:.3g} in train mode and "
                    f"{experiment.after:.3g} after model.eval()")
        verdict += (LEFT_ON_TOO if still_dropping else "") + "."
    confidence = 0.6 if experiment is None else 0.6 + min(max(improvement(experiment), 0), 0.35)
    fix = "Call model.eval() before validating (and model.train() before training again)."
    if still_dropping:
        fix += " " + LEFT_ON_FIX
    return Finding(TRAIN_EVAL_MODE, confidence, verdict=verdict, evidence=evidence,
                   experiment=experiment, fix=fix)


#: Said of the eval-mode score when model.eval() alone leaves a dropout call dropping.
LEFT_ON_TOO = (" with the dropout calls that model.eval() does not reach turned off too (a "
               "dropout function called without training=self.training keeps dropping)")
LEFT_ON_FIX = ("Pass training=self.training to the dropout call in your forward "
               "(F.dropout(x, p, training=self.training)), or use an nn.Dropout layer, which "
               "model.eval() turns off.")


def _what_behaved_as_in_training(case, counts) -> str:
    layers = counts["mode_sensitive_layers"]
    if layers:
        return f"its {layers:.0f} Dropout/BatchNorm layers"
    rates = ", ".join(f"{rate:g}" for rate in sorted(case.trace.validation_dropout_rates))
    return f"the dropout its forward calls (F.dropout, at rate {rates})"


def _evaluate_both_modes(case) -> tuple[Experiment | None, bool]:
    """The trained model's validation loss in train mode (as measured) and in eval mode, with
    any dropout call that still drops in eval mode made to drop nothing; and whether one did.
    When the trained model is gone, a replay of the user's setup trains a copy in its place."""
    try:
        replayer = case.require_replay()
    except Skip:
        return None, False
    model = copy.deepcopy(case.copies.final_model or case.copies.initial_model)
    if case.copies.final_model is None:
        replayer.replay(Plan(model=model, steps=REPLAY_STEPS))  # trains ``model`` in place
    left_on = DropoutCalls(off=True)
    with isolated(0), torch.no_grad():
        model.train()
        batches = replayer.validation_batches
        total = sum(float(replayer.scored_loss(model, b)) * b.rows for b in batches)
        in_train_mode = total / max(sum(b.rows for b in batches), 1)
        with left_on:
            in_eval_mode = replayer.evaluate(model.eval(), replayer.validation_batches)
    return Experiment("validate in eval mode", in_train_mode, in_eval_mode, 0), bool(
        left_on.rates)


def _dropout_left_on(case, counts) -> Finding | None:
    """Validated in eval mode, the trained model still drops features: a dropout call its
    forward makes with training=True (checks/_eval_dropout.py)."""
    in_eval = counts["validation_losses"] - counts["validation_losses_in_train_mode"]
    if in_eval <= 0:
        return None
    try:
        replayer = case.require_replay()
    except Skip:
        return None
    found = eval_dropout(replayer, case.copies.final_model or case.copies.initial_model)
    if found is None:
        return None
    experiment = Experiment("turn the dropout off in eval mode", found.as_is, found.without, 0)
    evidence = dict(counts) | {"dropout_calls_in_eval_mode_rate": max(found.rates),
                               "validation_loss_scored_again": found.again}
    _add_experiment_numbers(evidence, experiment)
    rates = ", ".join(f"{rate:g}" for rate in found.rates)
    verdict = (f"Your model was validated in eval mode, but its forward pass still drops "
               f"features then (dropout at rate {rates}): a dropout function called with "
               "training=True, or without training=, is not switched off by model.eval(). The "
               f"same validation rows scored twice give {plain_number(found.as_is)} and "
               f"{plain_number(found.again)}; with that dropout off your trained model scores "
               f"{plain_number(found.without)}.")
    confidence = _left_on_confidence(experiment)
    if confidence == LEFT_ON_ADVICE_CONFIDENCE:
        verdict += _left_on_by_design(case)
    return Finding(TRAIN_EVAL_MODE, confidence, verdict=verdict, evidence=evidence,
                   experiment=experiment, fix=LEFT_ON_FIX)


#: Dropout left on at evaluation is named at this confidence, below the report threshold, when
#: turning it off takes less than MEANINGFUL_IMPROVEMENT off the trained model's validation
#: loss: some models keep it on at inference by design (Tacotron 2's decoder prenet, bench/
#: fresh24 s06; Monte Carlo dropout), and then the noise it adds is not what holds the run
#: back (dead_relu's ADVICE_CONFIDENCE). Not the curve's symptom: dropout left on makes the
#: curve itself pessimistic, and a curve that improves can still be one (fresh24 s07: curve
#: "improving", no symptom, 17.1 as it is and 13.8 with the dropout off, 19%; fresh23 s12, 30%).
LEFT_ON_ADVICE_CONFIDENCE = 0.3


def _left_on_confidence(experiment: Experiment) -> float:
    """0.6 plus the relative gain of turning the dropout off (at most 0.95), when that gain is
    MEANINGFUL_IMPROVEMENT or more. The gain is relative only: the same trained model scored
    twice, not a fix trained anew, so the share of the constant guess `helped` also asks for
    would hold a model far below its constant guess (fresh23 s12: 0.068 -> 0.048) to a gain it
    cannot have."""
    if improvement(experiment) < MEANINGFUL_IMPROVEMENT:
        return LEFT_ON_ADVICE_CONFIDENCE
    return 0.6 + min(improvement(experiment), 0.35)


def _left_on_by_design(case) -> str:
    if getattr(case, "curves_show_symptom", None) is False:
        return (" Turning it off hardly changes the validation loss and your curve looks "
                "healthy, so this may be on purpose (some models keep dropout at inference).")
    return (" Turning it off hardly changes the validation loss, so it is not what holds your "
            "run back (some models keep dropout at inference on purpose).")


def _training_in_eval_mode(case, counts) -> Finding:
    experiment = _train_mode_experiment(case)
    evidence = dict(counts)
    _add_experiment_numbers(evidence, experiment)
    verdict = (f"{counts['training_losses_in_eval_mode']:.0f} of "
               f"{counts['training_losses']:.0f} training losses were computed with the model "
               f"in eval mode: its {counts['mode_sensitive_layers']:.0f} Dropout/BatchNorm "
               "layers do not train as intended (no dropout, frozen BatchNorm statistics).")
    if experiment is not None:
        verdict += (f" A replay trained in train mode reaches a validation loss of "
                    f"{plain_number(experiment.after)}; one kept in eval mode like your loop, "
                    f"{plain_number(experiment.before)}.")
    return Finding(TRAIN_EVAL_MODE, _eval_training_confidence(case, experiment),
                   verdict=verdict, evidence=evidence, experiment=experiment,
                   fix="Call model.train() before each training epoch (after each validation).")


def _eval_training_confidence(case, experiment: Experiment | None) -> float:
    """The mode counts alone are 0.6, a fact read off the run whose cost is not measured; a
    replay in train mode that clears the bar a fix must clear raises it as other replayed
    fixes are raised (0.7 plus a quarter of the relative gain up to 50%)."""
    if experiment is None or not helped(experiment, case):
        return 0.6
    return replayed_fix_confidence(improvement(experiment))


def _train_mode_experiment(case) -> Experiment | None:
    """The baseline replay (trained in train mode) against the same replay with the model
    kept in eval mode, as the run trained it."""
    try:
        replayer = case.require_replay()
        baseline = case.baseline
    except Skip:
        return None
    as_run = replayer.replay(Plan(model=kept_in_eval_mode(
        copy.deepcopy(replayer.copies.initial_model)), steps=REPLAY_STEPS))
    return fix_experiment("train in train mode", as_run, baseline)


def kept_in_eval_mode(model: nn.Module) -> nn.Module:
    """``model`` in eval mode, kept there through ``train()``: the replay's own train() calls
    stand for the model.train() the user's loop left out."""
    model.train = types.MethodType(lambda self, mode=True: nn.Module.train(self, False), model)
    return model.eval()


# --- shared ------------------------------------------------------------------------------------


def _add_experiment_numbers(evidence: dict, experiment: Experiment | None) -> None:
    if experiment is not None:
        evidence["validation_loss_before"] = experiment.before
        evidence["validation_loss_after"] = experiment.after


def replayed_fix_confidence(gain: float) -> float:
    """A loop fault whose replayed fix helped: 0.7, plus a quarter of the fix's relative gain
    up to a gain of 50%."""
    return 0.7 + 0.25 * min(gain / 0.5, 1.0)
