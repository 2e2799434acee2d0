"""A hand-written training loss, recorded as a small program that a replay runs again.

While a script computes its loss from the model's output, a Tape (loss_tape.py, filled by the
spy of loss_chains.py) records each torch function called after the forward pass, with its
arguments. At the first training step, the calls that led to the tensor backward was called on
become a LossProgram, its arguments made general:

- tensors computed from the model's output refer to that computation (the output itself by its
  place in the output);
- the model's parameters refer to "the parameter of this name" (an L2 penalty replays on the
  copy's parameters);
- one other tensor with a row per batch row is the batch's target, and tensors that are the
  model's own inputs refer to those inputs; when no other tensor is the target, the one input
  with a row per batch row the loss reads (the ``"target"`` of a dict batch given whole to the
  model) is the target, taken out of the kept batch and put back for the model in a replay;
- a list of plain numbers with one per batch row (CTC's lengths: row_values.py) is read from
  each replayed batch;
- anything else (numbers, class weights) is copied.

The program is kept only if it gives back the recorded loss when run on the tensors of that
step (``validated``); anything it cannot replay (random operations, a value read in Python
while the loss was computed) is named in the problem a user is shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import torch

from lossdoctor.capture import row_values
from lossdoctor.capture.loss_tape import (
    MAX_CALLS,
    BatchShape,
    Call,
    Constant,
    External,
    Input,
    Output,
    Parameter,
    ParameterTable,
    Result,
    Tape,
    Target,
)
from lossdoctor.capture.replay_losses import (
    TARGET_KEYWORDS,
    Path,
    Place,
    at_place,
    input_at,
    same_data,
    with_target_at,
)
from lossdoctor.capture.row_selection import Selection, selection_in
from lossdoctor.capture.row_values import RowValues
from lossdoctor.capture.target_lookup import TargetLookup, lookup_of

#: Relative difference allowed between the recorded loss and the program's value: the same
#: operations on the same float32 tensors give the same value; this leaves room for
#: float32 rounding (2**-23 is about 1.2e-7) accumulated over a few hundred operations.
VALUE_TOLERANCE = 1e-4
#: Calls that draw random numbers: a replay would differ from the recorded loss.
RANDOM_CALLS = {
    "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
    "rand", "rand_like", "randn", "randn_like", "randint", "randint_like", "randperm",
    "bernoulli", "bernoulli_", "multinomial", "normal", "normal_", "uniform_", "exponential_",
    "rrelu", "gumbel_softmax", "poisson",
}
#: Calls that add a penalty to a loss (``loss + 0.1 * l2``, ``loss.add(penalty)``).
PENALTY_JOINS = {"add", "__add__", "__radd__", "add_", "__iadd__"}
#: torch.nn.functional losses whose names do not end in "_loss".
TORCH_LOSSES = {"cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits",
                "kl_div"}
#: Calls that make a tensor of Python numbers: given a shape whose first size is the batch's
#: rows (BatchShape), they count the batch.
SHAPE_TENSOR_CALLS = {"as_tensor", "tensor"}
#: Python values an argument may hold, copied as they are.
PLAIN = (int, float, bool, complex, str, type(None), slice, type(Ellipsis), torch.dtype,
         torch.device, torch.memory_format, torch.layout)


class Unreplayable(Exception):
    """The loss was computed in a way a program cannot replay; the message says what."""


# --- building --------------------------------------------------------------------------------


@dataclass
class StepInputs:
    """The model's inputs at the recorded step, as the program is built and checked."""

    args: tuple
    kwargs: dict
    rows: int
    input_paths: list = field(default_factory=list)  # (path, tensor) of the model's inputs


def build(tape: Tape, root: torch.Tensor, batch: StepInputs) -> Built:
    """The program that computes ``root``, a final scaling by a number kept as its Scale.
    Raises Unreplayable."""
    start = tape.ref(root)
    if start is None and tape.overflowed:
        raise Unreplayable(f"it takes more than {MAX_CALLS} torch operations")
    if not isinstance(start, Result) or not tape.derives(start):
        raise Unreplayable("the tensor backward was called on was not computed from the "
                           "model's output")
    end, scaled = start.call, start
    start = _unscaled(tape, scaled)
    entries = _data_entries(tape, batch.rows)
    needed = _needed(tape, start.call, entries)
    _refuse_unreplayable(tape, needed, end)
    _refuse_branches(tape, needed)
    selection = selection_in(tape, needed, lambda ref: _entered(tape, ref, entries),
                             batch.rows)
    builder = _Builder(tape, batch, entries, selection=selection)
    calls = builder.calls(needed, start.call)
    if builder.target is None and builder.input_target() is not None:
        builder = _Builder(tape, batch, entries, target_path=builder.input_target(),
                           selection=selection)
        calls = builder.calls(needed, start.call)
    scale = Scale.of(tape, scaled, start, batch.rows)
    program = LossProgram(calls, start, builder.target_path, scale)
    prediction = at_place(tape.output, program.prediction_place)
    return Built(program, builder.target, _result(tape.results, scaled), prediction,
                 frozenset(builder.constant_storages), selection,
                 row_values.in_tape(tape.calls, batch.rows))


