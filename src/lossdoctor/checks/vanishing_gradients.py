"""Gradients that vanish on their way back to the first layers.

Each weight's gradient is taken relative to the weight's own size (the step SGD takes, per unit
of weight, at lr 1). In a deep stack of sigmoid or tanh layers the backward pass multiplies by
the activation's slope (at most 1/4 for a sigmoid) and the layer's weights at every layer, so the
first layer's relative gradient falls orders of magnitude below the last one's: the first
layers do not learn, and the last ones fit features that never improve. The cause is reported
when that gap is at least :data:`GAP_DECADES` orders of magnitude on most sampled steps while the
training loss is no better than a constant guess; for a run stuck at that guess a gap of
:data:`STUCK_GAP_DECADES` is enough when the ReLU replay below helps (a few sigmoid layers of a
LeNet). A first layer whose gradient is exactly zero behind a ReLU layer none of whose units
fires is cut off, not vanishing: those steps are left out (dead_relu's). Weights too small for
the depth hide the gap from the weights' gradients (they shrink the signal forward as much as
the error backward); the biases' gradients, the error alone, then show it
(:func:`bias_profile`). When the model's sigmoid/tanh modules can be swapped, or its hidden
sigmoid/tanh function calls (torch.tanh in a forward, or in a model written as plain tensors)
replayed as ReLU, a replay with ReLU and kaiming initialization shows whether the fix works.

A run that learned a little (its training loss more than barely below the guess) still counts
when its curves show the symptom and that ReLU replay helps: the gap itself, on most steps, is
the failure, and the replay shows it is what held the run back. So does a run whose curves
look healthy, when that replay ends clearly below the run's own best validation loss
(``_fix.beyond_the_run``): a sigmoid stack whose gradients reached its first layer only after
half its steps levelled off 16% below a constant guess, read as converged, where the ReLU
replay got 38% below it (issue 11, test14's deep_sigmoid_stack called healthy). When the
model's own
initialization opens a wider gap than PyTorch's default does (measured before any update, on
copies), and the replay from the default init helps, the init is the gap's source: the finding
says so (``INIT_IS_SOURCE``) and leads bad_init's (the rule in ``diagnosis.rank``). For a
sigmoid/tanh model the init compared with is first the one that suits the activation (Xavier
with its gain, :mod:`._suited_init`), then PyTorch's default, whose own scale shrinks a tanh
stack's error about 0.58 times a layer: a stack whose run keeps its gap under GAP_DECADES is
still found when its start opens a gap SOURCE_MARGIN wider than that init's and its curves show
the symptom (:func:`_shrinking_start`).
"""

from __future__ import annotations

import copy
import math
import statistics
from collections.abc import Callable
from typing import NamedTuple

import torch.nn.functional as F
from torch import nn

from lossdoctor.capture.tensor_program import TensorModel
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._fix import beyond_the_run, fix_experiment, helped
from lossdoctor.checks._function_swap import WithFunctionSwap
from lossdoctor.checks._gradient_profile import (
    GAP_DECADES,
    SQUASHING,
    Profile,
    bias_profile,
    by_biases_when_wider,
    decades,
    embedding_tables,
    gradient_profile,
    squashing_functions,
)
from lossdoctor.checks._progress import TrainingProgress, training_progress
from lossdoctor.checks._reinit import default_init, default_init_replay, initialization_name
from lossdoctor.checks._suited_init import (
    suited_fix,
    suited_init,
    suited_init_name,
    suited_replay,
    suited_squashing,
)
from lossdoctor.experiments import Plan
from lossdoctor.findings import INIT_IS_SOURCE, Cause, Experiment, Finding, Skip
from lossdoctor.sandbox import isolated

VANISHING_GRADIENTS = Cause(
    id="vanishing_gradients",
    title="Gradients vanish before they reach the first layers",
    fix=(
        "Use ReLU-family activations, residual connections or normalization layers, and an "
        "initialization that suits the activation (kaiming for ReLU)."
    ),
    question="Do the first layers get any gradient?",
    test=("per-layer gradient size relative to the weights, and before any update against "
          "Xavier init at the sigmoid/tanh gain; replay with ReLU and kaiming init, or from that "
          "init"),
    explains={"lr_too_low"},
    # Only with the ReLU replay's fix at the model's own size: a gradient gap alone also opens
    # at a layer of one or two units, where the narrow model is the root (one_unit_bottleneck).
    explains_if_fixed={"underfit_capacity"},
    figures=("gradient_norms",),
)

