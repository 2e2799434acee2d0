"""What a script computes after its model's forward pass, call by call: the Tape that the
spy of loss_chains.py fills, from which loss_program.py builds a replayable loss.

Each argument of a recorded call is kept as a reference: to the model's output (by its place),
to a parameter (by its name), to an earlier call's result, or to a tensor from outside
(External) that the program builder classifies later (the batch's target, an input, a
constant)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lossdoctor.capture.replay_losses import Path, Place

#: Calls recorded per forward pass, at most: a loss is a few calls from the output.
MAX_CALLS = 512
#: Calls that hand a tensor's value to Python (for an ``if``, a number in a formula, a print).
VALUE_READS = {"item", "tolist", "__bool__", "__float__", "__int__", "__index__", "numpy",
               "__format__", "__array__"}


# --- what an argument refers to ---------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    place: Place


@dataclass(frozen=True)
class Result:
    call: int
    item: int | None = None  # the position in a call that returned several tensors


@dataclass(frozen=True)
class Parameter:
    name: str
    #: Its shape, and its place among the model's parameters of that shape: a copy of a Keras 3
    #: model names its variables anew (``sequential/conv1d/kernel`` becomes ``conv1d/kernel``)
    #: and can list them in another order (a dropout's seed state moves), but its layers'
    #: weights of one shape keep their order among themselves.
    shape: tuple | None = None
    rank: int = 0


@dataclass(frozen=True)
class Input:
    path: Path


@dataclass(frozen=True)
class Target:
    flat: bool = False  # the loss used the batch's target flattened (``y.view(-1)``)


@dataclass(frozen=True)
class BatchShape:
    """A shape read in Python whose first size is the batch's rows, made a tensor by the loss
    (Keras divides its summed loss by ``prod(convert_to_tensor(shape(values)))``): the rows
    of the batch a replay runs on, then the other sizes as recorded."""

    rest: tuple


@dataclass(frozen=True)
class External:
    """A tensor from outside, classified once the program is built."""

    tensor: torch.Tensor


@dataclass
class Constant:
    tensor: torch.Tensor


@dataclass
class Call:
    func: object
    args: tuple
    kwargs: dict
    name: str


# --- recording -------------------------------------------------------------------------------


class Tape:
    """The calls made on a model's output and parameters after one forward pass. It holds the
    script's tensors only until the spy leaves (the next backward or forward pass)."""

    def __init__(self, output, parameters: dict[int, tuple[str, torch.Tensor]]) -> None:
        self.output = output
        self.calls: list[Call] = []
        self.results: list = []  # what each call returned
        self.reads: list[tuple[int, object, str]] = []  # (calls made before, what, which read)
        #: The calls made before each ``if`` on a value computed here from the batch's data
        #: alone (``if target[i] == j``): the calls after it took a branch the data chose.
        self.branches: list[int] = []
        self.overflowed = False
        self._derived: set[int] = set()  # the calls computed from the output or parameters
        self._refs: dict[int, tuple[torch.Tensor, object]] = {}
        #: The model's parameters by the name a program's Parameter holds. Kept apart from
        #: ``_refs``: a call that hands a parameter back as it is (``w.to("cpu")`` on the CPU,
        #: as Keras' l2 regularizer does) makes its reference that call's result.
        self.parameters: dict[str, torch.Tensor] = {}
        for name, parameter in parameters.values():
            self._refs[id(parameter)] = (parameter, Parameter(name, *_shape_and_rank(
                parameter, self.parameters.values())))
            self.parameters[name] = parameter

    def note_output(self, place: Place, tensor: torch.Tensor) -> None:
        self._refs[id(tensor)] = (tensor, Output(place))

    def ref(self, tensor: torch.Tensor):
        entry = self._refs.get(id(tensor))
        return entry[1] if entry is not None and entry[0] is tensor else None

    def record(self, func, args: tuple, kwargs: dict, result) -> None:
        """One torch call. Every call is kept (``1 - y`` too: it is the target's), and those
        on the output or the parameters, or on what came of them, are marked derived."""
        name = getattr(func, "__name__", "function")
        known = self._known_arguments(args, kwargs)
        if name in VALUE_READS:
            self.reads.extend((len(self.calls), ref, name) for ref in known if self.derives(ref))
            if name == "__bool__" and any(isinstance(ref, Result) for ref in known):
                self.branches.append(len(self.calls))
            return
        if self.overflowed or len(self.calls) >= MAX_CALLS:
            self.overflowed = True
            return
        index = len(self.calls)
        self.calls.append(Call(_original(func), self._template(args), self._template(kwargs),
                               name))
        self.results.append(result)
        if any(self.derives(ref) for ref in known):
            self._derived.add(index)
        self._note_result(index, result)

    def derives(self, ref) -> bool:
        """Whether ``ref`` is the output, a parameter, or was computed from them."""
        return isinstance(ref, (Output, Parameter)) or (
            isinstance(ref, Result) and ref.call in self._derived)

    def _known_arguments(self, args, kwargs) -> list:
        found = []
        for value in (*args, *kwargs.values()):
            items = value if isinstance(value, (list, tuple)) else (value,)
            found += [self.ref(t) for t in items if isinstance(t, torch.Tensor) and self.ref(t)]
        return found

    def _note_result(self, index: int, result) -> None:
        if isinstance(result, torch.Tensor):
            self._refs[id(result)] = (result, Result(index))
        elif isinstance(result, (tuple, list)):
            for item, value in enumerate(result):
                if isinstance(value, torch.Tensor):
                    self._refs[id(value)] = (value, Result(index, item))

    def _template(self, value):
        if isinstance(value, torch.Tensor):
            return self.ref(value) or External(value)
        if isinstance(value, dict):
            return {k: self._template(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._template(v) for v in value]
        if isinstance(value, tuple) and not isinstance(value, torch.Size):
            return tuple(self._template(v) for v in value)
        return value


def _shape_and_rank(parameter: torch.Tensor, earlier) -> tuple[tuple, int]:
    """A parameter's shape and how many of the ``earlier`` ones have it."""
    shape = tuple(parameter.shape)
    return shape, sum(tuple(p.shape) == shape for p in earlier)


class ParameterTable:
    """A model's parameters as a replay of a recorded program reads them: by the name the
    program recorded, else (a copy whose names changed) by shape and place among those of
    that shape."""

    def __init__(self, by_name: dict[str, torch.Tensor]) -> None:
        self.by_name = by_name
        self.by_shape: dict[tuple, list[torch.Tensor]] = {}
        for parameter in by_name.values():
            self.by_shape.setdefault(tuple(parameter.shape), []).append(parameter)

    @classmethod
    def of(cls, model) -> ParameterTable:
        return cls(dict(model.named_parameters()))

    def read(self, ref: Parameter) -> torch.Tensor:
        if ref.name in self.by_name:
            return self.by_name[ref.name]
        alike = self.by_shape.get(ref.shape, [])
        if ref.rank < len(alike):
            return alike[ref.rank]
        raise KeyError(ref.name)


def _original(func):
    """lossdoctor's own wrapper of a torch.nn.functional loss stands for the function itself."""
    return getattr(func, "lossdoctor_original", func)