def _entered(tape: Tape, ref, entries: set[int]) -> torch.Tensor | None:
    """The tensor from outside the program that ``ref`` stands for, if it is one."""
    if isinstance(ref, External):
        return ref.tensor
    if isinstance(ref, Result) and ref.call in entries:
        value = _result(tape.results, ref)
        return value if isinstance(value, torch.Tensor) else None
    return None


def data_term(tape: Tape, root: torch.Tensor, from_output) -> torch.Tensor | None:
    """For a loss plus a penalty on the parameters (``mse + 1e-4 * l2``): the loss before the
    penalty joins it, as validation computes it. ``from_output(tensor)`` says whether a tensor
    was computed from the model's output."""
    start = tape.ref(root)
    if not isinstance(start, Result):
        return None
    for index in sorted(_needed(tape, start.call, set())):
        call = tape.calls[index]
        values = [_value_of(tape, r) for r in _refs_in((call.args, call.kwargs))
                  if tape.derives(r)]
        outputs = [v for v in values if v is not None and from_output(v)]
        if outputs and len(outputs) < len(values):  # a penalty joins here
            return outputs[0]
    return None


def _value_of(tape: Tape, ref) -> torch.Tensor | None:
    """The tensor a Result or Output stands for; None for a parameter."""
    if isinstance(ref, Result):
        value = _result(tape.results, ref)
        return value if isinstance(value, torch.Tensor) else None
    if isinstance(ref, Output):
        return at_place(tape.output, ref.place)
    return None


@dataclass
class Built:
    """A program, with the script's tensors of the step it was recorded at."""

    program: LossProgram
    target: torch.Tensor | None  # what the program takes as the batch's target
    loss: torch.Tensor  # the loss trained on, its final scaling by a number included
    prediction: torch.Tensor  # the output tensor the loss is computed from
    #: The memory of the tensors the program copied as constants: one that is the batch's data
    #: (boxes per image given to the script's loss function) makes it fit this batch only.
    constant_storages: frozenset = frozenset()
    #: The rows of the batch the loss scored (row_selection.py: a graph's training mask), or
    #: None for a loss on every row.
    selection: torch.Tensor | None = None
    #: The lists of per-row numbers the step's calls were given (row_values.py).
    row_values: dict = field(default_factory=dict)

    @property
    def value(self) -> float:
        return _number(self.loss)


def target_of(tape: Tape, loss: torch.Tensor, batch: StepInputs) -> torch.Tensor | None:
    """The batch's target in a loss computed like the recorded one (at a later step, or in
    validation): the one tensor outside the model's inputs with a row per batch row."""
    start = tape.ref(loss)
    if not isinstance(start, Result):
        return None
    entries = _data_entries(tape, batch.rows)
    builder = _Builder(tape, batch, entries)
    needed = _needed(tape, start.call, entries)
    selection = selection_in(tape, needed, lambda ref: _entered(tape, ref, entries), batch.rows)
    for index in sorted(needed):
        call = tape.calls[index]
        for tensor in _outside_tensors(tape, (call.args, call.kwargs), entries):
            if builder.is_target(tensor) and not (selection is not None
                                                  and same_data(tensor, selection)):
                return tensor
    return None


