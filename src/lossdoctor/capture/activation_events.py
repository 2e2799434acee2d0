"""Activations inside a sampled training forward pass, named after where they were computed.
Their statistics stay on the device until the pass ends, and are read then all at once.

The first sampled passes are watched through a TorchFunctionMode, which sees every torch call
(``F.relu`` and ``torch.sigmoid`` written in a forward too) and costs a Python call for each.
When all the activations those passes saw were activation modules (``nn.ReLU``), the later
sampled passes watch only the modules' outputs, through the submodule hooks the naming needs
anyway: on a model of hundreds of small layers the mode multiplied a sampled step's time.

An activation module is named as the model names it ("encoder.1"); a function called in a
forward after the submodule it follows ("torch.relu after hidden.0"); a name met twice in a pass
(one nn.ReLU used after two layers, torch.relu in a loop over layers) is numbered, so that two
layers are never counted as one. A model written as plain tensors has no forward pass to hook:
its sampled steps are watched from the optimizer step before them to their backward pass
(tensor_activations.py), each activation named after the user's line that called it."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.loss import _Loss

from lossdoctor.capture import stats
from lossdoctor.capture.activations import ActivationSpy
from lossdoctor.capture.guard import guarded, guarded_hook
from lossdoctor.capture.tensor_activations import TensorActivations
from lossdoctor.trace import ActivationStat, Trace

#: Sampled passes watched through the TorchFunctionMode before the modules alone may do: the
#: schedule's dense first steps (capture/schedule.py).
FUNCTION_MODE_PASSES = 10
#: The spy of a pass watched through the activation modules alone.
MODULES_ONLY = "activation modules only"
MODULE_KINDS = ((nn.Sigmoid, "sigmoid"), (nn.Tanh, "tanh"), (nn.ReLU, "relu"), (nn.ReLU6, "relu"))


class ActivationEvents(TensorActivations):
    """While ``spying``, every activation function's output becomes an ActivationStat; the
    modules entered so far (a stack) say where it was computed."""

    # Shared with the other event families, set by Recorder.__init__:
    trace: Trace

    def _start_activation_events(self) -> None:
        self._spy: ActivationSpy | str | None = None
        self._spied_passes = 0
        self._functional_activations = False  # an activation computed outside its module
        self._module_stack: list[nn.Module] = []
        self._module_names: dict[int, str] = {}
        self._last_left: nn.Module | None = None  # the last submodule whose call ended
        self._places: dict[str, int] = {}  # the names given in this pass, and how often
        self._start_tensor_activations()
        #: This pass's records, with their statistics still tensors: (record, saturated share,
        #: live units of a ReLU: stats.live_units).
        self._unread: list[tuple[ActivationStat, torch.Tensor | None, torch.Tensor | None]] = []

    @property
    def spying(self) -> bool:
        """Whether a sampled forward pass is being spied on. The hook layer then follows the
        model's submodules too (submodule_started), to name the activations."""
        return self._spy is not None

    def _start_spying(self) -> None:
        if torch.compiler.is_compiling():
            return
        self._spied_passes += 1
        self._places.clear()
        self._last_left = None
        if self._spied_passes > FUNCTION_MODE_PASSES and not self._functional_activations:
            self._spy = MODULES_ONLY
            return
        self._spy = ActivationSpy(self._record_activation)
        self._spy.__enter__()

    def _stop_spying(self) -> None:
        if self._spy is not None:
            spy, self._spy = self._spy, None
            self._module_stack.clear()
            if isinstance(spy, ActivationSpy):
                spy.__exit__(None, None, None)
            self._read_activations()

    def _activation_module_left(self, module: nn.Module, output) -> None:
        """A submodule's call ends (before it leaves the stack): an activation module's output
        is recorded here when the pass is watched through the modules alone."""
        if self._spy is MODULES_ONLY and isinstance(output, torch.Tensor):
            kind = next((k for cls, k in MODULE_KINDS if isinstance(module, cls)), None)
            if kind is not None:
                self._record_activation(kind, output)
        if self._spy is not None:
            self._tanh_rnn_left(module, output)
        if not isinstance(module, stats.ACTIVATION_MODULES):
            self._last_left = module

    def _read_activations(self) -> None:
        """The pass's statistics, read from the device in one go, join the trace."""
        unread, self._unread = self._unread, []
        shares = [s for _, s, _ in unread if s is not None]
        live = [n for _, _, n in unread if n is not None]
        values = iter(torch.stack(shares).tolist() if shares else [])
        counts = iter(torch.stack(live).tolist() if live else [])
        for record, saturated, alive in unread:
            record.saturated_fraction = next(values) if saturated is not None else 0.0
            units = max(record.units, 1)
            record.dead_fraction = 1.0 - next(counts) / units if alive is not None else 0.0
            self.trace.activations.append(record)

    @guarded_hook
    def submodule_started(self, module: nn.Module, args) -> None:
        if self._spy is not None and not isinstance(module, _Loss):
            self._module_stack.append(module)
            self._last_left = None

    @guarded_hook
    def submodule_finished(self, module: nn.Module, args, kwargs, output=None) -> None:
        # output is missing when forward raised: PyTorch calls (module, args, None) then
        self._activation_module_left(module, output)
        if self._module_stack and self._module_stack[-1] is module:
            self._module_stack.pop()

    def _tanh_rnn_left(self, module: nn.Module, output) -> None:
        """An nn.RNN of tanh units returns its last layer's hidden states, each the output of a
        tanh: they are recorded as that layer's tanh activation, ``hidden_size`` units, named
        as the model names the RNN. The tanh is computed inside torch's recurrent kernel,
        where no function call is seen (the gates of a GRU or LSTM stay unwatched: what they
        return is a product of gates, not one activation)."""
        if not (isinstance(module, nn.RNN) and module.nonlinearity == "tanh"
                and isinstance(output, tuple) and isinstance(output[0], torch.Tensor)):
            return
        self._record_at(self._module_name(module) or type(module).__name__, "tanh", output[0],
                        units=module.hidden_size)

    @guarded
    def _record_activation(self, kind: str, output: torch.Tensor) -> None:
        module = self._module_stack[-1] if self._module_stack else None
        if not isinstance(module, stats.ACTIVATION_MODULES):
            self._functional_activations = True
        self._record_at(self._activation_place(kind, module), kind, output)

    def _record_at(self, place: str, kind: str, output: torch.Tensor,
                   units: int | None = None) -> None:
        """Keep the statistics of an activation computed at ``place`` (numbered when that place
        was already met in this pass), left on the device until the pass ends."""
        seen = self._places[place] = self._places.get(place, 0) + 1
        layer = place if seen == 1 else f"{place}, call {seen}"
        units = stats.unit_count(output) if units is None else units
        record = ActivationStat(step=self.step, layer=layer, kind=kind, saturated_fraction=0.0,
                                dead_fraction=0.0, units=units)
        live = stats.live_units(output) if kind == "relu" else None
        saturated = stats.saturated_share(kind, output) if kind in stats.SATURATION_MARGIN else None
        self._unread.append((record, saturated, live))

    def _activation_place(self, kind: str, module: nn.Module | None) -> str:
        """The activation module's name ("encoder.1"), or where a function like torch.relu
        was called: after the submodule it follows ("torch.relu after hidden.0"), else in the
        forward it was called in ("torch.sigmoid in SimpleClassifier.forward")."""
        if module is None:
            return kind
        if isinstance(module, stats.ACTIVATION_MODULES):
            return self._module_name(module) or type(module).__name__
        follows = self._last_left
        if follows is not None:
            return f"torch.{kind} after {self._module_name(follows) or type(follows).__name__}"
        name = self._module_name(module)
        owner = f"{name} ({type(module).__name__})" if name else type(module).__name__
        return f"torch.{kind} in {owner}.forward"

    def _module_name(self, module: nn.Module) -> str:
        model = self.model
        if id(module) not in self._module_names and model is not None:
            self._module_names = {id(m): name for name, m in model.named_modules() if name}
        return self._module_names.get(id(module), "")