CAUSES = (VANISHING_GRADIENTS,)


#: "Persistently": on at least two thirds of the sampled steps, not just at initialization. A
#: net that recovers from a vanishing start does so in its first few percent of steps; a deep
#: tanh stack of the development set, tiny weights and zero biases, opened its gap only after
#: its first steps (every layer's gradient is tiny at first) and kept it on 70% of them.
PERSISTENT = 2 / 3
#: ... or on at least half of them, when the ReLU replay helps and ends clearly below the
#: run's own best (``_fix.beyond_the_run``): the fix is measured, so the gap need not be seen
#: as long. The sampled steps are dense at first, and a sigmoid stack whose gradients reach its
#: first layer after a third of its steps learns late and levels off early: dev variants of
#: deep_sigmoid_stack 340002 and 340025 at 5-7 sigmoid layers (all four called healthy, 16-31%
#: below the guess, where their twins got 59% and 65% below it) held the gap on 0.55, 0.64,
#: 0.64 and 0.74 of their samples (the first 12-16 samples: steps 0 to 100-150 of 416-500),
#: their ReLU replays 27-44% below the runs' own losses. Half the samples is the first tens
#: of steps: the measured fix, not the gap's length, is what this rests on.
PERSISTENT_WHEN_FIXED = 1 / 2
#: The gap that is enough, for a run stuck at the constant guess, to replay the ReLU fix and
#: report it only when that fix helps. A sigmoid's slope is at most 1/4, so each sigmoid layer
#: takes at least 0.6 decades off the error: four of them (LeNet with sigmoids) 2.4, under
#: GAP_DECADES, which was measured on deeper stacks. Measured (dev scripts, session 35): sigmoid
#: nets of 4-6 weight layers stuck at the guess under SGD, whose ReLU replay learned, had median
#: gaps of 2.9 (LeNet), 3.1, 3.8 and 4.8; a sigmoid LeNet stuck on random labels 2.7 (its
#: replay did not help, so nothing is reported). Runs that learn keep GAP_DECADES.
STUCK_GAP_DECADES = 2.5
#: Training batches the gap before any update is measured on, for the user's init and the
#: default one (one backward pass each).
START_BATCHES = 4
#: Default-init draws the user's start gap must be wider than, each: the draws' own spread is
#: wide (dev deep_tanh_tiny_init 335011, 12 tanh layers: 2.5-3.5 decades over 4 seeds, the
#: user's N(0, 0.05) start 3.8, its run 4.5 on 85% of steps), so one draw could sit above or
#: below a start of the same init by chance (as dead_relu.REFERENCE_DRAWS for dead units).
START_DRAWS = 3
#: Decades the user's start gap must exceed every suited-init draw's by, when the run's gap is
#: under GAP_DECADES (_shrinking_start): half of GAP_DECADES, the error reaching the first layer
#: a hundred times weaker than from the init that keeps its scale. Measured (scratch, the biases'
#: gap before any update, 256 rows, 3 draws): tanh stacks of 32-128 units at PyTorch's default
#: init open 0.5-1.1 decades at 4 layers, 0.8-2.3 at 8, 2.7-3.3 at 12; at Xavier with tanh's
#: gain -2.1 to -0.2 at every depth; N(0, 0.05) 1.1-2.2 at 4 layers, 3.0-6.8 at 12. A 4-layer
#: default stack stays under the margin (at most 1.6 above its Xavier draws), a 12-layer one is
#: over it (3.4 and more), whatever its init.
SOURCE_MARGIN = 2.0
#: A shrinking start rests on a replayed fix from the suited init, as bad_init's 0.9 does on
#: the default init's.
SHRINKING_START_CONFIDENCE = 0.9
#: ... or, without one, on the gradients alone: the check's own confidence for a gap read
#: without a fix (_confidence at GAP_DECADES).
SHRINKING_READING_CONFIDENCE = 0.7
#: Sigmoid/tanh function calls replayed as ReLU.
RELU_FUNCTIONS = {kind: lambda pre, in_place: F.relu(pre, inplace=in_place)
                  for kind in ("sigmoid", "tanh")}
#: Layers re-initialized for ReLU in the swap: dense and convolutional ones.
WEIGHT_LAYERS = (nn.Linear, nn.modules.conv._ConvNd)