def selected_target_of(tape: Tape, loss: torch.Tensor,
                       batch: StepInputs) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(target, selection)`` of a loss computed like the recorded one on a selection of the
    batch's rows (row_selection.py: a graph's ``y[val_mask]``); None when it selects none."""
    start = tape.ref(loss)
    if not isinstance(start, Result):
        return None
    entries = _data_entries(tape, batch.rows)
    needed = _needed(tape, start.call, entries)
    selection = selection_in(tape, needed, lambda ref: _entered(tape, ref, entries), batch.rows)
    target = target_of(tape, loss, batch) if selection is not None else None
    return None if target is None else (target, selection)


#: Calls that hand a tensor on with the same values in the same order (moved, copied, reshaped,
#: cast): followed back from a loss's target to where it was selected.
PASSED_ON = {"to", "cpu", "view", "reshape", "flatten", "contiguous", "clone", "detach", "long",
             "int", "type", "squeeze", "view_as", "reshape_as"}
#: Calls that select elements by a boolean mask (``y[mask]``, ``torch.masked_select(y, mask)``).
MASK_SELECTIONS = {"__getitem__", "masked_select"}
#: torch.nn losses that leave out targets equal to their ``ignore_index`` (-100 unless set).
IGNORING_LOSSES = {"nll_loss", "cross_entropy"}
DEFAULT_IGNORE_INDEX = -100


def masked_selection(tape: Tape, tensor: torch.Tensor,
                     rows: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(y, mask)`` when ``tensor`` (a loss's target) is ``y[mask]``, perhaps moved or
    reshaped after, of a tensor ``y`` with a row per batch row and a boolean ``mask`` over its
    leading axes (the word ends of a token batch, the positions that are not padding); else
    None. Such a target has no row per batch row: a replay that computes the loss on the
    whole output (``out.reshape(-1, C)``, as training did) needs ``y`` with the positions the
    mask left out marked."""
    ref = tape.ref(tensor)
    if ref is None and tensor._base is not None:  # a view taken after (``_per_row``'s)
        ref = tape.ref(tensor._base)
    while isinstance(ref, Result) and ref.item is None:
        call = tape.calls[ref.call]
        if call.name in PASSED_ON and call.args:
            ref = call.args[0]
        elif call.name in MASK_SELECTIONS and len(call.args) == 2:
            source, mask = (_tensor_at(tape, arg) for arg in call.args)
            return (source, mask) if _masks_rows(source, mask, rows) else None
        else:
            return None
    return None


def _tensor_at(tape: Tape, ref) -> torch.Tensor | None:
    if isinstance(ref, External):
        return ref.tensor
    if isinstance(ref, Result):
        value = _result(tape.results, ref)
        return value if isinstance(value, torch.Tensor) else None
    return None


def _masks_rows(source, mask, rows: int) -> bool:
    return (isinstance(source, torch.Tensor) and isinstance(mask, torch.Tensor)
            and mask.dtype == torch.bool and 0 < mask.dim() <= source.dim()
            and source.dim() > 0 and source.shape[0] == rows
            and tuple(source.shape[:mask.dim()]) == tuple(mask.shape))


def ignore_index_of(replay) -> int | None:
    """The label a replayed classification loss leaves out (its ``ignore_index``), or None
    for a loss that leaves none out: a program ending in nll_loss / cross_entropy, or a
    torch.nn loss (module or function) of those."""
    calls = getattr(replay, "calls", None)
    if calls is not None:
        named = [c for c in calls if c is not None and c.name in IGNORING_LOSSES]
        if not named:
            return None
        return int(named[-1].kwargs.get("ignore_index", DEFAULT_IGNORE_INDEX))
    loss_fn = getattr(replay, "loss_fn", None)
    if isinstance(getattr(loss_fn, "ignore_index", None), int):
        return loss_fn.ignore_index
    function = getattr(loss_fn, "func", loss_fn)  # a functools.partial of its settings
    name = getattr(getattr(function, "lossdoctor_original", function), "__name__", "")
    if name in IGNORING_LOSSES:
        keywords = getattr(loss_fn, "keywords", None) or {}
        return int(keywords.get("ignore_index", DEFAULT_IGNORE_INDEX))
    return None


def unselected_ignored(source: torch.Tensor, mask: torch.Tensor,
                       ignore_index: int) -> torch.Tensor:
    """``source`` with the positions ``mask`` left out set to ``ignore_index``: the loss on
    every position, as training computes it, then counts the selected ones only."""
    target = source.detach().to("cpu", copy=True)
    target[~mask.to("cpu")] = ignore_index
    return target


def _outside_tensors(tape: Tape, value, entries: set[int]) -> list[torch.Tensor]:
    """The tensors from outside the program among a call's arguments."""
    if isinstance(value, External):
        return [value.tensor]
    if isinstance(value, Result) and value.call in entries:
        return [_result(tape.results, value)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _outside_tensors(tape, v, entries)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _outside_tensors(tape, v, entries)]
    return []


def _data_entries(tape: Tape, rows: int) -> set[int]:
    """The calls where the batch's data enters the loss: on neither the output nor the
    parameters, they give a tensor with the batch's rows, called on a tensor without them
    (``y_train[index]`` of a whole data set). A replay reads their result from its batch; the
    calls on a tensor with the batch's rows (``1 - y``), and those that make a tensor of a list
    of per-row numbers (``torch.as_tensor(lengths)``: row_values.py), stay in the program."""
    entries = set()
    for index, (call, result) in enumerate(zip(tape.calls, tape.results, strict=True)):
        if index in tape._derived or not isinstance(result, torch.Tensor):
            continue
        if _of_row_values(call, rows):
            continue
        called_on = _called_on(tape, call)
        if _has_rows(result, rows) and not (called_on is not None
                                            and _holds_the_rows(called_on, result, rows)):
            entries.add(index)
    return entries


