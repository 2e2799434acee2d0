"""The user's own Python function that turned the model's output and the batch into the training
loss (``compute_loss(pred, targets)``), for a loss the recorded program (loss_program.py) cannot
replay: targets built in Python from a list of boxes per image, whose rows do not line up with
the batch's rows.

At the first training step, between the end of the model's forward pass and the start of
backward, a profile function (sys.setprofile, this thread only, only then) notes each call of
the script's own code: its arguments as it was called, and what it returned. The loss's function
is the outermost such call that returned the tensor backward was called on (or a tuple or dict
holding it) and that was given the model's output. A replay calls that same function again with
the copy's output and the other arguments kept with the batch (LossArguments), the batch whole:
its rows cannot be split, since the targets' rows are not the batch's.

At a later step whose batch the sample keeps, the profile function waits for that function's
next call and keeps its other arguments with the batch (watch_call), then leaves at once.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch
from torch.overrides import TorchFunctionMode

from lossdoctor.capture.loss_program import TORCH_LOSSES, storage_of
from lossdoctor.capture.replay_losses import Place, at_place, place_of, tensor_places
from lossdoctor.capture.tensors import copy_to_cpu, first_tensor, map_tensors, tensors_in
from lossdoctor.findings import Skip

#: Calls of the script's code noted in one window, at most (a loss makes a few dozen).
MAX_NOTED = 2_000

_LIBRARY_DIRS = tuple(os.path.realpath(p) + os.sep for p in {
    sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    | {os.path.dirname(os.path.dirname(os.path.abspath(torch.__file__))),
       os.path.dirname(os.path.dirname(os.path.abspath(__file__)))})


def is_script_code(filename: str) -> bool:
    """Whether code comes from the user's files: not the standard library, an installed
    package, torch or lossdoctor."""
    if not filename or filename.startswith("<"):
        return False
    return not os.path.realpath(filename).startswith(_LIBRARY_DIRS)


_SCRIPT_FILES: dict[str, bool] = {}


def _script_code(code) -> bool:
    known = _SCRIPT_FILES.get(code.co_filename)
    if known is None:
        known = _SCRIPT_FILES[code.co_filename] = is_script_code(code.co_filename)
    return known


# --- what a call was given ---------------------------------------------------------------------


@dataclass(frozen=True)
class FromOutput:
    """An argument that was (a tensor of) the model's output."""

    place: Place
    shape: tuple | None  # the tensor's shape after the batch axis; None: not a tensor


@dataclass(frozen=True)
class Kept:
    """An argument kept with each batch (its targets): the position in LossArguments."""

    index: int


@dataclass
class LossArguments:
    """A batch's target for a loss called by the script's own function: the arguments other
    than the model's output, copied, for a batch of ``rows`` rows kept whole. Opaque on purpose:
    the sample and the checks must not take rows of it (they do not line up with the batch's)."""

    values: list
    rows: int


@dataclass
class NotedCall:
    code: object
    level: int  # how many calls of the script's code it was made inside
    function: Callable | None
    args: tuple
    kwargs: dict
    returned: object = None


def _arguments(frame) -> tuple[tuple, dict]:
    """A call's arguments as it was called, read from its frame at the call."""
    code, local = frame.f_code, frame.f_locals
    positional = code.co_varnames[:code.co_argcount]
    keyword = code.co_varnames[code.co_argcount:code.co_argcount + code.co_kwonlyargcount]
    at = code.co_argcount + code.co_kwonlyargcount
    args = [local[name] for name in positional if name in local]
    kwargs = {name: local[name] for name in keyword if name in local}
    if code.co_flags & 0x04:  # *args
        args += list(local.get(code.co_varnames[at], ()))
        at += 1
    if code.co_flags & 0x08:  # **kwargs
        kwargs.update(local.get(code.co_varnames[at], {}))
    return tuple(args), kwargs


def _function_of(frame, args: tuple) -> tuple[Callable | None, tuple]:
    """The callable that made this frame, and its arguments without ``self``: a bound method
    of its first argument, or a function found by name where it was called from."""
    code = frame.f_code
    if args:
        bound = getattr(args[0], code.co_name, None)
        if getattr(getattr(bound, "__func__", None), "__code__", None) is code:
            return bound, args[1:]
    caller = frame.f_back
    for scope in ((caller.f_locals, caller.f_globals) if caller is not None else ()):
        found = scope.get(code.co_name)
        if getattr(found, "__code__", None) is code:
            return found, args
    return None, args


