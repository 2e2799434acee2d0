"""Short training runs on copies of the user's model, loss, optimizer settings and data.

Every run starts from a fresh deep copy, inside :func:`lossdoctor.sandbox.isolated`, so the
user's objects and random state are never touched.
"""

from __future__ import annotations

import copy
import inspect
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import torch
from torch import nn

from lossdoctor import budget as budgets
from lossdoctor.capture import row_values
from lossdoctor.capture.copies import Copies
from lossdoctor.capture.model_copy import device_of, kept_copy
from lossdoctor.capture.sample import Batch, row_major
from lossdoctor.capture.summed_losses import SummedLosses, terms_of
from lossdoctor.capture.tensors import map_tensors, take_rows, tensors_in
from lossdoctor.findings import Skip
from lossdoctor.lr_schedule import LrSchedule
from lossdoctor.sandbox import isolated

BatchTransform = Callable[[Batch], Batch]
#: A change to the schedule's shape: the multipliers of the peak lr, one per replay step, in
#: and out (a cap, a floor).
ShapeChange = Callable[[list[float]], list[float]]


@dataclass
class Plan:
    """What to change in a replay of the user's training. Unset fields keep the user's choice.

    A replay follows the run's learning-rate schedule, resampled to its steps, as multipliers of
    the optimizer's lr: ``lr`` (the user's peak when unset) scales the whole schedule.
    ``constant_lr`` trains at that lr throughout; ``lr_shape`` changes the shape."""

    model: nn.Module | None = None
    lr: float | None = None
    constant_lr: bool = False
    lr_shape: ShapeChange | None = None
    optimizer_class: type | None = None
    hparams: dict = field(default_factory=dict)
    transform: BatchTransform | None = None
    steps: int = 300
    evaluations: int = 10
    seed: int = 0
    #: The loss to train with (``loss(model, batch)``, as the replay losses of
    #: capture/replay_losses.py); None: the script's own.
    loss: object | None = None
    #: Asked at each validation point with the training losses so far: True ends the replay
    #: there (its question is answered).
    stop_when: Callable[[list[float]], bool] | None = None


@dataclass
class ReplayResult:
    train_losses: list[float]
    validation_losses: list[float]  # at evenly spaced points, the last one at the end
    diverged: bool = False
    validation_steps: list[int] = field(default_factory=list)  # the step of each of them
    start_validation: float = math.nan  # before the first step
    planned_steps: int = 0  # the steps it was planned to take (sized to the budget)

    @property
    def final_validation(self) -> float:
        return self.validation_losses[-1] if self.validation_losses else math.nan

    @property
    def best_validation(self) -> float:
        finite = [v for v in self.validation_losses if math.isfinite(v)]
        return min(finite) if finite else math.inf


#: Steps timed to measure a training step's cost (after one to warm up): enough for a median
#: that one slow step does not move.
PROBE_STEPS = 3
#: A step whose warm-up took this long is timed once: what makes one step of a few
#: milliseconds slow (a page fault, another process's slice) lasts milliseconds, under 1% of
#: it, while three more steps of a 50M-parameter model took 15 of the 56 s its diagnosis had
#: after training, at load 11 (issue 12 asks for the report within 120 s).
LONG_STEP_SECONDS = 1.0


