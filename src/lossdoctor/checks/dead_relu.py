"""Most units of a ReLU layer dead (zero for every row) through the later part of training.

A dead ReLU passes no gradient, so nothing brings it back: a large negative bias, or a step so
large that it pushes the pre-activations below zero for every input, silences units for good.
A few dead units are normal; the check fires when more than half of a layer stays dead on every
sampled step of the second half of training and either the training loss is stuck at what a
constant guess reaches or a replay with LeakyReLU in place of nn.ReLU does clearly better. A
layer dead from the first step watched was built dead, by its initialization: when the leak
cannot revive it, the replay that tests the cause is one from the default initialization.
A deep ReLU stack leaves about half of its deepest layers dead at PyTorch's default
initialization, so "built dead" also means clearly more dead at the start than
default-initialized copies of the same model on the same batches; and a layer mostly dead late
that was already about as dead at the start (``DeadLayer.dead_as_built``) is suspected only
when its initialization is so too: otherwise it is as dead as the default init leaves it.

A ReLU after the output layer can die row by row instead: outputs held at exactly 0 where the
targets need them higher (checks/_stuck_outputs.py), found from the trained model's outputs,
whatever computes the clamp.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from lossdoctor.capture import stats as capture_stats
from lossdoctor.capture.activations import ActivationSpy
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._behind_fix import lag_words, lags_its_fix
from lossdoctor.checks._dead_units import BUILT_DEAD_EXCESS, MOST, DeadLayer, dead_layers
from lossdoctor.checks._fix import fix_experiment, helped
from lossdoctor.checks._function_swap import WithFunctionSwap
from lossdoctor.checks._label_signal import labels_unpredictable
from lossdoctor.checks._plain import plain_number, plain_share
from lossdoctor.checks._progress import TrainingProgress, training_progress
from lossdoctor.checks._reinit import default_init, initialization_name
from lossdoctor.checks._stuck_outputs import stuck_at_zero
from lossdoctor.experiments import Plan
from lossdoctor.findings import Cause, Experiment, Finding, Skip
from lossdoctor.sandbox import isolated

DEAD_RELU = Cause(
    id="dead_relu",
    title="Most ReLU units are dead",
    fix=(
        "Lower the learning rate, use LeakyReLU or GELU, or check the initialization and the bias "
        "of the layers before the ReLUs."
    ),
    question="Are most ReLU units off for every input?",
    test=(
        "dead fraction per layer over the late sampled steps; replay with LeakyReLU; outputs a "
        "ReLU after the output layer holds at 0 below positive targets, replayed without it"
    ),
    explains={"lr_too_low", "underfit_capacity"},
    figures=("dead_units",),
)

CAUSES = (DEAD_RELU,)


#: Default-initialized copies drawn (seeds 0, 1, 2) as the reference.
REFERENCE_DRAWS = 3
#: Training batches the dead shares at the start are averaged over.
START_BATCHES = 4
#: A layer mostly dead late in training that was alive at the first step watched (less than
#: BUILT_DEAD of it dead, the most a default initialization left dead on dev) was killed by the
#: updates. When the loss is stuck at the constant guess, such a layer is reported even when
#: LeakyReLU at the same rate does no better: the rate that killed the units keeps the leaky
#: copy from learning too (dev 25457 sgd_huge_lr, 25379 and 20205 lr_times_thousand: 88-98% of
#: a layer dead late, 3-15% at the first sample, the loss at the constant guess; dead_relu was
#: dismissed at 0.45 and lr_too_high reported alone), and the cause that killed them
#: (lr_too_high, exploding_gradients) declares it as its consequence and leads. The confidence
#: is the formula's for just over half dead, the least it reports.
KILLED_CONFIDENCE = 0.55
#: Slope of the LeakyReLU swapped in: large enough to pull dead units back within a replay.
LEAK = 0.1
#: On a run whose curves show no symptom (lossdoctor.symptom: it learned, and did not stop
#: short), dead units did not stop it learning: what a LeakyReLU replay gains there is advice,
#: kept dismissed at this confidence (learning_rate._only_advice's rule for a rate). Of the
#: 15 dead_relu findings on the stored dev runs of sessions 17-21, every one was on a run with
#: a symptom (at_chance 13, near_chance 2), the 5 right ones included; the one on a fixed twin
#: of the test part (test12 710023) was on a run without one. Not where the fix's replay shows
#: the run far behind it at its own length (_behind_fix.lags_its_fix: dev 361101, its validation
#: loss still falling 1.10 -> 0.80, called healthy; the replay of its setup at 0.83 where the one
#: from the default init was at 0.03 at its 120 steps).
ADVICE_CONFIDENCE = 0.3


def check(case) -> list[Finding]:
    """A mostly dead ReLU layer; else outputs a ReLU after the output layer holds at 0 for the
    rows whose targets need them higher (_stuck_outputs), which a layer dead for every row
    does not show, and which a clamp written as ``z * (z > 0)`` gives where no ReLU is seen."""
    stuck = _stuck_outputs(case)
    try:
        found = _dead_layers(case)
    except Skip:
        if stuck:
            return stuck
        raise
    return found or stuck


def _dead_layers(case) -> list[Finding]:
    layers = dead_layers(case.trace)
    # less than BUILT_DEAD_EXCESS dead at the start cannot be that much beyond the default's
    excess = (excess_over_default(case) if any(d.at_start > BUILT_DEAD_EXCESS for d in layers)
              else [])
    layers = _with_excess(layers, excess)
    if any(d.built_dead or d.dead_as_built for d in layers) and not (
            excess is None or max(excess, default=0.0) > BUILT_DEAD_EXCESS):
        layers = [replace(d, beyond_default=False) for d in layers]
    suspects = sorted((d for d in layers if d.suspect), key=lambda d: d.dead, reverse=True)
    loss = training_progress(case) if suspects else None
    if loss is None:
        return []
    experiment = _leaky_experiment(case, layers)
    fixed = experiment is not None and helped(experiment, case)
    if not fixed and any(d.built_dead for d in suspects):
        experiment, fixed = _reinit_or(case, experiment)
    elif _lag_unseen(case, experiment, fixed) and any(d.built_dead for d in suspects):
        experiment = _lagging_reinit(case, experiment)
    worst = suspects[0]
    if not fixed and (not loss.stuck or worst.dead <= MOST):
        return []  # a layer less than mostly dead is blamed only when the replay shows it
    aimless = _killed_rule_applies(worst, loss, experiment, fixed) and nothing_to_learn(case)
    confidence = _confidence(worst, loss, experiment, fixed, aimless)
    lags = getattr(case, "curves_show_symptom", None) is False and fixed and lags_its_fix(
        case, experiment)
    if getattr(case, "curves_show_symptom", None) is False and not lags:
        confidence = min(confidence, ADVICE_CONFIDENCE)
    return [
        Finding(
            DEAD_RELU,
            confidence,
            verdict=_verdict(suspects, loss, experiment, fixed, aimless)
            + (lag_words(case, experiment) if lags else ""),
            evidence=_evidence(worst, suspects, loss, experiment),
            fix=_fix(worst),
            experiment=experiment,
            details={"layers": [vars(d) for d in suspects]},
        )
    ]


def _stuck_outputs(case) -> list[Finding]:
    """Outputs clamped at zero below positive targets, making most of the validation loss
    (_stuck_outputs): confirmed by a replay without the output ReLU where one can be made;
    without one, not on a model that died whole (every output stuck)."""
    stuck = stuck_at_zero(case)
    if stuck is None or not stuck.telling:
        return []
    if stuck.experiment is not None and not helped(stuck.experiment, case):
        return []
    confirmed = stuck.experiment is not None and stuck.replay_unstuck is None
    confidence = CONFIRMED_STUCK if confirmed else UNCONFIRMED_STUCK
    if getattr(case, "curves_show_symptom", None) is False and not confirmed:
        confidence = min(confidence, ADVICE_CONFIDENCE)  # see CONFIRMED_STUCK
    verdict = (
        f"Your model's outputs never go below 0 and many sit at exactly 0 (a ReLU after the "
        f"output layer, it seems): {stuck.stuck_share:.0%} of the outputs your targets need "
        f"above 0 are stuck at 0, on {stuck.rows_stuck:.0%} of the validation rows. A ReLU at "
        f"0 passes no gradient, so training cannot lift them again; they make "
        f"{stuck.loss_share:.0%} of your validation loss.{_by_chance(stuck)}")
    return [Finding(DEAD_RELU, confidence, verdict, stuck.evidence, fix=STUCK_FIX,
                    experiment=stuck.experiment)]


def _by_chance(stuck) -> str:
    """Said when the replay of the user's own setup did not get stuck as the run did."""
    if stuck.replay_unstuck is None:
        return ""
    return (f" A replay of your training from the same start did not get stuck (validation "
            f"loss {plain_number(stuck.replay_unstuck)}): which outputs die is a matter of "
            f"chance, but only the ReLU keeps them at 0 once they do. Without it, a replay "
            f"reaches {plain_number(stuck.experiment.after)}, against your run's "
            f"{plain_number(stuck.experiment.before)}.")