class CallWatcher:
    """Notes the script's calls while it is set (this thread). ``wanted`` (a code object) makes
    it wait for that function's next call only, and call ``on_call(args, kwargs)``."""

    def __init__(self, wanted=None, on_call: Callable | None = None) -> None:
        self.calls: list[NotedCall] = []
        self.wanted, self.on_call = wanted, on_call
        self._open: list[tuple[object, NotedCall]] = []
        self._set = False

    def start(self) -> bool:
        if sys.getprofile() is not None:  # the script's own profiler: leave it alone
            return False
        sys.setprofile(self._event)
        self._set = True
        return True

    def stop(self) -> None:
        if self._set and sys.getprofile() == self._event:
            sys.setprofile(None)
        self._set = False
        self._open = []

    def _event(self, frame, event, arg) -> None:
        try:
            if event == "call":
                self._called(frame)
            elif event == "return" and self._open and self._open[-1][0] is frame:
                self._open.pop()[1].returned = arg
        except Exception:  # noqa: BLE001 - never the script's error: stop watching
            self.stop()

    def _called(self, frame) -> None:
        code = frame.f_code
        if self.wanted is not None:
            if code is self.wanted:
                self.stop()
                self.on_call(*_arguments(frame))
            return
        if len(self.calls) >= MAX_NOTED or not _script_code(code):
            return
        function, args = _function_of(frame, _arguments(frame)[0])
        noted = NotedCall(code, len(self._open), function, args, _arguments(frame)[1])
        self.calls.append(noted)
        self._open.append((frame, noted))


# --- which call was the loss --------------------------------------------------------------------


@dataclass
class LossCall:
    """How the script called its loss: its function, and each argument as a template."""

    function: Callable
    code: object
    args: tuple
    kwargs: dict
    loss_place: Place  # where the loss is in what the function returns
    bound: bool  # a bound method: its frame's first argument is its object
    #: A method of the model itself (a detector's ``model.loss(outputs, targets)``): a replay
    #: calls the copy's, never the user's model.
    of_model: bool = False

    def function_of(self, model) -> Callable:
        if self.of_model and model is not None:
            return getattr(model, self.function.__name__)
        return self.function

    def kept_of(self, args: tuple, kwargs: dict, rows: int) -> LossArguments:
        """The arguments a batch keeps, from a later call of the function (its frame's)."""
        args = args[1:] if self.bound else args
        values = [*args, *kwargs.values()]
        names = [*range(len(args)), *kwargs]
        template = {**dict(enumerate(self.args)), **self.kwargs}
        kept = [value for name, value in zip(names, values, strict=True)
                if isinstance(template.get(name), Kept)]
        return LossArguments(copy_to_cpu(kept), rows)

    def output_places(self, args: tuple, kwargs: dict, output) -> dict:
        """Where in ``output`` (a later call's) each argument that was the output's is."""
        if output is None:
            return {}
        args = args[1:] if self.bound else args
        given = {**dict(enumerate(args)), **kwargs}
        template = {**dict(enumerate(self.args)), **self.kwargs}
        places = {}
        for name, value in given.items():
            if isinstance(template.get(name), FromOutput):
                place = () if value is output else place_of(output, value)
                if place is not None:
                    places[name] = place
        return places


@dataclass
class FoundCall:
    """The loss's function, with what the first training step gave it and got back."""

    call: LossCall
    arguments: LossArguments
    output: object  # the model's output: the script's, held until the replay is decided
    value: float  # the loss it returned
    storages: frozenset = frozenset()  # the memory of the tensors among its other arguments
    loss: weakref.ref | None = None  # the loss tensor it returned, while the script holds it

    def replay(self, curve_from_loss_calls: bool) -> CalledLoss:
        output = map_tensors(self.output, lambda t: t.detach().clone())
        return CalledLoss(self.call, (output, self.arguments, self.value), curve_from_loss_calls)


