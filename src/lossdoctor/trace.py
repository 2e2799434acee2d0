"""What was seen during the run, as plain numbers: losses, setup, gradient and activation stats.

Everything here is JSON-serializable and holds no reference to the user's objects.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from lossdoctor.slice_epochs import epoch_starts_from_short_batches


@dataclass(slots=True)
class LossRecord:
    """One call of a loss function."""

    value: float
    rows: int
    phase: str  # "train", "eval", or "train_eval" (an evaluation of the training data)
    step: int  # optimizer steps taken before this call
    loss_name: str = ""
    model_training: bool | None = None  # the model's .training flag at this call, if known
    calls: int = 1  # loss calls merged into this record (long runs keep a decimated history)
    #: Another evaluation of rows this model call's output was already scored on (a metric in
    #: other units, a second term): not the first loss computed from that output.
    rescored: bool = False
    #: Computed on the output of a copy of the model (an EMA copy), not of the model trained.
    on_copy: bool = False
    #: An evaluation computed with gradients on: a training loss backward never went through
    #: when the run never called backward at all (capture/unbackpropagated.py).
    with_gradients: bool = False

    def absorb(self, other: LossRecord) -> None:
        """Take ``other``'s calls into this record: the mean weighted by rows, rows summed."""
        rows = self.rows + other.rows
        self.value = (self.value * self.rows + other.value * other.rows) / max(rows, 1)
        self.rows, self.calls = rows, self.calls + other.calls

    def mergeable(self, other: LossRecord) -> bool:
        return (self.phase, self.loss_name, self.model_training, self.rescored,
                self.on_copy, self.with_gradients) == (
                    other.phase, other.loss_name, other.model_training, other.rescored,
                    other.on_copy, other.with_gradients)


@dataclass
class ValidationPass:
    """Consecutive evaluation losses with no optimizer step between them."""

    step: int
    epoch: int
    loss: float
    batches: int
    rows: int
    source: str = "loss calls"  # or "framework", "tensorboard", "printed": validation_passes


@dataclass
class ReportedLoss:
    """A validation loss the script reported itself: to its framework's logs (seen by a
    lossdoctor callback), to TensorBoard, or in a printed line."""

    step: int
    value: float
    source: str  # "framework", "tensorboard" or "printed"
    name: str  # the metric's name, the TensorBoard tag, or the printed words before the number


@dataclass
class Setup:
    """The model, loss and optimizer in use."""

    model_class: str = ""
    layers: list[dict] = field(default_factory=list)
    parameter_count: int = 0
    loss_name: str = ""
    loss_kwargs: dict = field(default_factory=dict)
    optimizer_class: str = ""
    optimizer_hparams: dict = field(default_factory=dict)
    batch_size: int = 0
    loader_batches: int = 0  # batches per pass of the training data loader; 0: unknown
    #: At the first optimizer step, parameter name -> element count of trainable parameters
    #: left out of the optimizer, and of parameters with requires_grad False.
    not_in_optimizer: dict[str, int] = field(default_factory=dict)
    requires_grad_off: dict[str, int] = field(default_factory=dict)
    optimizer_elements_outside_model: int = 0  # optimizer parameters that are not the model's
    mode_sensitive_layers: int = 0  # Dropout and BatchNorm layers (train/eval mode matters)
    #: The learning rate (the first parameter group's) at the first step, its highest value and
    #: its value at the last step; lr_schedule holds [step, lr] wherever it changed (bounded).
    lr_first: float | None = None
    lr_peak: float | None = None
    lr_last: float | None = None
    lr_schedule: list[list] = field(default_factory=list)
    #: The rate the optimizer was built with (a torch scheduler's ``initial_lr``, else
    #: ``optimizer.defaults['lr']``): a schedule written by hand overwrites each group's lr
    #: at every step, not these. None when unknown.
    lr_given: float | None = None
    #: Whether the rate's cuts came from a scheduler watching the run's own metric
    #: (ReduceLROnPlateau: capture/lr_reactive.py), looked at when the rate first fell: its
    #: ``mode`` and ``best`` value then, or False for another schedule; None when it never fell.
    lr_reactive: dict | bool | None = None
    #: The terms of a loss the model's forward adds up from several torch.nn losses, at the
    #: first training step (capture/loss_terms.py): each a dict of its loss_name, share of the
    #: sum, value, adds_up, target_mean and target_std. Empty for a loss of one term.
    loss_terms: list[dict] = field(default_factory=list)
    #: The tensor the first training backward pass started from, over its torch.nn loss's mean
    #: per element: 1 for a mean loss, the elements per row for ``mse(reduction="sum") /
    #: batch_size``, 1/4 for a mean divided by 4 accumulation steps. None when not seen.
    trained_per_element: float | None = None
    #: The reduction ("mean", "sum", ...) of the first evaluation call of each torch.nn loss.
    eval_reductions: dict[str, str] = field(default_factory=dict)

    def follow_lr(self, step: int, lr: float) -> None:
        """Note the learning rate of ``step``: schedulers, warmup and changes by hand."""
        if self.lr_first is None:
            self.lr_first = self.lr_peak = lr
        self.lr_peak = max(self.lr_peak, lr)
        if lr != self.lr_last:
            self.lr_schedule.append([step, lr])
            if len(self.lr_schedule) > MAX_LR_CHANGES:
                self.lr_schedule[:] = self.lr_schedule[::2]
        self.lr_last = lr


