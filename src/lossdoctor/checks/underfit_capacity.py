"""underfit_capacity: the model is too small for the task.

Two experiments on copies tell capacity apart from the other causes:

1. *One batch*: a copy of the initial model trains on one small batch (at most 32 rows) for 200
   steps with Adam at its default lr (1e-3). A model with room to spare and a working pipeline
   drives that loss towards its floor; the loss reached, relative to the start, is reported.
2. *A larger model of the same family*: for MLPs and linear models on flat inputs, a wider and
   deeper ReLU MLP; for CNNs on images or channel-first sequences, a two-block ReLU CNN with
   more channels (see :mod:`._larger_model`); for any other model built from layers with one
   width (embeddings, recurrent layers, a loss computed in ``forward``), the user's own model
   with wider hidden layers (see :mod:`._wider_copy`). With the same inputs, outputs and output
   function (a clamp at zero after the user's output layer included), it replays the user's
   training (same optimizer and settings; if those cannot train it, both models are compared
   under Adam at lr 1e-3 instead, and the finding says so).

Both models train for REPLAY_STEPS steps; a run short enough that learning_rate judges it in
its own steps is first compared in those steps, and a longer run is then compared at its own
length (at most LONGEST_OWN_LENGTH), both only at the user's settings (``comparison_budgets``):
a larger model and a higher rate are measured on the same budgets.

It fires when all three hold, each by the margin below:

- the larger model's validation loss is clearly below the user's model's;
- it is also clearly below the validation loss of the best constant prediction (one learned
  output for every row, whatever the inputs): the larger model learned something from the
  inputs that holds on held-out data. Random labels fail here: a larger model memorizes the
  training data, but its validation loss does not go down;
- the user's model does not fit its training data: trained 10 times longer, its training loss,
  even extrapolated as many steps again at its latest rate of descent, stays above the larger
  model's *validation* loss. A model that fits its training data but not held-out data overfits
  (more capacity does not help), and a model still descending needs more training (or a larger
  learning rate), not more capacity. Unless it descends only slowly: under the user's own
  settings, a larger model that reaches in one run what the user's model needs more than
  SLOW_FIT_FACTOR runs for (or never reaches in LONG_RUN_FACTOR) shows that the settings work
  and the model is what is slow, when the model cannot fit one batch either (a model that can
  is slow for how it is trained, not for its size); a higher learning rate that makes up for
  it is then this cause's consequence (:mod:`lossdoctor.measured_consequences`). Nor does an
  affine model (one linear map of its inputs) pass by fitting its training rows: trained
  longer, its validation loss must also get within the margin of the larger model's (else it
  fits rows without learning what holds on new ones).

When the user's hidden layers squash (sigmoid, tanh) and the larger model is a ReLU one, that
comparison changes the activation as well as the size: the user's own model with wider hidden
layers, trained alike, must then beat it by the same margin too (when such a copy can be made).

A model that is Linear layers stacked with nothing nonlinear between them is tested first and
more directly: the same layers with a ReLU after each hidden one, replayed as the user trained,
must beat the user's model and a constant guess by a tenth of the user's validation loss
(see :mod:`._linear_stack`).

Margin: twice the combined wobble of the two validation curves (standard deviation over the last
half of each), and at least a tenth of the user's validation loss: a smaller change is within
the runs' own noise, or too small to be worth a new model.
"""

from __future__ import annotations

import copy
import inspect
import math
import re
import statistics
from dataclasses import dataclass, replace

import torch

from lossdoctor import budget as budgets
from lossdoctor.capture.sample import Batch
from lossdoctor.capture.tensors import first_tensor, take_rows
from lossdoctor.case import REPLAY_STEPS, Case
from lossdoctor.checks._clamped_output import ends_clamped_at_zero
from lossdoctor.checks._fix import (
    MEANINGFUL_IMPROVEMENT,
    fix_experiment,
    relative_drop,
    settled_loss,
)
from lossdoctor.checks._inputs import inputs_without_target
from lossdoctor.checks._larger_model import (
    ClampedAtZero,
    LargerModel,
    build_larger,
    clamped_at_zero,
    why_not_larger,
)
from lossdoctor.checks._linear_stack import (
    NONLINEAR_KINDS,
    computes_affine_map,
    linear_layers,
    with_activations,
)
from lossdoctor.checks._reinit import default_init, default_init_replay
from lossdoctor.checks._same_length import LONGEST_OWN_LENGTH, MORE_RUNS
from lossdoctor.checks._wider_copy import wider_copy
from lossdoctor.experiments import Plan, Replayer, ReplayResult
from lossdoctor.findings import MODEL_SIZE, Cause, Finding, Skip
from lossdoctor.measured_consequences import AT_YOUR_SETTINGS, SLOW_FOR_ITS_SIZE
from lossdoctor.sandbox import isolated

UNDERFIT_CAPACITY = Cause(
    id="underfit_capacity",
    title="The model is too small for the task",
    fix="Give the model more capacity: add hidden layers with nonlinearities or widen them.",
    question="Is the model too small?",
    test=(
        "overfit one batch; train a larger model of the same family and compare with yours and "
        "with a constant guess"
    ),
    setting=MODEL_SIZE,
    seen_as="A larger model fits better",
)

CAUSES = (UNDERFIT_CAPACITY,)