#: Stuck outputs whose removal could not be replayed (a clamp written ``z * (z > 0)``, no ReLU
#: call to take out), or whose replay without the clamp beat the run but not the replay of the
#: user's own setup, which did not get stuck (_stuck_outputs._against_the_run): the stuck share
#: is a fact, that the clamp is what holds this setup back is not shown by a controlled replay.
#: loss_setup's UNCONFIRMED_REACH level, for the same kind of evidence (a bound read, not replayed).
UNCONFIRMED_STUCK = 0.7
#: ... and where the replay without the output ReLU did better than the replay of the user's
#: own setup, by the margin `helped` reads. Not held to ADVICE_CONFIDENCE on curves without a
#: symptom: that rule was measured on dead hidden layers, and a run can learn while a third of
#: its outputs sit at 0 (dev relu_after_output 355307, 355315, 355327, broken beside their
#: twins: curves without a symptom, 55-92% of the validation loss from stuck outputs, the
#: replay without the clamp 0.16 -> 0.06, 0.21 -> 0.17, 0.19 -> 0.10; dismissed at 0.3 and the
#: runs called healthy). Of the 46 clamped dev runs the generator found no worse than their
#: twins, one reaches this (355347: 77% of its loss stuck, the replay without the clamp 15%
#: better, its gain 0.34 against its twin's 0.56, just short of counting as a symptom); the
#: others had at most 0.19 of their loss stuck, below STUCK_LOSS_SHARE.
CONFIRMED_STUCK = 0.9
STUCK_FIX = ("Remove the ReLU after the output layer: the last layer's raw output can move "
             "where a clamped one cannot (end in a sigmoid or softmax instead if your loss "
             "needs probabilities).")