@dataclass
class LayerGradient:
    """Gradient and update size for one parameter at one sampled step."""

    step: int
    name: str
    grad_norm: float
    weight_norm: float
    update_ratio: float | None = None  # on the steps Schedule.measures_updates names, else None
    dims: int = 0  # the parameter's number of dimensions (0: not recorded)
    named: bool = True  # named by a model (False: a tensor trained outside any nn.Module)

    @property
    def is_weight(self) -> bool:
        """A layer's weight matrix (torch's ``weight``, Keras's ``kernel``), not a bias; for a
        tensor trained outside any module (a model written as ``x @ w + b``), one of two or
        more dimensions."""
        if not self.named:
            return self.dims >= 2
        return self.name.endswith(("weight", "kernel"))


@dataclass
class ActivationStat:
    """How one activation behaved on one sampled forward pass."""

    step: int
    layer: str
    kind: str  # "sigmoid", "tanh", "relu", "probabilities" (a loss that takes probabilities)
    saturated_fraction: float  # outputs pinned at the function's limits
    dead_fraction: float  # units never active in the batch (ReLU family)
    units: int
    #: Of a loss's probabilities pinned, the share at the limit their own target takes (near 0
    #: where the target is 0): fitted, not stuck. None when unknown or nothing is pinned.
    pinned_on_target: float | None = None


@dataclass
class LossInputStat:
    """What one sampled loss call was given: shapes, dtypes and value ranges, as plain numbers."""

    step: int
    phase: str  # "train" or "eval"
    loss_name: str
    prediction_shape: list[int]
    target_shape: list[int]
    target_dtype: str  # "torch.int64", "torch.float32", ...
    target_min: float
    target_max: float
    target_integers: bool  # every target value is a whole number
    prediction_min: float
    prediction_max: float
    rows_sum_to_one: bool = False  # 2-D, non-negative, every row sums to 1 (a softmax output)
    rows_log_softmax: bool = False  # 2-D, every value <= 0 and every row's logsumexp is 0
    #: ... and each row, shifted to sum to 1, is a row of probabilities: log_softmax(softmax(x))
    rows_log_softmax_of_probabilities: bool = False
    widest_row: float = 0.0  # the largest max - min within one row of a 2-D prediction