ONE_BATCH_ROWS = 32
ONE_BATCH_STEPS = 200
#: Adam's default lr, the usual first choice: used for the one-batch test and as the fallback.
STANDARD_LR = 1e-3
NOISE_MULTIPLE = 2.0
#: A larger model whose training loss ends above this fraction of its start barely trained:
#: the user's optimizer settings, not the model, are what stops it.
BARELY_TRAINED = 0.9
#: Fractions of the user's rate a larger model that did not train at it is tried at, when the
#: user's own settings train the user's model: the largest stable rate of plain SGD falls as a
#: model widens, so the user's rate can be too high for the larger model alone. Both models
#: moved to Adam at STANDARD_LR instead, which moves each parameter by about its rate a step: a
#: linear regression with targets near 10 (pytorch16045's fixed script) stayed at 164 there,
#: where its own SGD at 0.1 reached 0.9, and was called too small.
LOWER_RATES = (0.1, 0.01)
#: Before it is blamed on capacity, the user's model trains this many times longer.
LONG_RUN_FACTOR = 10
#: Under the user's own settings, a user's model that needs more than this many times the larger
#: model's steps to get its training loss down to the larger model's validation loss (plus the
#: margin) is too slow for its size, though it gets there. Measured on dev (session 11, the long
#: run checks every REPLAY_STEPS): the one-unit models of one_unit_bottleneck needed 4 times
#: (seed 30004: 1,200 steps for what the larger model reached in 300), 5 (30001) and more than 10
#: (30009). The lr_too_low dev cases measured (seeds 22078, 22130, 22156; lr_divided and
#: sgd_tiny_lr 30000-30011) never meet it: the user's rate did not train the larger model, so
#: both were compared under Adam, where the rule does not apply. Twice or three times slower is
#: within what width and depth alone buy at one rate; 3 sits below the least one-unit model.
SLOW_FIT_FACTOR = 3
#: Hidden activations that learn slowly at any width, so that a pace comparison with a ReLU
#: model does not speak of size (see _differs_in_size_alone).
SLOW_LEARNING_KINDS = ("sigmoid", "tanh")
#: ... and in the larger model's steps it has come less than this share of the way from a
#: constant guess's validation loss to the larger model's: it is held back, not finishing. A
#: model past half way has learned the task's shape and is only refining it, slowly (a linear
#: model on separable data sharpening its logits: 0.65 of the way, 5 times slower; in
#: tests/test_underfit_capacity.py). Measured on dev one_unit_bottleneck: 0.26 (30001), below
#: 0 (30004, 30009: still at or above the constant guess); half way is the plain midpoint.
HELD_BACK_SHARE = 0.5
#: ... and on one batch of ONE_BATCH_ROWS rows it stays above this share of its starting loss
#: (ONE_BATCH_STEPS of Adam): a model that takes one batch below it has the room to fit rows,
#: so what makes it slow on the whole training set is how it is trained (its initialization,
#: rate or schedule), not its size. On dev reports (sessions 11-12) of slow fits: the one- and
#: two-unit models of one_unit_bottleneck kept 0.57-0.92 of their one-batch loss; the healthy
#: twins told they fit only slowly kept 0.014-0.077 (two_batches_per_epoch 20114: 48 GELU
#: units; negative_weight_init 20101, 30009), and the broken runs whose cause was the
#: initialization 0.0-0.12 (output_layer_scaled, normal_std_one, sigmoid and tanh_large_init).
#: A quarter is the geometric midpoint of 0.12 and 0.57.
SLOW_FIT_ONE_BATCH = 0.25
#: A larger model that cuts the validation loss by this fraction (halves it) or more gives full
#: confidence; the least gain that fires (MEANINGFUL_IMPROVEMENT) gives about 0.6.
FULL_CONFIDENCE_GAIN = 0.5
#: Without a larger model to compare with, a one-batch loss above this fraction of its start
#: is a hint of too little capacity (or a broken pipeline), reported below the threshold.
ONE_BATCH_STUCK = 0.5
#: On a run whose curves show no symptom (it learned, and did not stop short), a larger model
#: that does better is advice, not the cause of a problem, unless the user's model also could
#: not fit one batch: it kept more than this share of its one-batch loss. Measured on the
#: underfit_capacity findings of the stored dev runs of sessions 17-21 (20 reported): the right
#: ones (one_unit_bottleneck, two_unit_layer; 9) kept 0.41-0.98 of it, 0.76 and 0.51 the two
#: whose curves showed no symptom (270427, 312068: the generator kept them, their gain at most
#: half their twins'); the wrong ones without a symptom, all fixed twins (301418, 301420,
#: 311430, 312064's), 0.005-0.29. The bar is the geometric midpoint of 0.29 and 0.41.
#: Kept dismissed at ADVICE_CONFIDENCE (learning_rate._only_advice's rule for a rate).
FITS_ONE_BATCH = 0.34
ADVICE_CONFIDENCE = 0.3
#: The evidence key (1.0 when it holds) of a user's model that computes one affine map.
AFFINE_MAP = "model_is_one_affine_map"
#: The evidence key (1.0 when it holds) of a larger model that is the user's own model with
#: wider hidden layers (:mod:`._wider_copy`): the comparison changed the size and nothing else.
WIDENED_COPY = "larger_model_is_your_model_widened"
#: The evidence key (1.0 when it holds) of a user's model whose longer replay ended worse than
#: its shorter one (``_lost_its_fit``): a fit lost, not one never reached.
LOST_FIT = "longer_replay_ended_worse"


@dataclass
class OneBatch:
    rows: int
    start: float
    end: float
    steps: int = ONE_BATCH_STEPS

    @property
    def ratio(self) -> float:
        return self.end / self.start if self.start > 0 else 1.0