def check(case) -> list[Finding]:
    """``vanishing_gradients`` when the first layers' gradients are orders of magnitude below
    the last layer's on most steps and the training loss has stalled."""
    profile = gradient_profile(case.trace, embedding_tables(case.copies.initial_model))
    if statistics.median(profile.gaps()) < GAP_DECADES:
        profile = by_biases_when_wider(case, profile)
    profile = profile.without_cut_paths(case.trace)
    stall = training_progress(case)
    if stall is None or not profile.by_step:
        return []  # no progress to read, or no step whose first layer a path reaches
    gap = statistics.median(profile.gaps())
    floor = gap_floor(gap, stall)
    persistent = profile.share_at_least(floor)
    if gap < floor or persistent < PERSISTENT_WHEN_FIXED:
        return _shrinking_start(case, profile, stall)
    experiment = relu_experiment(case)
    fixed = experiment is not None and helped(experiment, case)
    if not (stall.stuck or fixed):
        return []  # it learned, and the gap was not shown to be what held it back
    if floor < GAP_DECADES and not fixed:
        return _shrinking_start(case, profile, stall)  # a narrower gap rests on the fix alone
    beyond = fixed and beyond_the_run(case, experiment.after)
    if persistent < PERSISTENT and not beyond:
        return _shrinking_start(case, profile, stall)  # measured against the suited init
    if not (stall.stuck or getattr(case, "curves_show_symptom", None) or beyond):
        return []  # its curves look healthy, and the replay gets no further than the run
    source = init_source(case, profile)
    evidence = _evidence(profile, gap, persistent, stall, experiment)
    verdict = _verdict(profile, gap, persistent, stall, experiment)
    if source is not None:
        evidence.update(_source_evidence(source))
        verdict += " " + _source_verdict(source)
    return [Finding(
        VANISHING_GRADIENTS,
        _confidence(gap, fixed or source is not None),
        verdict=verdict,
        evidence=evidence,
        experiment=experiment if fixed else (source.experiment if source is not None else None),
        details={"layers": dict(zip(profile.names, profile.layer_medians(), strict=True))},
        fix=source.reference.fix if source is not None else "",
    )]


def gap_floor(gap: float, stall: TrainingProgress) -> float:
    """The gap that runs the ReLU replay: GAP_DECADES, or STUCK_GAP_DECADES for a run stuck at
    the constant guess whose median ``gap`` is under GAP_DECADES, where the replay's measured
    fix alone decides (a wider gap is read as before)."""
    return STUCK_GAP_DECADES if stall.stuck and gap < GAP_DECADES else GAP_DECADES


def _shrinking_start(case, profile: Profile, stall: TrainingProgress) -> list[Finding]:
    """A sigmoid/tanh stack whose error falls less than GAP_DECADES over the run, but whose
    start opens a gap more than SOURCE_MARGIN wider than the init that suits its activation
    (:mod:`._suited_init`) does, while the curves show the symptom: the fall is the failure,
    layer by layer, even when the init is PyTorch's default scale (dev deep_tanh_tiny_init,
    96-wide stacks: N(0, 0.05) is about the default's std there, yet 10-12 tanh layers shrink
    the error 2-3 decades). With the replay from that init helping, the init is named its source
    (INIT_IS_SOURCE); without, it is a reading (:func:`_shrinking_reading`)."""
    if suited_squashing(case.trace) is None:
        return []
    if not (stall.stuck or getattr(case, "curves_show_symptom", None)):
        return []
    profile = widest_profile(case, profile)
    suited = references(case, case.copies.initial_model)[0]
    gaps = start_gaps(case, profile, suited)
    if gaps is None or not gaps[0] > gaps[1] + SOURCE_MARGIN:
        return []
    source = init_source(case, profile, SOURCE_MARGIN)
    if source is None:
        return _shrinking_reading(case, profile, stall, *gaps, suited.name)
    gap, persistent = _run_gap(profile, source.fresh)
    evidence = _evidence(profile, gap, persistent, stall, None)
    evidence.update(_source_evidence(source))
    verdict = _verdict(profile, gap, persistent, stall, None) + " " + _source_verdict(source)
    return [Finding(VANISHING_GRADIENTS, SHRINKING_START_CONFIDENCE, verdict=verdict,
                    evidence=evidence, experiment=source.experiment,
                    fix=source.reference.fix or suited.fix, details=_details(profile))]


