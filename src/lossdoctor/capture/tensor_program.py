"""A model written as plain tensors (``x @ w + b`` over tensors made with requires_grad), as a
program a replay runs on copies of those tensors.

Such a model has no nn.Module to copy. While the script trains, a TensorSpy (a
TorchFunctionMode) records every torch call from the first one on a trained tensor to the
tensor backward is called on: the model's computation and the loss's, on a Tape
(loss_tape.py). That recording is split in two programs of loss_program.py's kind:

- the *model*: the calls from the batch's inputs and the trained tensors to the prediction;
- the *loss*: the calls from the prediction (the model's output) and the target to the loss.

Which tensor is which is read from how the data meets the trained tensors. A tensor with a
row per batch row is an *input* when it first meets a value computed from the trained tensors
alone (``x @ w``); it is the *target* when it first meets one that already holds an input
(``out - y``), and that value is the *prediction*. Both programs are checked against the
values the script computed at that step before they are used.
"""

from __future__ import annotations

import copy
import math
import sys
from dataclasses import dataclass

import torch
from torch import nn

from lossdoctor.capture.loss_chains import (
    SCALED,
    SCALINGS,
    Chain,
    LossChainSpy,
    in_own_calls,
    joined,
)
from lossdoctor.capture.loss_program import (
    LossProgram,
    Scale,
    StepInputs,
    Unreplayable,
    _Builder,
    _has_rows,
    _needed,
    _number,
    _Reader,
    _refs_in,
    _refuse_unreplayable,
    _result,
    _unscaled,
    target_row_copy,
)
from lossdoctor.capture.loss_tape import (
    VALUE_READS,
    Call,
    External,
    Input,
    Output,
    Parameter,
    Result,
    Tape,
)
from lossdoctor.capture.sample import Batch
from lossdoctor.capture.tensors import copy_to_cpu

#: Relative difference allowed between a recorded value and the program's: the same
#: operations on the same float32 tensors, with room for rounding (see loss_program).
VALUE_TOLERANCE = 1e-4
#: The name of the trained tensors' list in a TensorModel: the n-th tensor the optimizer was
#: given is ``tensors.n``.
TENSORS = "tensors"


#: Reading or setting a tensor's attribute (``p.grad = None``): not a computation...
ATTRIBUTE_ACCESS = {"__get__", "__set__", "__delete__"}
#: ...except the attributes that compute a view of the tensor (``x @ w.T``: the model's first
#: call reads the weight through ``.T``).
COMPUTED_ATTRIBUTES = {"T", "mT", "H", "mH"}


def tensor_name(index: int) -> str:
    return f"{TENSORS}.{index}"


