"""Which sigmoid and tanh outputs are gates: multiplied by another tensor of the forward.

A tanh or sigmoid whose output (shifted or scaled by constants, reshaped) multiplies another
tensor that carries gradient is a gate on that tensor, not a unit that saturates: the tanh
approximation of GELU, ``0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))`` (minGPT's
NewGELU), SiLU/Swish written as ``x * torch.sigmoid(x)``, a GLU's ``a * sigmoid(b)``, a
squeeze-and-excitation scale. Pinned at its limits, a gate passes the other factor's gradient
unchanged (a GELU's at +1) or closes it as a ReLU does (at -1 or 0); the layer before it still
learns through the product. What saturated_activation is about, a unit whose output is the
layer's output and passes no gradient once pinned, is not a gate.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.overrides import TorchFunctionMode

from lossdoctor.capture import stats as capture_stats
from lossdoctor.capture.activations import activation_kind

#: Elementwise products: the operation that makes an activation's output a gate.
PRODUCTS = {"mul", "mul_", "multiply", "__mul__", "__rmul__", "__imul__"}
#: Operations that keep an output the same activation's when every other operand is a constant
#: (a number, or a tensor that carries no gradient): ``1 + t``, ``0.5 * t``, a reshape.
SAME_VALUES = PRODUCTS | {
    "add", "add_", "__add__", "__radd__", "__iadd__", "sub", "sub_", "rsub", "__sub__",
    "__rsub__", "div", "div_", "true_divide", "__truediv__", "neg", "__neg__", "view",
    "reshape", "unsqueeze", "squeeze", "expand", "expand_as", "transpose", "permute", "flatten",
    "contiguous", "clone", "__getitem__", "to", "float",
}


@dataclass
class ActivationCall:
    """One sigmoid or tanh computed in the forward, in order."""

    kind: str
    module: str  # the activation module's name (nn.Tanh, nn.Sigmoid), "" for a function call
    gate: bool = False


class GateSpy(TorchFunctionMode):
    """Follows each sigmoid/tanh output through constant shifts, scales and reshapes, and marks
    it a gate when it is multiplied by a tensor that carries gradient and is at least as large
    (a learned scale, ``self.scale * torch.tanh(x)``, is no gate: the tanh's input still gets
    no gradient once it is pinned)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[ActivationCall] = []
        self.outputs: list[torch.Tensor] = []  # each call's output, kept so ids stay unique
        self._derived: dict[int, set[int]] = {}  # id(tensor) -> the calls it carries
        self._kept: list[torch.Tensor] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        output = func(*args, **(kwargs or {}))
        if not isinstance(output, torch.Tensor):
            return output
        kind = activation_kind(func, args, kwargs)
        if kind in ("sigmoid", "tanh"):
            self.calls.append(ActivationCall(kind, ""))
            self.outputs.append(output)
            self._carry(output, {len(self.calls) - 1})
            return output
        self._follow(getattr(func, "__name__", ""), [*args, *(kwargs or {}).values()], output)
        return output

    def _follow(self, name: str, operands: list, output: torch.Tensor) -> None:
        tensors = [t for t in operands if isinstance(t, torch.Tensor)]
        carried = set().union(*(self._derived.get(id(t), set()) for t in tensors))
        if not carried or name not in SAME_VALUES:
            return
        gated = max(t.numel() for t in tensors if id(t) in self._derived)
        others = [t for t in tensors if id(t) not in self._derived and t.requires_grad]
        if name in PRODUCTS and any(t.numel() >= gated for t in others):
            for index in carried:
                self.calls[index].gate = True
        elif not others or name in PRODUCTS:
            self._carry(output, carried)  # a learned scale (``self.scale * tanh(x)``) too

    def _carry(self, tensor: torch.Tensor, calls: set[int]) -> None:
        self._derived[id(tensor)] = self._derived.get(id(tensor), set()) | calls
        self._kept.append(tensor)


def activation_calls(replayer, model) -> list[ActivationCall]:
    """Each sigmoid and tanh ``model`` (put in training mode) computes on the first training
    batch, in order, with the name of the activation module that computed it and whether it is
    a gate. [] without training batches."""
    if not replayer.train_batches:
        return []
    spy = GateSpy()
    names: dict[int, str] = {}

    def left(module, args, output) -> None:
        if isinstance(output, torch.Tensor):
            names[id(output)] = module_names[module]

    module_names = {m: name for name, m in model.named_modules()
                    if isinstance(m, capture_stats.ACTIVATION_MODULES)}
    hooks = [m.register_forward_hook(left) for m in module_names]
    model.train()
    try:
        with torch.enable_grad(), spy:
            replayer.predict(model, replayer.train_batches[0])
    finally:
        for hook in hooks:
            hook.remove()
    for call, output in zip(spy.calls, spy.outputs, strict=True):
        call.module = names.get(id(output), "")
    return spy.calls