def more_dead_than_default(case) -> bool:
    """Whether some ReLU layer of the user's initial model is more than BUILT_DEAD_EXCESS more
    dead, on the first training batches, than in every one of REFERENCE_DRAWS
    default-initialized copies (layers matched by the order their ReLUs run in); True when
    no reference can be measured (no replay, no layer to reset, another number of ReLUs)."""
    excess = excess_over_default(case)
    return excess is None or max(excess) > BUILT_DEAD_EXCESS


def _with_excess(layers: list[DeadLayer], excess: list[float] | None) -> list[DeadLayer]:
    """``layers`` with their ``excess_at_start`` (``excess_over_default``), when the ReLUs
    measured on copies match the layers watched, in the order they run."""
    if not excess or len(excess) != len(layers):
        return layers
    return [replace(d, excess_at_start=e) for d, e in zip(layers, excess, strict=True)]


def excess_over_default(case) -> list[float] | None:
    """For each ReLU of the user's initial model, in the order they run, how much more of it is
    dead on the first training batches than in the most dead of REFERENCE_DRAWS
    default-initialized copies; None when no reference can be measured (no replay, no layer
    to reset, another number of ReLUs)."""
    try:
        replayer = case.require_replay()
    except Skip:
        return None
    initial = case.copies.initial_model
    references = [default_init(initial, seed) for seed in range(REFERENCE_DRAWS)]
    if any(model is None for model in references):
        return None
    own = dead_at_start(replayer, initial)
    drawn = [dead_at_start(replayer, model) for model in references]
    if not own or any(len(shares) != len(own) for shares in drawn):
        return None
    return [share - max(d[place] for d in drawn) for place, share in enumerate(own)]


