"""A bug confined to the validation path: the validation loss the script computed, against the
training computation (the trained model's output fed to the training loss) on the same
validation rows. Both should agree up to rounding; when the script's number is far off, its
validation code does something training does not (a softmax before a loss that applies its own,
another transform of the output, a loss on the wrong tensor)."""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable

import torch

from lossdoctor.capture.hand_written_events import HAND_WRITTEN
from lossdoctor.capture.loss_program import LossProgram
from lossdoctor.capture.loss_remainder import HAND_WRITTEN_TERM
from lossdoctor.capture.loss_terms import summed_run
from lossdoctor.capture.per_row import per_element_mean, reduction_of
from lossdoctor.checks._reported_scale import STEADY_SPREAD, ReportedScale, reported_scale
from lossdoctor.checks._row_scaling import sums_over_rows
from lossdoctor.evidence_kinds import TRAINING_AT_CHANCE
from lossdoctor.findings import Cause, Experiment, Finding, Skip
from lossdoctor.sandbox import isolated
from lossdoctor.symptom import frozen_validation as _frozen_validation

VALIDATION_PATH = Cause(
    id="validation_path",
    title="The validation loss is not computed as the training loss is",
    fix=(
        "Compute the validation loss exactly as the training loss: feed the model's raw output "
        "to the same loss (no extra softmax or other transform), with model.eval() and "
        "torch.no_grad() as the only differences."
    ),
    question="Does your validation code compute the loss as your training code does?",
    test=(
        "the validation loss your script computed against the training loss function on the "
        "trained model's outputs for the same validation rows, in the same mode; the validation "
        "loss it prints or logs against the mean loss per row of the same passes"
    ),
    explains=frozenset({"overfitting", "train_val_shift", "underfit_capacity", "lr_too_low",
                        "optimizer_choice", "no_signal"}),
    precedence=2,
)

CAUSES = (VALIDATION_PATH,)

#: How far (as a ratio, either way) the script's validation loss may be from the training
#: computation on the same rows before the two are called different. Recomputing the same pass
#: gives the same number up to rounding; the rows held (a sample of at most 4096, from the first
#: pass) and dropout noise in train mode move it by a few percent. On the development part's
#: 24 healthy twins with a validation pass the ratio was 1.0000 every time (and on their broken
#: scripts too, none of which has a validation-only bug); a softmax applied twice
#: moves it by 1.5x or more.
MAX_RATIO = 1.25
#: The untrained model's loss on two training batches (the script's first, and one captured):
#: the same computation gives the same level, within the spread of losses across batches (on
#: 12 development twins the two were within 1.008; a loss computed from a transformed output
#: the replay does not repeat, as in nll_loss(log_softmax(softmax(x))), is off by far more).
FAITHFUL_RATIO = 1.25
#: Two computations of the same loss on the same rows "agree" within this ratio (float rounding
#: and row order only; the healthy twins of the development part agree within 1.0001).
SAME_RATIO = 1.01
#: Recomputations, each with its own dropout draw, when the script validated in train mode: the
#: script's pass was one such draw, and on a loss driven near zero one draw can differ from
#: another by 1.7x (train_eval_mode_transformer_no_eval: 0.034 against 0.020). An honest draw
#: falls outside the range of 19 others with probability 2/20; widened by MAX_RATIO, less.
DROPOUT_DRAWS = 19
#: The trained model is "at chance" on its training rows when its training loss there is at
#: least this share of the constant guess's loss on the same rows (it learned less than a
#: fifth of what separates the guess from a perfect fit). Chosen on development cases:
#: see docs/devset.md, session 24 (s24-ranking).
AT_CHANCE_SHARE = 0.8
#: Extra steps a validation path often adds by mistake, in the words of the report.
EXTRA_STEPS = {
    "a softmax": lambda output: torch.softmax(output, dim=1 if output.dim() > 1 else 0),
    "a sigmoid": torch.sigmoid,
    "a log_softmax": lambda output: torch.log_softmax(output, dim=1 if output.dim() > 1 else 0),
}
#: What to do about a validation loss reported at another scale than the training loss.
SCALED_FIX = (
    "Average the validation loss over rows as the training loss is: keep the loss's default "
    "reduction='mean', add loss.item() * len(batch) for each batch and divide the total by the "
    "number of validation rows.")