@dataclass
class Comparison:
    user: ReplayResult
    larger: ReplayResult
    larger_model: LargerModel
    settings: dict  # the Plan fields both were trained with; {} is the user's own settings
    optimizer: str  # the same, in words
    at_your_settings: bool = False  # the larger model trained with the user's own settings


def check(case: Case) -> list[Finding]:
    """Whether a larger model of the user's family fits and generalizes where theirs cannot."""
    replayer = case.require_replay()
    model = case.copies.initial_model
    stacked = _missing_activations(
        case, linear_layers(model, case.trace, replayer.train_batches[0], replayer.predict))
    if stacked is not None:
        return [stacked]
    batch = replayer.train_batches[0]
    one_batch = overfit_one_batch(replayer, model, batch)
    reason = why_not_larger(model, batch) or _why_not_scored(replayer)
    build = ((lambda: _larger_model(case, batch)) if not reason
             else _widened(model, replayer.as_called(batch)))
    if isinstance(build, str):
        return _untested(one_batch, f"{reason}; and no wider copy of it: {build}")
    constant = case.constant_guess_loss("validation")
    if constant is None:
        raise Skip("needs the loss of a constant prediction to compare with: this loss "
                   "rejects one")
    return _first_finding(case, build, one_batch, constant)


def _first_finding(case: Case, build, one_batch: OneBatch, constant: float) -> list[Finding]:
    """The finding of the first of the ``comparison_budgets`` whose comparison shows the
    user's model too small. A long run's own length is tried only where the larger model was
    ahead of the user's (not yet clearly) in REPLAY_STEPS, a bound on the cost rather than a
    measured rule: tried on every long run, the longer replays took 3-15 s more of a fixed
    twin's check (dev 425000-425033), and the case they were added for was ahead (425018)."""
    ahead = True
    for steps in comparison_budgets(case):
        if steps > REPLAY_STEPS and not ahead:
            break
        budget = Budget(build, one_batch, constant, steps)
        finding = _compared(case, budget)
        if finding is not None:
            return [finding]
        ahead = budget.larger_ahead
    return []


@dataclass
class Budget:
    """What one comparison with a larger model is given: its builder, the one-batch test, the
    constant guess's validation loss, and the steps both models train for."""

    build: object
    one_batch: OneBatch
    constant: float
    steps: int
    larger_ahead: bool = False  # set by the comparison: the larger model settled lower


def comparison_budgets(case: Case) -> tuple[int, ...]:
    """The steps the comparison is tried at, in order, the budgets learning_rate measures a
    higher rate on: a run short enough that learning_rate judges it in its own steps
    (MORE_RUNS: a replay at least that many times as long would give its rate the training it
    never had) is compared in its own steps first; then REPLAY_STEPS; then a run longer than
    that at its own length, at most LONGEST_OWN_LENGTH (the length learning_rate replays a
    long run's higher rate for). A two-unit layer at Adam's 1e-3 for 99 steps (dev 415007)
    fits, slowly, in 300: compared there it was not too small, and a tenfold rate, replayed
    for the run's 99 steps, was blamed alone. A two-unit layer under SGD with momentum for 714
    steps (dev 425018) trained to 0.65 in 300, where a 2x64 ReLU MLP reached 0.58 and the run's
    own twin (96x3 units) 0.33: the radial task takes the larger model longer than 300 steps
    to learn, and the run was called healthy."""
    steps = case.trace.steps
    if 0 < steps * MORE_RUNS <= REPLAY_STEPS:
        return (steps, REPLAY_STEPS)
    if steps > REPLAY_STEPS:
        return (REPLAY_STEPS, min(steps, LONGEST_OWN_LENGTH))
    return (REPLAY_STEPS,)


def _compared(case: Case, budget: Budget) -> Finding | None:
    """The finding of a comparison with the larger model in ``budget.steps`` steps; None when
    it does not show the user's model too small."""
    replayer, steps = case.replayer, budget.steps
    comparison = compare_with_larger(case, replayer, budget.build, steps)
    if comparison is None:
        return None
    evidence = _evidence(comparison, budget.one_batch)
    evidence["constant_validation_loss"] = budget.constant
    evidence[AT_YOUR_SETTINGS] = float(comparison.at_your_settings)
    budget.larger_ahead = evidence["larger_validation_loss"] < evidence["validation_loss"]
    if not _larger_is_clearly_better(evidence):
        return None
    own_size = _own_size_at_default_init(case, steps)
    if own_size is not None:
        evidence["default_init_validation_loss"] = own_size
        if own_size - evidence["larger_validation_loss"] <= evidence["margin"]:
            return None  # the larger model's fresh init, not its size, is what helped
    fits_at = evidence["larger_validation_loss"] + evidence["margin"]
    evidence.update(_long_run(replayer, comparison.settings, fits_at, steps))
    if _lost_its_fit(evidence):
        return _lost_fit_finding(comparison, evidence, budget.one_batch)
    evidence[SLOW_FOR_ITS_SIZE] = float(
        _differs_in_size_alone(case, comparison.larger_model)
        and _fits_only_slowly(evidence, comparison.settings, fits_at))
    evidence[AFFINE_MAP] = float(_computes_affine_map(case))
    evidence[WIDENED_COPY] = float(comparison.larger_model.family == "wider")
    evidence["input_values_per_row"] = float(_input_values_per_row(replayer.train_batches[0]))
    if not (_does_not_fit(evidence) or evidence[SLOW_FOR_ITS_SIZE]
            or _fits_without_generalizing(evidence)):
        return None
    wider = _same_kind_widened(case, replayer, comparison, replayer.train_batches[0], steps)
    if wider is not None:
        evidence["wider_copy_validation_loss"] = wider
        if evidence["validation_loss"] - wider <= evidence["margin"]:
            return None  # its own layers, wider, do no better: not its size
    finding = _finding(comparison, evidence, budget.one_batch)
    if _only_advice(case, evidence):
        finding.confidence = ADVICE_CONFIDENCE
        finding.verdict += (" Your training's curves show no problem and your model fits one "
                            "batch: a larger model is advice, not the cause of a problem.")
    return finding


