"""Follow what a script computes from its model's output: each tensor derived from the output
gets its *chain*, the names of the torch functions that led to it (``("__sub__", "__pow__",
"mean")`` for ``torch.mean((out - y) ** 2)``). A TorchFunctionMode calls every function
unchanged and reports each scalar with its chain. Given a Tape (loss_tape.py), it also
records the calls themselves, so that the training loss can be replayed.

A call given several followed tensors continues what their chains share (``joined``): a loss
a Python loop adds up row by row (``total = total + term``) has the same chain whatever the
batch's rows, and whichever branch of the loop its first row took."""

from __future__ import annotations

import weakref
from collections.abc import Callable

import torch
from torch.overrides import TorchFunctionMode, _get_current_function_mode

from lossdoctor.capture.tensors import tensors_in

#: Functions in a chain, at most: a loss is a few functions from the output.
MAX_CHAIN = 64
#: Tensors followed per forward pass, at most.
MAX_FOLLOWED = 10_000
#: Spies left while not the innermost mode, waiting to leave the stack (LossChainSpy, and
#: tensor_activations.StepActivationSpy: anything with a ``done`` flag).
WAITING: list[TorchFunctionMode] = []

#: Functions that scale a tensor by a number (``loss / accumulation_steps``); in a chain, their
#: names carry SCALED.
SCALINGS = {"__truediv__", "__mul__", "__rmul__", "div", "mul", "__div__"}
SCALED = " by a number"

Chain = tuple[str, ...]

#: How deep lossdoctor is in its own calls (an event handler reading what a loss call was
#: given): the spies let them through unseen, so they join neither a chain nor the tape of the
#: script's loss (a torch.nn loss's value read by lossdoctor once stopped every program that
#: added a penalty to such a loss: "a value ... is read in Python (item)"). capture/guard.py
#: counts every event handler in, inline: it runs on the watched step, where a context
#: manager costs 14 times as much (1.3 against 0.09 microseconds a call).
OWN_CALLS = [0]


def in_own_calls() -> bool:
    return OWN_CALLS[0] > 0


class LossChainSpy(TorchFunctionMode):
    """``on_scalar(tensor, chain, rows)`` is told of each scalar derived from the output."""

    def __init__(self, on_scalar: Callable[[torch.Tensor, Chain, int], None]) -> None:
        super().__init__()
        self.on_scalar = on_scalar
        self.done = False  # left: calls pass straight through until it is off the stack
        self.rows = 0
        self.tape = None  # a loss_program.Tape, when the calls are recorded
        self._chains: dict[int, tuple[weakref.ref, Chain]] = {}

    def follow(self, output, rows: int) -> None:
        """Start from a model output (its tensors have the empty chain), and enter the mode."""
        self.rows = rows
        for tensor in tensors_in(_plain(output)):
            self._note(tensor, ())
            if tensor.dim() == 0:
                self.on_scalar(tensor, (), rows)
        self.__enter__()

    def leave(self) -> None:
        """Stop following. The mode leaves the stack now if it is the innermost one; else (an
        event inside a torch function, such as backward, which runs with the mode set aside,
        or a mode of the script's above it) as soon as it is: see take_off_done_spies."""
        self.done = True
        self.tape = None  # the script's tensors are not held past this point
        WAITING.append(self)
        take_off_done_spies()

    def chain_of(self, tensor: torch.Tensor) -> Chain | None:
        entry = self._chains.get(id(tensor))
        return entry[1] if entry is not None and entry[0]() is tensor else None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        if self.done or in_own_calls():
            return result
        if self.tape is not None:
            self._record(func, args, kwargs or {}, result)
        parents = self._parents(args, kwargs)
        if parents and isinstance(result, torch.Tensor):
            chain = joined(parents, _step_name(func, args))
            if len(chain) > MAX_CHAIN:
                return result
            self._note(result, chain)
            if result.dim() == 0 and result.is_floating_point():
                self.on_scalar(result, chain, self.rows)
        return result

    def _record(self, func, args, kwargs, result) -> None:
        """Give the call to the tape; an error of the tape's ends the recording, never the
        script's call."""
        try:
            self.tape.record(func, args, kwargs, result)
        except Exception:  # noqa: BLE001 - the user's call must go on
            self.tape.overflowed = True

    def _note(self, tensor: torch.Tensor, chain: Chain) -> None:
        if len(self._chains) < MAX_FOLLOWED:
            self._chains[id(tensor)] = (weakref.ref(tensor), chain)

    def _parents(self, args, kwargs) -> list[Chain]:
        found = []
        for value in (*args, *(kwargs or {}).values()):
            for tensor in _shallow_tensors(value):
                chain = self.chain_of(tensor)
                if chain is not None:
                    found.append(chain)
        return found


def take_off_done_spies() -> None:
    """Pop the spies that were left while they were the innermost modes; never a mode of the
    script's."""
    if not WAITING:
        return
    top = _get_current_function_mode()
    while top is not None and getattr(top, "done", False) and top in WAITING:
        top.__exit__(None, None, None)
        WAITING.remove(top)
        top = _get_current_function_mode()


def joined(parents: list[Chain], step: str) -> Chain:
    """The chain of a call given followed tensors of these ``parents`` chains: the steps they
    all share from the output (the whole chain when there is one, or they are alike), then the
    call's own ``step``. Shared steps, not the longest chain: in ``total = total + term`` the
    running total's chain would grow by a step at every row, and the loss's would depend on
    the batch's rows; and a loop whose rows take one of two branches (wekws' max-pooling loss:
    a max of the row's keyword, a min of the others) would have the chain of its first row's
    branch."""
    shared = parents[0]
    for chain in parents[1:]:
        if chain != shared:
            shared = _common_start(shared, chain)
    return (*shared, step)


def _common_start(first: Chain, second: Chain) -> Chain:
    for index, (a, b) in enumerate(zip(first, second, strict=False)):
        if a != b:
            return first[:index]
    return first if len(first) <= len(second) else second


def unscaled(chain: Chain) -> Chain:
    """A chain that only scales the model's output by numbers is the output's own chain: a
    loss the model returned, divided for gradient accumulation, is still that loss."""
    return () if all(step.endswith(SCALED) for step in chain) else chain


def _step_name(func, args) -> str:
    name = getattr(func, "__name__", "function")
    numbers = any(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args)
    return name + SCALED if name in SCALINGS and numbers else name


def _shallow_tensors(value) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, torch.Tensor)]
    return []


def _plain(output):
    """A model output's tensors: dataclass outputs (``output.logits``) included."""
    if isinstance(output, (torch.Tensor, list, tuple, dict)) or not hasattr(output, "__dict__"):
        return output
    return vars(output)