def _shrinking_reading(case, profile: Profile, stall: TrainingProgress, own: float,
                       fresh: float, name: str) -> list[Finding]:
    """The shrinking start without a replayed fix: reported as a reading when the run kept its
    gap at least SOURCE_MARGIN above the suited init's start on PERSISTENT of its steps. Dev
    428003 (12 tanh layers of 96, N(0, 0.05), Adam at 3e-3; its biases' gap 3.9 decades at the
    start against -1.1 at Xavier with tanh's gain, 3.2 over the run) stayed at the constant
    guess (0.693) in every 300-step replay: 0.692 from PyTorch's default, 0.80 from Xavier at
    tanh's gain, 0.648 with ReLU and kaiming, where its shallow ReLU twin learned."""
    gap, persistent = _run_gap(profile, fresh + SOURCE_MARGIN)
    if persistent < PERSISTENT:
        return []
    evidence = _evidence(profile, gap, persistent, stall, None)
    evidence.update({"decades_at_start": own, "suited_init_decades_at_start": fresh})
    verdict = (_verdict(profile, gap, persistent, stall, None) + " "
               + _reading_verdict(own, fresh, name))
    fix = references(case, case.copies.initial_model)[0].fix
    return [Finding(VANISHING_GRADIENTS, SHRINKING_READING_CONFIDENCE, verdict=verdict,
                    evidence=evidence, fix=fix, details=_details(profile))]


def _run_gap(profile: Profile, floor: float) -> tuple[float, float]:
    """The run's median gap and the share of its sampled steps at ``floor`` or more."""
    gaps = profile.gaps()
    return statistics.median(gaps), sum(g >= floor for g in gaps) / len(gaps)


def _details(profile: Profile) -> dict:
    return {"layers": dict(zip(profile.names, profile.layer_medians(), strict=True))}


def _reading_verdict(own: float, fresh: float, name: str) -> str:
    return (f"Before any update the gap is already {own:.1f} orders of magnitude, against at "
            f"most {max(fresh, 0):.1f} with {name}: each layer shrinks the "
            f"error on its way back. A replay of your training from that init did not learn "
            f"within its steps, so no fix is confirmed.")


def widest_profile(case, weights: Profile) -> Profile:
    """``weights`` or, for a sigmoid/tanh model without normalization layers, the biases'
    profile when its median gap is the wider (_gradient_profile.bias_profile)."""
    biases = bias_profile(case.trace, case.copies.initial_model)
    if biases is None or statistics.median(biases.gaps()) <= statistics.median(weights.gaps()):
        return weights
    return biases


class Reference(NamedTuple):
    """An init the user's start is compared with and replayed from."""

    name: str
    draws: list  # START_DRAWS copies of the model at it (None: it cannot be made)
    replay: Callable  # (case, draw) -> the replay from the draw
    fix: str  # the finding's fix when it is the one that helped ("": the cause's own)


class Source(NamedTuple):
    own: float  # the gap before any update with the user's init
    fresh: float  # ... the widest with the reference's draws
    experiment: Experiment  # the replay from the reference, which helped
    reference: Reference


def init_source(case, profile: Profile, margin: float = 0.0) -> Source | None:
    """The first of :func:`references` whose draws all open a start gap narrower than the
    user's init by more than ``margin`` decades and whose replay helps; else None."""
    ready = _replay_ready(case)
    if ready is None:
        return None
    for reference in references(case, case.copies.initial_model):
        gaps = start_gaps(case, profile, reference)
        if gaps is None or not gaps[0] > gaps[1] + margin:  # NaN: not measured, no source
            continue
        experiment = fix_experiment(f"the model re-initialized with {reference.name}",
                                    ready[1], reference.replay(case, reference.draws[0]))
        if helped(experiment, case):
            return Source(*gaps, experiment, reference)
    return None


def start_gaps(case, profile: Profile, reference: Reference) -> tuple[float, float] | None:
    """The gap before any update with the user's init, and the widest of ``reference``'s
    draws'; None when they cannot be measured."""
    model = case.copies.initial_model
    if model is None or any(d is None for d in reference.draws):
        return None
    try:
        replayer = case.require_replay()
    except Skip:
        return None
    batches = replayer.train_batches[:START_BATCHES]
    own = start_gap(replayer, model, profile.names, batches, profile.of_biases)
    return own, max(start_gap(replayer, d, profile.names, batches, profile.of_biases)
                    for d in reference.draws)