def _lost_its_fit(evidence: dict) -> bool:
    """Whether the user's model, trained LONG_RUN_FACTOR times longer, ended with a training
    loss above its shorter replay's by the margin: it had fitted, and lost the fit (a rate
    that knocks the model off what it learned, at a step no one can foresee). A fit that is
    lost is not one never reached: the size is not what it lacks (bench/projects8's LeNet at
    SGD 0.1: 0.878 in 300 steps, 2.30, the constant guess, at the end of 3,000)."""
    return evidence["long_run_train_loss"] - evidence["train_loss"] > evidence["margin"]


def _lost_fit_finding(comparison: Comparison, evidence: dict, one_batch: OneBatch) -> Finding:
    """Dismissed (ADVICE_CONFIDENCE): the user's model fitted in the shorter replay, and its
    longer one ended worse (``_lost_its_fit``)."""
    evidence[LOST_FIT] = 1.0
    finding = _finding(comparison, evidence, one_batch)
    finding.confidence = ADVICE_CONFIDENCE
    finding.verdict = (
        f"Replayed on a copy for {int(evidence['replay_steps'])} steps, your model gets its "
        f"training loss to {evidence['train_loss']:.3g} (validation "
        f"{evidence['validation_loss']:.3g}), but trained for "
        f"{int(evidence['long_run_steps']):,} steps it ends at "
        f"{evidence['long_run_train_loss']:.3g}: it fitted, then lost the fit. A model that "
        "loses what it learned is not too small; look at what knocks it off (the learning rate "
        "first).")
    return finding


def _only_advice(case: Case, evidence: dict) -> bool:
    """Curves with no symptom, and a model that fit one batch (FITS_ONE_BATCH) where fitting
    it shows room to spare: the run is healthy, and a larger model would only do better."""
    return (getattr(case, "curves_show_symptom", None) is False
            and evidence["one_batch_loss_ratio"] <= FITS_ONE_BATCH
            and not _interpolates_one_batch(evidence))


def _interpolates_one_batch(evidence: dict) -> bool:
    """Whether the model is an affine map with at least as many input values a row as the
    one-batch test has rows, less one: such a map can pass through any that many points
    (n points in d dimensions, n <= d + 1), so fitting them says nothing of room to spare
    (dev linear_model 415020: 196 pixels, 32 rows, kept 0.23 of its one-batch loss while
    a 2x64 ReLU MLP halved its validation loss)."""
    return (bool(evidence.get(AFFINE_MAP))
            and evidence["input_values_per_row"] + 1 >= evidence["one_batch_rows"])


def _input_values_per_row(batch: Batch) -> int:
    """How many floating-point input values one row of ``batch`` gives the model."""
    return sum(t[0].numel() for _, t in inputs_without_target(batch)
               if t.is_floating_point() and t.dim() > 0)


def _own_size_at_default_init(case: Case, steps: int = REPLAY_STEPS) -> float | None:
    """Where the user's own model, re-initialized the PyTorch default way (the replay bad_init
    shares), settles; None when it has no layer to reset. The larger model, standard
    (_larger_model) or a wider copy (_wider_copy), is built of fresh layers at the default
    init: it changes the size and the initialization at once. When the user's model at its own
    size does as well from the default init, what the comparison measured is the init (a deep
    tanh stack of weights N(0, 0.05), dev deep_tanh_tiny_init 303040: underfit_capacity 0.95
    first, "a 4x256 ReLU MLP reaches 0.416"), and the size is not what the model lacks."""
    fresh = default_init(case.copies.initial_model)
    if fresh is None:
        return None
    if steps == REPLAY_STEPS:
        return settled_loss(default_init_replay(case, fresh))
    return settled_loss(case.replayer.replay(Plan(model=fresh, steps=steps)))


def _same_kind_widened(case: Case, replayer: Replayer, comparison: Comparison,
                       batch: Batch, steps: int = REPLAY_STEPS) -> float | None:
    """Where the user's own model with wider hidden layers settles, trained as the larger
    model was, when the larger model is a ReLU one and the user's hidden layers squash
    (SLOW_LEARNING_KINDS): that comparison changed the activation as well as the size, and a
    deep sigmoid stack whose gradients vanish loses to any ReLU model, of any size (dev
    deep_sigmoid_stack: "too small" led the vanishing gradients). None when the larger model
    already differs in size alone, or no wider copy can be made (the comparison stands)."""
    if comparison.larger_model.family == "wider" or not _hidden_layers_squash(case):
        return None
    build = _widened(case.copies.initial_model, replayer.as_called(batch))
    if isinstance(build, str):
        return None
    wider = replayer.replay(Plan(model=build().model, steps=steps, **comparison.settings))
    return settled_loss(wider)