@dataclass
class Trace:
    losses: list[LossRecord] = field(default_factory=list)
    epoch_starts: list[int] = field(default_factory=list)  # optimizer step at each epoch start
    learning_rates: list[float] = field(default_factory=list)  # at sampled steps
    setup: Setup = field(default_factory=Setup)
    gradients: list[LayerGradient] = field(default_factory=list)
    activations: list[ActivationStat] = field(default_factory=list)
    loss_inputs: list[LossInputStat] = field(default_factory=list)  # sampled loss calls
    notes: list[str] = field(default_factory=list)
    steps: int = 0
    #: Optimized parameters (requires_grad True) with no gradient at a sampled step: name ->
    #: {"elements": n, "sampled_steps": steps without a gradient}; out of gradient_samples steps.
    gradientless: dict[str, dict] = field(default_factory=dict)
    gradient_samples: int = 0
    zero_grad_calls: int = 0  # optimizer.zero_grad() or module.zero_grad() calls
    steps_without_zero_grad: int = 0  # optimizer steps with no zero_grad since the previous one
    manual_grad_resets: int = 0  # steps whose gradients were reset by hand (None or zeroed)
    #: Steps of optimizers other than the first, since the first one's last step (a model
    #: trained anew with an optimizer of its own: a k-fold's next fold, a model resumed from a
    #: checkpoint); how many of them found no gradient on any tensor they hold (steps that
    #: change nothing); and, at the first of them, the tensors' elements and those of them
    #: that are not the model's parameters (capture/later_optimizers.py).
    later_optimizer_steps: int = 0
    later_steps_without_gradients: int = 0
    later_optimizer_elements: int = 0
    later_optimizer_outside_model: int = 0
    #: The first of those optimizers' class and settings (its first group at a positive lr),
    #: as optimizer_class and optimizer_hparams are the first optimizer's: replays of two
    #: modules it and the first one train follow them (capture/chains_of_modules.py).
    later_optimizer_class: str = ""
    later_optimizer_hparams: dict = field(default_factory=dict)
    #: Optimizer steps after the first at which torch.manual_seed was called: a generator
    #: reseeded as the run goes repeats every random draw (batch indices, dropout masks).
    reseeded_steps: int = 0
    #: Optimizer steps at which the script evaluated held-out rows and no loss scored them (a
    #: metric such as accuracy or AUC in place of a validation loss: capture/data_events.py).
    unscored_evaluation_steps: int = 0
    #: Validation losses computed on a forward pass of the model in which dropout ran (a
    #: dropout call with training=True and a rate above 0: capture/dropout_events.py), those
    #: of them computed with the model in eval mode, and the rates that dropped (bounded).
    validation_losses_dropped: int = 0
    validation_losses_dropped_in_eval_mode: int = 0
    validation_dropout_rates: list[float] = field(default_factory=list)
    #: The training losses were computed and backward never went through any of them, while
    #: the optimizer stepped (capture/unbackpropagated.py): a loop without loss.backward().
    backward_never_ran: bool = False
    #: A trained loss scored an output another trained loss had scored: a loss of several
    #: terms. Validation losses that rescore an output are then its terms too, and count.
    training_rescores: bool = False
    #: Training loss calls per record: 1 until the history outgrows MAX_LOSS_RECORDS, then
    #: doubled at each compaction, so a run of any length keeps a bounded, even history.
    loss_block: int = 1
    #: Values logged by hand (doctor.log) other than losses: name -> [(step, value)], bounded.
    logged: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    #: Validation losses the script reported itself (TensorBoard, printed lines), bounded.
    reported: list[ReportedLoss] = field(default_factory=list)

    def add_loss(self, record: LossRecord) -> None:
        """Append a loss call; past MAX_LOSS_RECORDS, halve the history (see compact_losses)."""
        last = self.losses[-1] if self.losses else None
        if (self.loss_block > 1 and last is not None and record.phase == "train"
                and last.calls < self.loss_block and last.mergeable(record)):
            last.absorb(record)
            return
        self.losses.append(record)
        if len(self.losses) > MAX_LOSS_RECORDS:
            self.compact_losses()

    def add_reported(self, reported: ReportedLoss) -> None:
        """Keep a validation loss the script reported; past MAX_LOGGED, every other one."""
        self.reported.append(reported)
        if len(self.reported) > MAX_LOGGED:
            self.reported[:] = self.reported[::2]

    def log_value(self, name: str, step: int, value: float) -> None:
        """Keep a value logged by hand; past MAX_LOGGED per name, every other one is dropped."""
        values = self.logged.setdefault(name, [])
        values.append((step, value))
        if len(values) > MAX_LOGGED:
            values[:] = values[::2]

    def compact_losses(self) -> None:
        """Merge each validation pass's calls into one record (exactly the same pass loss), and
        pairs of consecutive training records; later training calls fill blocks twice as big."""
        self.loss_block *= 2
        kept: list[LossRecord] = []
        for record in self.losses:
            into = _merged_into(kept, record, self)
            if into is not None:
                into.absorb(record)
            else:
                kept.append(LossRecord(**asdict(record)))
        self.losses = kept

    def train_losses(self) -> list[LossRecord]:
        return [r for r in self.losses if r.phase == "train"]

    def step_losses(self) -> list[tuple[int, float]]:
        """Mean training loss of each optimizer step, as (step, loss)."""
        by_step: dict[int, list[float]] = {}
        for record in self.train_losses():
            by_step.setdefault(record.step, []).append(record.value)
        return [(step, sum(v) / len(v)) for step, v in sorted(by_step.items())]

    def epoch_of(self, step: int) -> int:
        """Epochs are counted from the training data's iterations, else from validation passes."""
        if not self.epoch_starts:
            return 0
        return max(bisect.bisect_right(self.epoch_starts, step) - 1, 0)  # starts in step order

    def validation_passes(self) -> list[ValidationPass]:
        """The validation loss of each pass, from the first of these sources the run has:

        1. "loss calls": the evaluation losses seen, per row (torch.nn losses whatever their
           reduction, hand-written losses, values given to ``doctor.log``). They are on the
           same scale as the training loss every check compares them with.
        2. "framework": the validation loss a framework logged, given to a lossdoctor callback
           (Lightning's ``self.log``, the HF Trainer's evaluation, Keras' epoch logs).
        3. "tensorboard": scalars the script wrote to TensorBoard under a validation loss tag.
        4. "printed": validation losses in the lines the script printed under `lossdoctor run`
           (the last resort: a line's words are the least certain).

        Sources are not mixed: one run's curve is read from one source."""
        passes = self._loss_call_passes()
        for source in REPORTED_SOURCES:
            if passes:
                break
            passes = self._reported_passes([r for r in self.reported if r.source == source])
        return passes

    def _reported_passes(self, reported: list[ReportedLoss]) -> list[ValidationPass]:
        """One pass per step: the last value the script reported there."""
        last_by_step = {r.step: r for r in reported}
        return [ValidationPass(step, self.epoch_of(step - 1) if self.epoch_starts else index,
                               r.value, 1, 0, r.source)
                for index, (step, r) in enumerate(sorted(last_by_step.items()))]

    def _loss_call_passes(self) -> list[ValidationPass]:
        passes: list[ValidationPass] = []
        group: list[LossRecord] = []
        for record in self.losses + [None]:
            if record is not None and record.phase == "eval" and (
                not group or group[-1].step == record.step
            ):
                group.append(record)
                continue
            if group:
                passes.append(self._pass_of(group, len(passes)))
            group = [record] if record is not None and record.phase == "eval" else []
        return passes

    def _pass_of(self, group: list[LossRecord], index: int) -> ValidationPass:
        """One pass from its loss calls: the first loss on each model output, without the
        ones that scored it again (a metric in other units), unless training had several terms."""
        if not self.training_rescores:
            group = [r for r in group if not r.rescored] or group
        rows = sum(r.rows for r in group)
        loss = sum(r.value * r.rows for r in group) / max(rows, 1)
        epoch = self.epoch_of(group[0].step - 1) if self.epoch_starts else index
        return ValidationPass(group[0].step, epoch, loss, sum(r.calls for r in group), rows)

    def epoch_counter(self) -> Callable[[int], int]:
        """The epoch of an optimizer step: from the training data's iterations, else the
        validation passes before it (a loop over slices has no loader to count)."""
        if self.epoch_starts:
            return self.epoch_of
        passes = self.validation_passes()
        if passes:
            return lambda step: _pass_index(passes, step)
        starts = epoch_starts_from_short_batches(self._rows_by_step())
        return lambda step: max(bisect.bisect_right(starts, step) - 1, 0)

    def _rows_by_step(self) -> list[tuple[int, int]]:
        """(step, rows) of each training step's first loss call, while every record holds one
        call (a compacted history has merged them)."""
        if self.loss_block > 1:
            return []
        first: dict[int, int] = {}
        for record in self.train_losses():
            first.setdefault(record.step, record.rows)
        return sorted(first.items())

    def epoch_train_losses(self) -> list[tuple[int, float]]:
        """Mean training loss per epoch, as (epoch, loss)."""
        by_epoch: dict[int, list[float]] = {}
        epoch_of = self.epoch_counter()
        for step, loss in self.step_losses():
            by_epoch.setdefault(epoch_of(step), []).append(loss)
        return [(e, sum(v) / len(v)) for e, v in sorted(by_epoch.items())]

    def curves(self) -> dict:
        return {
            "train_steps": [{"step": s, "loss": v} for s, v in self.step_losses()],
            "train_epochs": [{"epoch": e, "loss": v} for e, v in self.epoch_train_losses()],
            "validation": [asdict(p) for p in self.validation_passes()],
            "epoch_starts": list(self.epoch_starts),
        }

    def to_dict(self) -> dict:
        return asdict(self)