class TensorSpy(LossChainSpy):
    """Records the torch calls of one training step on a Tape, from the first call with grad
    on that reads a trained tensor; ``take()`` hands the tape over (at backward)."""

    def __init__(self, tensors: list[torch.Tensor]) -> None:
        super().__init__(on_scalar=lambda *_: None)
        self.parameters = {id(t): (tensor_name(i), t) for i, t in enumerate(tensors)}
        self.paused = False  # inside an optimizer step, which reads the tensors too
        #: The model's first call (see entry_of), and what is told of each evaluation that
        #: starts with it, without gradients: ``on_evaluation(its input)``.
        self.entry: Entry | None = None
        self.on_evaluation = None
        #: With a hand-written loss, which no loss call pairs with its batch: an evaluation
        #: is recorded from its entry until the next one (or training, or a step), and
        #: handed to ``on_evaluated(tape)``.
        self.on_evaluated = None
        self.evaluation: Tape | None = None
        #: Whether training steps are recorded: not once the programs are known and both
        #: samples complete, while evaluations still are (their losses, or none, are counted).
        self.steps_wanted = True

    def start(self) -> None:
        self.__enter__()

    def take(self) -> Tape | None:
        tape, self.tape = self.tape, None
        return tape

    def leave(self) -> None:
        self.end_evaluation()
        self.parameters = {}
        super().leave()

    def end_evaluation(self) -> None:
        evaluation, self.evaluation = self.evaluation, None
        if evaluation is not None:
            self.on_evaluated(evaluation)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        if self.done or self.paused or in_own_calls():
            return result
        if self.tape is None and not torch.is_grad_enabled():
            self._evaluating(func, args, kwargs, result)
            return result
        if self.evaluation is not None:
            self.end_evaluation()
        if not self.steps_wanted:
            return result
        if self.tape is None and self._starts(func, args, kwargs) and not _ours():
            self.tape = Tape(None, self.parameters)
        if self.tape is not None and not (_reads_value(func) and _ours()):
            self._record(func, args, kwargs or {}, result)
        return result

    def _evaluating(self, func, args, kwargs, result) -> None:
        """A call without gradients: an evaluation of the model starts with its entry."""
        if self.entry is not None and not kwargs and self.entry.starts(func, args):
            self.end_evaluation()
            self.on_evaluation(args[self.entry.input])
            if self.on_evaluated is not None:
                self.evaluation = Tape(None, self.parameters)
        evaluation = self.evaluation
        if evaluation is not None and not (_reads_value(func) and _ours()):
            try:
                evaluation.record(func, args, kwargs or {}, result)
            except Exception:  # noqa: BLE001 - the user's call must go on
                evaluation.overflowed = True

    def _starts(self, func, args, kwargs) -> bool:
        """A computation on a trained tensor: not the reset of its ``.grad`` (zero_grad)."""
        if getattr(func, "__name__", "") in ATTRIBUTE_ACCESS and getattr(
                getattr(func, "__self__", None), "__name__", "") not in COMPUTED_ATTRIBUTES:
            return False
        parameters = self.parameters
        for value in (*args, *(kwargs or {}).values()):
            items = value if isinstance(value, (list, tuple)) else (value,)
            if any(isinstance(t, torch.Tensor) and id(t) in parameters for t in items):
                return True
        return False


def _reads_value(func) -> bool:
    return getattr(func, "__name__", "") in VALUE_READS


def _ours() -> bool:
    """Whether the torch call being made comes from lossdoctor's own code (its statistics of
    a step, a copy of the tensors): the first caller outside torch is one of lossdoctor's.
    Looked at only where it matters, as it walks the stack: when a recording would start,
    and for a read of a value (which would make the step's loss look read in Python)."""
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.split(".")[0] != "torch":
            return module.split(".")[0] == "lossdoctor"
        frame = frame.f_back
    return False


@dataclass(frozen=True)
class Entry:
    """The model's first call, when it takes the batch's only input and a trained tensor
    (``x @ w``): a call like it, without gradients, starts an evaluation of the model."""

    name: str
    input: int  # the input's position among the call's arguments
    tensor: int  # the trained tensor's
    tensor_id: int  # which trained tensor it is (the first layer's, not the next one's)
    trained: frozenset  # the ids of the trained tensors

    def starts(self, func, args) -> bool:
        if len(args) <= max(self.input, self.tensor) or getattr(func, "__name__", "") != (
                self.name):
            return False
        first, tensor = args[self.input], args[self.tensor]
        return (isinstance(first, torch.Tensor) and id(first) not in self.trained
                and first.dim() > 0 and isinstance(tensor, torch.Tensor)
                and self.tensor_id in (id(tensor), id(tensor._base)))  # w, or w.T


def entry_of(model: LossProgram, spy: TensorSpy) -> Entry | None:
    """The model program's first call as an Entry, if it takes the batch's one input and a
    trained tensor as plain arguments; None otherwise (evaluations are then not watched)."""
    calls = [c for c in model.calls if c is not None]
    inputs = {r for c in calls for r in _arguments(c) if isinstance(r, Input)}
    views = _views_of_trained(model)  # ``w.T``: the call after it takes the input
    calls = [c for c in calls if all(c is not view for view in views.values())]
    if not calls or len(inputs) != 1 or calls[0].kwargs:
        return None
    args = [views[a].args[0] if a in views else a for a in calls[0].args]
    places = [i for i, a in enumerate(args) if isinstance(a, Input)]
    trained = [i for i, a in enumerate(args) if isinstance(a, Parameter)]
    if len(places) != 1 or len(trained) != 1:
        return None
    name = args[trained[0]].name
    tensor_id = next(key for key, (known, _) in spy.parameters.items() if known == name)
    return Entry(calls[0].name, places[0], trained[0], tensor_id, frozenset(spy.parameters))