def _why_not_scored(replayer: Replayer) -> str:
    """Why a larger model could not be scored with the user's loss; "" when it can."""
    if replayer.scores_any_model:
        return ""
    return ("your loss is computed inside your model, or from its parameters by name, so "
            "another model cannot be scored with it")


def _missing_activations(case: Case, names: list[str]) -> Finding | None:
    """Linear layers stacked with nothing between them: the same layers with a ReLU after each
    hidden one, replayed as the user trained. A finding when that is clearly better than the
    user's model (the margin of the larger-model test) and than a constant guess."""
    if not names:
        return None
    constant = case.constant_guess_loss("validation")
    activated = case.replayer.replay(Plan(model=with_activations(case.copies.initial_model,
                                                                 names), steps=REPLAY_STEPS))
    user = case.baseline
    before, after = settled_loss(user), settled_loss(activated)
    margin = MEANINGFUL_IMPROVEMENT * abs(before)
    if not (before - after > margin and (constant is None or constant - after > margin)):
        return None
    gain = relative_drop(before, after)
    return Finding(
        cause=UNDERFIT_CAPACITY,
        confidence=0.6 + 0.35 * min(1.0, gain / FULL_CONFIDENCE_GAIN),
        verdict=(f"Your model's {len(names)} Linear layers ({', '.join(names)}) have no "
                 "activation between them, so together they compute a single linear map: the "
                 "extra layers add no capacity. The same layers with a ReLU after each hidden "
                 f"one reach validation loss {after:.3g} where yours reaches {before:.3g}."),
        evidence={"linear_layers": len(names), "validation_loss": before,
                  "with_activations_validation_loss": after,
                  **({"constant_validation_loss": constant} if constant is not None else {})},
        fix="Put a nonlinearity (e.g. nn.ReLU()) after each hidden Linear layer.",
        experiment=fix_experiment("a ReLU after each hidden Linear layer", user, activated),
    )


def _long_run(replayer: Replayer, settings: dict, fits_at: float,
              steps: int = REPLAY_STEPS) -> dict[str, float]:
    """The user's model trained up to LONG_RUN_FACTOR times longer: where its training loss
    ends, and where it would end after as many steps again at its latest rate. It stops as soon
    as its training loss is down to ``fits_at``: it has then shown the capacity in question."""
    plan = Plan(steps=LONG_RUN_FACTOR * steps, evaluations=LONG_RUN_FACTOR,
                stop_when=lambda losses: _last_quarter(losses) <= fits_at, **settings)
    result = replayer.replay(plan)
    losses = result.train_losses
    return {
        "long_run_best_validation_loss": min(result.validation_losses, default=math.inf),
        "long_run_steps": len(losses),
        "long_run_train_loss": _last_quarter(losses),
        "projected_train_loss": _projected(losses),
    }


def overfit_one_batch(replayer: Replayer, model, batch: Batch) -> OneBatch:
    """Train a copy of ``model`` on at most ONE_BATCH_ROWS rows of ``batch`` with Adam."""
    rows = min(batch.scored_rows, ONE_BATCH_ROWS)
    small = _first_rows(batch, rows)
    with isolated(0):
        trained = copy.deepcopy(model)
        optimizer = torch.optim.Adam(trained.parameters(), lr=STANDARD_LR)
        steps = replayer.sized(ONE_BATCH_STEPS)
        losses = [replayer.train_step(trained, optimizer, small) for _ in range(steps)]
        end = replayer.evaluate(trained, [small])
    return OneBatch(rows, losses[0], end, steps)


def compare_with_larger(case: Case, replayer: Replayer, build,
                        steps: int = REPLAY_STEPS) -> Comparison | None:
    """The user's model and a larger one (a fresh one from ``build()`` each time) replayed
    alike for ``steps`` steps: the user's optimizer settings when they can train the larger
    model; when they train only the user's, the larger one at lower rates
    (:func:`_at_lower_rates`); when they train neither, Adam at STANDARD_LR for both. In a
    run's own steps (fewer than REPLAY_STEPS) only the user's settings are tried, the budget
    a higher rate is measured on: None when they do not train the larger model."""
    larger = build()
    _require_affordable(replayer, larger, steps)
    result = replayer.replay(Plan(model=larger.model, steps=steps))
    setup = case.trace.setup
    optimizer = setup.optimizer_class or "your optimizer"
    described = f"trained with {optimizer} as you set it up"
    user = case.baseline_for(steps)
    if _trained(result):
        return Comparison(user, result, larger, {}, described, at_your_settings=True)
    if steps != REPLAY_STEPS:
        return None
    if _trained(user):
        return _at_lower_rates(case, replayer, build, result, larger, optimizer)
    adam = {"optimizer_class": torch.optim.Adam, "lr": STANDARD_LR}
    larger = build()
    result = replayer.replay(Plan(model=larger.model, steps=steps, **adam))
    user = replayer.replay(Plan(steps=steps, **adam))
    described = f"both trained with Adam at lr {STANDARD_LR:g} (your settings did not train it)"
    return Comparison(user, result, larger, adam, described)