def _of_row_values(call: Call, rows: int) -> bool:
    """Whether the call is given a list of per-row numbers and no tensor."""
    values = [*call.args, *call.kwargs.values()]
    return any(row_values.per_row_numbers(v, rows) for v in values) and not any(
        isinstance(v, (External, Result, Output, Parameter)) for v in values)


def _holds_the_rows(called_on: torch.Tensor, result: torch.Tensor, rows: int) -> bool:
    """Whether the tensor a call is made on already holds the batch's rows: one per batch row,
    or flattened together and no more of them than the call gives (``y_flat.float()``). A whole
    data set whose length is only a multiple of the batch's rows (20000 ratings, 4000
    validated) is not the batch's: the call that slices it is where the batch enters."""
    if called_on.dim() > 0 and called_on.shape[0] == rows:
        return True
    return _has_rows(called_on, rows) and called_on.numel() <= result.numel()


def _called_on(tape: Tape, call: Call) -> torch.Tensor | None:
    """The tensor a call is made on: its first argument."""
    return _tensor_at(tape, call.args[0] if call.args else None)


def _unscaled(tape: Tape, start: Result) -> Result:
    """``loss / accumulation_steps``: the loss is what was scaled."""
    while start.item is None:
        call = tape.calls[start.call]
        numbers = [a for a in call.args if _is_number(a)]
        refs = [a for a in call.args if isinstance(a, Result)]
        if call.name not in SCALING_CALLS or not numbers or len(refs) != 1:
            break
        start = refs[0]
    return start


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: Calls that scale a tensor by a number (``loss / accumulation_steps``).
SCALING_CALLS = {"__truediv__", "__mul__", "__rmul__", "div", "mul", "__div__"}
#: ... of them, those that divide the tensor (their first argument) by the number.
DIVIDING_CALLS = {"__truediv__", "div", "__div__"}


@dataclass(frozen=True)
class Scale:
    """The numbers a hand-written loss is multiplied (or divided) by last, after the tensor
    computation: Caffe's Euclidean loss ``((p - y) ** 2).sum() / (2 * p.size(0))`` or
    ``0.5 * sse``. They are part of the loss trained on, and replays keep them: without them,
    a replay steps on a loss 2 x 64 times the run's (bench/fresh26 s07, every replay
    diverged). A divisor that is a whole multiple of the batch's rows was made from the
    batch's size (the script reads ``p.size(0)`` in Python): a replay on another number of
    rows divides by the same multiple of its own rows. Only gradient accumulation's
    ``loss / steps`` (the outermost scaling, over several backward passes per optimizer step)
    is left out, replayed as one backward pass per step on the loss (LossProgram.unscaled)."""

    factors: tuple[float, ...]  # each scaling's multiplier, the outermost first
    rows: int = 0  # the batch's rows where it was recorded

    @staticmethod
    def of(tape: Tape, scaled: Result, start: Result, rows: int) -> Scale | None:
        """The scaling from the unscaled loss ``start`` to the loss ``scaled`` trained on."""
        factors, ref = [], scaled
        while ref != start:
            call = tape.calls[ref.call]
            number = next(a for a in call.args if _is_number(a))
            factors.append(1 / number if call.name in DIVIDING_CALLS else number)
            ref = next(a for a in call.args if isinstance(a, Result))
        return Scale(tuple(factors), rows).kept()

    def kept(self) -> Scale | None:
        """This scale, or None when it changes nothing (or cannot be applied)."""
        factor = self.factor
        return None if factor in (0.0, 1.0) or not math.isfinite(factor) else self

    @property
    def factor(self) -> float:
        return math.prod(self.factors)

    def without_outermost(self) -> Scale | None:
        return Scale(self.factors[1:], self.rows).kept()

    def applied(self, loss: torch.Tensor, rows: int) -> torch.Tensor:
        factor = self.factor
        if rows and _multiple_of_rows(1 / factor, self.rows):
            return loss * (factor * self.rows / rows)
        return loss * factor


def _multiple_of_rows(divisor: float, rows: int) -> bool:
    """Whether ``divisor`` is a whole multiple (1, 2, ...) of a batch's ``rows`` (more than
    one: any whole divisor is a multiple of 1)."""
    multiple = divisor / rows if rows > 1 else 0.0
    return multiple >= 1 and math.isclose(multiple, round(multiple), rel_tol=0, abs_tol=1e-9)


def _needed(tape: Tape, last: int, entries: set[int]) -> set[int]:
    """The calls ``last`` depends on, up to where the batch's data enters."""
    needed, todo = set(), [last]
    while todo:
        index = todo.pop()
        if index in needed or index in entries:
            continue
        needed.add(index)
        call = tape.calls[index]
        todo += [r.call for r in _refs_in((call.args, call.kwargs)) if isinstance(r, Result)]
    return needed