#: Confidence at MAX_RATIO, rising to CONFIDENCE_CEILING as the ratio reaches SURE_RATIO.
BASE_CONFIDENCE = 0.7
CONFIDENCE_CEILING = 0.95
SURE_RATIO = 2.0


def check(case) -> list[Finding]:
    stale = _stale_copy(case.trace)
    if stale is not None:
        return [stale]
    scaled = _scaled_report(case) or _reduced_differently(case.trace)
    if scaled is not None:
        return [_with_training_level(case, scaled)]
    records, in_train_mode = _last_validation(case.trace)
    script_loss = _mean(records)
    _require_faithful_replay(case)
    recomputed = _recomputed(case, in_train_mode)
    comparable = _same_size_losses(records, _recomputed_rows(case))
    ratio = min(_ratio(loss, recomputed) for loss in comparable)
    if ratio <= MAX_RATIO or _within_dropout_draws(case, in_train_mode, comparable):
        return []
    if _trained_as_scaled(case.trace.setup, recomputed / script_loss if script_loss else 0.0):
        return []
    extra_step = _explaining_transform(case, in_train_mode, comparable)
    if extra_step is None and _scores_a_copy(case.trace):
        return []
    return [_with_training_level(case, _finding(script_loss, recomputed, ratio, extra_step))]


def _scores_a_copy(trace) -> bool:
    """Whether every validation loss scored a copy of the model (an EMA or averaged copy,
    called in its place): such a copy's weights lag the trained ones by design, so its loss
    differs from the trained model's without any step of the computation differing. Only an
    extra step that reproduces the script's number then tells a validation bug apart."""
    scored = [r for r in trace.losses if r.phase == "eval"]
    return bool(scored) and all(r.on_copy for r in scored)


def _stale_copy(trace) -> Finding | None:
    """Validation losses computed on the output of a copy of the model (an EMA copy, a
    teacher), that stay the same while the training loss moves: the copy is not the model
    trained, and nothing updates it. A copy validated beside the model (timm's train.py
    validates both each epoch) is judged on its own losses."""
    if not any(r.on_copy for r in trace.losses if r.phase == "eval"):
        return None
    trace = _copy_validation_only(trace)
    passes = trace.validation_passes()
    if not passes or passes[-1].source != "loss calls":
        return None
    frozen = _frozen_validation(trace)
    if frozen is None:
        return None
    loss = passes[-1].loss
    verdict = (f"Your validation scores a copy of your model, not the model being trained "
               f"(an EMA or teacher copy, called in its place), and that copy's {frozen.message}"
               ". The copy is never updated from the trained weights.")
    fix = ("Update the copy you validate from the trained model at every optimizer step "
           "(ema.update(model)), or validate the trained model itself.")
    return Finding(VALIDATION_PATH, CONFIDENCE_CEILING, verdict=verdict,
                   evidence={"script_validation_loss": loss,
                             "validation_passes_on_a_copy": float(len(passes))},
                   fix=fix)


def _copy_validation_only(trace):
    """The trace with the validation losses of the model itself left out."""
    return dataclasses.replace(trace, losses=[r for r in trace.losses
                                              if r.phase != "eval" or r.on_copy])


def _scaled_report(case) -> Finding | None:
    """The validation loss the script reports, a steady factor away from the mean loss per
    row of the same passes (reduction="sum" in validation only, a sum divided by the number of
    batches): the script's own number cannot be compared with its training loss. A training
    loss summed too keeps the script's one convention (a sum over a row's outputs), not this."""
    trace = case.trace
    if reduction_of(None, trace.setup.loss_kwargs) == "sum":
        return None
    scale = reported_scale(trace)
    if scale is None or _ratio(scale.factor, 1.0) <= MAX_RATIO or _own_reduction(case):
        return None
    if _records_leave_out_terms(trace.setup) or _trained_as_scaled(trace.setup, scale.factor):
        return None
    terms = _terms_per_output(trace)
    if terms > 1 and _ratio(scale.factor, terms) <= STEADY_SPREAD:
        return None
    share = min((_ratio(scale.factor, 1.0) - MAX_RATIO) / (SURE_RATIO - MAX_RATIO), 1.0)
    confidence = BASE_CONFIDENCE + (CONFIDENCE_CEILING - BASE_CONFIDENCE) * share
    return Finding(VALIDATION_PATH, confidence, verdict=_scaled_verdict(scale),
                   evidence={"script_validation_loss": scale.reported,
                             "loss_per_validation_row": scale.per_row,
                             "scale_factor": scale.factor, "passes_compared": float(scale.passes)},
                   fix=SCALED_FIX)