def dead_at_start(replayer, model: nn.Module) -> list[float]:
    """The dead share of each ReLU output, in the order they run, of a copy of ``model`` in
    training mode (as the first sampled step saw it) on the first START_BATCHES training
    batches, averaged over them; [] when a batch runs another number of ReLUs."""
    model = copy.deepcopy(model).train()
    per_batch = [_dead_shares(replayer, model, batch)
                 for batch in replayer.train_batches[:START_BATCHES]]
    if not per_batch or any(len(shares) != len(per_batch[0]) for shares in per_batch):
        return []
    return [sum(column) / len(column) for column in zip(*per_batch, strict=True)]


def _dead_shares(replayer, model: nn.Module, batch) -> list[float]:
    shares: list[float] = []

    def seen(kind: str, output: torch.Tensor) -> None:
        if kind == "relu":
            shares.append(capture_stats.dead_fraction(output))

    with isolated(0), torch.no_grad(), ActivationSpy(seen):
        replayer.predict(model, batch)
    return shares


def _fix(worst: DeadLayer) -> str:
    """Units dead before the first update were built dead: "Lower the learning rate" first
    pointed away from the bias that killed them (dead_relu_bias, bias -3 from the start)."""
    if not worst.built_dead:
        return DEAD_RELU.fix
    return ("Check the initialization and the bias of the layers before the ReLUs: these units "
            "were dead before the first update, so no learning rate killed them. LeakyReLU or "
            "GELU keeps units from dying for good.")


def _leaky_experiment(case, layers: list[DeadLayer]) -> Experiment | None:
    """Replay with every nn.ReLU swapped for LeakyReLU, and every ReLU function call (F.relu,
    torch.relu, ``x.clamp(min=0)``, also in a model written as plain tensors) computed as one;
    None when the run cannot be replayed."""
    try:
        baseline = case.baseline
    except Skip:
        return None
    model = copy.deepcopy(case.copies.initial_model)
    if any(d.is_function for d in layers):
        swap_relus(model)
        model = WithFunctionSwap(model, LEAKY_FUNCTIONS)
    elif not swap_relus(model):
        return None
    leaky = case.replayer.replay(Plan(model=model, steps=REPLAY_STEPS))
    return fix_experiment(f"LeakyReLU({LEAK}) in place of ReLU", baseline, leaky)


def _reinit_or(case, leaky: Experiment | None) -> tuple[Experiment | None, bool]:
    """For units built dead, which LeakyReLU(LEAK) did not revive (weights drawn all
    negative, a bias of -7: dev negative_weight_init 32006, a CNN whose first layer is 69% dead
    from step 0 and learns through the rest): a replay from the default initialization, and
    whether it helped; else the leaky replay, not helped."""
    fresh = default_init(case.copies.initial_model)
    if leaky is None or fresh is None:
        return leaky, False
    replay = case.replayer.replay(Plan(model=fresh, steps=REPLAY_STEPS))
    reinit = fix_experiment(f"the model re-initialized with "
                            f"{initialization_name(case.copies.initial_model)}",
                            case.baseline, replay)
    return (reinit, True) if helped(reinit, case) else (leaky, False)


def _lag_unseen(case, experiment: Experiment | None, fixed: bool) -> bool:
    """Curves without a symptom and a leaky replay that helped, but by too little to show the
    run far behind it (``lags_its_fix``): the finding would be advice."""
    return (fixed and getattr(case, "curves_show_symptom", None) is False
            and not lags_its_fix(case, experiment))


def _lagging_reinit(case, leaky: Experiment) -> Experiment:
    """For units built dead, on a run whose curves show no symptom: the replay from the
    default initialization when it helped and shows the run far behind it, else the leaky
    replay. The leak revives units that are dead; the initialization also left the live ones
    off for most rows (dev negative_weight_init 361101: at 120 steps, LeakyReLU(0.1) 0.65
    where the run's setup was at 0.81; the twin, at the default init, at 0.22)."""
    reinit, helped_too = _reinit_or(case, leaky)
    return reinit if helped_too and lags_its_fix(case, reinit) else leaky