#: The references a general call's arguments may hold, the batch's included.
ALL_REFERENCES = (Result, Output, Parameter, Input, Target, TargetLookup)


def _instances_in(value, kinds) -> list:
    """The values of ``kinds`` that a general call's arguments hold, nested ones included."""
    if isinstance(value, kinds):
        return [value]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _instances_in(v, kinds)]
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        return [r for v in value for r in _instances_in(v, kinds)]
    return []


def _refs_in(value) -> list:
    if isinstance(value, (Result, Output, Parameter)):
        return [value]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs_in(v)]
    if isinstance(value, (list, tuple)):
        return [r for v in value for r in _refs_in(v)]
    return []


def _refuse_unreplayable(tape: Tape, needed: set[int], last: int) -> None:
    for index in sorted(needed):
        name = tape.calls[index].name
        if name in RANDOM_CALLS:
            raise Unreplayable(f"it draws random numbers ({name})")
    for position, ref, read in tape.reads:
        computing = isinstance(ref, Output) or (isinstance(ref, Result) and ref.call in needed)
        if position <= last and (computing or read == "__bool__"):  # reads of derived values
            raise Unreplayable(f"a value computed from the model's output is read in Python "
                               f"({read}) before the loss is complete, so the loss may depend "
                               f"on it through Python code")


def _refuse_branches(tape: Tape, needed: set[int]) -> None:
    """A Python ``if`` on a value of the batch's data, between two calls the loss needs
    (wekws' max-pooling loss: ``if target[i] == j`` picks a max or a min for each row): the
    program would take this batch's branches on every batch."""
    if not needed:
        return
    first, last = min(needed), max(needed)
    if any(first < position <= last for position in tape.branches):
        raise Unreplayable("it takes a branch in Python on a value of the batch (an if on a "
                           "tensor), so the calls it makes depend on the batch")