# --- reading a step ---------------------------------------------------------------------------


@dataclass
class Step:
    """What one recorded training step shows: its rows, the inputs and target of its batch,
    where the prediction is on the tape, and the loss (unscaled: before a final scaling by a
    number, which ``scaled`` is after)."""

    tape: Tape
    rows: int
    inputs: list[torch.Tensor]
    target: torch.Tensor
    prediction: Result
    loss: Result

    #: The loss trained on, its final scaling by a number included.
    scaled: Result | None = None

    def batch(self) -> Batch:
        """The step's batch, copied as the sample keeps batches."""
        return Batch(copy_to_cpu(tuple(self.inputs)), {},
                     target_row_copy(self.target, self.rows), self.rows)

    @property
    def prediction_value(self) -> torch.Tensor:
        return _result(self.tape.results, self.prediction)

    @property
    def loss_value(self) -> torch.Tensor:
        return _result(self.tape.results, self.loss)

    @property
    def trained_value(self) -> torch.Tensor:
        """The loss trained on, its final scaling included."""
        return _result(self.tape.results, self.scaled or self.loss)


def read_step(tape: Tape, root: torch.Tensor, logits: bool = False) -> Step:
    """The step's batch and prediction, read from how its data meets the trained tensors.
    With ``logits`` (a hand-written loss), a prediction made by a softmax or sigmoid is taken
    before it (see before_normalizing). Raises Unreplayable."""
    start = tape.ref(root)
    if not isinstance(start, Result) or not tape.derives(start):
        raise Unreplayable("the tensor backward was called on was not computed from the "
                           "trained tensors")
    if tape.overflowed:
        raise Unreplayable("a training step takes more torch operations than are recorded")
    loss = _unscaled(tape, start)
    needed = sorted(_needed(tape, start.call, set()))
    rows = _rows(tape, needed)
    inputs, target, prediction = _classify(tape, needed, rows)
    if target is None or prediction is None:
        raise Unreplayable("no tensor with a row per batch row besides the inputs meets the "
                           "model's output, so none can be told to be the target")
    _refuse_unreplayable(tape, set(needed), start.call)
    if logits:
        prediction = before_normalizing(tape, prediction)
    return Step(tape, rows, inputs, target, prediction, loss, start)


#: Calls that turn scores into probabilities (or their logarithms). F.logsigmoid is recorded
#: as torch's "log_sigmoid" (dev 12083: a BCE written with it took its log-probabilities for
#: the prediction, so it looked like no torch loss and its labels 1 and 2 went unseen).
NORMALIZING = {"softmax", "log_softmax", "sigmoid", "logsigmoid", "log_sigmoid"}


def before_normalizing(tape: Tape, prediction: Result) -> Result:
    """The scores a softmax or sigmoid made the prediction from. A hand-written loss that
    starts with one (``-log_softmax(out).gather(1, y)``) then stays whole in the loss's
    program, and a model that returns scores (a larger one, a constant) is scored as the
    user's is: given the probabilities, the rest of the loss (a mean of picked log
    probabilities) would reward scores that grow without bound."""
    call = tape.calls[prediction.call]
    while call.name in NORMALIZING and prediction.item is None:
        inner = [a for a in call.args[:1] if isinstance(a, Result) and tape.derives(a)]
        if not inner:
            break
        prediction, call = inner[0], tape.calls[inner[0].call]
    return prediction