#: The swap of a ReLU function call for a LeakyReLU.
LEAKY_FUNCTIONS = {"relu": lambda pre, in_place: F.leaky_relu(pre, LEAK, inplace=in_place)}


def swap_relus(model: nn.Module) -> int:
    """Replace every nn.ReLU inside ``model`` by a LeakyReLU; returns how many were swapped."""
    swapped = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.ReLU:
                setattr(parent, name, nn.LeakyReLU(LEAK, inplace=child.inplace))
                swapped += 1
    return swapped


def _killed_rule_applies(worst: DeadLayer, loss: TrainingProgress, experiment,
                         fixed: bool) -> bool:
    """A layer alive at the start that training killed while the loss stuck at the constant
    guess, which LeakyReLU did not revive: reported at KILLED_CONFIDENCE (see _confidence)."""
    return (experiment is not None and not fixed and not worst.built_dead
            and worst.killed_in_training and loss.stuck)


def nothing_to_learn(case) -> bool:
    """Nothing predicts the run's labels from its inputs, in either split, the user's model
    included (no_signal's own decision, checks/_label_signal.py). Units killed then
    are not why the model cannot learn: with labels that carry nothing, the gradient drives
    the features to a constant and units die at the floor the constant guess already is
    (fresh27 s05, labels detached from six kinds of pictures in both splits: 56% of the last
    convolution dead by step 6, reported second under no_signal as if a step too large had
    killed them). When nothing can be learned, the rate that killed them is no cause either:
    no rate brings the loss below that floor."""
    return labels_unpredictable(case)


def _confidence(worst: DeadLayer, loss: TrainingProgress, experiment, fixed: bool,
                aimless: bool = False) -> float:
    """0.55 for just over half dead, up to 0.75 for all; more when LeakyReLU fixes it. A whole
    layer dead while the loss is stuck cuts the output off from the input, which leaves no doubt
    that the dead units stop the training (what it makes moot follows it by ``explains``). When
    the swap was tried and did not help, the dead units are a symptom of something else (often
    the learning rate): kept below the reporting bar. Not for a layer dead from the first
    sampled step, which runs before the first update: no learning rate killed it, the model was
    built dead (a bias of -7 that LeakyReLU(0.1) cannot pull back within a replay, dev 09190).
    Nor for a layer alive at the start that training killed while the loss stuck at the
    constant guess (KILLED_CONFIDENCE): what killed it is a cause, and the dead units are why
    the model cannot learn at all; unless nothing predicts the labels (``aimless``:
    nothing_to_learn), when the units died of that."""
    if experiment is not None and not fixed and not worst.built_dead:
        killed = worst.killed_in_training and loss.stuck and not aimless
        return KILLED_CONFIDENCE if killed else 0.45
    if worst.dead >= 1.0 and loss.stuck:
        return 0.97
    confidence = 0.55 + 0.2 * (worst.dead - MOST) / (1 - MOST)
    if fixed:
        confidence += 0.15
    if not loss.stuck:
        confidence -= 0.1
    return confidence


def _verdict(suspects: list[DeadLayer], loss: TrainingProgress, experiment,
             fixed: bool, aimless: bool = False) -> str:
    worst = suspects[0]
    return " ".join(part for part in (
        _describe_death(worst), _others(suspects[1:]), _describe_loss(loss, worst.dead >= 1.0),
        AIMLESS_WORDS if aimless else _describe_experiment(
            experiment, fixed, worst.built_dead, worst.killed_in_training and loss.stuck)
    ) if part)


#: What the dead units are when nothing predicts the labels (nothing_to_learn).
AIMLESS_WORDS = (
    "LeakyReLU did not help, and nothing predicts your labels from your inputs: with nothing "
    "to learn, training drives these units toward a constant output, and they die at the "
    "constant guess's loss, which is the floor here. They are a consequence of the labels, "
    "not why the loss is stuck."
)