def _trained_as_scaled(setup, factor: float) -> bool:
    """Whether training scaled its loss as validation is scaled (``factor``: the validation
    loss reported, or the training computation replayed on the validation rows, over the loss
    calls' mean per element): the tensor trained on, over its torch.nn loss's mean per element
    at the first step (Setup.trained_per_element), is itself off 1 and within MAX_RATIO of
    ``factor``. Per-row class weights applied after ``reduction='none'`` in training and
    validation alike (``(bce * weight[labels]).mean()``, bench/fresh30 s06: 0.82 at the first
    step, 0.713 at every validation pass) put both a steady factor below the loss calls' mean:
    the script's one convention, not a validation computed differently."""
    trained = setup.trained_per_element
    if trained is None or not math.isfinite(trained) or trained <= 0 or not (
            math.isfinite(factor) and factor > 0):
        return False
    return _ratio(trained, 1.0) > STEADY_SPREAD and _ratio(factor, trained) <= MAX_RATIO


def _records_leave_out_terms(setup) -> bool:
    """Whether the run's loss adds up terms its loss records do not all hold: a term written
    by hand beside torch.nn loss calls (capture/loss_remainder.py), or the sum followed as its
    largest term alone (capture/loss_events.py ``_follow_one_term``). The script prints the
    whole sum, the records a part of it, so their ratio is no reduction of the script's."""
    terms = setup.loss_terms
    return summed_run(setup) and any(
        term.get("followed") or term["loss_name"] == HAND_WRITTEN_TERM for term in terms)


def _terms_per_output(trace) -> int:
    """Loss calls per model output scored in the last validation pass: a loss of several
    terms on one output (Tacotron 2's MSE on the mel frames plus BCE on the stop token) is
    recorded as the terms' mean per row, while the script, which adds them up, reports their
    sum: that many times the record, with nothing wrong in its validation (bench/fresh24
    s06: a factor of 2.0000 at all 12 passes)."""
    last = trace.validation_passes()[-1].step
    calls = [r for r in trace.losses if r.phase == "eval" and r.step == last]
    firsts = sum(not r.rescored for r in calls)
    return round(len(calls) / firsts) if firsts else 1


def _reduced_differently(trace) -> Finding | None:
    """Training adds the loss up (``mse_loss(reduction="sum")``, divided by the batch size or
    not) while validation averages the same loss over every element (``mse_loss()``): the
    training number is a steady factor (the elements summed per row, or per batch) above the
    validation one for the same fit. The factor is the tensor trained on over the loss's mean
    per element at the first step (Setup.trained_per_element)."""
    setup = trace.setup
    factor = setup.trained_per_element
    evaluated = setup.eval_reductions.get(setup.loss_name)
    if factor is None or reduction_of(None, setup.loss_kwargs) != "sum" or evaluated != "mean":
        return None
    if _ratio(factor, 1.0) <= MAX_RATIO or not any(r.phase == "eval" for r in trace.losses):
        return None
    share = min((_ratio(factor, 1.0) - MAX_RATIO) / (SURE_RATIO - MAX_RATIO), 1.0)
    verdict = (f"Your training loss adds {setup.loss_name} up (reduction='sum') and your "
               f"validation loss averages it (reduction='mean'): the number your training "
               f"computes is {factor:.3g} times the mean over its elements, so for the same fit "
               f"your validation loss reads {factor:.3g} times smaller than your training loss, "
               "and the two cannot be compared.")
    fix = ("Reduce the loss the same way in training and validation: the same reduction, "
           "divided by the same count (rows, or every element).")
    return Finding(VALIDATION_PATH, BASE_CONFIDENCE + (CONFIDENCE_CEILING - BASE_CONFIDENCE)
                   * share, verdict=verdict,
                   evidence={"scale_factor": factor, "training_sums": 1.0}, fix=fix)