def read_evaluation(tape: Tape, rows: int, trained: torch.Tensor | None = None) -> Batch | None:
    """The batch an evaluation recorded from the model's entry scored: its input, and the
    target its (hand-written) loss compared the prediction with; None when it shows none, or
    when that target is not of the kind of ``trained`` (a training step's target): labels an
    accuracy compared ``argmax(out)`` with are no target of a cost on one-hot rows, and a
    replay's loss given them fails."""
    if not tape.calls:  # full, it still holds the evaluation: the calls after it are left out
        return None
    try:
        inputs, target, _ = _classify(tape, list(range(len(tape.calls))), rows)
    except Unreplayable:
        return None
    if len(inputs) != 1 or target is None or not _has_rows(target, rows):
        return None
    if isinstance(trained, torch.Tensor) and not _same_kind(target, trained):
        return None
    return Batch(copy_to_cpu((inputs[0],)), {}, target_row_copy(target, rows), rows)


def _same_kind(target: torch.Tensor, trained: torch.Tensor) -> bool:
    """The same shape per row and the same kind of numbers (floating or not)."""
    return (target.shape[1:] == trained.shape[1:]
            and target.is_floating_point() == trained.is_floating_point())


# --- the training loss computed on held-out rows ----------------------------------------------


def loss_chains(step: Step, programs: Programs) -> frozenset[Chain]:
    """How the hand-written training loss was computed from the batch's data besides the
    model's inputs (its target): the chains of torch calls (named as loss_chains.py names
    them, _chains_from_data) to the loss trained on, and to the loss before a penalty on the
    trained tensors joined it (an evaluation may leave the penalty out)."""
    chains = _chains_from_data(step.tape, step.rows, step.inputs)
    ends = [step.scaled or step.loss]
    data = programs.loss.data_term
    if data is not None:
        ends.append(data.result)
    return frozenset(chains[end.call] for end in ends if end.call in chains)


def evaluation_loss(tape: Tape, rows: int, trained: frozenset[Chain]) -> torch.Tensor | None:
    """The training loss's computation on an evaluation's rows: the last scalar computed
    through one of the ``trained`` chains (a final scaling by a number is named in a chain,
    not its number: a mean written by hand divides by its own rows). None when the evaluation
    computed no such loss (an accuracy alone). The tape starts with the model's entry, whose
    tensor arguments are the evaluated inputs."""
    if not tape.calls or not trained:
        return None
    inputs = [a.tensor for a in _arguments(tape.calls[0]) if isinstance(a, External)]
    found = None
    for index, chain in _chains_from_data(tape, rows, inputs).items():
        value = tape.results[index]
        if chain in trained and index in tape._derived and _is_scalar(value):
            found = value
    return found


def _chains_from_data(tape: Tape, rows: int, inputs: list) -> dict[int, Chain]:
    """Each recorded call computed from the batch's data other than the model's ``inputs``:
    its chain, what its arguments' chains share followed by its own name (LossChainSpy's
    rule, loss_chains.joined, read off a tape). The data starts chains: tensors with a row per
    batch row from outside, and what the tape computed of them apart from the trained tensors
    (``y_test[index]``, ``1 - y``). Read from the data, not from the prediction: an evaluation
    that compares ``argmax(out) == labels`` before its loss meets the labels first."""
    skipped = {id(t) for t in inputs}
    chains: dict[int, Chain] = {}
    model: set[int] = set()  # calls on the inputs (the entry, whose ``w.T`` came from outside)
    for index, call in enumerate(tape.calls):
        if _reads_inputs(call, skipped, model):
            model.add(index)
        elif index not in tape._derived:
            result = tape.results[index]
            if isinstance(result, torch.Tensor) and _has_rows(result, rows):
                chains[index] = ()
            continue
        parents = [_chain_of(tape, ref, rows, skipped, chains) for ref in _arguments(call)]
        parents = [chain for chain in parents if chain is not None]
        if parents:
            chains[index] = joined(parents, _chain_step(call))
    return chains


def _reads_inputs(call: Call, inputs: set[int], model: set[int]) -> bool:
    return any((isinstance(ref, External) and id(ref.tensor) in inputs)
               or (isinstance(ref, Result) and ref.call in model) for ref in _arguments(call))