def found_loss_call(watcher: CallWatcher, output, model, losses: list[torch.Tensor]
                    ) -> FoundCall | None:
    """The outermost noted call given the model's output that returned one of ``losses``."""
    for noted in sorted(watcher.calls, key=lambda c: c.level):
        loss_place = _place_of_any(noted.returned, losses)
        if noted.function is None or loss_place is None:
            continue
        made = _templated(noted, output, model)
        if made is not None:
            args, kwargs, kept = made
            call = LossCall(noted.function, noted.code, args, kwargs, loss_place,
                            hasattr(noted.function, "__self__"),
                            getattr(noted.function, "__self__", None) is model)
            loss = at_place(noted.returned, loss_place)
            return FoundCall(call, LossArguments(copy_to_cpu(kept), _rows_of(output)),
                             output,
                             float(loss.detach().float().mean()),
                             frozenset(storage_of(t) for t in tensors_in(kept)),
                             weakref.ref(loss))
    return None


def _place_of_any(returned, losses: list[torch.Tensor]) -> Place | None:
    for place, tensor in tensor_places(returned, depth=1):
        if any(tensor is loss for loss in losses):
            return place
    return None


def _templated(noted: NotedCall, output, model):
    """The call's arguments as templates, with what each batch keeps; None when the model's
    output is not among them."""
    places = {id(t): (place, t) for place, t in tensor_places(output)}
    kept: list = []

    def template(value):
        if value is output:
            return FromOutput((), _trailing(output))
        if isinstance(value, torch.Tensor) and id(value) in places:
            place, tensor = places[id(value)]
            return FromOutput(place, tuple(tensor.shape[1:]))
        if value is model:
            raise _NotReplayed
        kept.append(value)
        return Kept(len(kept) - 1)

    try:
        args = tuple(template(v) for v in noted.args)
        kwargs = {k: template(v) for k, v in noted.kwargs.items()}
    except _NotReplayed:  # the model given to its loss (its weights read): not the copy's
        return None
    if not any(isinstance(t, FromOutput) for t in (*args, *kwargs.values())):
        return None
    if any(isinstance(v, torch.nn.Module) for v in kept):
        return None  # another module (with its own state) given to the loss: not replayed
    return args, kwargs, kept


class _NotReplayed(Exception):
    pass


def _rows_of(output) -> int:
    tensor = first_tensor(output)
    return int(tensor.shape[0]) if tensor is not None and tensor.dim() > 0 else 0


# --- replaying ----------------------------------------------------------------------------------


#: Relative difference allowed between the recorded loss and the function's value called again
#: on the recorded output and arguments (float32 rounding; see loss_program.VALUE_TOLERANCE).
VALUE_TOLERANCE = 1e-4
#: What a check that splits a batch's rows is told.
ROWS_NOT_SPLIT = ("your training loss builds its targets in Python from the batch (their rows "
                  "are not the batch's rows), so a replay cannot split a batch into its rows")


class RowsNotSplit(Skip):
    """A replay was given a batch whose rows were split, with targets that cannot be: the
    check that split them says it could not run."""