class Replayer:
    """Replays training on the captured batches, with a change described by a Plan."""

    def __init__(self, copies: Copies, schedule: LrSchedule | None = None,
                 experiments: bool = True) -> None:
        self.copies = copies
        self.schedule = schedule
        self.experiments = experiments  # False: --budget 0, the passive evidence only
        #: Every replay's steps are multiplied by this (see lossdoctor.budget.step_fraction).
        self.step_fraction = 1.0
        #: time.monotonic() after which no training step on a copy starts (None: no limit),
        #: and the budget it ends, for the message.
        self.deadline: float | None = None
        self.budget: float | None = None
        #: Why no experiment may start now, before the deadline too (a check whose least
        #: experiments cannot fit the time left runs on the records alone); None: no such rule.
        self.refusal: str | None = None
        #: Experiments refused for time so far, and the last reason: a check that met a refusal
        #: did not finish its work, whatever it made of the records.
        self.refused = 0
        self.last_refusal = ""
        self.summed = SummedLosses()
        #: Seconds the checks still to run need at least (lossdoctor.budget.least_seconds):
        #: time an experiment that sizes itself must leave them (see seconds_left).
        self.reserved = 0.0
        #: Replays cut for the budget: (steps planned, steps run), for the report's note.
        self.cut: list[tuple[int, int]] = []
        #: Where experiments run: the device the run trained on (None: wherever a copy is).
        self.device = copies.device
        self.train_batches, self.validation_batches = (
            [on_device(b, self.device) for b in batches] for batches in split_batches(copies))

    @property
    def user_lr(self) -> float | None:
        """The lr the run trained at: its schedule's peak (see :mod:`lossdoctor.lr_schedule`),
        else the optimizer's setting at the first step."""
        if self.schedule is not None:
            return self.schedule.peak
        lr = self.copies.optimizer_hparams.get("lr")
        return float(lr) if isinstance(lr, (int, float)) else None

    @property
    def ready(self) -> bool:
        return (
            self.copies.initial_model is not None
            and self.copies.replay_loss is not None
            and self.copies.optimizer_class is not None
            and bool(self.train_batches)
            and bool(self.validation_batches)
        )

    def replay(self, plan: Plan) -> ReplayResult:
        self.require_budget()
        steps = self.sized(plan.steps)
        if steps < plan.steps:
            self.cut.append((plan.steps, steps))
        plan = replace(plan, steps=steps)
        with isolated(plan.seed):
            model = plan.model if plan.model is not None else copy.deepcopy(
                self.copies.initial_model
            )
            optimizer = self.optimizer_for(model, plan)
            return self._train(model, optimizer, plan)

    def require_budget(self) -> None:
        """Training a copy is an experiment: none runs with --budget 0, and none goes on once
        the diagnosis' time budget has run out."""
        if not self.experiments:
            raise Skip("no experiments were run (--budget 0; budget=0 in Python): the passive "
                       "evidence only")
        self.require_time()

    def require_time(self) -> None:
        """No computation on copies goes on once the diagnosis' time budget has run out, or
        while experiments are refused (see ``refusal``)."""
        reason = self.refusal
        if reason is None and self.deadline is not None and time.monotonic() > self.deadline:
            reason = budgets.out_of_time(self.budget)
        if reason is not None:
            self.refused += 1
            self.last_refusal = reason
            raise budgets.OutOfTime(reason)

    def seconds_left(self) -> float:
        """Seconds an experiment may take now: to the deadline, less what the checks still to
        run need at least; infinite without a deadline."""
        if self.deadline is None:
            return math.inf
        return self.deadline - time.monotonic() - self.reserved

    def sized(self, steps: int) -> int:
        """The steps an experiment planned at ``steps`` takes within the budget."""
        return budgets.sized(steps, self.step_fraction)

    def step_seconds(self) -> float:
        """Seconds one training step of a copy of the user's model takes, with the user's
        optimizer: the median of PROBE_STEPS steps after one to warm up (one step when the
        warm-up took LONG_STEP_SECONDS or more)."""
        return self.model_step_seconds(self.copies.initial_model)

    def model_step_seconds(self, model: nn.Module) -> float:
        """The same for a copy of ``model`` (a larger model an experiment would train)."""
        self.require_budget()
        with isolated(0):
            model = copy.deepcopy(model)
            optimizer = self.optimizer_for(model, Plan())
            seconds = [self._timed_step(model, optimizer, 0)]
            timed = 1 if seconds[0] >= LONG_STEP_SECONDS else PROBE_STEPS
            seconds = [self._timed_step(model, optimizer, step) for step in range(1, timed + 1)]
        return sorted(seconds)[timed // 2]

    def _timed_step(self, model: nn.Module, optimizer, step: int) -> float:
        start = time.perf_counter()
        self.train_step(model, optimizer, self.train_batches[step % len(self.train_batches)])
        return time.perf_counter() - start

    def optimizer_for(self, model: nn.Module, plan: Plan) -> torch.optim.Optimizer:
        """The user's optimizer (or the plan's) with the user's settings, for ``model``."""
        self.require_budget()
        optimizer_class = plan.optimizer_class or self.copies.optimizer_class
        hparams = {} if plan.optimizer_class else self._user_hparams()
        hparams.update(plan.hparams)
        if plan.lr is not None:
            hparams["lr"] = plan.lr
        accepted = _accepted_hparams(optimizer_class, hparams)
        _require_rate_of_zero_or_more(accepted.get("lr"))
        return optimizer_class(self.trained_copy(model).parameters(), **accepted)

    def trained_copy(self, model: nn.Module) -> nn.Module:
        """``model``, a copy an experiment trains, moved to the run's device in place, so that
        the optimizer made for it holds the parameters every later step uses. The kept copies
        are never trained: an optimizer over them would change what later experiments start
        from."""
        if model is self.copies.initial_model or model is self.copies.final_model:
            raise ValueError("an experiment trains a copy of the kept model, not the kept model")
        return self.placed(model)

    def _user_hparams(self) -> dict:
        """The user's optimizer settings, at the lr they trained at (not a warmup's first)."""
        hparams = dict(self.copies.optimizer_hparams)
        if self.user_lr is not None and "lr" in hparams:
            hparams["lr"] = self.user_lr
        return hparams

    def lr_multipliers(self, plan: Plan) -> list[float] | None:
        """The lr of each replay step as a fraction of the optimizer's; None for constant."""
        schedule = self.schedule
        if plan.constant_lr or schedule is None or (schedule.reactive and not plan.lr_shape):
            return None  # a reactive schedule's cuts answered the run (lossdoctor.lr_schedule)
        shape = schedule.multipliers(plan.steps)
        return plan.lr_shape(shape) if plan.lr_shape else shape

    def _train(self, model, optimizer, plan: Plan) -> ReplayResult:
        self.require_budget()
        train = [self._prepared(b, plan) for b in trainable(self.train_batches, model)]
        validation = [self._prepared(b, plan) for b in self.validation_batches]
        order = random.Random(plan.seed)
        check_every = max(plan.steps // max(plan.evaluations, 1), 1)
        result = ReplayResult([], [], planned_steps=plan.steps)
        set_lr = _lr_setter(optimizer, self.lr_multipliers(plan))
        result.start_validation = self.evaluate(model, validation)
        for step in range(plan.steps):
            set_lr(step)
            loss = self.train_step(model, optimizer, train[order.randrange(len(train))],
                                   plan.loss)
            result.train_losses.append(loss)
            if not math.isfinite(loss):
                result.diverged = True
                result.validation_losses.append(math.inf)
                result.validation_steps.append(step + 1)
                return result
            if (step + 1) % check_every == 0 or step + 1 == plan.steps:
                result.validation_losses.append(self.evaluate(model, validation))
                result.validation_steps.append(step + 1)
                if plan.stop_when is not None and plan.stop_when(result.train_losses):
                    return result
        return result

    def _prepared(self, batch: Batch, plan: Plan) -> Batch:
        return plan.transform(batch) if plan.transform else batch

    def train_step(self, model: nn.Module, optimizer, batch: Batch,
                   training_loss: object | None = None) -> float:
        """One optimizer step on ``batch`` with the user's loss, or ``training_loss`` (a
        plan's) in its place, its gradients clipped as the script clipped them."""
        self.require_budget()
        model.train()
        first: list[torch.Tensor] = []

        def closure() -> torch.Tensor:
            optimizer.zero_grad(set_to_none=True)
            loss = self.loss(model, batch, training_loss)
            loss.backward()
            if self.copies.gradient_clip is not None:
                self.copies.gradient_clip.apply(model.parameters())
            first.append(loss)
            return loss

        if self.copies.step_takes_closure:  # LBFGS evaluates it again inside the step
            optimizer.step(closure)
        else:
            closure()
            optimizer.step()
        terms = (_summed_terms(self.copies.replay_loss, batch, first[0])
                 if training_loss is None else 1)
        return float(first[0].detach()) / terms

    def loss(self, model: nn.Module, batch: Batch,
             training_loss: object | None = None) -> torch.Tensor:
        """The user's training loss of ``model`` on ``batch``, computed as the script did (or
        ``training_loss``, a plan's, in its place). A model in training mode given a batch
        too small for its BatchNorm layers' own statistics normalizes it by their running
        ones (:func:`running_statistics_for`)."""
        self.require_time()
        training = training_loss or self.copies.replay_loss
        model, batch = self.placed(model), self._placed_batch(batch)
        with running_statistics_for(model, batch.rows):
            if training_loss is not None:
                return training.loss(model, batch)
            return self._summed_loss("training", training, model, batch)

    def scored_loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        """The loss a validation computes: the training loss less a penalty on the
        parameters the script added to it by hand (validation leaves it out, and a replay
        that drops the penalty must be scored as one that keeps it)."""
        self.require_time()
        scored = validation_loss(self.copies.replay_loss)
        model = self.placed(model)
        batch = self._placed_batch(batch)
        with running_statistics_for(model, batch.rows):
            loss = self._summed_loss("scored", scored, model, batch)
            return loss / _summed_terms(scored, batch, loss)

    def _summed_loss(self, role: str, replay_loss, model: nn.Module,
                     batch: Batch) -> torch.Tensor:
        """``replay_loss``'s loss, watched for a summed torch.nn loss inside it
        (capture/summed_losses.py) unless it counts its terms itself (a LossFunction)."""
        if hasattr(replay_loss, "summed_terms"):
            return replay_loss.loss(model, batch)
        return self.summed.computed(role, lambda: replay_loss.loss(model, batch))

    def as_called(self, batch: Batch) -> Batch:
        """``batch`` as the script gave it to the model: with its target among the inputs when
        the model took it (a dict batch given whole, ``model(x, targets)``)."""
        return self.copies.replay_loss.called_with(batch)

    def predict(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        """The prediction the loss is computed from (the logits beside a returned loss)."""
        model = self.placed(model)
        with running_statistics_for(model, batch.rows):
            return self.copies.replay_loss.predict(model, self._placed_batch(batch))

    def _placed_batch(self, batch: Batch) -> Batch:
        """``batch`` on the run's device, its target made anew when it is its rows' positions
        (an in-batch loss, replay_losses.in_batch_targets): a replay that changed the rows
        (held out some, rebatched) changed what each row's position is."""
        batch = on_device(batch, self.device)
        if not self.copies.in_batch_target:
            return batch
        return replace(batch, target=torch.arange(batch.rows, device=batch.target.device))

    def placed(self, model: nn.Module) -> nn.Module:
        """``model`` on the device the run trained on. A copy an experiment made is moved there
        (parameters keep their identity, so an optimizer made before still holds them); a kept
        copy (the run's initial or final model) is copied there instead, and stays where it is
        kept (model_copy.KEPT_ON) for the next experiment."""
        where = device_of(model) if self.device is not None else None
        if where is None or where == self.device:
            return model
        if model is self.copies.initial_model or model is self.copies.final_model:
            return kept_copy(model, on=self.device)
        return model.to(self.device)

    @property
    def scores_any_model(self) -> bool:
        """Whether a model that returns only a prediction (a larger model, a constant) can be
        scored with the user's loss: not when the model computes its loss itself."""
        replay_loss = self.copies.replay_loss
        return replay_loss is not None and replay_loss.any_model

    @property
    def scores_any_prediction(self) -> bool:
        """Whether a model that returns only a prediction (a constant guess) can be scored
        with the loss a validation computes (:meth:`scored_loss`): a penalty on the user's
        parameters added to the training loss by hand is left out of it."""
        scored = validation_loss(self.copies.replay_loss)
        return scored is not None and scored.any_model

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: list[Batch]) -> float:
        """Row-weighted mean validation loss, in eval mode; the model's mode is restored."""
        model = self.placed(model)
        was_training = model.training
        model.eval()
        try:
            total = sum(float(self.scored_loss(model, b)) * b.scored_rows for b in batches)
            return total / max(sum(b.scored_rows for b in batches), 1)
        finally:
            model.train(was_training)


#: The fewest rows a BatchNorm layer in training mode can normalize by their own statistics:
#: one row has no variance (torch raises "Expected more than 1 value per channel when
#: training" for a (1, C) input). A script's loader makes such a batch whenever its last batch
#: holds one row (drop_last=False); cutting rows (held-out rows, finite rows, halves) makes
#: others. The user's training never stepped on such a batch through BatchNorm, or it would
#: have raised there too.
BATCHNORM_LEAST_ROWS = 2


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def trainable(batches: list[Batch], model: nn.Module) -> list[Batch]:
    """The batches a replay steps on: for a model with BatchNorm, those of at least
    BATCHNORM_LEAST_ROWS rows (all of them when none is that large: each step then normalizes
    by the running statistics, :func:`running_statistics_for`)."""
    if not has_batchnorm(model):
        return batches
    kept = [b for b in batches if b.rows >= BATCHNORM_LEAST_ROWS]
    return kept or batches


@contextmanager
def running_statistics_for(model: nn.Module, rows: int) -> Iterator[None]:
    """While a model in training mode computes a loss on ``rows`` rows, fewer than
    BATCHNORM_LEAST_ROWS: each BatchNorm call that would get one value per channel (torch's
    own test: a (1, C) input, or (1, C, 1, 1)) normalizes by the running statistics, as in
    evaluation; a call with more values (a 2-D map of one image) keeps the batch's own, as the
    user's training did. Every layer is in training mode again afterwards, also when the loss
    raises."""
    if rows >= BATCHNORM_LEAST_ROWS or not model.training:
        yield
        return
    handles, switched = [], []

    def before(module, inputs):
        x = inputs[0] if inputs else None
        if module.training and isinstance(x, torch.Tensor) and x.dim() >= 2 and (
                x.numel() // max(x.shape[1], 1) == 1):
            module.training = False
            switched.append(module)

    def after(module, inputs, output):
        if module in switched:
            module.training = True
            switched.remove(module)

    for norm in model.modules():
        if isinstance(norm, nn.modules.batchnorm._BatchNorm):
            handles += [norm.register_forward_pre_hook(before), norm.register_forward_hook(after)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
        for norm in switched:
            norm.training = True


def _require_rate_of_zero_or_more(lr) -> None:
    """torch.optim refuses a negative rate (``Invalid learning rate``) that a run can still
    train at (set on a parameter group afterwards, a scheduler's factor, a Keras port):
    replays of it are skipped, and learning_rate reports the rate."""
    if isinstance(lr, (int, float)) and lr < 0:
        raise Skip(f"needs a learning rate of 0 or more to replay your training; yours is "
                   f"{lr:g}")


def _summed_terms(replay_loss, batch: Batch, loss: torch.Tensor) -> int:
    """What a loss summed over its elements (``reduction="sum"``) is divided by to be the mean
    per element that the run's curves record (capture/per_row.py), else 1: a replay trains on
    the sum, as the run did, and reports losses on the curves' scale (replays of a summed
    cross-entropy reported sums 64 times the curves' values, and learning_rate read a run at
    lr 0.5 with a validation loss above the constant guess as better than its replay). A loss
    the model or a criterion object computes carries its terms (capture/summed_losses.py)."""
    terms = getattr(replay_loss, "summed_terms", None)
    return terms(batch) if terms is not None else terms_of(loss)


def validation_loss(replay_loss):
    """How a validation's loss is computed: the training loss less a penalty added by hand
    (``data_term``), or the part the run's curves recorded (``scored_term``: the first torch.nn
    loss inside the script's own loss function, capture/loss_callable.py)."""
    return (getattr(replay_loss, "scored_term", None) or getattr(replay_loss, "data_term", None)
            or replay_loss)


#: Without validation batches, the last fifth of the training batches stands in for them when
#: there are at least this many; with fewer (full-batch training, a few large batches), every
#: HOLD_OUT_EVERY-th row of each batch does.
HOLD_OUT_BATCHES = 5
HOLD_OUT_EVERY = 5
#: The least rows a batch needs for its rows to be held out: a fifth of them is then at least
#: four rows to score a held-out loss on.
MIN_ROWS_TO_HOLD_OUT = 20


class Split(NamedTuple):
    train: list[Batch]
    validation: list[Batch]
    rows_held_out: int  # rows of the training batches held out when rows stand in (else 0)


def split_batches(copies: Copies) -> tuple[list[Batch], list[Batch]]:
    """The training and validation batches the experiments use (see :func:`split`)."""
    return split(copies)[:2]


def split(copies: Copies) -> Split:
    """The captured training and validation batches; without validation batches, the last
    fifth of the training batches is held out to stand in for them, or with fewer than
    HOLD_OUT_BATCHES, every fifth row of each (a full-batch run without validation data,
    as forum threads' regressions are: its replays had nothing to be judged on)."""
    train = [b for b in copies.train.batches if b.target is not None]
    validation = [b for b in copies.validation.batches if b.target is not None]
    if validation or not train:
        return Split(train, validation, 0)
    if len(train) >= HOLD_OUT_BATCHES:
        cut = len(train) - max(len(train) // 5, 1)
        return Split(train[:cut], train[cut:], 0)
    if all(b.rows >= MIN_ROWS_TO_HOLD_OUT and row_major(b) for b in train):
        held_out = [_rows(b, kept=False) for b in train]
        return Split([_rows(b, kept=True) for b in train], held_out,
                     sum(b.rows for b in held_out))
    return Split(train, validation, 0)


def _rows(batch: Batch, kept: bool) -> Batch:
    """The batch's rows kept for training (``kept``), or held out: every HOLD_OUT_EVERY-th row,
    spread over the batch, so that data sorted by its input (1, 2, ..., 3999) is held out
    between training rows, not beyond them."""
    index = [i for i in range(batch.rows) if (i % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1) != kept]
    return replace(batch, args=take_rows(batch.args, index, batch.rows),
                   kwargs=take_rows(batch.kwargs, index, batch.rows),
                   target=take_rows(batch.target, index, batch.rows), rows=len(index), keys=[],
                   row_values=row_values.taken(batch.row_values, index))


def on_device(batch: Batch, device: torch.device | None) -> Batch:
    """``batch`` with its tensors on ``device``; the batch itself when they are there already
    (always on the CPU) or when the device is unknown."""
    tensors = tensors_in((batch.args, batch.kwargs, batch.target))
    if device is None or all(t.device == device for t in tensors):
        return batch
    return replace(batch, args=map_tensors(batch.args, lambda t: t.to(device)),
                   kwargs=map_tensors(batch.kwargs, lambda t: t.to(device)),
                   target=map_tensors(batch.target, lambda t: t.to(device)))


def first_input(batch: Batch) -> torch.Tensor | None:
    """The model's first input tensor: the first positional one, else the first one of a dict
    given positionally (``model(batch)`` on a dataset's dict rows), else the first keyword one
    (a dict batch given as ``model(**batch)``)."""
    return next((v for v in (*batch.args, *_positional_dict_values(batch),
                             *batch.kwargs.values()) if isinstance(v, torch.Tensor)), None)


def _positional_dict_values(batch: Batch) -> list:
    """The values of the first dict among the positional inputs, in its order."""
    found = next((v for v in batch.args if isinstance(v, Mapping)), None)
    return list(found.values()) if found is not None else []


def _lr_setter(optimizer, multipliers: list[float] | None) -> Callable[[int], None]:
    """Sets each parameter group's lr to its initial lr times the step's multiplier."""
    bases = [group.get("lr") for group in optimizer.param_groups]

    def set_lr(step: int) -> None:
        if multipliers is None or step >= len(multipliers):
            return
        for group, base in zip(optimizer.param_groups, bases, strict=True):
            if isinstance(base, (int, float)):
                group["lr"] = base * multipliers[step]

    return set_lr


def map_first_input(batch: Batch, change: Callable[[torch.Tensor], torch.Tensor]) -> Batch:
    """The batch with its first input tensor changed (for example, standardized)."""
    for index, value in enumerate(batch.args):
        if isinstance(value, torch.Tensor):
            return replace(batch, args=(*batch.args[:index], change(value),
                                        *batch.args[index + 1:]))
    for index, value in enumerate(batch.args):
        if isinstance(value, Mapping):
            key = next((k for k, v in value.items() if isinstance(v, torch.Tensor)), None)
            if key is None:
                break
            changed = {**value, key: change(value[key])}
            return replace(batch, args=(*batch.args[:index], changed, *batch.args[index + 1:]))
    for key, value in batch.kwargs.items():
        if isinstance(value, torch.Tensor):
            return replace(batch, kwargs={**batch.kwargs, key: change(value)})
    return batch


def _accepted_hparams(optimizer_class: type, hparams: dict) -> dict:
    """The settings this optimizer's constructor takes (param_groups also hold bookkeeping);
    a constructor with ``**kwargs`` is given them all."""
    try:
        parameters = inspect.signature(optimizer_class.__init__).parameters.values()
    except (TypeError, ValueError):
        return {"lr": hparams["lr"]} if "lr" in hparams else {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return dict(hparams)
    names = {p.name for p in parameters}
    return {k: v for k, v in hparams.items() if k in names}