def _others(others: list[DeadLayer]) -> str:
    """The other layers mostly dead, named: dead_relu_bias's text spoke of layer '1' alone
    while its figure drew two layers wholly dead."""
    if not others:
        return ""
    return "Also dead: " + ", ".join(
        f"{_name(d)[:1].lower()}{_name(d)[1:]} ({_share_dead(d)})" for d in others) + "."


def _share_dead(layer: DeadLayer) -> str:
    """'at least 88% of its 16 units': the least seen over the second half, not the share at
    the end (dead_relu_conv1d_negative_bias: '88%' in the text beside a figure whose legend
    read 'every unit dead at the end')."""
    least = "" if layer.dead >= 1.0 else "at least "
    return f"{least}{_percent(layer.dead)} of its {layer.units} units through the second half"


def _name(layer: DeadLayer) -> str:
    return (f"The output of {layer.layer}" if layer.is_function
            else f"The ReLU layer {layer.layer!r}")


def _describe_death(worst: DeadLayer) -> str:
    what = _name(worst)
    # built dead: as dead from the first step, if it crossed MOST only later (dev 361101)
    when = "from the first step on" if worst.first_dead_step == 0 or worst.built_dead else \
        f"from step {worst.first_dead_step} on"
    found = (f"{what} has {_percent(worst.dead)} of its {worst.units} units dead (zero for every "
             f"row of the batch) {when}, through the second half of training. A dead unit passes "
             f"no gradient, so nothing brings it back.")
    if worst.dead < 1.0:
        return found
    return (f"{found} With the whole layer dead your model's output cannot depend on its input, "
            f"so no larger model or other tuning helps until the units come back.")


def _describe_loss(loss: TrainingProgress, whole_layer: bool) -> str:
    if not loss.stuck:
        how = ("through the layers after the dead one alone, which see nothing of the inputs"
               if whole_layer else "on the few units left")
        return (f"The training loss went from {plain_number(loss.start)} to "
                f"{plain_number(loss.end)} {how}.")
    if loss.constant_guess is None:
        return f"The training loss stays around {plain_number(loss.end)}: learning has stalled."
    return (f"The training loss stays around {plain_number(loss.end)}, {loss.beside_guess} the "
            f"{plain_number(loss.constant_guess)} of a constant guess that ignores the inputs.")


def _describe_experiment(experiment: Experiment | None, fixed: bool, dead_at_start: bool,
                         killed: bool = False) -> str:
    if experiment is None:
        return ""
    losses = (f"{plain_number(experiment.before)} to {plain_number(experiment.after)} in a "
              f"{experiment.steps}-step replay of your training")
    if fixed:
        return f"With {experiment.description} the validation loss goes from {losses}."
    if dead_at_start:
        return (f"With {experiment.description} the validation loss goes from {losses}, no "
                "clear gain: the units were dead before the first update, too far below zero "
                "for the leak to bring them back; look at how the layer before the ReLU is "
                "initialized (its bias).")
    if killed:
        return (f"With {experiment.description} the validation loss goes from {losses}, no "
                "clear gain: these units were alive at the start and training killed them (a "
                "step too large, from a learning rate too high or gradients that explode, "
                "pushes a unit below zero for every input); fix what made the steps that large "
                "and they stay alive.")
    return (f"With {experiment.description} the validation loss goes from {losses}, no clear "
            f"gain: the dead units are a symptom of something else, such as the learning rate.")


def _evidence(worst: DeadLayer, suspects, loss: TrainingProgress, experiment) -> dict[str, float]:
    evidence = {
        "dead_fraction_late": worst.dead,
        "units": float(worst.units),
        "first_dead_step": float(worst.first_dead_step),
        "dead_layers": float(len(suspects)),
        "train_loss_start": loss.start,
        "train_loss_end": loss.end,
    }
    if loss.constant_guess is not None:
        evidence["constant_guess_loss"] = loss.constant_guess
    if experiment is not None:
        evidence["val_loss_before"] = experiment.before
        evidence["val_loss_after"] = experiment.after
    return evidence


def _percent(fraction: float) -> str:
    return plain_share(fraction)