def _own_reduction(case) -> bool:
    """Whether the training loss is written by hand and adds its rows up, so that how it
    reduces over rows is its own: fairseq's criterions sum over tokens, and its logs divide
    training and validation sums alike by the sample size. A steady factor between such a
    loss's calls and the printed number is then the script's one convention, not a validation
    bug. A hand-written loss that averages over rows (recomputed on half a batch, it keeps its
    value: a flow's ``-log_prob(x).mean()``) is on a torch.nn loss's scale, and is judged as
    one. Unknown (no replay, no batch to cut): its own."""
    if case.trace.setup.loss_name != HAND_WRITTEN:
        return False
    try:
        sums = case.shared("validation_path.hand_written_sums", lambda: _hand_written_sums(case))
    except Skip:
        return True
    return sums is not False


def _hand_written_sums(case) -> bool | None:
    """Whether the recorded hand-written loss sums over rows, recomputed on the trained model's
    validation rows (its training rows when none were kept)."""
    replayer = case.require_replay()
    if case.copies.final_model is None:
        return None
    model = copy.deepcopy(case.copies.final_model).eval()
    batches = replayer.validation_batches or replayer.train_batches
    with isolated(0), torch.no_grad():
        return sums_over_rows(lambda batch: float(replayer.scored_loss(model, batch)), batches)


def _scaled_verdict(scale: ReportedScale) -> str:
    where = {"printed": "prints", "tensorboard": "writes to TensorBoard",
             "framework": "logs"}[scale.source]
    size = (f"{scale.factor:.3g} times" if scale.factor > 1
            else f"1/{1 / scale.factor:.3g} of")
    return (f"The validation loss your script {where} ({scale.reported:.4g} at its last pass) "
            f"is {size} the mean loss of its validation rows ({scale.per_row:.4g}), at every "
            f"one of {scale.passes} passes: your validation code adds the loss up or divides "
            "it by something other than the number of rows (reduction='sum', a batch's mean "
            "times its size divided by the number of batches), so it cannot be compared with "
            "your training loss.")


def _last_validation(trace) -> tuple[list, bool]:
    """The loss records of the script's last validation pass (per element, the training
    loss's own function, in the order computed) and whether the model was in train mode then;
    Skip when there is none to compare. Losses that scored an output a loss had already scored
    (a metric in other units, a second term) are left out: the training computation replayed
    is the first loss on the model's output (unless the training loss itself had several
    terms)."""
    passes = trace.validation_passes()
    if not passes or passes[-1].source != "loss calls":
        raise Skip("needs validation losses computed with a torch.nn loss during the run")
    last = passes[-1]
    if last.step != trace.steps:
        raise Skip("needs a validation pass after the last training step")
    records = [r for r in trace.losses if r.phase == "eval" and r.step == last.step
               and r.loss_name == trace.setup.loss_name]
    if not records:
        raise Skip("needs validation losses computed with the training loss function")
    if not trace.training_rescores:
        records = [r for r in records if not r.rescored] or records
    return records, any(r.model_training for r in records)


def _mean(records) -> float:
    """The row-weighted mean loss of ``records``."""
    rows = sum(r.rows for r in records)
    return sum(r.value * r.rows for r in records) / max(rows, 1)


def _same_size_losses(records, rows: int) -> list[float]:
    """The script's loss over each run of consecutive batches of its last pass that holds
    ``rows`` rows, as many as the check recomputed; the pass's own loss when it held no more.
    The rows kept are the first pass's (a sample of at most 4096, complete once a pass repeats
    rows), which may be fewer than a later pass scores: Lightning's sanity check validates two
    batches before training, and the sample is then those two. On a model whose loss is
    dominated by a few rows the two numbers differ without any step of the computation
    differing (the Lightning run at lr 1.0: 1.11 on the 100 rows kept, 1.86 on all 400, one
    batch at 7.5); the script's number over rows as many as those kept, among them the first
    batches (the rows kept when the loader keeps its order), is what compares."""
    if rows >= sum(r.rows for r in records):
        return [_mean(records)]
    windows = (_window(records[start:], rows) for start in range(len(records)))
    return [_mean(window) for window in windows if window] or [_mean(records)]