class _Builder:
    """Makes each recorded call general: batch tensors by their place, the rest copied.
    ``target_path``: the model's input that is the batch's target (a dict batch's target)."""

    def __init__(self, tape: Tape, batch: StepInputs, entries: set[int],
                 target_path: Path | None = None,
                 selection: torch.Tensor | None = None) -> None:
        self.tape, self.batch, self.entries = tape, batch, entries
        self.selection = selection  # the batch's row selection (row_selection.py)
        self.target: torch.Tensor | None = None
        self.target_path = target_path
        self.inputs_read: dict[Path, torch.Tensor] = {}  # the inputs with the batch's rows
        self.constant_storages: set[int] = set()  # of the tensors copied as constants
        self.target_refs: list[Target] = []  # the references to the target taken so far
        self.looked_up: dict[int, TargetLookup] = {}  # references that turned out lookups

    def calls(self, needed: set[int], last: int) -> list:
        occurrences = row_values.occurrences(self.tape.calls)
        calls = [self.general(self.tape.calls[i], occurrences[i]) if i in needed else None
                 for i in range(last + 1)]
        if not self.looked_up:
            return calls
        return [None if call is None else Call(call.func, self._relooked(call.args),
                                               self._relooked(call.kwargs), call.name)
                for call in calls]

    def _relooked(self, value):
        if isinstance(value, Target):
            return self.looked_up.get(id(value), value)
        if isinstance(value, dict):
            return {k: self._relooked(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
            return type(value)(self._relooked(v) for v in value)
        return value

    def input_target(self) -> Path | None:
        """The model's input the loss reads as its target, when no other tensor is: the only
        one it reads with a row per batch row, else the one named like a target."""
        paths = list(self.inputs_read)
        if len(paths) == 1:
            return paths[0]
        named = [path for path in paths if path[-1][1] in TARGET_KEYWORDS]
        return named[0] if len(named) == 1 else None

    def general(self, call: Call, occurrence: int = 0) -> Call:
        if not (call.name in SHAPE_TENSOR_CALLS and call.args
                and self._batch_shape(call.args[0])):
            call = row_values.marked(call, occurrence, self.batch.rows)
        args = self._general(call.args, call.name)
        if call.name in SHAPE_TENSOR_CALLS and args and self._batch_shape(args[0]):
            args = (BatchShape(tuple(args[0][1:])), *args[1:])
        return Call(call.func, args, self._general(call.kwargs, call.name), call.name)

    def _batch_shape(self, value) -> bool:
        """Whether ``value`` is a shape whose first size is the batch's rows."""
        return (isinstance(value, (tuple, list, torch.Size)) and len(value) > 0
                and all(type(size) is int for size in value) and value[0] == self.batch.rows)

    def _general(self, value, name: str):
        if isinstance(value, External):
            return self._external(value.tensor)
        if isinstance(value, Result) and value.call in self.entries:
            return self._external(_result(self.tape.results, value))
        if isinstance(value, dict):
            return {k: self._general(v, name) for k, v in value.items()}
        if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
            return type(value)(self._general(v, name) for v in value)
        if isinstance(value, (Output, Result, Parameter, RowValues, torch.Size, *PLAIN)):
            return value
        raise Unreplayable(f"{name} is given a {type(value).__name__}")

    def is_target(self, tensor: torch.Tensor) -> bool:
        return self._input_path(tensor) is None and _has_rows(tensor, self.batch.rows)

    def _input_path(self, tensor: torch.Tensor) -> Path | None:
        for path, value in self.batch.input_paths:
            if same_data(value, tensor) and value.shape == tensor.shape:
                return path
        return None

    def _external(self, tensor: torch.Tensor):
        if self.selection is not None and tensor.shape == self.selection.shape and same_data(
                tensor, self.selection):
            return Selection()
        path = self._input_path(tensor)
        if path is not None and path == self.target_path:
            self.target = tensor
            return self._target_ref()
        if path is not None:
            if _has_rows(tensor, self.batch.rows):
                self.inputs_read[path] = tensor
            return Input(path)
        if not _has_rows(tensor, self.batch.rows):
            self.constant_storages.add(storage_of(tensor))
            return Constant(tensor.detach().clone())
        if self.target is not None and not same_data(self.target, tensor):
            return self._beside_the_target(tensor)
        self.target = tensor
        return self._target_ref()

    def _target_ref(self) -> Target:
        ref = Target(flat=self.target.shape[0] != self.batch.rows)
        self.target_refs.append(ref)
        return ref

    def _beside_the_target(self, tensor: torch.Tensor):
        """A second tensor with a row per batch row: read from the target through a table
        when its values follow the target's; when the target taken so far follows this one's
        (the class weights met before the labels), the two change places."""
        lookup = lookup_of(tensor, self.target)
        if lookup is not None:
            return lookup
        earlier = lookup_of(self.target, tensor)
        if earlier is None:
            raise Unreplayable("it uses two tensors with a row per batch row besides the "
                               "model's inputs, and only one can be told to be the target")
        self.looked_up.update((id(ref), earlier) for ref in self.target_refs)
        self.target_refs.clear()
        self.target = tensor
        return self._target_ref()


def storage_of(tensor: torch.Tensor) -> int:
    """Where a tensor's memory is: a view (``boxes[:, 0]``) shares its tensor's."""
    try:
        return tensor.untyped_storage().data_ptr()
    except RuntimeError:  # a tensor without storage (a meta or sparse tensor)
        return id(tensor)


def _has_rows(tensor: torch.Tensor, rows: int) -> bool:
    """One row per batch row, or the rows flattened together (``y.view(-1)`` of a sequence)."""
    if tensor.dim() == 0 or rows == 0:
        return False
    return tensor.shape[0] == rows or (tensor.dim() == 1 and tensor.numel() % rows == 0)


# --- replaying -------------------------------------------------------------------------------


@dataclass
class LossProgram:
    """The recorded loss computation, run on another model's output and batch."""

    calls: list  # Call, or None for a recorded call the loss does not need
    result: Result
    target_path: Path | None = None  # where the model was given the target (a dict batch's)
    scale: Scale | None = None  # the final scaling by a number the loss trained on had

    def unscaled(self) -> LossProgram:
        """The program without its outermost scaling: gradient accumulation's ``loss / steps``
        over several backward passes per step is replayed as one pass on the loss."""
        scale = self.scale.without_outermost() if self.scale is not None else None
        return LossProgram(self.calls, self.result, self.target_path, scale)

    @property
    def any_model(self) -> bool:
        """Whether a model that only returns a prediction tensor can be scored with it."""
        refs = [r for call in self.calls if call is not None
                for r in _refs_in((call.args, call.kwargs))]
        return all(r.place == () for r in refs if isinstance(r, Output)) and not any(
            isinstance(r, Parameter) for r in refs)

    @property
    def selects_rows(self) -> bool:
        """Whether the loss scores the batch's row selection only (row_selection.py)."""
        return any(isinstance(r, Selection) for call in self.calls if call is not None
                   for r in _instances_in((call.args, call.kwargs), Selection))

    @cached_property
    def row_values_read(self) -> list:
        """The lists of per-row numbers the loss reads from each batch (row_values.py)."""
        return [r for call in self.calls if call is not None
                for r in _instances_in((call.args, call.kwargs), RowValues)]

    @property
    def reads_target(self) -> bool:
        """Whether the loss reads a target (a likelihood of the inputs, as a normalizing
        flow's ``-log_prob(x).mean()``, reads none)."""
        refs = [r for call in self.calls if call is not None
                for r in _instances_in((call.args, call.kwargs), ALL_REFERENCES)]
        return self.target_path is not None or any(isinstance(r, (Target, TargetLookup))
                                                   for r in refs)

    @property
    def ends_in_torch_loss(self) -> bool:
        """Whether the loss is a torch.nn.functional loss (on a reshaped output, perhaps),
        which the loss calls record themselves."""
        last = self.calls[self.result.call]
        name = getattr(last.func, "__name__", "")
        return getattr(last.func, "__module__", "") == "torch.nn.functional" and (
            name.endswith("_loss") or name in TORCH_LOSSES)

    @property
    def output_places(self) -> set:
        """The places in the model's output of the tensors the loss reads."""
        return {r.place for call in self.calls if call is not None
                for r in _refs_in((call.args, call.kwargs)) if isinstance(r, Output)}

    @property
    def prediction_place(self) -> Place:
        """The place in the output of the first output tensor the loss reads."""
        for call in self.calls:
            if call is not None:
                outputs = [r for r in _refs_in((call.args, call.kwargs)) if isinstance(r, Output)]
                if outputs:
                    return outputs[0].place
        return ()

    def without_penalty(self) -> LossProgram | None:
        """The loss before a penalty on the parameters was added to it (``mse + 0.1 * l2``):
        what the script's validation computes, and what training without the penalty
        minimizes. None when no such penalty joins at the end."""
        data, _ = self._penalty_join()
        if not isinstance(data, Result):
            return None
        return LossProgram(self._only_needed_by(data.call), data, self.target_path,
                           self.scale)

    def penalty_term(self, returned: Place) -> LossProgram | None:
        """For a loss the model returned (at ``returned`` in its output) with a penalty on the
        parameters added to it outside the model (``loss = out.loss + 0.1 * l2``): the
        penalty alone, which reads the parameters only (``run`` it with a reader of them).
        None for a loss of another shape, or one scaled after the addition."""
        data, penalty = self._penalty_join()
        if not isinstance(data, Output) or data.place != returned or self.scale is not None:
            return None
        if len(penalty) != 1 or not isinstance(penalty[0], Result):
            return None
        return LossProgram(self._only_needed_by(penalty[0].call), penalty[0])

    def _penalty_join(self) -> tuple:
        """``(data, penalties)`` when the loss ends in a penalty on the parameters joining the
        one term computed from the model's output; ``(None, [])`` otherwise."""
        refs = self._joined_terms()
        data = [r for r in refs if self._reads_output(r)]
        penalty = [r for r in refs if not self._reads_output(r) and self._reads_parameters(r)]
        if len(data) != 1 or not penalty:
            return None, []
        return data[0], penalty

    def _joined_terms(self) -> list:
        """The terms the loss ends in adding: ``data + penalty``, or the sum of them stacked
        (``sum(stack([data, *penalties]))``, how Keras adds its layers' regularizer penalties
        to a compiled loss); [] for a loss that ends otherwise."""
        last = self.calls[self.result.call]
        if last.name in PENALTY_JOINS:
            return list(_refs_in((last.args, last.kwargs)))
        if last.name != "sum" or len(last.args) != 1 or last.kwargs:
            return []
        stacked = self._passed_on_from(last.args[0])
        if stacked is None or stacked.name != "stack" or len(stacked.args) != 1:
            return []
        return list(_refs_in(stacked.args[0]))

    def _passed_on_from(self, ref) -> Call | None:
        """The call ``ref`` came from, followed back through moves and casts (PASSED_ON)."""
        while isinstance(ref, Result) and ref.item is None:
            call = self.calls[ref.call]
            if call.name not in PASSED_ON or not call.args:
                return call
            ref = call.args[0]
        return None

    def _only_needed_by(self, last: int) -> list:
        """The calls, with those ``last`` does not depend on left out (None): the penalty's
        reads of the parameters would keep a model without them (a constant guess, a larger
        model) from being scored, and computing it only costs time."""
        needed, todo = set(), [last]
        while todo:
            index = todo.pop()
            if index not in needed:
                needed.add(index)
                call = self.calls[index]
                todo += [r.call for r in _refs_in((call.args, call.kwargs))
                         if isinstance(r, Result)]
        return [call if index in needed else None for index, call in enumerate(self.calls)]

    @cached_property
    def data_term(self) -> LossProgram | None:
        """:meth:`without_penalty`, worked out once."""
        return self.without_penalty()

    def _reads_output(self, ref) -> bool:
        return self._reads(ref, Output)

    def _reads_parameters(self, ref) -> bool:
        return self._reads(ref, Parameter)

    def _reads(self, ref, kind: type) -> bool:
        """Whether the value ``ref`` stands for was computed from a ``kind`` reference."""
        if isinstance(ref, kind):
            return True
        if not isinstance(ref, Result):
            return False
        call = self.calls[ref.call]
        return any(self._reads(r, kind) for r in _refs_in((call.args, call.kwargs)))

    def loss(self, model, batch) -> torch.Tensor:
        output = self._output(model, batch)
        return self.run(_Reader(output, batch, dict(model.named_parameters())))

    def predict(self, model, batch) -> torch.Tensor:
        return at_place(self._output(model, batch), self.prediction_place)

    def called_with(self, batch):
        """The batch as the script gave it to the model (whole, target included, when it was)."""
        if self.target_path is not None:
            return with_target_at(batch, self.target_path)
        return batch

    def _output(self, model, batch):
        batch = self.called_with(batch)
        return model(*batch.args, **batch.kwargs)

    def run(self, reader) -> torch.Tensor:
        values: list = []
        for call in self.calls:
            if call is None:
                values.append(None)
                continue
            args = _filled(call.args, reader, values)
            kwargs = _filled(call.kwargs, reader, values)
            values.append(call.func(*args, **kwargs))
        loss = _result(values, self.result)
        return loss if self.scale is None else self.scale.applied(loss, reader.batch.rows)


def _result(values: list, ref: Result):
    value = values[ref.call]
    return value if ref.item is None else value[ref.item]


def _filled(value, reader, values: list):
    if isinstance(value, Result):
        return _result(values, value)
    if isinstance(value, (Output, Parameter, Input, Target, TargetLookup, Constant, BatchShape,
                          Selection, RowValues)):
        return reader.read(value)
    if isinstance(value, dict):
        return {k: _filled(v, reader, values) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        return type(value)(_filled(v, reader, values) for v in value)
    return value


class _Reader:
    """The program's inputs in a replay: the copy's output, parameters and the replay batch."""

    def __init__(self, output, batch, parameters: dict) -> None:
        self.output, self.batch = output, batch
        self.parameters = ParameterTable(parameters)

    def read(self, ref):
        if isinstance(ref, Output):
            return at_place(self.output, ref.place)
        if isinstance(ref, Parameter):
            return self.parameters.read(ref)
        if isinstance(ref, Input):
            return input_at(self.batch.args, self.batch.kwargs, ref.path)
        if isinstance(ref, Target):
            target = self.batch.target
            return target.reshape(-1) if ref.flat else target
        if isinstance(ref, TargetLookup):
            return ref.of(self.batch.target)
        if isinstance(ref, BatchShape):
            return (self.batch.rows, *ref.rest)
        if isinstance(ref, Selection):  # a batch kept without one: every row
            selection = getattr(self.batch, "selection", None)
            return slice(None) if selection is None else selection
        if isinstance(ref, RowValues):
            return row_values.read(self.batch, ref)
        return ref.tensor


class _Recorded(_Reader):
    """The program's inputs at the step it was recorded: the script's own tensors, cloned so
    that nothing the program does can touch them."""

    def __init__(self, tape: Tape, batch: StepInputs, target: torch.Tensor | None,
                 selection: torch.Tensor | None = None, per_row: dict | None = None) -> None:
        super().__init__(tape.output, batch, tape.parameters)
        self.target, self.selection = target, selection
        self.per_row = per_row or {}

    def read(self, ref):
        if isinstance(ref, RowValues):
            return list(self.per_row[ref])
        if isinstance(ref, Target):
            return self.target.detach().clone()
        if isinstance(ref, Selection):
            return self.selection.detach().clone()
        if isinstance(ref, TargetLookup):
            return ref.of(self.target.detach())
        if isinstance(ref, BatchShape):
            return super().read(ref)
        return super().read(ref).detach().clone()


def validated(built: Built, tape: Tape, batch: StepInputs) -> None:
    """Raises Unreplayable unless the program, run on the step's own tensors, gives back the
    loss that was trained on."""
    with torch.no_grad():
        recorded = built.value
        try:
            value = _number(built.program.run(_Recorded(tape, batch, built.target,
                                                        built.selection, built.row_values)))
        except Exception as error:  # noqa: BLE001 - any failure means: not replayable
            raise Unreplayable(
                f"running it again failed ({type(error).__name__}: {error})") from None
    if not math.isclose(value, recorded, rel_tol=VALUE_TOLERANCE, abs_tol=1e-7):
        raise Unreplayable(f"running it again gave {value:.6g} instead of {recorded:.6g}")


def _number(tensor: torch.Tensor) -> float:
    return float(tensor.detach().float().mean())


def no_target(rows: int) -> torch.Tensor:
    """The target kept beside a batch whose loss reads none: a row per batch row, no values."""
    return torch.empty(rows, 0)


def target_row_copy(target: torch.Tensor, rows: int) -> torch.Tensor:
    """The target as a batch keeps it: one row per batch row (a flattened one reshaped)."""
    copied = target.detach().to("cpu", copy=True)
    return copied if copied.dim() > 0 and copied.shape[0] == rows else copied.reshape(rows, -1)