@dataclass
class CalledLoss:
    """The training loss, computed by calling the script's own loss function again on the
    copy's output and the batch's kept arguments. The function is held by reference for the
    run's analysis only; a bound method keeps its object (yolov5's ComputeLoss reads the model's
    hyperparameters and keeps nothing per call), so a loss object that changes itself on each
    call (a running count) would be changed by a replay too: only after the script has ended."""

    call: LossCall
    recorded: tuple  # (output, LossArguments, loss value) of the first training step
    #: The run's losses were the torch.nn loss calls inside the function (yolov5's
    #: BCEWithLogitsLoss on the objectness): a validation is scored by the first of them, in
    #: the units of the run's validation curve (scored_term).
    curve_from_loss_calls: bool = False
    first_loss_call: bool = False  # this replay scores that first loss call
    any_model = False
    #: Where the output's arguments were found in each mode of the model (training: True):
    #: a detector's eval output is (predictions, raw output), its training output the raw one.
    places: dict = field(default_factory=dict)
    _checked: bool | None = field(default=None, repr=False)

    def learn_places(self, training: bool, places: dict) -> None:
        if places and training not in self.places:
            self.places[training] = places

    @property
    def scored_term(self) -> CalledLoss | None:
        """The loss a validation computes, as the run's curve recorded it (Replayer's
        scored_loss): the function's first torch.nn loss call when the curve came from them."""
        if not self.curve_from_loss_calls or self.first_loss_call:
            return None
        return replace(self, first_loss_call=True, _checked=True)

    def loss(self, model, batch) -> torch.Tensor:
        self._check(model)
        return self._loss(self._output(model, batch), _arguments_of(batch), model.training,
                          model)

    def predict(self, model, batch) -> torch.Tensor | None:
        output = self._output(model, batch)
        place = next((t for t in self._templates() if isinstance(t, FromOutput)), None)
        return self._at(output, place) if place is not None else first_tensor(output)

    def called_with(self, batch):
        return batch

    def _output(self, model, batch):
        return model(*batch.args, **batch.kwargs)

    def _templates(self) -> list:
        return [*self.call.args, *self.call.kwargs.values()]

    def _loss(self, output, arguments: LossArguments, training: bool = True,
              model=None) -> torch.Tensor:
        if arguments is None or (arguments.rows and _rows_of(output) != arguments.rows):
            raise RowsNotSplit(ROWS_NOT_SPLIT)
        device = getattr(first_tensor(output), "device", None)
        values = map_tensors(arguments.values, lambda t: t.to(device)) if device else (
            arguments.values)

        places = self.places.get(training, {})

        def filled(name, template):
            if isinstance(template, FromOutput):
                return self._at(output, replace(template, place=places.get(name, template.place)))
            return values[template.index]

        args = tuple(filled(i, t) for i, t in enumerate(self.call.args))
        kwargs = {k: filled(k, t) for k, t in self.call.kwargs.items()}
        function = self.call.function_of(model)
        if self.first_loss_call:
            with FirstLossCall() as first:
                function(*args, **kwargs)
            if first.value is None:
                raise RowsNotSplit("your training loss function computed no torch.nn loss "
                                   "when called again")
            return first.value
        return at_place(function(*args, **kwargs), self.call.loss_place)

    def _at(self, output, template: FromOutput):
        """The output's tensor at the recorded place; a model whose output changes with its
        mode (a detector returning (predictions, raw output) in eval mode) is searched for the
        tensor of the recorded shape."""
        try:
            value = at_place(output, template.place)
        except (KeyError, IndexError, AttributeError, TypeError):
            value = None
        if template.shape is None or _shaped(value, template.shape):
            return value if value is not None else output
        found = [t for _, t in tensor_places(output) if _shaped(t, template.shape)]
        return found[0] if found else value

    def _check(self, model) -> None:
        """Once: called again on the first step's output and arguments, the function gives the
        loss that was trained on; else it is not used (it reads something else, or draws
        random numbers)."""
        if self._checked is None:
            output, arguments, value = self.recorded
            with torch.no_grad():
                try:
                    again = self._loss(output, arguments, True, model)
                    again = float(again.detach().float().mean())
                    self._checked = abs(again - value) <= VALUE_TOLERANCE * max(abs(value), 1e-7)
                except Exception:  # noqa: BLE001 - any failure means: not replayable
                    self._checked = False
        if not self._checked:
            raise RowsNotSplit("your training loss function, called again on the same batch, "
                               "did not give the same loss, so it cannot be replayed")


class FirstLossCall(TorchFunctionMode):
    """Keeps the value of the first torch.nn.functional loss called under it."""

    def __init__(self) -> None:
        super().__init__()
        self.value: torch.Tensor | None = None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        name = getattr(func, "__name__", "")
        if (self.value is None and getattr(func, "__module__", "") == "torch.nn.functional"
                and (name.endswith("_loss") or name in TORCH_LOSSES)):
            self.value = result
        return result


def _trailing(value) -> tuple | None:
    return tuple(value.shape[1:]) if isinstance(value, torch.Tensor) else None


def _shaped(value, shape: tuple) -> bool:
    return isinstance(value, torch.Tensor) and tuple(value.shape[1:]) == shape


def _arguments_of(batch) -> LossArguments | None:
    target = batch.target
    if not isinstance(target, LossArguments) or target.rows != batch.rows:
        return None
    return target