def _at_lower_rates(case: Case, replayer: Replayer, build, failed: ReplayResult,
                    larger: LargerModel, optimizer: str) -> Comparison:
    """The user's own training against the larger model at LOWER_RATES of the user's rate,
    when the user's settings train the user's model but not the larger one; the larger
    model's failed replay when none trains it (no sign the user's model is too small)."""
    user_lr = replayer.user_lr
    for fraction in LOWER_RATES if user_lr else ():
        lower = build()
        result = replayer.replay(Plan(model=lower.model, steps=REPLAY_STEPS,
                                      lr=user_lr * fraction))
        if _trained(result):
            described = (f"trained with {optimizer} at lr {user_lr * fraction:g} (at your "
                         f"{user_lr:g} it did not train; your model kept your settings)")
            return Comparison(case.baseline, result, lower, {}, described)
    return Comparison(case.baseline, failed, larger, {}, f"trained with {optimizer}")


def _require_affordable(replayer: Replayer, larger: LargerModel,
                        steps: int = REPLAY_STEPS) -> None:
    """Under a time budget, a larger model whose replay cannot fit the time left to this check
    is not trained: started, it would be cut at the deadline with no result, having spent the
    time the checks after it need. A wider copy of a large model can cost several times the
    user's step (a CNN of 1.4M parameters widened: 5x), more than the budget planned for."""
    left = replayer.seconds_left()
    if math.isinf(left):
        return
    step = replayer.model_step_seconds(larger.model)
    seconds = budgets.replay_seconds(step, steps, len(replayer.validation_batches),
                                     replayer.step_fraction)
    if seconds > left:
        raise budgets.OutOfTime(budgets.larger_too_costly(
            larger.describe(), step, seconds, left, replayer.budget))


def _widened(model, batch: Batch):
    """A builder of the user's model with wider hidden layers (:mod:`._wider_copy`), for a
    model no standard larger model is built for; or why there is none."""
    made = wider_copy(model, batch)
    if isinstance(made, str):
        return made
    changes = tuple(made[1])

    def build() -> LargerModel:
        wider, _ = wider_copy(model, batch)
        narrowest = min(new for _, _, new in changes)
        return LargerModel(wider, narrowest, len(changes), "", "wider", changes)

    return build


def _larger_model(case: Case, batch: Batch) -> LargerModel:
    """The standard larger model, ending as the user's does: in what the loss expects, and in
    a clamp at zero when the user's outputs are clamped there."""
    copies = case.copies
    larger = build_larger(
        copies.initial_model, batch, _output_shape(case, batch), case.trace.setup.loss_name
    )
    replayer = case.replayer
    if ends_clamped_at_zero(copies.initial_model, replayer.train_batches, replayer.predict):
        return clamped_at_zero(larger)
    return larger


def _output_shape(case: Case, batch: Batch) -> tuple:
    """Per row, what the user's model outputs: the larger model must give the same, whatever
    the loss later reshapes it into (logits of a sequence flattened for cross-entropy)."""
    with isolated(0), torch.no_grad():
        model = copy.deepcopy(case.copies.initial_model)
        output = first_tensor(model(*batch.args, **batch.kwargs))
    if output is not None and output.dim() > 0 and output.shape[0] == batch.rows:
        return tuple(output.shape[1:])
    return tuple(case.copies.prediction_shape)


def _trained(result: ReplayResult) -> bool:
    if result.diverged or len(result.train_losses) < 8:
        return False
    start = statistics.fmean(result.train_losses[:10])
    return _last_quarter(result.train_losses) < BARELY_TRAINED * start


def _larger_is_clearly_better(evidence: dict) -> bool:
    """Below the user's model and below the best constant prediction, by the margin."""
    larger, margin = evidence["larger_validation_loss"], evidence["margin"]
    below_user = evidence["validation_loss"] - larger > margin
    learns_from_inputs = evidence["constant_validation_loss"] - larger > margin
    return below_user and learns_from_inputs


def _computes_affine_map(case: Case) -> bool:
    """Whether the user's model is one affine map of its inputs (a single Linear layer, or
    plain tensors ``x @ w + b``): a model with no nonlinearity anywhere."""
    replayer = case.replayer
    model = case.copies.initial_model
    if any(stat.kind in NONLINEAR_KINDS for stat in case.trace.activations):
        return False
    return computes_affine_map(model, replayer.train_batches[0], replayer.predict)


def _fits_without_generalizing(evidence: dict) -> bool:
    """An affine model (AFFINE_MAP), or one whose own layers made wider (WIDENED_COPY) were
    the larger model, that, trained longer, fits its training rows as well as the larger model
    predicts new ones, while its own validation loss never gets there (by the margin): it fits
    its rows without learning what the larger model learned. Training longer only tunes a
    linear map's fit; the function it can draw stays linear. Against its own layers widened,
    trained alike, the size is all that differs: a two-unit layer on 144 pixels (dev 425005)
    took its training loss to 0.44 and its validation loss no lower than 0.65, where 32 units
    reached 0.38 in the run's 96 steps; that the larger model generalizes is measured, not
    assumed (a model that only memorizes would not be beaten on new rows by a wider one). A
    model that fits one batch (FITS_ONE_BATCH) has room to spare, and the gap to its wider self
    is the usual one between training and validation loss: a 3x48 MLP under a rate too low
    (dev sgd_tiny_lr 425650, its one-batch loss to 0.002) validated at 0.121 against 0.093."""
    widened = evidence.get(WIDENED_COPY) and evidence["one_batch_loss_ratio"] > FITS_ONE_BATCH
    if not (evidence.get(AFFINE_MAP) or widened):
        return False
    return (evidence["long_run_best_validation_loss"] - evidence["larger_validation_loss"]
            > evidence["margin"])


def _does_not_fit(evidence: dict) -> bool:
    """Trained far longer, the user's model still cannot fit its training data as well as the
    larger model predicts data it never trained on."""
    return (
        evidence["projected_train_loss"] - evidence["larger_validation_loss"] > evidence["margin"]
    )