def _chain_of(tape: Tape, ref, rows: int, skipped: set[int],
              chains: dict[int, Chain]) -> Chain | None:
    """An argument's chain: () for data, None for what is not computed from it (a view of a
    trained tensor taken before the tape started, ``w.T``, is no data)."""
    if isinstance(ref, External):
        base = ref.tensor._base
        trained = base is not None and isinstance(tape.ref(base), Parameter)
        data = id(ref.tensor) not in skipped and not trained and _has_rows(ref.tensor, rows)
        return () if data else None
    return chains.get(ref.call) if isinstance(ref, Result) else None


def _chain_step(call: Call) -> str:
    numbers = any(isinstance(a, (int, float)) and not isinstance(a, bool) for a in call.args)
    return call.name + SCALED if call.name in SCALINGS and numbers else call.name


def _is_scalar(value) -> bool:
    return isinstance(value, torch.Tensor) and value.dim() == 0 and value.is_floating_point()


def _rows(tape: Tape, needed: list[int]) -> int:
    """The batch's rows: the leading size of the first data tensor a trained tensor meets."""
    for index in needed:
        call = tape.calls[index]
        refs = _refs_in((call.args, call.kwargs))
        if any(isinstance(r, Parameter) or (isinstance(r, Result) and tape.derives(r))
               for r in refs):  # ``x @ w.T`` meets a view of the trained tensor
            for value in (*call.args, *call.kwargs.values()):
                tensor = _data_tensor(tape, value)
                if tensor is not None and tensor.dim() > 0:
                    return int(tensor.shape[0])
    raise Unreplayable("no batch of data meets the trained tensors")


def _data_tensor(tape: Tape, value) -> torch.Tensor | None:
    if isinstance(value, External):
        return value.tensor
    if isinstance(value, Result) and not tape.derives(value):
        found = _result(tape.results, value)
        return found if isinstance(found, torch.Tensor) else None
    return None


#: The trained tensors, in the dependencies of a value.
TRAINED = "trained"


def _classify(tape: Tape, needed: list[int], rows: int):
    """The inputs (in the order they meet the trained tensors), the target and the prediction:
    each value's data dependencies are followed call by call (see the module's docstring)."""
    depends: dict[int, frozenset] = {}  # call -> the leaves its result depends on
    leaves: dict[object, torch.Tensor] = {}  # leaf key -> its tensor
    inputs: list = []  # leaf keys
    target = prediction = None
    for index in needed:
        call = tape.calls[index]
        parts = [_depends_on(tape, a, depends, leaves, rows) for a in _arguments(call)]
        if _is_data_entry(tape, index, rows) or (
                not any(parts) and _is_leaf_call(tape, index, rows)):  # torch.zeros(rows, h)
            key = ("call", index)
            leaves[key] = _result(tape.results, Result(index))
            depends[index] = frozenset({key})  # data: no trained tensor is among its arguments
            continue
        trained = [(a, p) for a, p in zip(_arguments(call), parts, strict=True) if TRAINED in p]
        if trained:
            seen = frozenset().union(*(p for _, p in trained))
            for part in parts:
                for key in sorted(part - {TRAINED} - seen - set(inputs), key=str):
                    if key == target:
                        continue
                    if not seen & set(inputs):
                        inputs.append(key)
                    elif target is None:
                        target, prediction = key, trained[0][0]
                    else:
                        raise Unreplayable("it uses two tensors with a row per batch row "
                                           "besides the model's inputs, and only one can be "
                                           "told to be the target")
        depends[index] = frozenset().union(*parts) if parts else frozenset()
    if not isinstance(prediction, Result):
        return [leaves[k] for k in inputs], None, None
    return [leaves[k] for k in inputs], leaves.get(target), prediction


def _arguments(call: Call) -> list:
    """A call's arguments, lists and tuples opened (``torch.cat([x, h])``)."""
    found = []
    for value in (*call.args, *call.kwargs.values()):
        found.extend(value if isinstance(value, (list, tuple)) else (value,))
    return found