def references(case, model: nn.Module | None) -> list[Reference]:
    """The inits the user's is compared with, in turn: for a model with hidden sigmoid/tanh
    layers the one that suits them (:mod:`._suited_init`: PyTorch's default shrinks a tanh
    stack's signal layer by layer), then PyTorch's default (``_reinit.default_init``), whose
    replay is shared with bad_init and exploding_gradients. Both are tried: Xavier at tanh's
    gain (5/3) puts a 12-layer stack past the edge of chaos, where the error grows on its way
    back (its start gap -2 to -1 decades) and the replay can end worse than the default's (dev
    335011's test case, 12 tanh layers of 64: the default init's replay helps, Xavier's not)."""
    if model is None:
        return []
    default = Reference(initialization_name(model),
                        [default_init(model, seed) for seed in range(START_DRAWS)],
                        default_init_replay, "")
    kind = suited_squashing(case.trace)
    if kind is None:
        return [default]
    suited = Reference(suited_init_name(kind),
                       [suited_init(model, kind, seed) for seed in range(START_DRAWS)],
                       suited_replay, suited_fix(kind) + " Or use ReLU layers with kaiming "
                       "init, residual connections or normalization layers.")
    return [suited, default]


def start_gap(replayer, model: nn.Module, names: list[str], batches,
              of_biases: bool = False) -> float:
    """Decades from the last to the first of ``names``' relative gradients (for biases, their
    gradients' norms: see bias_profile) on a copy of ``model`` before any update, the gradient
    summed over ``batches``; NaN when the copy lacks either weight or gives no gradient."""
    copied = copy.deepcopy(model).train()
    weights = _by_trace_name(copied)
    first, last = weights.get(names[0]), weights.get(names[-1])
    if first is None or last is None or not batches:
        return math.nan
    with isolated(0):
        copied.zero_grad(set_to_none=True)
        for batch in batches:
            replayer.loss(copied, batch).backward()
    if first.grad is None or last.grad is None:
        return math.nan
    sizes = [1.0 if of_biases else w.detach().norm().clamp_min(1e-30) for w in (first, last)]
    relative = [float(w.grad.norm() / size) for w, size in zip((first, last), sizes, strict=True)]
    return decades(relative[1], relative[0])


def _by_trace_name(model: nn.Module) -> dict[str, nn.Parameter]:
    """``model``'s parameters by name; a model written as plain tensors also by the names the
    trace gives them ("parameter i": the i-th tensor the optimizer holds, the order the copy
    keeps them in), which its own names ("tensors.i") are not (test23's 820102 measured no
    start gap for want of them)."""
    weights = dict(model.named_parameters())
    if isinstance(model, TensorModel):
        weights.update({f"parameter {i}": t for i, t in enumerate(model.tensors)})
    return weights


def _source_evidence(source: Source) -> dict[str, float]:
    """The start gaps and the replay (keys named for the default init, which was the only
    reference before the suited one: the reference that helped)."""
    return {"decades_at_start": source.own, "default_init_decades_at_start": source.fresh,
            "val_loss_from_default_init": source.experiment.after, INIT_IS_SOURCE: 1.0}


def _source_verdict(source: Source) -> str:
    own, fresh, experiment, name = (source.own, source.fresh, source.experiment,
                                    source.reference.name)
    return (f"The source is your initialization: before any update the gap is already "
            f"{own:.1f} orders of magnitude, against at most {max(fresh, 0):.1f} with {name}, and "
            f"trained from {name} your model reaches a validation loss of "
            f"{experiment.after:.3g}, against {experiment.before:.3g} from its own start.")


def _confidence(gap: float, fixed: bool) -> float:
    """0.7 to 0.8 from the gradients alone (more for a wider gap); 0.95 to 1.0 when the same
    layers with ReLU learn: a verified fix that keeps the model's size also rules out a model
    too small for the task."""
    strength = min(max(gap - GAP_DECADES, 0.0) / GAP_DECADES, 1.0)
    return 0.95 + 0.05 * strength if fixed else 0.7 + 0.1 * strength


def _replay_ready(case):
    """The replayer and the baseline replay of the user's setup, or None when either cannot
    be had (the experiments that need them are then not run)."""
    try:
        return case.require_replay(), case.baseline
    except Skip:
        return None


def relu_experiment(case) -> Experiment | None:
    """Replay with every nn.Sigmoid/nn.Tanh module, and every hidden sigmoid/tanh function
    call, swapped for ReLU, with kaiming init."""
    model = case.copies.initial_model
    functions = squashing_functions(case.trace)
    if model is None or not (functions or any(isinstance(m, SQUASHING) for m in model.modules())):
        return None
    ready = _replay_ready(case)
    if ready is None:
        return None
    replayer, baseline = ready
    swapped = with_relu(model)
    if functions:
        swapped = WithFunctionSwap(swapped, RELU_FUNCTIONS, keep=_one_unit)
    after = replayer.replay(Plan(model=swapped, steps=REPLAY_STEPS))
    return fix_experiment("sigmoid/tanh layers replaced by ReLU, with kaiming initialization",
                          baseline, after)