#: Loss records kept before the history is halved (a few hundred kilobytes at most).
MAX_LOSS_RECORDS = 20_000
MAX_LOGGED = 10_000
#: Learning-rate changes kept in Setup.lr_schedule before every other one is dropped.
MAX_LR_CHANGES = 1_000
#: Where validation losses come from when no evaluation loss call was seen, most trusted first.
REPORTED_SOURCES = ("framework", "tensorboard", "printed")


def _merged_into(kept: list[LossRecord], record: LossRecord, trace: Trace) -> LossRecord | None:
    """The kept record ``record`` joins, if any: the last one, or for a validation pass that
    also rescores its outputs, the last one of the same kind in that pass."""
    candidates = kept[-2:] if record.phase == "eval" else kept[-1:]
    for last in reversed(candidates):
        if last.mergeable(record) and _same_block(last, record, trace):
            return last
    return None


def _same_block(last: LossRecord, record: LossRecord, trace: Trace) -> bool:
    if record.phase == "eval":
        return last.step == record.step
    return last.calls + record.calls <= trace.loss_block


def _pass_index(passes: list[ValidationPass], step: int) -> int:
    """Without data-loader epochs, training steps up to a validation pass form that epoch
    (passes come in step order: a search, not a count over every pass at every step)."""
    return bisect.bisect_right(passes, step, key=lambda p: p.step)