def _depends_on(tape: Tape, value, depends: dict, leaves: dict, rows: int) -> frozenset:
    if isinstance(value, Parameter):
        return frozenset({TRAINED})
    if isinstance(value, Result):
        return depends.get(value.call, frozenset())
    if isinstance(value, External) and _has_rows(value.tensor, rows):
        key = ("tensor", id(value.tensor))
        leaves[key] = value.tensor
        return frozenset({key})
    return frozenset()


def _is_leaf_call(tape: Tape, index: int, rows: int) -> bool:
    """A call that makes a tensor with the batch's rows out of nothing recorded
    (``torch.zeros(rows, h)``): data, as an input is. Not ``w ** 2`` of a bias that happens to
    have as many entries as the batch has rows."""
    result = tape.results[index]
    return isinstance(result, torch.Tensor) and _has_rows(result, rows) and not any(
        isinstance(a, (External, Result, Parameter)) for a in _arguments(tape.calls[index]))


#: Calls that pick rows by index: ``labels[batch]`` of a whole (N,) label vector picks the batch
#: though N, a multiple of the batch's rows, also reads as a flattened sequence of rows.
ROW_PICKS = frozenset({"__getitem__", "index_select"})


def _is_data_entry(tape: Tape, index: int, rows: int) -> bool:
    """A call that picks the batch's rows out of a whole data set, apart from the trained
    tensors (``y_train[index]`` written inside the loss): its result is the data, not the
    index it was given, as loss_program's data entries are."""
    call, result = tape.calls[index], tape.results[index]
    if index in tape._derived or not isinstance(result, torch.Tensor):
        return False
    called_on = call.args[0] if call.args else None
    whole = called_on.tensor if isinstance(called_on, External) else None
    if whole is None or whole.dim() == 0 or not _has_rows(result, rows):
        return False
    return not _has_rows(whole, rows) or (call.name in ROW_PICKS and whole.shape[0] > rows)


# --- the two programs ---------------------------------------------------------------------------


@dataclass
class Programs:
    model: LossProgram  # inputs and trained tensors -> prediction
    loss: LossProgram  # prediction (the output) and target -> loss


def split(step: Step) -> Programs:
    """The model's program and the loss's, made general; the loss's final scaling by a number
    is kept (loss_program.Scale: ``sum / (2 * rows)`` is replayed as trained, not as its sum).
    Raises Unreplayable."""
    tape = step.tape
    batch = StepInputs(tuple(step.inputs), {}, step.rows,
                       [((("arg", i),), t) for i, t in enumerate(step.inputs)])
    leaf_calls = {i for i in range(len(tape.calls))
                  if _is_leaf_call(tape, i, step.rows) or _is_data_entry(tape, i, step.rows)}
    model_builder = _Builder(tape, batch, leaf_calls)
    model_needed = _needed(tape, step.prediction.call, leaf_calls)
    model = LossProgram([model_builder.general(tape.calls[i]) if i in model_needed else None
                         for i in range(step.prediction.call + 1)], step.prediction)
    if model_builder.target is not None:
        raise Unreplayable("the model's computation reads the target")
    loss_builder = _Builder(tape, batch, leaf_calls)
    loss_needed = _needed(tape, step.loss.call, leaf_calls | {step.prediction.call})
    loss_needed.discard(step.prediction.call)
    calls = [_as_output(loss_builder.general(tape.calls[i]), step.prediction)
             if i in loss_needed else None for i in range(step.loss.call + 1)]
    scale = Scale.of(tape, step.scaled, step.loss, step.rows) if step.scaled else None
    return Programs(model, LossProgram(calls, step.loss, scale=scale))


