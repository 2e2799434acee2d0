"""Turns what PyTorch's hooks report into a Trace (numbers) and Copies (for experiments).

Every event handler is guarded: an error inside lossdoctor is recorded and switches the
recorder off; it never reaches the user's training.
"""

from __future__ import annotations

import copy
import functools
import weakref
from collections import Counter

import torch
from torch import nn
from torch.nn.modules.loss import _Loss

from lossdoctor.capture import stats
from lossdoctor.capture.activations import ActivationSpy
from lossdoctor.capture.copies import Copies
from lossdoctor.capture.sample import Batch, BatchSample
from lossdoctor.capture.schedule import Schedule
from lossdoctor.capture.tensors import batch_rows, copy_to_cpu, first_tensor
from lossdoctor.losses import loss_kind
from lossdoctor.trace import ActivationStat, LayerGradient, LossInputStat, LossRecord, Trace


def guarded(handler):
    """Run a hook handler so that no error of ours can reach the user's code."""

    @functools.wraps(handler)
    def wrapper(self, *args, **kwargs):
        if self.broken:
            return None
        try:
            return handler(self, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - the user's run must go on
            self.broken = True
            self.internal_errors.append(f"{handler.__name__}: {type(error).__name__}: {error}")
            return None

    return wrapper


class Recorder:
    """Receives training events; knows nothing about how they were hooked."""

    def __init__(self, sample_rows: int = 4096, schedule: Schedule | None = None) -> None:
        self.trace = Trace()
        self.copies = Copies(train=BatchSample(sample_rows), validation=BatchSample(sample_rows))
        self.schedule = schedule or Schedule()
        self.sampled = self.schedule.is_sampled(0)  # whether this step gets the costly stats
        self.broken = False
        self.internal_errors: list[str] = []
        self._depth = 0
        self._inside_loss = 0
        self._spy: ActivationSpy | None = None
        self._module_stack: list[nn.Module] = []
        self._model_ref: weakref.ref | None = None
        self._optimizer_ref: weakref.ref | None = None
        self._pending: tuple[str, Batch] | None = None
        self._param_names: dict[int, str] = {}
        self._before_update: dict[int, tuple[LayerGradient, torch.Tensor]] = {}
        self._module_names: dict[int, str] = {}
        self._loader_starts: dict[int, list[int]] = {}
        self._train_losses_by_loader: Counter = Counter()
        self._current_loader: int | None = None
        self._zeroed_since_step = False
        #: The first optimized parameter's gradient after the last step, weakly held.
        self._grad_after_step: weakref.ref | None = None
        self._train_rows: Counter = Counter()  # rows per training loss call -> calls
        #: Told before every optimizer step (a safe point to stop the run); see on_step.
        self.listener = None
        self.last_train_loss: float | None = None
        self.events_since_step = False  # a validation loss or a new data-loader pass was seen
        self.validated_since_step = False  # a validation loss was seen
        #: Set by the hook layer: narrow_to(model) puts hooks on the model alone;
        #: follow_submodules(on) sees its submodules during a sampled forward pass.
        self.narrow_to = None
        self.follow_submodules = None
        self._roots: set[int] = set()  # top-level models called before the first step

    @property
    def _model(self) -> nn.Module | None:
        """The model being trained, while the user's code still holds it."""
        return self._model_ref() if self._model_ref else None

    @property
    def step(self) -> int:
        return self.trace.steps

    # --- modules -------------------------------------------------------------------------

    @guarded
    def forward_started(self, module: nn.Module, args) -> None:
        if isinstance(module, _Loss):
            self._inside_loss += 1
            return
        self._depth += 1
        if self._depth == 1 and (self._is_model(module) or _has_parameters(module)):
            if not self._is_model(module):
                self._model_ref = weakref.ref(module)
            if self._optimizer_ref is None:
                self._roots.add(id(module))
            if self.sampled and _phase() == "train":
                self._start_spying()
        if self._spy is not None:
            self._module_stack.append(module)

    @guarded
    def forward_finished(self, module: nn.Module, args, kwargs, output) -> None:
        if isinstance(module, _Loss):
            self._inside_loss -= 1
            if output is not None and len(args) >= 2:
                self.loss_computed(type(module).__name__, module, args[0], args[1], output)
            return
        self._depth -= 1
        if self._spy is not None and self._module_stack:
            self._module_stack.pop()
        if self._depth == 0 and self._model_ref is not None and module is self._model_ref():
            self._stop_spying()
            self._keep_inputs(args, kwargs)

    def _is_model(self, module: nn.Module) -> bool:
        return self._model_ref is not None and self._model_ref() is module

    def _start_spying(self) -> None:
        if torch.compiler.is_compiling():
            return
        self._spy = ActivationSpy(self._record_activation)
        self._spy.__enter__()
        if self.follow_submodules is not None:
            self.follow_submodules(True)

    def _stop_spying(self) -> None:
        if self.follow_submodules is not None:
            self.follow_submodules(False)
        if self._spy is not None:
            spy, self._spy = self._spy, None
            self._module_stack.clear()
            spy.__exit__(None, None, None)

    def _keep_inputs(self, args, kwargs) -> None:
        phase = _phase()
        sample = self.copies.train if phase == "train" else self.copies.validation
        self._pending = None
        if sample.complete:
            return
        rows = batch_rows((args, kwargs))
        if rows and sample.wants(rows):
            self._pending = (phase, Batch(copy_to_cpu(args), copy_to_cpu(kwargs), None, rows))

    @guarded
    def _record_activation(self, kind: str, output: torch.Tensor) -> None:
        module = self._module_stack[-1] if self._module_stack else None
        self.trace.activations.append(
            ActivationStat(
                step=self.step,
                layer=self._activation_place(kind, module),
                kind=kind,
                saturated_fraction=stats.saturated_fraction(kind, output),
                dead_fraction=stats.dead_fraction(output) if kind == "relu" else 0.0,
                units=stats.unit_count(output),
            )
        )

    def _activation_place(self, kind: str, module: nn.Module | None) -> str:
        """The activation module's name ("encoder.1"), or where a function like torch.sigmoid
        was called ("torch.sigmoid in SimpleClassifier.forward")."""
        if module is None:
            return kind
        model = self._model
        if id(module) not in self._module_names and model is not None:
            self._module_names = {id(m): name for name, m in model.named_modules() if name}
        name = self._module_names.get(id(module), "")
        if isinstance(module, stats.ACTIVATION_MODULES):
            return name or type(module).__name__
        owner = f"{name} ({type(module).__name__})" if name else type(module).__name__
        return f"torch.{kind} in {owner}.forward"

    # --- losses --------------------------------------------------------------------------

    @property
    def inside_loss_module(self) -> bool:
        return self._inside_loss > 0

    @guarded
    def loss_computed(self, name: str, loss_fn, prediction, target, output, kwargs=None) -> None:
        if not isinstance(prediction, torch.Tensor):  # the common case skips the search
            prediction = first_tensor(prediction)
        if prediction is None or not isinstance(output, torch.Tensor):
            return
        phase = "train" if torch.is_grad_enabled() and output.requires_grad else "eval"
        value = output.item() if output.numel() == 1 else float(output.detach().float().mean())
        rows = prediction.shape[0] if prediction.dim() else 0
        model = self._model
        training = model.training if model is not None else None
        self.trace.add_loss(LossRecord(value, rows, phase, self.step, name, training))
        if phase == "train":
            self.last_train_loss = value
            self._train_rows[rows] += 1
            self._train_losses_by_loader[self._current_loader] += 1
            self._remember_loss(name, loss_fn, prediction, kwargs)
            self._record_output_saturation(name, prediction)
        else:
            self.events_since_step = self.validated_since_step = True
        if self.sampled:
            self._record_loss_inputs(name, phase, prediction, first_tensor(target))
        self._pair_target(phase, target)

    def _record_loss_inputs(self, name: str, phase: str, prediction, target) -> None:
        if target is None or prediction.numel() == 0 or target.numel() == 0:
            return
        self.trace.loss_inputs.append(
            LossInputStat(step=self.step, phase=phase, loss_name=name,
                          **_loss_input_numbers(prediction, target))
        )

    def _pair_target(self, phase: str, target) -> None:
        if self._pending is None or self._pending[0] != phase:
            return
        _, batch = self._pending
        batch.target = copy_to_cpu(target)
        sample = self.copies.train if phase == "train" else self.copies.validation
        sample.add(batch)
        self._pending = None

    def _remember_loss(self, name: str, loss_fn, prediction: torch.Tensor, kwargs) -> None:
        if self.copies.loss_fn is not None:
            return
        if isinstance(loss_fn, nn.Module):
            self.copies.loss_fn = copy.deepcopy(loss_fn)
        else:
            self.copies.loss_fn = functools.partial(loss_fn, **copy_to_cpu(kwargs or {}))
        self.copies.prediction_shape = tuple(prediction.shape[1:])
        self.trace.setup.loss_name = name
        settings = kwargs if kwargs is not None else _public_settings(loss_fn)
        self.trace.setup.loss_kwargs = _plain(settings)

    def _record_output_saturation(self, name: str, prediction: torch.Tensor) -> None:
        if not self.sampled or not _takes_probabilities(name):
            return
        self.trace.activations.append(
            ActivationStat(
                step=self.step,
                layer="model output",
                kind="probabilities",
                saturated_fraction=stats.saturated_fraction("probabilities", prediction),
                dead_fraction=0.0,
                units=int(prediction.numel() // max(batch_rows(prediction), 1)),
            )
        )

    # --- optimizer -----------------------------------------------------------------------

    @guarded
    def step_started(self, optimizer: torch.optim.Optimizer) -> None:
        if self._optimizer_ref is None:
            self._first_step(optimizer)
        elif self._optimizer_ref() is not optimizer:
            return
        self._count_zero_grad()
        if self.sampled:
            self.trace.learning_rates.append(float(optimizer.param_groups[0].get("lr", 0.0)))
            self._record_gradients(optimizer)

    def on_step(self) -> None:
        """Tell the listener a step is about to be taken. Its errors are recorded like ours,
        except a deliberate stop (a BaseException such as StopRun), which goes through."""
        listener = self.listener
        if listener is None or self.broken:
            return
        try:
            listener(self)
        except Exception as error:  # noqa: BLE001 - the user's run must go on
            self.listener = None
            self.internal_errors.append(f"listener: {type(error).__name__}: {error}")
        finally:
            self.events_since_step = self.validated_since_step = False

    @guarded
    def log(self, name: str, value: float, step: int | None = None) -> None:
        """A value computed by hand: a validation or training loss joins the loss curves,
        anything else is kept under its name."""
        step = self.step if step is None else int(step)
        phase = _logged_phase(name)
        if phase is None:
            self.trace.log_value(name, step, float(value))
            return
        self.trace.add_loss(LossRecord(float(value), 1, phase, step, name, None))
        if phase == "eval":
            self.events_since_step = self.validated_since_step = True
        else:
            self.last_train_loss = float(value)

    @guarded
    def zero_grad_called(self) -> None:
        self.trace.zero_grad_calls += 1
        self._zeroed_since_step = True

    def _count_zero_grad(self) -> None:
        if not self._zeroed_since_step and self._gradients_replaced():
            self.trace.manual_grad_resets += 1  # `p.grad = None` by hand: as good as zero_grad
            self._zeroed_since_step = True
        if not self._zeroed_since_step:
            self.trace.steps_without_zero_grad += 1
        self._zeroed_since_step = False

    def _gradients_replaced(self) -> bool:
        """Whether the gradients are new tensors since the last step: backward accumulates
        into an existing .grad in place, so a new one means it was set to None in between.
        The first parameter stands for all (gradients are reset all together): O(1) a step."""
        optimizer = self._optimizer_ref() if self._optimizer_ref else None
        if optimizer is None or self._grad_after_step is None:
            return False
        return self._grad_after_step() is not _first_gradient(optimizer)

    def _remember_gradients(self, optimizer: torch.optim.Optimizer) -> None:
        """A weak reference only: the user's gradient tensors are never kept alive."""
        grad = _first_gradient(optimizer)
        self._grad_after_step = None if grad is None else weakref.ref(grad)

    @guarded
    def step_finished(self, optimizer: torch.optim.Optimizer) -> None:
        if self._optimizer_ref is None or self._optimizer_ref() is not optimizer:
            return
        self._record_updates(optimizer)
        self._remember_gradients(optimizer)
        self.trace.steps += 1
        self.sampled = self.schedule.is_sampled(self.trace.steps)

    @guarded
    def submodule_started(self, module: nn.Module, args) -> None:
        if self._spy is not None and not isinstance(module, _Loss):
            self._module_stack.append(module)

    @guarded
    def submodule_finished(self, module: nn.Module, args, kwargs, output) -> None:
        if self._module_stack and self._module_stack[-1] is module:
            self._module_stack.pop()

    def _first_step(self, optimizer: torch.optim.Optimizer) -> None:
        self._optimizer_ref = weakref.ref(optimizer)
        model = self._model
        self.copies.optimizer_class = type(optimizer)
        self.copies.optimizer_hparams = {
            k: v for k, v in optimizer.param_groups[0].items() if k != "params"
        }
        setup = self.trace.setup
        setup.optimizer_class = type(optimizer).__name__
        setup.optimizer_hparams = _plain(self.copies.optimizer_hparams)
        if model is not None:
            self._describe_model(model)
            self._describe_untrained(model, optimizer)
            self.copies.initial_model = copy.deepcopy(model)
        if model is not None and len(self._roots) == 1 and self.narrow_to is not None:
            self.narrow_to(model)

    def _describe_untrained(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        optimized = {id(p) for p in _optimized(optimizer)}
        in_model = {id(p) for p in model.parameters()}
        setup = self.trace.setup
        for name, param in model.named_parameters():
            if not param.requires_grad:
                setup.requires_grad_off[name] = param.numel()
            elif id(param) not in optimized:
                setup.not_in_optimizer[name] = param.numel()
        setup.optimizer_elements_outside_model = sum(
            p.numel() for p in _optimized(optimizer) if id(p) not in in_model
        )

    def _describe_model(self, model: nn.Module) -> None:
        self._param_names = {id(p): name for name, p in model.named_parameters()}
        setup = self.trace.setup
        setup.model_class = type(model).__name__
        setup.parameter_count = sum(p.numel() for p in model.parameters())
        setup.layers = [
            {"name": name, "type": type(m).__name__, "parameters": _own_parameters(m)}
            for name, m in model.named_modules()
            if name and not list(m.children())
        ]
        setup.mode_sensitive_layers = sum(isinstance(m, MODE_SENSITIVE) for m in model.modules())

    def _record_gradients(self, optimizer: torch.optim.Optimizer) -> None:
        self.trace.gradient_samples += 1
        for param in _optimized(optimizer):
            if param.grad is None:
                self._note_gradientless(param)
                continue
            record = LayerGradient(
                step=self.step,
                name=self._param_names.get(id(param), f"parameter {len(self._before_update)}"),
                grad_norm=stats.norm(param.grad),
                weight_norm=stats.norm(param),
            )
            self.trace.gradients.append(record)
            self._before_update[id(param)] = (record, param.detach().clone())

    def _note_gradientless(self, param: torch.Tensor) -> None:
        if not param.requires_grad:
            return
        name = self._param_names.get(id(param), "a parameter outside the model")
        entry = self.trace.gradientless.setdefault(
            name, {"elements": 0, "sampled_steps": 0}
        )
        entry["elements"] = param.numel()
        entry["sampled_steps"] += 1

    def _record_updates(self, optimizer: torch.optim.Optimizer) -> None:
        if not self._before_update:
            return
        for param in _optimized(optimizer):
            if id(param) in self._before_update:
                record, before = self._before_update[id(param)]
                update = stats.norm(param.detach() - before)
                record.update_ratio = update / max(stats.norm(before), 1e-12)
        self._before_update.clear()

    # --- data ----------------------------------------------------------------------------

    @guarded
    def loader_started(self, loader) -> None:
        self._current_loader = id(loader)
        self.events_since_step = True
        self._loader_starts.setdefault(id(loader), []).append(self.step)

    # --- end of run ----------------------------------------------------------------------

    def finish(self) -> tuple[Trace, Copies]:
        """Close the books: epochs, batch size, and a copy of the trained model if reachable."""
        try:
            self._settle_epochs()
            self._explain_missing_samples()
            self.trace.setup.batch_size = _most_common(self._train_rows)
            self.keep_trained_model()
        except Exception as error:  # noqa: BLE001 - a partial trace beats none
            self.internal_errors.append(f"finish: {type(error).__name__}: {error}")
        self.trace.notes.extend(f"lossdoctor internal error: {e}" for e in self.internal_errors)
        return self.trace, self.copies

    @guarded
    def keep_trained_model(self) -> None:
        """Copy the model as training left it. Call it while the training code's variables are
        alive: lossdoctor holds the model only by a weak reference."""
        model = self._model
        kept = self.copies.final_model is not None
        if model is not None and self.copies.initial_model is not None and not kept:
            self.copies.final_model = copy.deepcopy(model)

    def _explain_missing_samples(self) -> None:
        if self.trace.train_losses() and not self.copies.train.batches:
            self.trace.notes.append(
                "No training batch could be paired with its targets (the loss was not computed "
                "on the output of a model call, e.g. it was computed inside the model's forward), "
                "so the experiments that replay your training were skipped."
            )

    def _settle_epochs(self) -> None:
        counted = {k: v for k, v in self._train_losses_by_loader.items() if k is not None}
        if counted:
            train_loader = max(counted, key=counted.get)
            self.trace.epoch_starts = list(self._loader_starts.get(train_loader, []))


#: Layers that behave differently in train and eval mode.
MODE_SENSITIVE = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)

#: How far a row's sum (or logsumexp) may be from 1 (or 0) and still be a softmax output.
NORMALIZED_TOLERANCE = 1e-3


@torch.no_grad()
def _loss_input_numbers(prediction: torch.Tensor, target: torch.Tensor) -> dict:
    """Shapes, target dtype and value ranges of a loss call, and whether a 2-D prediction's rows
    are already probabilities or log-probabilities. Plain numbers; nothing is kept."""
    values = prediction.detach().float()
    labels = target.detach()
    labels_float = labels.float()
    is_float = labels.is_floating_point()
    numbers = {
        "prediction_shape": list(prediction.shape),
        "target_shape": list(target.shape),
        "target_dtype": str(target.dtype),
        "target_min": float(labels_float.min()),
        "target_max": float(labels_float.max()),
        "target_integers": bool((labels_float == labels_float.round()).all()) if is_float
        else True,
        "prediction_min": float(values.min()),
        "prediction_max": float(values.max()),
    }
    if values.dim() == 2 and values.shape[1] > 1:
        numbers["rows_sum_to_one"] = bool(
            numbers["prediction_min"] >= 0
            and ((values.sum(dim=1) - 1).abs() <= NORMALIZED_TOLERANCE).all()
        )
        numbers["rows_log_softmax"] = bool(
            numbers["prediction_max"] <= 0
            and (values.logsumexp(dim=1).abs() <= NORMALIZED_TOLERANCE).all()
        )
    return numbers


def _logged_phase(name: str) -> str | None:
    """"val_loss", "validation/loss" -> "eval"; "train_loss", "loss" -> "train"; else None."""
    lowered = name.lower()
    if "loss" not in lowered:
        return None
    return "eval" if any(word in lowered for word in ("val", "test", "eval")) else "train"


def _takes_probabilities(loss_name: str) -> bool:
    kind = loss_kind(loss_name)
    return kind is not None and kind.output == "probabilities"


def _phase() -> str:
    return "train" if torch.is_grad_enabled() else "eval"


def _has_parameters(module: nn.Module) -> bool:
    return next(module.parameters(), None) is not None


def _own_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters(recurse=False))


def _first_gradient(optimizer: torch.optim.Optimizer) -> torch.Tensor | None:
    for group in optimizer.param_groups:
        if group["params"]:
            return group["params"][0].grad
    return None


def _optimized(optimizer: torch.optim.Optimizer):
    return [p for group in optimizer.param_groups for p in group["params"]]


def _public_settings(loss_fn) -> dict:
    if not isinstance(loss_fn, nn.Module):
        return {}
    return {k: v for k, v in vars(loss_fn).items() if k != "training"}


def _most_common(counts: Counter) -> int:
    return counts.most_common(1)[0][0] if counts else 0


def _plain(mapping: dict) -> dict:
    """Only the JSON-friendly scalar settings (lr, momentum, betas, weight_decay, ...)."""
    plain = {}
    for key, value in mapping.items():
        if key.startswith("_"):
            continue
        if isinstance(value, (bool, int, float, str)) or value is None:
            plain[key] = value
        elif isinstance(value, tuple) and all(isinstance(v, (int, float)) for v in value):
            plain[key] = list(value)
        elif isinstance(value, torch.Tensor) and value.numel() == 1:
            plain[key] = float(value)
    return plain
