"""Sigmoid or tanh outputs pinned at their limits while the loss stays high.

A pinned sigmoid passes almost no gradient, so the rows it has wrong stay wrong. Confident
outputs of a model that has learned are not the problem: the check fires only when most outputs
are pinned and the training loss is still no better than a constant guess (or, with no such
reference, barely fell), or when they were pinned from the first step on and a replay with
standardized inputs un-pins them and lowers the validation loss, or when a hidden layer was
mostly pinned before any update and still is at the end (:func:`_pinned_throughout`). Units
pinned only once training moved them, after the error signal had already vanished on its way to
the first layers, are not this cause (:func:`_pinned_after_vanishing`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from lossdoctor.checks._clipped_scores import clipped_scores
from lossdoctor.checks._features import feature_stats, replay_standardized
from lossdoctor.checks._fix import fix_experiment, helped
from lossdoctor.checks._gates import activation_calls
from lossdoctor.checks._gradient_profile import GAP_DECADES
from lossdoctor.checks._pinned import HIDDEN_SATURATING, MOSTLY_PINNED, pinned_after, pinned_by_call
from lossdoctor.checks._plain import plain_number, plain_share
from lossdoctor.checks._progress import STALLED_DROP, TrainingProgress, training_progress
from lossdoctor.checks._vanished_first import gap_before_pinning
from lossdoctor.findings import Cause, Experiment, Finding, Skip

SATURATED_ACTIVATION = Cause(
    id="saturated_activation",
    title="Activations are saturated",
    fix=(
        "Keep pre-activations near zero: normalize the inputs, use a smaller initialization, and "
        "prefer logits with a loss that applies the sigmoid/softmax itself (BCEWithLogitsLoss, "
        "CrossEntropyLoss)."
    ),
    question="Are sigmoid/tanh outputs pinned at their limits?",
    test=(
        "activation statistics on sampled steps (modules and functions such as `torch.sigmoid`); "
        "replay on standardized inputs"
    ),
    explains={"underfit_capacity"},
    # Pinned units pass no gradient, so gradients that vanish below them follow; but only once
    # this finding's own fix was replayed and helped. A saturation read from the records alone
    # (53% of a deep sigmoid stack's last layer pinned by the end, dev deep_sigmoid_stack
    # 200404) ranked the ReLU replay that took the loss from 0.46 to 0.012 as its
    # consequence, at 0.08; a saturation shown from the first step leads it anyway
    # (evidence_kinds rule 2).
    explains_if_fixed={"vanishing_gradients"},
    figures=("saturation",),
)

CAUSES = (SATURATED_ACTIVATION,)


SATURATING_KINDS = ("probabilities", "sigmoid", "tanh")
#: Pinned shares this close are one tensor measured twice (the same rows, the same steps): two
#: different layers agree to a hundredth only when both are pinned throughout.
SAME_OUTPUT_GAP = 0.01
#: "Most outputs": more than half of them pinned.
MOST = MOSTLY_PINNED
#: Sampled steps averaged for the saturation at the start of training (before anything could be
#: learned); the end averages the last fifth of the samples, at least as many.
WINDOW = 3
#: A loss's probabilities count as fitted, not saturated, when at least this share of those
#: pinned at the end sit at the limit their own target takes (stats.SATURATION_MARGIN of 0
#: where the target is 0). Chosen on dev scripts (docs/devset.md, session 31, s31-summed).
FITTED_SHARE = 0.9
#: The step of the first forward pass, before any update: what is pinned there was pinned by the
#: initialization and the inputs alone. Two updates can pin units that were not (targets around
#: 1500 pin a small tanh regressor's second layer 0% -> 60% -> 100% over steps 0-2, s15-rank's
#: dev script), so WINDOW's average over the first samples does not show what training found.
BEFORE_ANY_UPDATE = 0


@dataclass
class LayerSaturation:
    layer: str
    kind: str
    start: float  # fraction of outputs pinned over the first sampled steps
    end: float  # ... and over the last ones
    units: int
    #: ... in the first forward pass, before any update (None: that pass was not watched)
    first: float | None = None
    #: Of a loss's probabilities pinned at the end, the share pinned at their own target's
    #: side (None: not a loss's probabilities, or not measured)
    on_target: float | None = None


def check(case) -> list[Finding]:
    layers = _without_clipped_scores(case, with_first_pass(case, saturation_by_layer(case.trace)))
    layers = without_fitted_outputs(layers)
    loss = training_progress(case)
    if _suspects(layers, loss):
        layers = without_gates(case, layers)
    pinned = sorted(_suspects(layers, loss), key=_severity, reverse=True)
    if not pinned:
        return []
    worst = pinned[0]
    if _pinned_after_vanishing(case, worst):
        return []
    experiment, after = _standardizing_experiment(case, worst)
    if not loss.stuck and not _desaturated(experiment, after) and not _pinned_throughout(worst):
        return []
    return [
        Finding(
            SATURATED_ACTIVATION,
            _confidence(worst, loss, experiment, after),
            verdict=_verdict(worst, pinned, loss, experiment, after),
            evidence=_evidence(worst, pinned, loss, experiment, after),
            fix=_fix(worst),
            experiment=experiment,
            details={"layers": [vars(s) for s in pinned]},
            root=shown(worst, experiment, after),
        )
    ]


def without_fitted_outputs(layers: list[LayerSaturation]) -> list[LayerSaturation]:
    """``layers`` without the loss's probabilities pinned where their targets are (FITTED_SHARE
    of them at their own target's side: a note's onset near 0 on the frames without one), nor
    the sigmoid layers as wide, which are those outputs seen as a call. Outputs near 0 for
    targets that are 0 on 99% of rows pass little gradient because they are right."""
    fitted = {s.units for s in layers if s.kind == "probabilities" and s.on_target is not None
              and s.on_target >= FITTED_SHARE}
    return [s for s in layers if s.units not in fitted
            or s.kind not in ("probabilities", "sigmoid")]


def _without_clipped_scores(case, layers: list[LayerSaturation]) -> list[LayerSaturation]:
    """``layers`` without the loss's probabilities when they are raw scores clipped into
    [eps, 1 - eps] on the way to the loss (_clipped_scores.py): no sigmoid is there to pin,
    the missing sigmoid is loss_setup's loss_mismatch."""
    outputs = [s for s in layers if s.kind == "probabilities"]
    if not outputs or clipped_scores(case) is None:
        return layers
    return [s for s in layers if s.kind != "probabilities"]


