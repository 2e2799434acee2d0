"""Is the loss given what it expects? Loss mismatch, broadcast shapes and labels out of range.

Reads what sampled loss calls were given (trace.loss_inputs): shapes, the target's dtype and
range, the prediction's range, and whether a 2-D prediction's rows already are probabilities or
log-probabilities. Each rule below is a contract of the PyTorch loss, so a breach found on every
sampled call is a fact about the run, not a statistical guess:

- loss_mismatch: CrossEntropyLoss on one output unit (its loss is always 0) or on rows that
  sum to 1 (a softmax applied twice); NLLLoss on anything but log-probabilities;
  BCEWithLogitsLoss on outputs that never leave [0, 1] (a sigmoid applied twice: read from the
  graph of what the loss takes as logits, with a replay without the model's sigmoid,
  checks/_sigmoid_logits.py) or never go below 0 (a ReLU at the output: no probability below
  0.5); BCELoss on raw scores clipped into
  [eps, 1 - eps] on the way (Keras' binary_crossentropy without a sigmoid:
  checks/_clipped_scores.py); a loss on probabilities given a ReLU's output, which the clip
  hides (checks/_relu_probabilities.py). Integer-typed targets of a one-output regression are
  not a wrong loss but numbers cast on the way: data_pipeline reports them
  (checks/_cast_targets.py).
- shape_broadcast: an elementwise loss on a prediction and target of different shapes that
  broadcast to a bigger comparison ((N, 1) against (N,) compares every row with every target),
  or that repeat one side against the other's rows ((1, C) against (B, C): one prediction for a
  batch of targets; (T, 1) against (1, 1): a prediction per step against one target), unless
  the target is one constant. A replay with the target reshaped to the prediction's shape shows
  the fix where the two hold as many values.
- label_range: binary cross-entropy targets outside [0, 1] ({-1, 1} or {1, 2} labels), soft
  cross-entropy targets outside [0, 1], and regression targets beyond a bounded output (a
  sigmoid's (0, 1), a tanh's (-1, 1)) that the predictions press against and never leave, or
  below a ReLU's 0 that clamps them (checks/_clamped_output.py).

A loss written by hand calls no torch.nn loss, so no call is sampled; when it computes like one
(capture/loss_likeness.py), the targets of the batches kept for replays are held against that
loss's range instead, and the loss replayed on them tells whether it broadcast the prediction
against the target (label_range and shape_broadcast), and a loss like nll_loss whether the
untrained model's rows are log-probabilities (loss_mismatch; the other rules read the trained
model's outputs). A hand-written loss like no torch loss on the model's output is held against
them on its softmax and its sigmoid, as a training loop applies one on the way
(``nll(F.softmax(model(x), dim=1), y)``: _fed_likeness.py), and read on what it was given.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import replace

import torch

from lossdoctor.capture import stats
from lossdoctor.capture.loss_likeness import named_alike
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._clamped_output import (
    CLAMPED_FIX,
    UNREACHABLE_SHARE,
    clamped_at_zero,
    clamped_verdict,
    outputs_clamped_at_zero,
)
from lossdoctor.checks._clipped_scores import clipped_scores
from lossdoctor.checks._fed_likeness import FedLikeness, fed_likeness
from lossdoctor.checks._fix import fix_experiment, helped
from lossdoctor.checks._out_of_reach import out_of_reach
from lossdoctor.checks._plain import plain_number, plain_share
from lossdoctor.checks._relu_probabilities import relu_into_probabilities
from lossdoctor.checks._scaled_likeness import likeness
from lossdoctor.checks._sigmoid_logits import sigmoid_into_logits
from lossdoctor.checks._written_broadcast import broadcasts
from lossdoctor.experiments import Plan
from lossdoctor.findings import TRAINING_DYNAMICS, Cause, Experiment, Finding, Skip
from lossdoctor.losses import REGRESSION, alike, loss_kind
from lossdoctor.trace import LossInputStat

LABEL_RANGE = Cause(
    id="label_range",
    title="The labels are outside what the loss expects",
    fix="Make the labels what the loss expects (see the verdict).",
    question="Are the labels in the range the loss expects?",
    test=(
        "the targets' range and dtype at sampled loss calls against what the loss takes (class "
        "indices below the number of outputs, BCE targets in [0, 1])"
    ),
    # Targets the output cannot reach are also targets "far from unit scale"; standardizing
    # them only helps because it brings them inside the output's range. BCE targets above 1
    # reward logits without bound: with SGD the loss runs to -inf and turns NaN within a few
    # steps (bce_labels_percent, 0/100 labels, SGD with momentum at 0.01: NaN from step 4).
    explains=TRAINING_DYNAMICS | {"unscaled_targets", "nan_inf"},
    precedence=2,
)
LOSS_MISMATCH = Cause(
    id="loss_mismatch",
    title="The loss function does not match the model's output",
    fix="Give the loss what it expects (see the verdict).",
    question="Does the loss get the kind of output it expects?",
    test=(
        "the predictions' range and shape at sampled loss calls: probabilities where the loss "
        "wants logits (softmax twice), a single output unit for classes; an output its graph "
        "keeps in [0, 1] where the loss wants logits (sigmoid twice), replayed without the "
        "sigmoid; a ReLU output where it wants probabilities, replayed with a sigmoid in its "
        "place"
    ),
    # A loss without a floor (NLLLoss on raw scores) rewards a score without bound until it
    # overflows: dev nll_on_raw_logits 426013, 426101 and 426309 turned NaN. Its gradients
    # then explode too, and the replays that blame them go below the floor (stood down:
    # below_floor_replays.py), which left the NaN as a cause of its own.
    explains=TRAINING_DYNAMICS | {"nan_inf"},
    precedence=2,
)
SHAPE_BROADCAST = Cause(
    id="shape_broadcast",
    title="Prediction and target shapes differ and the loss broadcasts them",
    fix="Make the prediction and the target the same shape (see the verdict).",
    question="Do prediction and target have the same shape?",
    test="prediction and target shapes at sampled loss calls; replay with the shapes matched",
    explains=TRAINING_DYNAMICS,
    precedence=2,
)

CAUSES = (LABEL_RANGE, LOSS_MISMATCH, SHAPE_BROADCAST)


CROSS_ENTROPY = ("CrossEntropyLoss", "cross_entropy")
NLL = ("NLLLoss", "nll_loss")
BCE_WITH_LOGITS = ("BCEWithLogitsLoss", "binary_cross_entropy_with_logits")
#: Losses that compare prediction and target element by element, broadcasting what differs.
ELEMENTWISE = ("MSELoss", "mse_loss", "L1Loss", "l1_loss", "HuberLoss", "huber_loss",
               "SmoothL1Loss", "smooth_l1_loss")
#: A pattern must hold on this many sampled calls before it is taken as the model's habit: one
#: batch of logits can land inside [0, 1] by chance right after initialization, several cannot.
MIN_CALLS = 3
#: A loss contract broken on every sampled call is a fact read off the loss's inputs, not an
#: inference from a replay; that it leads the ranking is the cause's declared precedence.
CERTAIN = 0.99
ALMOST_CERTAIN = 0.97
#: Said after a contract breach: the other findings describe training on the wrong objective.
FIRST = " Fix this first: other findings about this run may only be its consequences."


def check(case) -> list[Finding]:
    calls = case.trace.loss_inputs
    if not calls:
        return _hand_written(case)
    findings = []
    for name, seen in _by_loss(calls).items():
        findings += _mismatch(name, seen) + _sigmoid_twice(case, name, seen)
        findings += _broadcast(case, name, seen) + _label_range(name, seen)
        findings += _beyond_bounded_output(name, seen) + _clamped(case, name, seen)
        findings += _clamped_logits(case, name, seen) + _relu_output(case, name)
        findings += _clipped_raw_scores(case, name, seen)
        if not any(f.cause is LABEL_RANGE for f in findings):  # its replay is not needed
            findings += _unreachable(case, name, seen)
    return _first_of_each_cause(findings + _around_torch_loss(case, calls))


def _by_loss(calls: list[LossInputStat]) -> dict[str, list[LossInputStat]]:
    """Sampled calls by loss name, the most called loss first."""
    grouped: dict[str, list[LossInputStat]] = {}
    for call in calls:
        grouped.setdefault(call.loss_name, []).append(call)
    return dict(sorted(grouped.items(), key=lambda item: -len(item[1])))


def _first_of_each_cause(findings: list[Finding]) -> list[Finding]:
    kept: dict[Cause, Finding] = {}
    for finding in findings:
        kept.setdefault(finding.cause, finding)
    return list(kept.values())


# --- loss_mismatch -------------------------------------------------------------------------

def _mismatch(name: str, seen: list[LossInputStat]) -> list[Finding]:
    for rule in (_one_class, _softmax_of_one_unit, _double_softmax, _log_softmax_of_probabilities,
                 _nll_without_log_softmax):
        found = rule(name, seen)
        if found is not None:
            return [_mismatch_finding(seen, found)]
    return []


def _mismatch_finding(seen: list[LossInputStat], found) -> Finding:
    confidence, verdict, evidence, fix = found
    evidence = {"sampled_loss_calls": float(len(seen)), **evidence, **_ranges(seen)}
    return Finding(LOSS_MISMATCH, confidence, verdict + FIRST, evidence, fix=fix)


def _one_class(name, seen):
    if name not in CROSS_ENTROPY or not all(_units(s) == 1 for s in seen):
        return None
    return CERTAIN, (
        f"Your model has a single output unit, and {name} takes a softmax over the output "
        f"units: the softmax of one number is always 1, so the loss is always 0 and nothing "
        f"is learned."
    ), {"output_units": 1.0}, (
        "For two classes, use BCEWithLogitsLoss on that one output unit with float 0/1 "
        "targets; otherwise give the model one output unit per class.")


#: The least a probability pinned at 1 is given to the loss as: Keras clips probabilities to
#: [1e-7, 1 - 1e-7] before its cross-entropy (keras/src/backend/torch/nn.py, epsilon 1e-7), which
#: is 0.99999988 in float32 (fresh30 s01: a Dense(1, softmax) recorded there, never at 1.0).
CLIPPED_ONE = 1 - 1e-6


def _softmax_of_one_unit(name, seen):
    """A loss on probabilities (BCELoss) given 1 (or 1 clipped: CLIPPED_ONE) for every row of
    every sampled call, from the first: a softmax over one output unit, which is 1 whatever the
    unit says (Keras' Dense(1, activation='softmax')). A sigmoid starts near 0.5 and only
    saturates to 1 late."""
    kind = loss_kind(name)
    if kind is None or kind.output != "probabilities" or len(seen) < MIN_CALLS:
        return None
    if not all(s.prediction_min == s.prediction_max >= CLIPPED_ONE for s in seen):
        return None
    return CERTAIN, (
        f"Your model's output is exactly 1 for every example, from the first step on: it "
        f"ends in a softmax over a single output unit, and the softmax of one number is "
        f"always 1. The prediction cannot move, no gradient reaches the model, and {name} "
        f"stays where it started."
    ), {"output_units": 1.0}, (
        "For one probability per example, end the model with a sigmoid (or drop it and use "
        "BCEWithLogitsLoss on the raw output); keep a softmax for one unit per class.")


def _double_softmax(name, seen, shown: str | None = None):
    if name not in CROSS_ENTROPY or not _always(seen, "rows_sum_to_one"):
        return None
    classes = max(_units(s) for s in seen)
    return ALMOST_CERTAIN, (
        f"Every row of your model's output sums to 1: it already ends in a softmax, and "
        f"{_mid_sentence(shown) or name} applies another one. The second softmax squeezes "
        f"probabilities between 0 and 1 into values close together: with your {classes} "
        f"classes even a perfectly confident, correct model has a loss of "
        f"{double_softmax_floor(classes):.3g} instead of 0, and the gradients shrink."
    ), {"rows_summing_to_one": 1.0, "loss_floor": double_softmax_floor(classes)}, (
        f"Remove the model's final softmax: {name} expects raw scores (logits). (In Keras: "
        f"or keep the softmax and build the loss with from_logits=False.)")


def _mid_sentence(shown: str | None) -> str | None:
    return shown[0].lower() + shown[1:] if shown else shown


#: The widest row (largest minus smallest value) the loss's log-probabilities of a softmax output
#: must reach on the last sampled calls: the model puts a class half a probability above another,
#: so it has picked one; near-uniform rows of a model that learnt nothing fit any band.
#: Development set (bench/double_softmax_dev.py, 192 models with a softmax head): 188 of them
#: reach it, and none of their 192 twins without the head stays in the band at all.
MIN_WIDEST_ROW = 0.5


def _log_softmax_of_probabilities(name, seen):
    """log_softmax (or CrossEntropyLoss's own) over a model's softmax output: every row the loss
    gets is a row of probabilities shifted by a constant, on every sampled call, and the model
    has picked classes (MIN_WIDEST_ROW) within it."""
    if name not in CROSS_ENTROPY + NLL or len(seen) < MIN_CALLS:
        return None
    if not _always(seen, "rows_log_softmax_of_probabilities"):
        return None
    late = sorted(seen, key=lambda s: s.step)[-MIN_CALLS:]
    widest = min(s.widest_row for s in late)
    if widest < MIN_WIDEST_ROW:
        return None
    classes = max(_units(s) for s in seen)
    return ALMOST_CERTAIN, (
        f"Your model already ends in a softmax, and the loss takes a log_softmax of its "
        f"probabilities: a second softmax. The log-probabilities {name} gets never spread "
        f"more than 1 apart within a row, so with your {classes} classes even a perfectly "
        f"confident, correct model has a loss of {double_softmax_floor(classes):.3g} instead "
        f"of 0, and the gradients shrink."
    ), {"rows_log_softmax_of_probabilities": 1.0, "widest_row_late": widest,
        "loss_floor": double_softmax_floor(classes)}, (
        "Remove the model's final softmax: take the log_softmax (or CrossEntropyLoss) of the "
        "raw scores (logits).")


def double_softmax_floor(classes: int) -> float:
    """Cross-entropy of a softmax over a one-hot probability row (the best a model ending in a
    softmax can give it): -log(e / (e + classes - 1))."""
    return math.log(math.e + classes - 1) - 1


def _nll_without_log_softmax(name, seen, shown: str | None = None):
    """NLLLoss on rows that are not log-probabilities: probabilities, raw scores with positive
    values, or rows of scores at or below 0 whose exps never sum to 1 (an untrained head whose
    biases all drew below 0, on small inputs, gives such rows). ``shown``: how the verdict
    names the loss (a hand-written one)."""
    if name not in NLL or _always(seen, "rows_log_softmax"):
        return None
    if _always(seen, "rows_sum_to_one"):
        what = ("probabilities (rows that sum to 1), not log-probabilities: it then rewards "
                "small probabilities as much as it should reward large log-probabilities")
    elif max(s.prediction_max for s in seen) > 0:
        what = ("raw scores with positive values, not log-probabilities: the loss has no "
                "floor, and the model can lower it without limit by inflating one output")
    elif _never(seen, "rows_log_softmax"):
        what = ("raw scores, not log-probabilities (the exps of a row do not sum to 1): the "
                "loss has no floor, and the model can lower it without limit by raising one "
                "output")
    else:
        return None
    return ALMOST_CERTAIN, (
        f"{shown or name} expects log-probabilities (the output of log_softmax), but it is "
        f"given {what}."
    ), {}, ("End the model with nn.LogSoftmax(dim=1), or drop its final layer and use "
            "CrossEntropyLoss on the raw scores.")


#: A sigmoid's value at 0. A fresh output layer gives values near 0, so a sigmoid after it
#: starts near this, and BCE on the positive class pushes it up from there: over the sampled
#: calls a sigmoid's outputs reach it (dev cases of sigmoid_then_bce_with_logits, seeds
#: 13065-13975: highest 0.52, 0.74, 1.0, 1.0, 1.0). Logits that a model too slow to move keeps
#: inside [0, 1] by chance need not (plain SGD at Adam's rate, dev case 14335: 0.013 to 0.16).
#: Only read where the output's graph cannot be (a sigmoid written as 1 / (1 + exp(-z))).
SIGMOID_MIDPOINT = 0.5
#: The probabilities a loss on logits gives to logits in [0, 1]: sigmoid(0) and sigmoid(1).
DOUBLE_SIGMOID_RANGE = (0.5, 1 / (1 + math.exp(-1)))


def _sigmoid_twice(case, name: str, seen: list[LossInputStat],
                   shown: str | None = None) -> list[Finding]:
    """BCEWithLogitsLoss (or a loss written like it) given a model's output that ends in a
    sigmoid: read from the graph of what the loss takes as logits, with a replay without the
    sigmoid (_sigmoid_logits.py); where the graph says nothing, from the values the sampled
    calls were given (_double_sigmoid)."""
    if name not in BCE_WITH_LOGITS:
        return []
    found = sigmoid_into_logits(case)
    if found is None:
        double = _double_sigmoid(name, seen) if shown is None else None
        return [_mismatch_finding(seen, double)] if double is not None else []
    evidence = {"sampled_loss_calls": float(len(seen)), **_ranges(seen),
                "output_bounded_to_unit": 1.0}
    if found.loss_floor is not None:
        evidence["loss_floor"] = found.loss_floor
    if found.experiment is not None:
        evidence.update(val_loss_before=found.experiment.before,
                        val_loss_after=found.experiment.after)
    named = _mid_sentence(shown) or name
    return [Finding(LOSS_MISMATCH, CERTAIN if found.fixed else ALMOST_CERTAIN,
                    _sigmoid_twice_verdict(named, found) + FIRST, evidence,
                    fix=f"Remove the model's final sigmoid: {named} expects raw scores "
                        f"(logits).", experiment=found.experiment)]


def _sigmoid_twice_verdict(name: str, found) -> str:
    low, high = DOUBLE_SIGMOID_RANGE
    ending = ("ends in a sigmoid" if found.has_sigmoid
              else "ends in an operation that keeps it in [0, 1], as a sigmoid does")
    text = (f"Your model's output {ending}, so it never leaves [0, 1], and {name} applies "
            f"a sigmoid again: the probabilities it scores can only move between "
            f"{low:.2g} and {high:.2g}. No example can be put in the negative class"
            f"{_floor_words(found.loss_floor)}.")
    if not found.fixed:
        return text
    return (f"{text} With the sigmoid taken out, the validation loss goes from "
            f"{plain_number(found.experiment.before)} to "
            f"{plain_number(found.experiment.after)} in a {found.experiment.steps}-step replay "
            f"of your training.")


def _floor_words(floor: float | None) -> str:
    if floor is None:
        return ", and the gradients shrink"
    return (f", and on your training targets the loss cannot go below {plain_number(floor)}, "
            f"the gradients shrinking as it nears that")


def _double_sigmoid(name, seen):
    inside = all(s.prediction_min >= 0 and s.prediction_max <= 1 for s in seen)
    if name not in BCE_WITH_LOGITS or len(seen) < MIN_CALLS or not inside:
        return None
    if max(s.prediction_max for s in seen) < SIGMOID_MIDPOINT:
        return None
    return 0.85, (
        f"Your model's outputs never leave [0, 1]: it already ends in a sigmoid, and {name} "
        f"applies another one. Its probabilities can then only move between 0.5 and 0.73, so "
        f"it cannot predict the negative class and the loss stalls."
    ), {}, f"Remove the model's final sigmoid: {name} expects raw scores (logits)."


def _clipped_raw_scores(case, name: str, seen: list[LossInputStat]) -> list[Finding]:
    """A loss on probabilities given the model's raw scores, clipped into its range on the
    way (Keras' binary_crossentropy on a Dense(1) without activation; ``p.clamp(eps, 1 - eps)``
    by hand): _clipped_scores.py reads both the clip and the raw output."""
    kind = loss_kind(name)
    if kind is None or kind.output != "probabilities":
        return []
    found = clipped_scores(case)
    if found is None:
        return []
    evidence = {"sampled_loss_calls": float(len(seen)), **_ranges(seen), **found.evidence()}
    verdict = (
        f"{name} expects probabilities between 0 and 1, but your model's output goes from "
        f"{plain_number(found.output_min)} to {plain_number(found.output_max)}: it has no "
        f"sigmoid at the end. The raw scores are clipped into (0, 1) on the way to the loss "
        f"({_clip_in_words(found)}), so every score outside (0, 1) costs the same and sends "
        f"no gradient back, and the model cannot learn from those examples."
    ) + FIRST
    fix = ("End the model with a sigmoid (in Keras: Dense(1, activation='sigmoid')), or keep "
           "the raw scores and use a loss that takes logits (BCEWithLogitsLoss; in Keras "
           "BinaryCrossentropy(from_logits=True)).")
    return [Finding(LOSS_MISMATCH, CERTAIN, verdict, evidence, fix=fix)]


#: A ReLU output whose replay with a sigmoid in its place did not help, on curves without a
#: symptom: the mismatch is real but did not hold this run back, advice kept dismissed
#: (dead_relu's ADVICE_CONFIDENCE, measured there on dead output and hidden layers).
RELU_OUTPUT_ADVICE = 0.3


def _relu_output(case, name: str) -> list[Finding]:
    """A ReLU at the output fed to a loss on probabilities (checks/_relu_probabilities.py)."""
    found = relu_into_probabilities(case, name)
    if found is None:
        return []
    fixed = found.experiment is not None and helped(found.experiment, case)
    shown = fixed or getattr(case, "curves_show_symptom", None) is not False
    evidence = {"outputs_at_zero": found.at_zero}
    if found.experiment is not None:
        evidence.update(val_loss_before=found.experiment.before,
                        val_loss_after=found.experiment.after)
    verdict = (
        f"{name} expects probabilities between 0 and 1, but your model's output comes out of "
        f"a ReLU: 0 or above, without bound. The loss clips it into (0, 1), so an output at 0 "
        f"costs the most a row can and, a ReLU at 0 passing no gradient, stays there "
        f"({plain_share(found.at_zero)} of your trained model's outputs are exactly 0)."
        + _squashed_words(found.experiment, fixed)) + FIRST
    fix = (f"End the model with a {found.squashing} in place of the ReLU (in Keras: "
           f"activation='{found.squashing}' on the last layer).")
    return [Finding(LOSS_MISMATCH, CERTAIN if shown else RELU_OUTPUT_ADVICE, verdict, evidence,
                    fix=fix, experiment=found.experiment)]


def _squashed_words(experiment: Experiment | None, fixed: bool) -> str:
    if experiment is None or not fixed:
        return ""
    return (f" With {experiment.description}, the validation loss goes from "
            f"{plain_number(experiment.before)} to {plain_number(experiment.after)} in a "
            f"{experiment.steps}-step replay of your training.")


def _clip_in_words(found) -> str:
    """'every score below 1e-07 becomes 1e-07 and every one above 1 - 1.19e-07 becomes
    1 - 1.19e-07': the bounds the loss's inputs were seen held at (0.99999988 would read 1)."""
    parts = []
    if found.low is not None:
        low = plain_number(found.low)
        parts.append(f"every score below {low} becomes {low}")
    if found.high is not None:
        high = "1" if found.high >= 1 else f"1 - {plain_number(1 - found.high)}"
        parts.append(f"every {'one' if parts else 'score'} above {high} becomes {high}")
    return " and ".join(parts)


def _clamped_logits(case, name: str, seen: list[LossInputStat]) -> list[Finding]:
    """BCEWithLogitsLoss on outputs clamped at zero (a ReLU after the output layer): every
    sampled call's outputs at least 0, the last LATE_CALLS' smallest exactly 0, so no
    probability goes below sigmoid(0) = 0.5, and enough negative targets (below 0.5) that this
    floor alone, log 2 for each, is UNREACHABLE_SHARE or more of the constant guess's loss.
    BCELoss on probabilities clamped at exactly 0.5 is the same ReLU with the sigmoid in the
    model (Keras' Dense(1, activation='relu') then a sigmoid, and binary_crossentropy)."""
    if name in BCE_WITH_LOGITS and outputs_clamped_at_zero(seen):
        return _clamped_at_half(case, name, seen, (
            f"Your model's outputs never go below 0, and the smallest of each batch is exactly "
            f"0 (a ReLU after the output layer, it seems), but {name} reads them as logits: the "
            f"probability it takes, their sigmoid, can never fall below 0.5"),
            f"Remove the activation after the output layer: {name} expects raw scores "
            f"(logits), negative for the negative class.")
    if _binary_probabilities(name) and outputs_clamped_at_zero(_less_half(seen)):
        return _clamped_at_half(case, name, seen, (
            "Your model's probabilities never go below 0.5, and the smallest of each batch is "
            "exactly 0.5, the sigmoid of 0: a ReLU comes before the sigmoid at the output, so "
            "the probability can never fall below 0.5"),
            "Remove the ReLU before the output's sigmoid (in Keras: Dense(1, "
            "activation='sigmoid'), with no activation between).")
    return []


def _binary_probabilities(name: str) -> bool:
    kind = loss_kind(name)
    return kind is not None and kind.binary and kind.output == "probabilities"


def _less_half(seen: list[LossInputStat]) -> list[LossInputStat]:
    return [replace(s, prediction_min=s.prediction_min - 0.5) for s in seen]


def _clamped_at_half(case, name: str, seen: list[LossInputStat], what: str,
                     fix: str) -> list[Finding]:
    share = _negative_floor_share(_training_targets(case))
    if share is None or share < UNREACHABLE_SHARE:
        return []
    evidence = {"sampled_loss_calls": float(len(seen)), **_ranges(seen),
                "unreachable_share": share}
    verdict = (
        f"{what}, so no example can be put in the negative class. That alone keeps the loss "
        f"above {share:.0%} of what always predicting the average gives.")
    return [Finding(LOSS_MISMATCH, ALMOST_CERTAIN, verdict + FIRST, evidence, fix=fix)]


def _negative_floor_share(targets: torch.Tensor | None) -> float | None:
    """The loss a clamp at logit 0 cannot go below (log 2 for each target under 0.5), over the
    binary cross-entropy of always predicting the targets' mean."""
    if targets is None or targets.numel() < 2:
        return None
    targets = targets.double().clamp(0, 1)
    mean = float(targets.mean())
    if not 0 < mean < 1:
        return None
    constant = -(mean * math.log(mean) + (1 - mean) * math.log(1 - mean))
    return float((targets < 0.5).double().mean()) * math.log(2) / constant


# --- shape_broadcast ----------------------------------------------------------------------

def _broadcast(case, name: str, seen: list[LossInputStat]) -> list[Finding]:
    broadcast = _broadcast_calls(seen)
    if name not in ELEMENTWISE or not broadcast:
        return []
    return [_broadcast_finding(case, name, seen, broadcast)]


def _broadcast_calls(seen: list[LossInputStat]) -> list[LossInputStat]:
    """The calls whose broadcast grows the comparison; else those whose broadcast repeats one
    side, unless their target is one constant."""
    grown = [s for s in seen if _broadcast_grows(s)]
    if grown:
        return grown
    repeated = [s for s in seen if _broadcast_repeats(s)]
    return [] if _one_constant_target(repeated) else repeated


def _broadcast_finding(case, name: str, seen: list[LossInputStat],
                       grown: list[LossInputStat]) -> Finding:
    call = grown[0]
    experiment = _reshape_experiment(case, call)
    fixed = experiment is not None and helped(experiment, case)
    evidence = {"sampled_loss_calls": float(len(seen)),
                "broadcast_loss_calls": float(len(grown)),
                "prediction_columns": float(_units(call)),
                "comparisons_per_row": float(_comparisons(call) / max(call.prediction_shape[0], 1))}
    if experiment is not None:
        evidence.update(val_loss_before=experiment.before, val_loss_after=experiment.after)
    return Finding(SHAPE_BROADCAST, CERTAIN if fixed else 0.9,
                   _broadcast_verdict(name, call, experiment), evidence,
                   fix=_broadcast_fix(call), experiment=experiment)


def _broadcast_grows(call: LossInputStat) -> bool:
    """Different shapes that broadcast to more comparisons than either side holds."""
    if call.prediction_shape == call.target_shape:
        return False
    try:
        _ = torch.broadcast_shapes(call.prediction_shape, call.target_shape)
    except RuntimeError:
        return False
    return _comparisons(call) > max(math.prod(call.prediction_shape),
                                    math.prod(call.target_shape))


def _broadcast_repeats(call: LossInputStat) -> bool:
    """Different shapes where the broadcast repeats one side against the other's rows: one
    prediction row against a batch of targets ((1, C) against (B, C): the batch was folded into
    the features before the output), or one target against several rows of predictions
    ((T, 1) against (1, 1): a prediction per step, and the one target of the sequence). Columns
    repeated against one target ((B, K) against (B, 1), K heads of an ensemble fitting the same
    value) are not counted: that can be meant."""
    if call.prediction_shape == call.target_shape:
        return False
    try:
        size = list(torch.broadcast_shapes(call.prediction_shape, call.target_shape))
    except RuntimeError:
        return False
    prediction = _aligned(call.prediction_shape, len(size))
    target = _aligned(call.target_shape, len(size))
    prediction_repeated = any(p == 1 < b for p, b in zip(prediction, size, strict=True))
    return prediction_repeated or (bool(size) and target[0] == 1 < size[0])


def _aligned(shape: list[int], dims: int) -> list[int]:
    return [1] * (dims - len(shape)) + list(shape)


def _one_constant_target(calls: list[LossInputStat]) -> bool:
    """Every call's target is one and the same number (a penalty pulling outputs to 0, say):
    repeating it against every prediction is what the broadcast is for."""
    return bool(calls) and all(s.target_min == s.target_max == calls[0].target_min
                               for s in calls)


def _comparisons(call: LossInputStat) -> int:
    return math.prod(torch.broadcast_shapes(call.prediction_shape, call.target_shape))


def _reshape_experiment(case, call: LossInputStat) -> Experiment | None:
    """Replay with each target reshaped to the prediction's shape, against the user's setup;
    None where the two hold different numbers of values (no reshape matches them)."""
    if math.prod(call.prediction_shape) != math.prod(call.target_shape):
        return None
    try:
        replayer = case.require_replay()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch's broadcast warning, again
            baseline = case.baseline
            plan = Plan(steps=REPLAY_STEPS, transform=_target_like(replayer.copies))
            fixed = replayer.replay(plan)
    except (Skip, RuntimeError):  # no replay, or targets that do not fit the prediction
        return None
    return fix_experiment("prediction and target of the same shape", baseline, fixed)


def _target_like(copies):
    shape = tuple(copies.prediction_shape)

    def reshape(batch):
        return replace(batch, target=batch.target.reshape(-1, *shape))

    return reshape


def _broadcast_verdict(name: str, call: LossInputStat, experiment) -> str:
    prediction, target = _shape(call.prediction_shape), _shape(call.target_shape)
    text = (f"Your model's predictions have shape {prediction} but the targets have shape "
            f"{target}, and {name} broadcasts them to {_shape(_broadcast_list(call))}: "
            f"{_repeated(call)}. The best the model can do is predict an average of the "
            f"targets it is compared with, so the loss stays flat (PyTorch warns about this "
            f"with 'Using a target size ...').")
    if experiment is None:
        return text
    return (f"{text} With matching shapes the validation loss goes from "
            f"{plain_number(experiment.before)} to {plain_number(experiment.after)} in a "
            f"{experiment.steps}-step replay of your training.")


def _repeated(call: LossInputStat) -> str:
    """Which side the broadcast repeats, in words."""
    comparisons = _comparisons(call)
    per_prediction = comparisons // max(math.prod(call.prediction_shape), 1)
    per_target = comparisons // max(math.prod(call.target_shape), 1)
    if per_prediction > 1 and per_target > 1:
        return (f"every prediction is compared with {per_prediction} targets, not just its "
                f"own")
    if per_prediction > 1:
        return (f"each prediction stands for {per_prediction} targets: the rows of the batch "
                f"were merged before the output (a view or reshape that folds the batch into "
                f"the features?)")
    return (f"each target is compared with {per_target} predictions, not one: the model gives "
            f"more outputs than there are targets (one per step of a sequence?)")


def _broadcast_fix(call: LossInputStat) -> str:
    if _units(call) == 1 and len(call.target_shape) == 1:
        return ("Squeeze the prediction's last axis (model(x).squeeze(-1)) or add one to the "
                "target (y.unsqueeze(-1)) so both have the same shape.")
    return SHAPE_BROADCAST.fix


def _broadcast_list(call: LossInputStat) -> list[int]:
    return list(torch.broadcast_shapes(call.prediction_shape, call.target_shape))


# --- label_range --------------------------------------------------------------------------

NO_LOSS_CALL = ("needs a loss from torch.nn or torch.nn.functional called on a prediction and a "
                "target tensor, or a hand-written one that computes like one: none was seen")
#: Kept batches whose targets are read for a hand-written loss: the label coding shows in any.
HAND_WRITTEN_BATCHES = 8


def _hand_written(case) -> list[Finding]:
    """label_range, shape_broadcast and loss_mismatch for a loss written by hand that computes
    like a torch.nn loss (on the model's output or an activation of it), read from the kept
    training batches (their targets, and whether the loss
    broadcast the untrained model's prediction against them: _written_broadcast.py). Its kind
    is inferred from the values it gave, not named by the script: ALMOST_CERTAIN rather than
    CERTAIN."""
    like, fed = _hand_written_likeness(case)
    if like is None:
        raise Skip(NO_LOSS_CALL)
    model = copy.deepcopy(case.copies.initial_model).eval()  # the copy's own stays as it was
    batches = case.replayer.train_batches[:HAND_WRITTEN_BATCHES]
    kept = [stat for stat in (_kept_batch_stat(case, model, like, b, fed) for b in batches)
            if stat is not None]
    if not kept:
        raise Skip(NO_LOSS_CALL)
    seen = [stat for stat, _ in kept]
    shown = _hand_written_name(like, fed)
    grown = [stat for stat, spread in kept if spread and _broadcast_grows(stat)]
    found = [_broadcast_finding(case, shown.lower(), seen, grown)] if grown else []
    found += _label_range(shown, seen) + _clamped(case, like, seen)
    found += _hand_written_mismatch(shown, like, seen) + _sigmoid_twice(case, like, seen, shown)
    if not any(f.cause is LABEL_RANGE for f in found):  # its replay is not needed
        found += _unreachable(case, like, seen)
    found = [replace(f, confidence=min(f.confidence, ALMOST_CERTAIN)) for f in found]
    return found if fed is None else [_fed_fix(f, fed) for f in found]


def _hand_written_likeness(case) -> tuple[str | None, FedLikeness | None]:
    """The torch loss a hand-written loss computes like on the model's output, else on an
    activation of it applied on the way (_fed_likeness.py), with that activation."""
    if case.copies.initial_model is None:
        return None, None
    like = likeness(case)
    if like is not None:
        return like, None
    fed = fed_likeness(case)
    return (fed.like, fed) if fed is not None else (None, None)


def _hand_written_name(like: str, fed: FedLikeness | None) -> str:
    if fed is None:
        return f"Your hand-written loss (like {like})"
    return f"Your hand-written loss (like {like}, given the {fed.activation} of the model's output)"


def _fed_fix(finding: Finding, fed: FedLikeness) -> Finding:
    """A loss like nll_loss given the softmax of the output: the fix is at that softmax."""
    if finding.cause is not LOSS_MISMATCH or fed.like not in NLL or fed.activation != "softmax":
        return finding
    return replace(finding, fix=(
        "Take the log_softmax of your model's output where you take its softmax before the "
        "loss (or give the raw output to cross_entropy, which takes the log_softmax itself)."))


#: Keras' cross-entropies on probabilities, which compute the log of the clipped probabilities
#: themselves and call a torch loss on it (sparse_categorical_crossentropy calls nll_loss): the
#: sampled calls show Keras' log-probabilities, not the model's output.
KERAS_PROBABILITY_LOSSES = ("categorical_crossentropy", "sparse_categorical_crossentropy")


def _around_torch_loss(case, calls: list[LossInputStat]) -> list[Finding]:
    """The mismatch rules of a Keras probability loss that called a torch loss inside, read on
    the untrained model's output on the kept batches, as for a loss written by hand."""
    like = alike(case.trace.setup.loss_name or "")
    if like not in KERAS_PROBABILITY_LOSSES or any(c.loss_name == like for c in calls):
        return []
    if case.copies.initial_model is None or not case.copies.train.batches:
        return []
    try:
        replayer = case.require_replay()
    except Skip:
        return []
    model = copy.deepcopy(case.copies.initial_model).eval()
    kept = [_kept_batch_stat(case, model, like, b)
            for b in replayer.train_batches[:HAND_WRITTEN_BATCHES]]
    seen = [stat for stat, _ in (k for k in kept if k is not None)]
    if not seen:
        return []
    found = _hand_written_mismatch(f"Your loss ({like})", like, seen)
    return [replace(f, confidence=min(f.confidence, ALMOST_CERTAIN)) for f in found]


def _hand_written_mismatch(shown: str, like: str, seen: list[LossInputStat]) -> list[Finding]:
    """The mismatch rules that hold for the untrained model as for the trained one, read on
    the untrained model's rows replayed on the kept batches (the others read the trained
    model's outputs): a loss that gives nll_loss's value on the model's output
    (``-out.gather(1, y[:, None]).mean()``) takes it as log-probabilities; one like
    cross_entropy (Keras' categorical_crossentropy with from_logits=True) takes it as raw
    scores, which a softmax at the end makes rows summing to 1 from the start; one like Keras'
    probability cross-entropies takes it as probabilities (from_logits=False)."""
    for rule in (_nll_without_log_softmax, _double_softmax, _keras_raw_scores):
        found = rule(like, seen, shown=shown)
        if found is not None:
            return [_mismatch_finding(seen, found)]
    return []


def _keras_raw_scores(name, seen, shown: str | None = None):
    """Keras' categorical (or sparse) cross-entropy with from_logits=False on rows that are not
    probabilities: negative values in rows that do not sum to 1, on every sampled call. Keras
    divides each row by its sum and clips the result into [1e-7, 1 - 1e-7]: a row of raw
    scores becomes values of no meaning, most of them held at the clip, where no gradient
    passes (a model without a softmax at the end)."""
    kind = loss_kind(name)
    if kind is None or kind.output != "probabilities" or kind.binary:
        return None
    two_d = [s for s in seen if len(s.prediction_shape) >= 2 and _units(s) > 1]
    if len(two_d) < min(MIN_CALLS, len(seen)) or not two_d:
        return None
    if not all(s.prediction_min < 0 and not s.rows_sum_to_one for s in two_d):
        return None
    return ALMOST_CERTAIN, (
        f"{shown or name} expects each row of your model's output to be class probabilities "
        f"(a softmax at the end), but your model gives raw scores, with negative values: the "
        f"loss divides each row by its sum and clips it into [1e-7, 1 - 1e-7], so most scores "
        f"sit on the clip, send no gradient back, and the loss measures nothing you want."
    ), {"prediction_min": min(s.prediction_min for s in two_d)}, (
        "End the model with a softmax (in Keras: Dense(classes, activation='softmax')), or "
        "keep the raw scores and build the loss with from_logits=True.")


def _kept_batch_stat(case, model, like: str, batch,
                     fed: FedLikeness | None = None) -> tuple[LossInputStat, bool] | None:
    """What the loss was given on a kept batch: its target, and the untrained model's
    prediction (of which label_range reads only the shape), passed through the activation
    ``fed`` says the loss was given; and whether the loss broadcast the two against each
    other."""
    if not isinstance(batch.target, torch.Tensor) or batch.target.numel() == 0:
        return None
    try:
        with torch.no_grad():
            prediction = case.replayer.predict(model, batch)
            prediction = fed.fed(prediction) if fed is not None else prediction
            spread = broadcasts(case.replayer, model, batch, prediction, like)
    except Exception:  # noqa: BLE001 - a batch the copy cannot score says nothing
        return None
    if not isinstance(prediction, torch.Tensor) or prediction.numel() == 0:
        return None
    return LossInputStat(step=0, phase="train", loss_name=named_alike("hand-written loss", like),
                         **stats.loss_input_numbers(prediction, batch.target)), spread


def _label_range(name: str, seen: list[LossInputStat]) -> list[Finding]:
    kind = loss_kind(name)
    binary = kind is not None and kind.binary
    soft = name in CROSS_ENTROPY and all(_soft_targets(s) for s in seen)
    low, high = _low(seen), _high(seen)
    if not (binary or soft) or (low >= 0 and high <= 1):
        return []
    evidence = {"sampled_loss_calls": float(len(seen)), "target_min": low, "target_max": high}
    confidence = CERTAIN if binary else 0.9
    verdict = _range_verdict(name, seen, binary) + FIRST
    return [Finding(LABEL_RANGE, confidence, verdict, evidence,
                    fix=_range_fix(seen))]


#: The ranges of the usual bounded output layers: sigmoid, then tanh.
BOUNDED_OUTPUTS = ((0.0, 1.0), (-1.0, 1.0))
#: "Pressed against the bound": within this of it, where a sigmoid or tanh is saturated
#: (its slope there is under 1% of its largest).
SATURATION_MARGIN = 0.01
#: Targets this far past the bound, in units of the output's range, cannot be an accident of
#: rounding or label smoothing.
OUT_OF_REACH = 0.5


def _beyond_bounded_output(name: str, seen: list[LossInputStat]) -> list[Finding]:
    """A regression loss whose predictions never leave a sigmoid's or tanh's range and end (on
    the last sampled calls) pressed against its edge while the targets lie well past it."""
    kind = loss_kind(name)
    if kind is None or kind.task != REGRESSION or len(seen) < MIN_CALLS:
        return []
    bounds = _bounded_range(seen)
    if bounds is None:
        return []
    low, high = bounds
    width = high - low
    late = sorted(seen, key=lambda s: s.step)[-MIN_CALLS:]
    above = _high(seen) > high + OUT_OF_REACH * width
    below = _low(seen) < low - OUT_OF_REACH * width
    pinned_high = above and min(s.prediction_max for s in late) >= high - SATURATION_MARGIN
    pinned_low = below and max(s.prediction_min for s in late) <= low + SATURATION_MARGIN
    if not (pinned_high or pinned_low):
        return []
    evidence = {"sampled_loss_calls": float(len(seen)), **_ranges(seen),
                "output_low": low, "output_high": high}
    verdict = (
        f"Your model's outputs never leave [{plain_number(low)}, {plain_number(high)}] (a "
        f"{'sigmoid' if low == 0 else 'tanh'} at the end, it seems) and end pressed against "
        f"its edge, but your targets go from {plain_number(_low(seen))} to "
        f"{plain_number(_high(seen))}: the model cannot reach them, whatever it learns."
    ) + FIRST
    fix = (f"Remove the bounded activation at the output (or scale the targets into "
           f"[{plain_number(low)}, {plain_number(high)}] and back).")
    return [Finding(LABEL_RANGE, ALMOST_CERTAIN, verdict, evidence, fix=fix)]


def _clamped(case, name: str, seen: list[LossInputStat]) -> list[Finding]:
    """A regression output clamped at zero while the targets go below it (_clamped_output)."""
    kind = loss_kind(name)
    if kind is None or kind.task != REGRESSION:
        return []
    evidence = clamped_at_zero(seen, _training_targets(case))
    if evidence is None:
        return []
    evidence = {"sampled_loss_calls": float(len(seen)), **_ranges(seen), **evidence}
    return [Finding(LABEL_RANGE, ALMOST_CERTAIN, clamped_verdict(evidence) + FIRST, evidence,
                    fix=CLAMPED_FIX)]


def _unreachable(case, name: str, seen: list[LossInputStat]) -> list[Finding]:
    """A regression output bounded by its last operations, read from its graph, while the
    targets lie beyond the bound (_out_of_reach.py): a replay with the targets scaled into
    the output's range shows the fix."""
    kind = loss_kind(name)
    if kind is None or kind.task != REGRESSION:
        return []
    found = out_of_reach(case, seen, _training_targets(case))
    if found is None:
        return []
    evidence = {"sampled_loss_calls": float(len(seen)), **found.evidence}
    confidence = ALMOST_CERTAIN if found.fixed(case) else UNCONFIRMED_REACH
    return [Finding(LABEL_RANGE, confidence, found.verdict + FIRST, evidence, fix=found.fix,
                    experiment=found.experiment)]


#: A bound read from the graph whose scaled replay did not help: the bound is a fact, but that
#: it is what holds the run back is not shown; kept above the 0.5 at which findings are
#: reported, below the certainty of a replayed fix.
UNCONFIRMED_REACH = 0.7


def _training_targets(case) -> torch.Tensor | None:
    targets = [b.target.reshape(-1) for b in case.copies.train.batches
               if isinstance(b.target, torch.Tensor) and b.target.is_floating_point()]
    return torch.cat(targets) if targets else None


def _bounded_range(seen: list[LossInputStat]) -> tuple[float, float] | None:
    low = min(s.prediction_min for s in seen)
    high = max(s.prediction_max for s in seen)
    return next(((lo, hi) for lo, hi in BOUNDED_OUTPUTS if low >= lo and high <= hi), None)


def _soft_targets(call: LossInputStat) -> bool:
    return _is_float_dtype(call.target_dtype) and call.target_shape == call.prediction_shape


def _range_verdict(name: str, seen: list[LossInputStat], binary: bool) -> str:
    span = f"from {plain_number(_low(seen))} to {plain_number(_high(seen))}"
    if binary:
        return (f"{name} expects each target to be the probability of the positive class, "
                f"between 0 and 1, but your targets go {span}. A target above 1 rewards "
                f"pushing the output towards infinity (the loss can fall below zero), one "
                f"below 0 rewards the opposite, so the loss measures nothing you want.")
    return (f"Your targets for {name} have the prediction's shape, so they are read as class "
            f"probabilities, which must lie between 0 and 1, but they go {span}.")


def _range_fix(seen: list[LossInputStat]) -> str:
    low, high = _low(seen), _high(seen)
    if all(s.target_integers for s in seen) and high > low:
        return (f"Map your labels to 0 and 1 before the loss, e.g. y = (y == {plain_number(high)})"
                f".float() for labels {plain_number(low)} and {plain_number(high)}.")
    return LABEL_RANGE.fix


# --- shared --------------------------------------------------------------------------------

def _units(call: LossInputStat) -> int:
    shape = call.prediction_shape
    return shape[1] if len(shape) >= 2 else 1


def _always(seen: list[LossInputStat], flag: str) -> bool:
    two_d = [s for s in seen if len(s.prediction_shape) == 2 and _units(s) > 1]
    return len(two_d) >= min(MIN_CALLS, len(seen)) and all(getattr(s, flag) for s in two_d)


def _never(seen: list[LossInputStat], flag: str) -> bool:
    two_d = [s for s in seen if len(s.prediction_shape) == 2 and _units(s) > 1]
    return len(two_d) >= min(MIN_CALLS, len(seen)) and not any(getattr(s, flag) for s in two_d)


def _ranges(seen: list[LossInputStat]) -> dict[str, float]:
    return {"prediction_min": min(s.prediction_min for s in seen),
            "prediction_max": max(s.prediction_max for s in seen),
            "target_min": _low(seen), "target_max": _high(seen)}


def _low(seen: list[LossInputStat]) -> float:
    return min(s.target_min for s in seen)


def _high(seen: list[LossInputStat]) -> float:
    return max(s.target_max for s in seen)


def _is_float_dtype(dtype: str) -> bool:
    return any(word in dtype for word in ("float", "half", "double"))


def _shape(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"