def _differs_in_size_alone(case, larger: LargerModel) -> bool:
    """Whether a pace comparison with ``larger`` speaks of size: a wider copy of the user's
    model does; a ReLU MLP or CNN does only for a model without sigmoid or tanh layers, which
    learn slowly at any width (they saturate: LeCun et al., Efficient BackProp, 1998). Dev 31011
    (sigmoid_large_init's healthy twin, a sigmoid MLP at 4x the ReLU MLP's steps) was told it
    fits only slowly for its size."""
    if larger.family == "wider":
        return True
    return not any(stat.kind in SLOW_LEARNING_KINDS for stat in case.trace.activations)


def _hidden_layers_squash(case) -> bool:
    """Whether the run showed hidden sigmoid or tanh layers (more than one unit: not a binary
    output's sigmoid)."""
    return any(stat.kind in SLOW_LEARNING_KINDS and stat.units > 1
               for stat in case.trace.activations)


def _fits_only_slowly(evidence: dict, settings: dict, fits_at: float) -> bool:
    """Under the user's own settings (``settings`` empty), the user's model needed more than
    SLOW_FIT_FACTOR times the larger model's steps to fit its training data to ``fits_at``, or
    never did in its long run, and could not fit one batch either (SLOW_FIT_ONE_BATCH)."""
    if settings or _share_of_the_way(evidence) >= HELD_BACK_SHARE:
        return False
    if evidence["one_batch_loss_ratio"] <= SLOW_FIT_ONE_BATCH:
        return False
    never = evidence["long_run_train_loss"] > fits_at
    return never or evidence["long_run_steps"] > SLOW_FIT_FACTOR * evidence["replay_steps"]


def _share_of_the_way(evidence: dict) -> float:
    """How far the user's model came, in the replay, from a constant guess's validation loss
    towards the larger model's (0: no nearer than the guess; 1: as far as the larger model)."""
    constant = evidence["constant_validation_loss"]
    return ((constant - evidence["validation_loss"])
            / (constant - evidence["larger_validation_loss"]))


def _evidence(comparison: Comparison, one_batch: OneBatch) -> dict[str, float]:
    user, larger = comparison.user, comparison.larger
    validation = settled_loss(user)
    noise = (_wobble(user.validation_losses) ** 2 + _wobble(larger.validation_losses) ** 2) ** 0.5
    return {
        "train_loss": _last_quarter(user.train_losses),
        "validation_loss": validation,
        "larger_train_loss": _last_quarter(larger.train_losses),
        "larger_validation_loss": settled_loss(larger),
        "validation_noise": noise,
        "margin": max(NOISE_MULTIPLE * noise, MEANINGFUL_IMPROVEMENT * abs(validation)),
        "larger_width": comparison.larger_model.width,
        "larger_hidden_layers": comparison.larger_model.hidden_layers,
        "replay_steps": len(larger.train_losses),
        "one_batch_rows": one_batch.rows,
        "one_batch_loss_ratio": one_batch.ratio,
    }


def _finding(comparison: Comparison, evidence: dict, one_batch: OneBatch) -> Finding:
    before, after = evidence["validation_loss"], evidence["larger_validation_loss"]
    relative_gain = relative_drop(before, after)
    larger = comparison.larger_model
    return Finding(
        cause=UNDERFIT_CAPACITY,
        confidence=0.6 + 0.35 * min(1.0, relative_gain / FULL_CONFIDENCE_GAIN),
        verdict=_verdict(evidence, larger, one_batch),
        evidence=evidence,
        fix=f"{UNDERFIT_CAPACITY.fix} For example: {_example(larger)}.",
        experiment=fix_experiment(
            f"{larger.describe()} instead of your model, {comparison.optimizer}",
            comparison.user, comparison.larger, steps=int(evidence["replay_steps"]),
        ),
        details={"larger_model": str(larger.model), "optimizer": comparison.optimizer},
    )


def _verdict(evidence: dict, larger: LargerModel, one_batch: OneBatch) -> str:
    e = evidence
    return " ".join(
        [
            _long_run_text(e),
            f"{_capitalized(larger.describe())}, with the same inputs and outputs, reaches "
            f"validation loss {e['larger_validation_loss']:.3g} in {int(e['replay_steps'])} steps "
            f"(always predicting the same answer gives {e['constant_validation_loss']:.3g}).",
            _one_batch_text(one_batch),
        ]
    ).strip()


def _long_run_text(e: dict) -> str:
    """What training the user's model longer showed: it never fits, only far more slowly, or
    only its training rows."""
    if _fits_without_generalizing(e) and not _does_not_fit(e):
        opening = ("Your model is a single linear map of its inputs: replayed on a copy and "
                   "trained" if e.get(AFFINE_MAP) else "Replayed on a copy and trained")
        subject = "it" if e.get(AFFINE_MAP) else "your model"
        return (f"{opening} for {int(e['long_run_steps']):,} steps, {subject} gets its "
                f"training loss down to {e['long_run_train_loss']:.3g}, but its validation "
                f"loss is never below {e['long_run_best_validation_loss']:.3g}: it fits the "
                "rows it trains on without learning what holds on new ones.")
    if e.get(SLOW_FOR_ITS_SIZE) and not _does_not_fit(e):
        return ("Your model fits the data it trains on only slowly: replayed on a copy for "
                f"{int(e['replay_steps'])} steps, its training loss stays at {e['train_loss']:.3g} "
                f"(validation {e['validation_loss']:.3g}), and with your settings it takes "
                f"{int(e['long_run_steps']):,} steps to get down to "
                f"{e['long_run_train_loss']:.3g}.")
    return ("Your model does not fit even the data it trains on: replayed on a copy for "
            f"{int(e['replay_steps'])} steps, its training loss stays at "
            f"{e['train_loss']:.3g} (validation {e['validation_loss']:.3g}), and trained for "
            f"{int(e['long_run_steps']):,} steps, {LONG_RUN_FACTOR} times as long, it still "
            f"ends at {e['long_run_train_loss']:.3g}.")