def shown(worst: LayerSaturation, experiment, after) -> bool:
    """Whether the saturation is seen, not inferred (the evidence kind SHOWN of
    lossdoctor.evidence_kinds): most of the layer pinned (within capture.stats.SATURATION_MARGIN
    of a limit, where a sigmoid passes at most 4% of its largest gradient and a tanh 2%) in the
    first forward pass, before any update (BEFORE_ANY_UPDATE), and still at the end, and not
    un-pinned by standardizing the inputs (then their scale is the root, and unnormalized_inputs
    declares this its consequence). Units pinned only once training moved them were pinned by
    something in the training (targets far from 0, a learning rate): that is inferred. Such a
    finding leads causes read from the training alone, and follows a cause whose replayed fix
    removes it (evidence_kinds: bad_init's replay from the default init, on a large init). On
    dev sigmoid_large_init 60013, 60015 and tanh_large_init 60002, 60003, 55-74% were pinned at
    step 0 and as many at the end."""
    return _pinned_throughout(worst) and not _desaturated(experiment, after)


def _pinned_throughout(worst: LayerSaturation) -> bool:
    """A hidden layer mostly pinned in the first forward pass, before any update, and still at
    the end: reported while the loss falls too. Pinned units pass almost no gradient, so what
    the loss gained came from elsewhere (a large init's output layer shrinking back: dev
    tanh_large_init 200111, three tanh layers 85-89% pinned at step 0 and 92-99% at the end,
    its loss down from 14 to below the constant guess, where its default-initialized twin
    learns twice as much)."""
    return (not _is_output(worst) and worst.first is not None and worst.first > MOST
            and worst.end > MOST)


def _pinned_after_vanishing(case, worst: LayerSaturation) -> bool:
    """Whether the units were pinned only once training moved them (not :func:`_pinned_throughout`)
    and the error signal had already vanished before, over the first WINDOW sampled steps: its
    fall from the last layer to the first, less what the units pinned then can account for, at
    least vanishing_gradients' GAP_DECADES (:mod:`._vanished_first`). The pinning is then
    training's answer to a gradient that does not reach the first layers, not what stopped it,
    and this cause's fix (a smaller init, normalized inputs) is the wrong way round: dev
    deep_tanh_tiny_init 422005, N(0, 0.05) weights, the tanh outputs near 0 (none pinned) and
    the error 6.6 decades down at step 0, then four layers 70-97% pinned by the end. Gradients
    that vanished before the pinning are vanishing_gradients' to report."""
    return not _pinned_throughout(worst) and gap_before_pinning(case, WINDOW) >= GAP_DECADES