def _window(records, rows: int) -> list:
    """The first records that hold ``rows`` rows together; [] when all of them hold fewer."""
    held = 0
    for end, record in enumerate(records, start=1):
        held += record.rows
        if held >= rows:
            return records[:end]
    return []


def _require_faithful_replay(case) -> None:
    """Skip unless the training computation as replayed is the script's: the untrained model's
    loss on a captured training batch, against the script's first training loss."""
    replayer = case.require_replay()
    first = _first_training_loss(case.trace)
    model = copy.deepcopy(case.copies.initial_model)
    with isolated(0), torch.no_grad():
        replayed = _scored(case, model.train(), replayer.train_batches[0],
                           "needs the model's output for each training row")
    if _ratio(first.value, replayed) > FAITHFUL_RATIO:
        raise Skip("needs a replay of your training loss: your loss is computed from the "
                   "model's output in steps the replay does not repeat")


def _first_training_loss(trace):
    """The script's first training loss of the run's loss function: of a loss the model adds up
    from several terms, the term the replay computes (``Setup.loss_terms``), not the first."""
    losses = trace.train_losses()
    named = [r for r in losses if r.loss_name == trace.setup.loss_name]
    return named[0] if trace.setup.loss_terms and named else losses[0]


def _applied(loss_fn, prediction: torch.Tensor, target) -> torch.Tensor:
    """The training loss function on the model's output as it comes, or a skip saying why not
    (a hand-written loss, or one applied to a reshaped output)."""
    if loss_fn is None:
        raise Skip("needs a torch.nn loss to compare your validation with: your training loss "
                   "is hand-written or computed inside the model")
    try:
        return loss_fn(prediction, target)
    except (RuntimeError, ValueError, IndexError, TypeError) as error:
        raise Skip("needs your training loss to take the model's output as it comes; here it "
                   f"does not ({str(error).splitlines()[0]})") from error


def _recomputed(case, in_train_mode: bool,
                transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                seed: int = 0) -> float:
    """The training computation on the captured validation rows, with the trained model in the
    mode the script validated in (a wrong mode is train_eval_mode's to report); with
    ``transform``, applied to the model's output before the loss; ``seed`` draws dropout."""
    case.require_replay()
    if case.copies.final_model is None:
        raise Skip("needs the trained model at the end of the run")
    if not case.copies.validation.batches:
        raise Skip("needs the validation rows your script scored: none were captured")
    model = copy.deepcopy(case.copies.final_model)
    model.train(in_train_mode)
    total = rows = 0
    with isolated(seed), torch.no_grad():
        for batch in _scored_by_the_last_model(case):
            total += batch.rows * _scored(case, model, batch, UNEQUAL_ROWS, transform)
            rows += batch.rows
    return total / max(rows, 1)


#: Why a loss that scores each row's output cannot be recomputed here.
UNEQUAL_ROWS = ("needs the model's output for each validation row: the model's output and the "
                "targets differ in length")