def _one_batch_text(one_batch: OneBatch) -> str:
    """Said only when it backs the verdict: a model that memorizes one batch is not too small
    for it, and saying "only to 3%" would read as a failure."""
    if one_batch.ratio <= ONE_BATCH_STUCK or not math.isfinite(one_batch.ratio):
        return ""  # a one-batch run that blew up says nothing of the model's size
    return f"On one batch of {one_batch.rows} examples, {_one_batch_progress(one_batch)}."


def _one_batch_progress(one_batch: OneBatch) -> str:
    if one_batch.end >= one_batch.start:
        return (f"your model does not get its loss down at all ({one_batch.start:.3g} at the "
                f"start, {one_batch.end:.3g} after {one_batch.steps} steps)")
    return f"your model gets its loss down only to {one_batch.ratio:.0%} of where it started"


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _example(larger: LargerModel) -> str:
    """The larger model as code a user can paste, or the widths to change in the user's."""
    if larger.family == "wider":
        return f"widen {larger.widened()}"
    return "nn.Sequential(" + ", ".join(_as_code(m) for m in _layers(larger.model)) + ")"


def _layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The larger model's layers in order, the ReLU clamp of a ClampedAtZero included."""
    if isinstance(model, ClampedAtZero):
        return [*_layers(model.model), torch.nn.ReLU()]
    return list(model)


def _as_code(layer: torch.nn.Module) -> str:
    if isinstance(layer, torch.nn.Linear):
        return f"nn.Linear({layer.in_features}, {layer.out_features})"
    if isinstance(layer, torch.nn.modules.conv._ConvNd):
        kind = type(layer).__name__
        return f"nn.{kind}({layer.in_channels}, {layer.out_channels}, 3, padding=1)"
    return f"nn.{type(layer).__name__}({_non_default_arguments(layer)})"


def _non_default_arguments(layer: torch.nn.Module) -> str:
    """The layer's settings as people write them, without those at their defaults:
    'kernel_size=2, stride=2', not 'kernel_size=2, stride=2, padding=0, dilation=1,
    ceil_mode=False'."""
    defaults = {name: repr(p.default) for name, p in
                inspect.signature(type(layer).__init__).parameters.items()
                if p.default is not inspect.Parameter.empty}
    settings = re.split(r", (?=\w+=)", layer.extra_repr()) if layer.extra_repr() else []
    return ", ".join(s for s in settings if s.partition("=")[::2] not in defaults.items())


def _untested(one_batch: OneBatch, reason: str) -> list[Finding]:
    """No larger model of this family can be built: report the one-batch hint, below the
    reporting threshold, or skip when there is none."""
    if one_batch.ratio <= ONE_BATCH_STUCK or not math.isfinite(one_batch.ratio):
        raise Skip(f"no larger model to compare with (one is built for an MLP or a CNN, or "
                   f"your model widened when its layers each have one width): {reason}")
    return [
        Finding(
            cause=UNDERFIT_CAPACITY,
            confidence=0.3,
            verdict=(
                f"On one batch of {one_batch.rows} rows, {_one_batch_progress(one_batch)} in "
                f"{one_batch.steps} steps: it may be too small, or the pipeline may be broken. "
                f"Not tested with a larger model: {reason}."
            ),
            evidence={"one_batch_rows": one_batch.rows, "one_batch_loss_ratio": one_batch.ratio},
        )
    ]


def _first_rows(batch: Batch, rows: int) -> Batch:
    """The batch's first ``rows`` rows; of a batch scored on a selection of its rows (a
    graph's nodes, which the forward joins), the first ``rows`` of those it scores."""
    if batch.selection is not None:
        return replace(batch, selection=batch.selection[:rows], keys=[])
    if rows >= batch.rows:
        return batch
    index = list(range(rows))
    return Batch(
        take_rows(batch.args, index, batch.rows),
        take_rows(batch.kwargs, index, batch.rows),
        take_rows(batch.target, index, batch.rows),
        rows,
    )


def _wobble(values: list[float]) -> float:
    tail = [v for v in values[len(values) // 2 :] if math.isfinite(v)]  # a blown-up replay
    return statistics.stdev(tail) if len(tail) > 1 else 0.0


def _last_quarter(losses: list[float]) -> float:
    return statistics.fmean(losses[-max(len(losses) // 4, 1) :])


def _projected(losses: list[float]) -> float:
    """The training loss after as many steps again, at the latest quarter's rate of descent.

    Curves flatten as they go, so a straight line from the last quarter is an optimistic
    guess: if even it stays high, more training alone will not close the gap."""
    quarter = max(len(losses) // 4, 1)
    latest = statistics.fmean(losses[-quarter:])
    previous = statistics.fmean(losses[-2 * quarter : -quarter] or losses[-quarter:])
    return latest - 4 * max(previous - latest, 0.0)