def _is_output(layer: LayerSaturation) -> bool:
    """The model's own sigmoid output. Pinned from the first step, it does not show its root:
    targets outside its range pin it as well as a large init does (issue 11: "a sigmoid output
    asked to reach 70", where unscaled_targets is the cause); only hidden units are shown."""
    return layer.kind == "probabilities" or (layer.kind == "sigmoid" and layer.units <= 1)


def _fix(worst: LayerSaturation) -> str:
    """The cause's fix for a pinned output; for a hidden layer, without the advice on logits,
    which is about the output (a tanh layer inside a conv stack read 'prefer logits with
    CrossEntropyLoss' while the model already used it)."""
    if _is_output(worst):
        return SATURATED_ACTIVATION.fix
    return (f"Keep the inputs of the {worst.kind} layers near zero: normalize the model's "
            f"inputs and use a smaller initialization (Xavier at the activation's gain suits "
            f"{worst.kind}: nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain("
            f"'{worst.kind}'))), or use ReLU layers instead.")


def _suspects(
    layers: list[LayerSaturation], loss: TrainingProgress | None
) -> list[LayerSaturation]:
    """Layers pinned at the end while the loss is stuck; or, while the loss falls, layers pinned
    from the first step on (they may still block learning: the standardizing replay decides)."""
    if loss is None:
        return []
    return [s for s in layers if s.end > MOST and (loss.stuck or s.start > MOST)]


def saturation_by_layer(trace) -> list[LayerSaturation]:
    """Start and end saturation of every sigmoid, tanh and probability output seen."""
    by_layer: dict[tuple[str, str], list] = {}
    for stat in trace.activations:
        if stat.kind in SATURATING_KINDS:
            by_layer.setdefault((stat.layer, stat.kind), []).append(stat)
    if not by_layer:
        # healthy_gru_trend: 'needs a sigmoid or tanh: none was seen' on a GRU, made of them
        recurrent = any("weight_hh" in g.name for g in trace.gradients)
        raise Skip("needs a sigmoid or tanh activation, or a loss on probabilities "
                   "(BCELoss): none was seen"
                   + (" (the sigmoid and tanh gates inside a recurrent layer are not watched)"
                      if recurrent else ""))
    return [_summary(layer, kind, seen) for (layer, kind), seen in by_layer.items()
            if len(seen) >= 2]