def _as_output(value, prediction: Result):
    """The prediction's place in the loss program becomes the model's output."""
    if isinstance(value, Call):
        return Call(value.func, _as_output(value.args, prediction),
                    _as_output(value.kwargs, prediction), value.name)
    if value == prediction:
        return Output(())
    if isinstance(value, dict):
        return {k: _as_output(v, prediction) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        return type(value)(_as_output(v, prediction) for v in value)
    return value


def validated(programs: Programs, step: Step) -> None:
    """Raises Unreplayable unless both programs, run on the step's own tensors (cloned), give
    back the prediction and the loss the script computed."""
    parameters = _cloned_parameters(step.tape)
    batch = Batch(tuple(t.detach().clone() for t in step.inputs), {},
                  step.target.detach().clone(), step.rows)
    with torch.no_grad():
        try:
            prediction = programs.model.run(_Reader(None, batch, parameters))
            loss = programs.loss.run(_Reader(step.prediction_value.detach().clone(), batch,
                                             parameters))
        except Exception as error:  # noqa: BLE001 - any failure means: not replayable
            raise Unreplayable(
                f"running it again failed ({type(error).__name__}: {error})") from None
    expected = step.prediction_value
    # NaN where the script's step had NaN is the same computation: a run whose targets make
    # its loss blow up within a step or two has no finite step left to record after its first
    # update (bce_labels_percent under SGD with momentum: NaN from step 1)
    if not isinstance(prediction, torch.Tensor) or prediction.shape != expected.shape or (
            not torch.allclose(prediction.float(), expected.detach().float(),
                               rtol=VALUE_TOLERANCE, atol=1e-6, equal_nan=True)):
        raise Unreplayable("running the model's computation again gave another output")
    value, recorded = _number(loss), _number(step.trained_value)
    both_nan = math.isnan(value) and math.isnan(recorded)
    if not both_nan and not math.isclose(value, recorded, rel_tol=VALUE_TOLERANCE,
                                         abs_tol=1e-7):
        raise Unreplayable(f"running the loss again gave {value:.6g} instead of {recorded:.6g}")


def _cloned_parameters(tape: Tape) -> dict[str, torch.Tensor]:
    """The trained tensors by the names the programs hold, cloned: read from the tape's own
    table of them, which a call handing a tensor back as it is (``w.to("cpu")`` on the CPU)
    does not overwrite."""
    return {name: tensor.detach().clone() for name, tensor in tape.parameters.items()}


def any_rows(programs: Programs, step: Step) -> bool:
    """Whether the model's program runs on a batch of other rows (the first half of the
    step's) and gives the first half of its prediction: no batch size is written into it."""
    half = step.rows // 2
    if half == 0:
        return False
    parameters = _cloned_parameters(step.tape)
    batch = Batch(tuple(t.detach()[:half].clone() for t in step.inputs), {}, None, half)
    try:
        with torch.no_grad():
            prediction = programs.model.run(_Reader(None, batch, parameters))
    except Exception:  # noqa: BLE001 - it does not: only batches of the step's rows are used
        return False
    expected = step.prediction_value.detach()[:half].float()
    return prediction.shape == expected.shape and torch.allclose(
        prediction.float(), expected, rtol=VALUE_TOLERANCE, atol=1e-6)


def rows_apart(programs: Programs, step: Step) -> bool:
    """Whether each row's prediction depends on that row alone: the step's batch with its
    second half replaced by copies of its first rows gives the first half's predictions
    unchanged. Rows that meet (statistics over the batch, as a BatchNorm written by hand
    takes) change them."""
    half = step.rows // 2
    if half == 0:
        return False
    parameters = _cloned_parameters(step.tape)
    inputs = tuple(torch.cat([t.detach()[:half], t.detach()[:step.rows - half]]).clone()
                   for t in step.inputs)
    try:
        with torch.no_grad():
            prediction = programs.model.run(_Reader(None, Batch(inputs, {}, None, step.rows),
                                                    parameters))
    except Exception:  # noqa: BLE001 - it cannot be told: rows are taken to meet
        return False
    expected = step.prediction_value.detach()[:half].float()
    return prediction.shape == step.prediction_value.shape and torch.allclose(
        prediction[:half].float(), expected, rtol=VALUE_TOLERANCE, atol=1e-6)


class TensorModel(nn.Module):
    """Copies of the trained tensors, as a module whose forward runs the recorded program of
    the model on its inputs.

    ``rows``: the batch size written into the program (``emb.view(emb.shape[0], -1)`` is
    recorded as ``view(32, -1)``), when its rows do not meet: a batch of any other size is
    then run in pieces of that many rows, the last one filled up with repeated rows whose
    predictions are dropped (replays hold out rows, evaluate and rebatch at other sizes)."""

    def __init__(self, tensors: list[torch.Tensor], program: LossProgram,
                 rows: int | None = None) -> None:
        super().__init__()
        self.tensors = nn.ParameterList(
            [nn.Parameter(t.detach().clone(), requires_grad=t.requires_grad) for t in tensors])
        self.program = program
        self.rows = rows

    def __deepcopy__(self, memo: dict) -> TensorModel:
        """The tensors are copied; the program, which nothing changes, is shared."""
        memo[id(self.program)] = self.program
        copied = type(self).__new__(type(self))
        memo[id(self)] = copied
        for key, value in self.__dict__.items():
            copied.__dict__[key] = copy.deepcopy(value, memo)
        return copied

    #: How reset_parameters initializes, in words for a report.
    INITIALIZATION = "He initialization (nn.init.kaiming_normal_ on each weight matrix)"

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """He initialization (He et al., 2015, torch's kaiming_normal_), the usual choice for
        tensors written by hand as ``x @ w + b``: a matrix of ``fan_in`` rows drawn
        N(0, 2 / fan_in), vectors (biases) zero; a matrix the model reads through ``.T``
        (``x @ w.T``, nn.Linear's layout) has ``fan_in`` columns. Tensors of other shapes are
        left as they are. A plain tensor has no PyTorch default to return to (nn.Linear's, a
        uniform within 1/sqrt(fan_in), shrinks every layer's outputs: against it the
        He-initialized twin of dev case 01018, a 4-layer regression MLP, read as badly
        initialized)."""
        transposed = transposed_names(self.program)
        for name, tensor in self.named_parameters():
            if tensor.dim() == 2:
                fan_in = tensor.shape[1] if name in transposed else tensor.shape[0]
                tensor.normal_(0.0, math.sqrt(2 / fan_in))
            elif tensor.dim() == 1:
                tensor.zero_()

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        total = _leading_rows(inputs)
        if self.rows is None or total in (None, self.rows):
            return self._run(inputs)
        pieces = []
        for start in range(0, total, self.rows):
            piece = tuple(_rows_of(t, start, self.rows, total) for t in inputs)
            pieces.append(self._run(piece)[:min(self.rows, total - start)])
        return torch.cat(pieces)

    def _run(self, inputs: tuple) -> torch.Tensor:
        batch = Batch(inputs, {}, None, 0)
        return self.program.run(_Reader(None, batch, dict(self.named_parameters())))


def _leading_rows(inputs: tuple) -> int | None:
    first = next((t for t in inputs if isinstance(t, torch.Tensor) and t.dim() > 0), None)
    return None if first is None else int(first.shape[0])


def _rows_of(value, start: int, rows: int, total: int):
    """Rows ``start`` to ``start + rows`` of a batch input of ``total`` rows, the last piece
    filled up to ``rows`` by repeating its own rows; anything else as it is."""
    if not isinstance(value, torch.Tensor) or value.dim() == 0 or value.shape[0] != total:
        return value
    piece = value[start:start + rows]
    if piece.shape[0] == rows:
        return piece
    return piece[torch.arange(rows) % piece.shape[0]]


def transposed_names(program: LossProgram) -> set[str]:
    """The trained tensors the program reads through ``.T`` or ``.mT`` (``x @ w.T``)."""
    return {view.args[0].name for view in _views_of_trained(program).values()}


def _views_of_trained(program: LossProgram) -> dict[Result, Call]:
    """The calls that read a trained tensor transposed (``w.T``), by the Result they give."""
    return {Result(index): call for index, call in enumerate(program.calls)
            if call is not None and call.name == "__get__" and call.args
            and isinstance(call.args[0], Parameter)
            and getattr(getattr(call.func, "__self__", None), "__name__", "") in ("T", "mT")}