def _one_unit(pre) -> bool:
    """A sigmoid/tanh of one unit is a binary output's, which the replay leaves as written."""
    return pre.dim() < 2 or pre.shape[1] == 1


def with_relu(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with ReLU for its sigmoid/tanh modules, its dense and convolutional
    layers kaiming-initialized (the output layer keeps its init); a model written as plain
    tensors has its He initialization (TensorModel.reset_parameters)."""
    swapped = copy.deepcopy(model)
    if isinstance(swapped, TensorModel):
        swapped.reset_parameters()
        return swapped
    for module in list(swapped.modules()):
        for name, child in module.named_children():
            if isinstance(child, SQUASHING):
                setattr(module, name, nn.ReLU())
    weighted = [m for m in swapped.modules() if isinstance(m, WEIGHT_LAYERS)]
    for layer in weighted[:-1]:
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        nn.init.zeros_(layer.bias) if layer.bias is not None else None
    return swapped


def per_weight(value: float) -> str:
    """A gradient per unit of weight in two digits, as people write it: 0.41, not 4.1e-01."""
    return f"{value:.2g}"


def _verdict(
    profile: Profile, gap: float, persistent: float, stall: TrainingProgress, experiment
) -> str:
    medians = profile.layer_medians()
    if profile.of_biases:
        return _bias_verdict(profile, gap, persistent, stall, experiment)
    text = (f"The gradients of your first layer ({profile.names[0]!r}) are {gap:.0f} orders of "
            f"magnitude smaller, relative to its weights, than those of your last layer "
            f"({profile.names[-1]!r}): {per_weight(medians[0])} against "
            f"{per_weight(medians[-1])} per unit of "
            f"weight, on {persistent:.0%} of the sampled steps. The first layers barely learn.")
    return text + _stall_and_replay(stall, experiment)


def _bias_verdict(profile: Profile, gap: float, persistent: float, stall: TrainingProgress,
                  experiment) -> str:
    medians = profile.layer_medians()
    text = (f"The error signal that reaches your first layer (the gradient of its bias, "
            f"{profile.names[0]!r}) is {gap:.0f} orders of magnitude smaller than at your "
            f"last layer ({profile.names[-1]!r}): {medians[0]:.2g} against {medians[-1]:.2g}, "
            f"on {persistent:.0%} of the sampled steps. The weights' own gradients hide it: the "
            f"signal shrinks on its way forward through the layers as much as on its way back "
            f"(weights too small for the depth), so every weight gets a tiny gradient and the "
            f"first layers barely learn.")
    return text + _stall_and_replay(stall, experiment)


def _stall_and_replay(stall: TrainingProgress, experiment) -> str:
    text = " " + _describe_stall(stall)
    if experiment is not None:
        text += (f" With ReLU in place of the sigmoid/tanh layers (kaiming init), a "
                 f"{experiment.steps}-step replay of your training brings the validation loss "
                 f"from {experiment.before:.3g} to {experiment.after:.3g}")
        text += (": the model is not too small, its gradients do not reach its first layers."
                 if helped(experiment) else ".")
    return text


def _describe_stall(stall: TrainingProgress) -> str:
    if stall.constant_guess is None:
        return f"Your training loss went from {stall.start:.3g} to {stall.end:.3g} only."
    return (f"Your training loss ends at {stall.end:.3g}, {stall.beside_guess} the "
            f"{stall.constant_guess:.3g} of a constant guess.")


def _evidence(profile, gap, persistent, stall: TrainingProgress, experiment) -> dict[str, float]:
    medians = profile.layer_medians()
    kind = "bias_gradient" if profile.of_biases else "relative_gradient"
    evidence = {
        f"first_layer_{kind}": medians[0],
        f"last_layer_{kind}": medians[-1],
        "decades_first_below_last": gap,
        "share_of_steps_vanishing": persistent,
        "weight_layers": float(len(profile.names)),
        "train_loss_start": stall.start,
        "train_loss_end": stall.end,
        "gap_measured_on_biases": float(profile.of_biases),
    }
    if stall.constant_guess is not None:
        evidence["constant_guess_loss"] = stall.constant_guess
    if experiment is not None:
        evidence["val_loss_before"] = experiment.before
        evidence["val_loss_with_relu"] = experiment.after
    return {k: v for k, v in evidence.items() if math.isfinite(v)}