def _summary(layer: str, kind: str, seen: list) -> LayerSaturation:
    seen = sorted(seen, key=lambda s: s.step)
    half = max(len(seen) // 2, 1)
    start = _mean(s.saturated_fraction for s in seen[:min(WINDOW, half)])
    end = _mean(s.saturated_fraction for s in seen[-min(max(WINDOW, len(seen) // 5), half):])
    first = [s.saturated_fraction for s in seen if s.step == BEFORE_ANY_UPDATE]
    on_target = [s.pinned_on_target for s in seen[-min(max(WINDOW, len(seen) // 5), half):]
                 if s.pinned_on_target is not None]
    return LayerSaturation(layer, kind, start, end, seen[-1].units,
                           _mean(first) if first else None,
                           _mean(on_target) if on_target else None)


def with_first_pass(case, layers: list[LayerSaturation]) -> list[LayerSaturation]:
    """``layers``, those computed by function calls whose first forward pass was not watched
    given it, measured on a copy of the initial model: a model written as plain tensors is
    watched from the optimizer step before each sampled pass, so never before any update, and
    its pinning from the start read as "over the first 3 steps" (dev tanh_large_init 340004:
    94% pinned, bad_init led). The i-th function-call layer of a kind is the i-th call of
    that kind in the copy's forward; nothing is filled when their counts differ."""
    missing = [s for s in layers if s.first is None and s.layer.startswith("torch.")]
    model = case.copies.initial_model
    if not missing or model is None:
        return layers
    try:
        calls = pinned_by_call(case.require_replay(), copy.deepcopy(model), HIDDEN_SATURATING)
    except Skip:
        return layers
    for kind in HIDDEN_SATURATING:
        named = function_layers(case.trace, layers, kind)
        shares = [share for found, share in calls if found == kind]
        if len(named) == len(shares):
            for layer, share in zip(named, shares, strict=True):
                layer.first = share if layer.first is None else layer.first
    return layers


def without_gates(case, layers: list[LayerSaturation]) -> list[LayerSaturation]:
    """``layers`` without the sigmoid and tanh outputs that gate another tensor of the forward
    (:mod:`._gates`: the tanh inside a GELU written out, SiLU's ``x * sigmoid(x)``), found in a
    forward pass of a copy of the initial model: pinned, a gate still passes the gradient of
    what it multiplies (projects6 mingpt_adder: NewGELU's tanh, 70% at +-1 from the first step
    to the last, read as a saturated layer). A module is known by its name; the i-th
    function-call layer of a kind is the copy's i-th function call of that kind, and none is
    dropped when their counts differ (as :func:`with_first_pass`)."""
    hidden = [s for s in layers if s.kind in HIDDEN_SATURATING]
    model = case.copies.initial_model
    if not hidden or model is None:
        return layers
    try:
        calls = activation_calls(case.require_replay(), copy.deepcopy(model))
    except Skip:
        return layers
    gates = {id(s) for s in hidden
             if any(c.gate and c.module == s.layer.split(", call ")[0] for c in calls)}
    for kind in HIDDEN_SATURATING:
        named = function_layers(case.trace, hidden, kind)
        called = [c for c in calls if c.kind == kind and not c.module]
        if len(named) == len(called):
            gates |= {id(s) for s, c in zip(named, called, strict=True) if c.gate}
    return [s for s in layers if id(s) not in gates]


def function_layers(trace, layers: list[LayerSaturation], kind: str) -> list[LayerSaturation]:
    """The ``kind`` layers of ``layers`` computed by function calls, in the order of the last
    sampled forward pass (a layer's first record may carry another name: the first pass named
    a NewGELU's tanh "torch.tanh after first", the next ones "torch.tanh in gelu")."""
    last = {(a.layer, a.kind): i for i, a in enumerate(trace.activations)}
    named = [s for s in layers if s.kind == kind and s.layer.startswith("torch.")]
    return sorted(named, key=lambda s: last.get((s.layer, s.kind), -1))


def _severity(layer: LayerSaturation) -> tuple:
    """The model's output (what the loss sees) first, then the most pinned."""
    return (layer.kind == "probabilities", layer.end, layer.start)


def _standardizing_experiment(case, worst: LayerSaturation):
    """When the inputs are off scale, replay with them standardized and look at the trained
    copy's outputs: (experiment, fraction still pinned), or (None, None)."""
    try:
        stats = feature_stats(case)
        if not stats.off_scale:
            return None, None
        baseline = case.baseline
    except Skip:
        return None, None
    model = copy.deepcopy(case.copies.initial_model)
    standardized = replay_standardized(case, stats, model)
    after = _pinned_after(case, model, worst.kind, stats.standardize)
    experiment = fix_experiment("standardize inputs", baseline, standardized)
    return experiment, after


def _pinned_after(case, model, kind: str, standardize) -> float | None:
    """Fraction of ``kind`` outputs pinned when the trained copy sees the validation batches."""
    output_kind = kind if kind == "probabilities" else None
    return pinned_after(case, model, (kind,), standardize, output_kind)


def _desaturated(experiment: Experiment | None, after: float | None) -> bool:
    """Standardizing the inputs un-pinned the layer and took a tenth or more off the loss."""
    return (experiment is not None and after is not None and after <= MOST
            and helped(experiment))


def _confidence(worst: LayerSaturation, loss: TrainingProgress, experiment, after) -> float:
    """0.55 for just over half pinned, up to 0.75 for all; more when pinned from the first step
    (before anything was learned) and when standardizing the inputs un-pins them; less when the
    loss still falls. At most 0.9: pinned units are seen, but that they stop the training is
    inferred (a cause that pins them, such as the input scale, declares so by ``explains``)."""
    confidence = 0.55 + 0.2 * (worst.end - MOST) / (1 - MOST)
    if worst.start > MOST:
        confidence += 0.1
    if _desaturated(experiment, after):
        confidence += 0.05
    if not loss.stuck:
        confidence -= 0.1
    return confidence


def _verdict(worst: LayerSaturation, pinned: list[LayerSaturation], loss: TrainingProgress,
             experiment, after) -> str:
    return " ".join(
        part for part in (_describe_pinning(worst, pinned), _describe_loss(loss),
                          _describe_experiment(experiment, after)) if part
    )


def _describe_pinning(worst: LayerSaturation, pinned: list[LayerSaturation]) -> str:
    what = _name(worst)
    limits = "-1 or 1" if worst.kind == "tanh" else "0 or 1"
    share = "rows" if worst.units <= 1 else "its outputs"
    if worst.first is not None and worst.first > MOST:
        found = (f"{what} is pinned at {limits} for {_percent(worst.first)} of {share} from the "
                 f"first step on, and for {_percent(worst.end)} at the end of training.")
        if not _is_output(worst):
            found += (" Pinned before any update, the units were put there by the start: the "
                      "scale of the initial weights, times the inputs'.")
    elif worst.start > MOST:
        found = (f"{what} is pinned at {limits} for {_percent(worst.start)} of {share} over the "
                 f"first {WINDOW} steps, and for {_percent(worst.end)} at the end of training.")
    else:
        found = f"{what} is pinned at {limits} for {_percent(worst.end)} of {share} by the end."
    return " ".join(part for part in (found, _others(worst, pinned)) if part)


def _others(worst: LayerSaturation, pinned: list[LayerSaturation]) -> str:
    """The other layers mostly pinned, named (saturated_activation_mlp_sigmoid_init: the text
    spoke of layer '1' alone, at 80%, while its figure drew layer 3 at 79% beside it)."""
    others = [s for s in pinned if s is not worst and not _is_the_output(s, worst)]
    if not others:
        return ""
    return "Also pinned: " + ", ".join(
        f"{_name(s)[:1].lower()}{_name(s)[1:]} ({_percent(s.end)} at the end)"
        for s in others) + "."


def _is_the_output(layer: LayerSaturation, worst: LayerSaturation) -> bool:
    """A sigmoid call as wide as the model's probability output and pinned as much: the output
    itself, seen once as the call and once as what the loss scored (example_2 named 'your
    model's sigmoid output' and then 'also pinned: the output of torch.sigmoid after fc')."""
    return (worst.kind == "probabilities" and layer.kind == "sigmoid"
            and layer.units == worst.units and abs(layer.end - worst.end) < SAME_OUTPUT_GAP)


def _name(layer: LayerSaturation) -> str:
    if layer.kind == "probabilities":
        return "Your model's sigmoid output"
    if layer.layer.startswith("torch."):  # a function call: "torch.tanh after hidden"
        return f"The output of {layer.layer}"
    return f"The {layer.kind} layer {layer.layer!r}"


def _describe_loss(loss: TrainingProgress) -> str:
    level = (f"The training loss stays around {plain_number(loss.end)}"
             if loss.end >= (1 - STALLED_DROP) * loss.start else
             f"The training loss went from {plain_number(loss.start)} to {plain_number(loss.end)}")
    if not loss.stuck:
        return (f"{level}, but pinned units pass almost no gradient back, so the layers "
                f"before them barely learn.")
    if loss.constant_guess is None:
        return f"{level}: pinned outputs pass almost no gradient, so learning has stalled."
    return (f"{level}, {loss.beside_guess} the {plain_number(loss.constant_guess)} of always "
            f"predicting the same answer: the pinned units pass almost no gradient, so "
            f"nothing gets them unstuck.")


def _describe_experiment(experiment: Experiment | None, after: float | None) -> str:
    if experiment is None or after is None:
        return ""
    losses = f"{plain_number(experiment.before)} to {plain_number(experiment.after)}"
    if _desaturated(experiment, after):
        still = "none" if after < 0.005 else f"only {_percent(after)}"
        return (f"With standardized inputs {still} stay pinned and the validation loss goes "
                f"from {losses} in a {experiment.steps}-step replay of your training.")
    return f"Standardizing the inputs does not un-pin them ({_percent(after)} still pinned)."


def _evidence(worst, pinned, loss: TrainingProgress, experiment, after) -> dict[str, float]:
    evidence = {
        "saturated_fraction_start": worst.start,
        "saturated_fraction_end": worst.end,
        "saturated_layers": float(len(pinned)),
        "train_loss_start": loss.start,
        "train_loss_end": loss.end,
    }
    if worst.first is not None:
        evidence["saturated_fraction_first_step"] = worst.first
    if loss.constant_guess is not None:
        evidence["constant_guess_loss"] = loss.constant_guess
    if experiment is not None and after is not None:
        evidence["saturated_fraction_after_standardizing"] = after
        evidence["val_loss_before"] = experiment.before
        evidence["val_loss_after"] = experiment.after
    return evidence


def _percent(fraction: float) -> str:
    return plain_share(fraction)


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0