def _scored(case, model, batch, unequal_rows: str,
            transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> float:
    """The training loss of ``model`` on ``batch`` per element (``reduction="mean"``), the
    model's output passed through ``transform`` first: the torch.nn loss on the output as it
    comes, or the recorded computation that ends in one (a loss on ``output[1:]`` reshaped,
    as a sequence-to-sequence model's is: capture/loss_program.py)."""
    replayer = case.require_replay()
    name, loss_fn = case.trace.setup.loss_name, case.copies.loss_fn
    if summed_run(case.trace.setup):  # one term's loss function would recompute a part
        return _scored_whole(replayer, model, batch, transform)
    if loss_fn is None:
        return _scored_by_program(case, _Transformed(model, transform) if transform else model,
                                  batch)
    reduction = reduction_of(loss_fn, case.trace.setup.loss_kwargs)
    prediction = replayer.predict(model, batch)
    if _rows(prediction) != _rows(batch.target):
        raise Skip(unequal_rows)
    if transform is not None:
        prediction = transform(prediction)
    output = _applied(loss_fn, _shaped_as_trained(case, prediction, batch.target), batch.target)
    return per_element_mean(name, output, prediction, batch.target, reduction)


def _shaped_as_trained(case, prediction, target):
    """The model's output in the target's shape when training gave its loss the two in one
    shape (every sampled training call) and the output holds as many numbers: a regression
    head's (B, 1) squeezed inside the model before its MSE (transformers' ``logits.squeeze()``),
    which a loss given the output as it comes would broadcast into (B, B) (fresh27 s11, a
    healthy twin, read as a validation bug at 0.95)."""
    if (not isinstance(prediction, torch.Tensor) or not isinstance(target, torch.Tensor)
            or prediction.shape == target.shape or prediction.numel() != target.numel()):
        return prediction
    trained = [s for s in case.trace.loss_inputs if s.phase == "train"]
    if trained and all(s.prediction_shape == s.target_shape for s in trained):
        return prediction.reshape(target.shape)
    return prediction


def _scored_whole(replayer, model, batch, transform) -> float:
    """The whole training loss, every term on its own prediction and target, as replayed."""
    if transform is not None:
        raise Skip("needs a loss of one term to try a change of the model's output: yours "
                   "adds several up")
    return float(replayer.scored_loss(model, batch))


def _scored_by_program(case, model, batch) -> float:
    """The recorded loss computation's value, when it ends in a torch.nn loss that averages
    (its value is then per element, as the script's validation losses are read)."""
    program = case.copies.loss_replay
    if not isinstance(program, LossProgram):
        raise Skip("needs a torch.nn loss to compare your validation with: your training loss "
                   "is computed inside the model")
    if program.ends_in_torch_loss:
        last = program.calls[program.result.call]
        averages = reduction_of(None, last.kwargs) in ("mean", "batchmean")
    else:  # hand-written: its values are read per call, on a mean's scale only if it averages
        averages = case.shared("validation_path.hand_written_sums",
                               lambda: _hand_written_sums(case)) is False
    if not averages:
        raise Skip("needs a training loss that averages over its elements: yours sums them")
    return float(case.require_replay().scored_loss(model, batch))


class _Transformed(torch.nn.Module):
    """The model, its output passed through an extra step (a softmax) before the loss reads it."""

    def __init__(self, model: torch.nn.Module, transform: Callable) -> None:
        super().__init__()
        self.model, self.transform = model, transform

    def forward(self, *args, **kwargs):
        return self.transform(self.model(*args, **kwargs))


def _scored_by_the_last_model(case) -> list:
    """The captured validation batches the model trained last scored: a run that trained
    several models of one class in turn (the folds of a k-fold loop) kept rows of an earlier
    fold's validation, which the last model may have trained on (tabular_kfold: 0.012 on them
    against 0.026 reported, a false alarm on a healthy run)."""
    since = case.copies.model_started_at
    batches = [b for b in case.require_replay().validation_batches if b.step >= since]
    if not batches:
        raise Skip("needs validation rows the model trained last scored: your run trained "
                   "several models in turn, and the rows kept were an earlier model's")
    return batches


def _within_dropout_draws(case, in_train_mode: bool, script_losses: list[float]) -> bool:
    """Whether the script's loss (over as many rows as recomputed: _same_size_losses),
    computed in train mode, is within the range of DROPOUT_DRAWS recomputations with their own
    dropout draws (widened by MAX_RATIO): then it is dropout's noise, not another computation.
    A model without randomness gives one value."""
    if not in_train_mode:
        return False
    draws = [_recomputed(case, True, seed=seed) for seed in range(1, DROPOUT_DRAWS + 1)]
    return any(min(draws) / MAX_RATIO <= loss <= max(draws) * MAX_RATIO
               for loss in script_losses)


def _explaining_transform(case, in_train_mode: bool, script_losses: list[float]) -> str | None:
    """The extra step that reproduces the script's validation loss (over as many rows as
    recomputed: _same_size_losses), if one of the usual ones does: the model's output passed
    through it before the loss gives the script's number. Not when the trained model is at
    chance on its own training rows (_at_chance): a softmax of outputs that carry nothing is
    uniform, and the loss of a uniform softmax is the loss of a model that learned nothing
    (log of the classes for cross-entropy), so the match cannot tell the extra step from a
    training that failed (fresh23 s07: 2.306 reported, log 10 = 2.303, a dataset that rewrote
    its own rows)."""
    for description, transform in EXTRA_STEPS.items():
        try:
            again = _recomputed(case, in_train_mode, transform)
        except Exception:  # noqa: BLE001 - a step this loss rejects explains nothing
            continue
        if math.isfinite(again) and any(_ratio(loss, again) <= SAME_RATIO
                                        for loss in script_losses):
            return None if _at_chance(case) else description
    return None


def _recomputed_rows(case) -> int:
    """The validation rows the check recomputes (_recomputed)."""
    return sum(batch.rows for batch in _scored_by_the_last_model(case))


def _with_training_level(case, finding: Finding) -> Finding:
    """``finding`` with TRAINING_AT_CHANCE in its evidence when the trained model is at chance
    on its own training rows: the training itself failed, which no validation code makes, and
    the ranking puts the training's causes first (evidence_kinds, rule 0)."""
    if _at_chance(case):
        finding.evidence[TRAINING_AT_CHANCE] = 1.0
    return finding


def _at_chance(case) -> bool:
    """Whether the trained model's training loss on the captured training rows (in eval mode,
    the training computation) is no better than AT_CHANCE_SHARE of the constant guess's loss
    on the same rows; False when either cannot be had."""
    try:
        level = case.shared("validation_path.training_level", lambda: _training_level(case))
    except Exception:  # noqa: BLE001 - no level is no claim: the finding stands as it was
        return False
    return level is not None and level >= AT_CHANCE_SHARE


def _training_level(case) -> float | None:
    """The trained model's training loss over the constant guess's, on the training rows."""
    guess = case.constant_guess_loss("training")
    if case.copies.final_model is None or guess is None or not guess > 0:
        return None
    replayer = case.require_replay()
    model = copy.deepcopy(case.copies.final_model)
    with isolated(0), torch.no_grad():
        trained = replayer.evaluate(model, replayer.train_batches)
    return trained / guess if math.isfinite(trained) else math.inf


def _rows(value) -> int | None:
    return value.shape[0] if isinstance(value, torch.Tensor) and value.dim() else None


def _ratio(script_loss: float, recomputed: float) -> float:
    if not (math.isfinite(script_loss) and math.isfinite(recomputed)):
        raise Skip("needs finite validation losses")
    low, high = sorted((abs(script_loss), abs(recomputed)))
    return high / low if low > 0 else (1.0 if high == 0 else math.inf)


def _finding(script_loss: float, recomputed: float, ratio: float,
             extra_step: str | None) -> Finding:
    share = min((ratio - MAX_RATIO) / (SURE_RATIO - MAX_RATIO), 1.0)
    confidence = BASE_CONFIDENCE + (CONFIDENCE_CEILING - BASE_CONFIDENCE) * share
    verdict = (f"Your validation code reports a loss of {script_loss:.4g}, but your training "
               f"loss function on the trained model's outputs for the same validation rows "
               f"gives {recomputed:.4g}: your validation computes something your training "
               "does not.")
    if extra_step is not None:
        verdict += (f" Passing the outputs through {extra_step} before the loss gives exactly "
                    "your number: your validation code applies it and your training code "
                    "does not.")
    return Finding(VALIDATION_PATH, confidence, verdict=verdict,
                   evidence={"script_validation_loss": script_loss,
                             "training_computation_loss": recomputed, "ratio": ratio,
                             "extra_step_reproduces_it": float(extra_step is not None)},
                   experiment=Experiment("validation computed as in training", script_loss,
                                         recomputed, 0),
                   details={"extra_step": extra_step} if extra_step else {})
