"""Module calls: which module is the model, and when its forward pass starts and ends."""

from __future__ import annotations

import sys
import weakref
from collections import deque
from collections.abc import Mapping

import torch
from torch import nn
from torch.nn.modules.loss import _Loss

from lossdoctor.capture.chains_of_modules import ModuleChains
from lossdoctor.capture.direct_forward import DirectPass, direct_pass, on_stack
from lossdoctor.capture.guard import guarded_hook
from lossdoctor.capture.loss_chains import WAITING
from lossdoctor.capture.replay_losses import output_tensors
from lossdoctor.capture.tensors import batch_rows
from lossdoctor.capture.tracing import is_compiled

#: Output tensors of the last forward passes remembered: a loss compares the outputs of a few
#: calls (a triplet loss three, a contrastive loss two), each usually one tensor.
RECENT_OUTPUTS = 8


class ModuleEvents(ModuleChains):
    """The model is the outermost module with parameters. Its sampled training passes are spied
    on for activations (activation_events.py); its inputs may be kept (data_events.py)."""

    # Shared with the other event families, set by Recorder.__init__:
    broken: bool
    sampled: bool
    _model_ref: weakref.ref | None
    _optimizer_ref: weakref.ref | None

    def _start_module_events(self) -> None:
        self._depth = 0
        self._shape_only_calls = 0  # calls on shape-only inputs started and not finished
        self._inside_loss = 0
        self.inside_model = False  # inside the model's forward pass
        self._roots: set[int] = set()  # top-level models called before the first step
        self.forwards = 0  # forward passes of the model started so far
        self.last_batch_rows = 0  # rows of the model's last input batch
        #: The model, held until its trained state is copied (Recorder.keep_trained_model):
        #: a model local to the script's main() is gone by the time the script ends.
        self._model_held: nn.Module | None = None
        #: A copy of the model (same class, not the model: an EMA copy) called after the first
        #: optimizer step, while its output is the last one computed; None after the model's.
        self.copy_called: weakref.ref | None = None
        #: The tensors the model's last forward pass returned, weakly.
        self.last_outputs: tuple[weakref.ref, ...] = ()
        #: The output tensors of the model's last forward passes (RECENT_OUTPUTS), weakly: a
        #: loss may compare the outputs of several calls (a triplet loss's anchor, positive
        #: and negative embeddings).
        self.recent_outputs: deque[weakref.ref] = deque(maxlen=RECENT_OUTPUTS)
        #: A loss the model's last forward pass returned (``output.loss``, ``logits, loss``).
        self._returned_loss: weakref.ref | None = None
        #: A forward called directly (``self.forward(x)``), running now (direct_forward.py).
        self._direct: DirectPass | None = None
        #: Whether a model's forward was called directly: its calls never pass through
        #: nn.Module.__call__, so the global hooks stay (see sole_model).
        self.direct_forward_seen = False
        self._start_module_chains()

    @property
    def inside_loss_module(self) -> bool:
        return self._inside_loss > 0

    def loss_entered(self) -> None:
        """A loss function starts: losses it calls inside are not counted again."""
        self._inside_loss += 1

    def loss_left(self) -> None:
        self._inside_loss -= 1

    @property
    def sole_model(self) -> nn.Module | None:
        """The one model called before the first optimizer step, once that step was seen; None
        before it, with several models, or when the recorder is off."""
        if (self.broken or self._optimizer_ref is None or len(self._roots) != 1
                or self.direct_forward_seen):
            return None
        return self.model

    @guarded_hook
    def forward_started(self, module: nn.Module, args) -> None:
        first = args[0] if args else None  # _shape_only's common case spelled out: one call less
        if first.is_meta if isinstance(first, torch.Tensor) else _shape_only(args):
            self._shape_only_calls += 1
            return
        if isinstance(module, _Loss):
            self._inside_loss += 1
            return
        if self._direct is not None and self._depth == 1:
            self._direct_pass_goes_on()
        if self._depth == 0:  # not the model: read inline, once a model call
            model_ref = self._model_ref
            if model_ref is None or model_ref() is not module:
                self._enter_direct_pass(module)
        self._entered(module, args)

    def _entered(self, module: nn.Module, args) -> None:
        self._depth += 1
        model_ref = self._model_ref
        is_model = model_ref is not None and model_ref() is module
        if self._depth == 1 and not is_model and self._is_copy(module):
            self.copy_called = weakref.ref(module)
            self._sign_inputs(args)
            return
        if self._depth == 1 and (is_model or _has_parameters(module)):
            phase = "train" if torch.is_grad_enabled() else "eval"  # current_phase(), inline
            self._model_started(module, is_model, phase)
            self._sign_inputs(args, phase)
        if self._spy is not None:
            self._module_stack.append(module)

    def _model_started(self, module: nn.Module, is_model: bool, phase: str) -> None:
        if self.update_awaited:
            self.check_parameter_update()
        if self._chain_spy is not None or WAITING:
            self._stop_following()
        self.forwards += 1
        self.inside_model = True
        self._inner_target = None
        if not is_model:
            self._note_switch(module)
            self._model_ref = weakref.ref(module)
        self._model_held = module
        if self._optimizer_ref is None:
            self._roots.add(id(module))
        if self.sampled and phase == "train" and not is_compiled(module):
            self._start_spying()

    def _note_switch(self, module: nn.Module) -> None:
        """Another module than the last one called is the model now: remember the last one
        and its outputs (it may have computed this call's input: chains_of_modules.py), or, a
        new model of its class, note that training began anew."""
        previous = self._model_ref() if self._model_ref is not None else None
        self._called_after = None if previous is None else (weakref.ref(previous),
                                                            self.last_outputs)
        if not self._in_chain(module):
            self._note_retrained(module)

    def _note_retrained(self, module: nn.Module) -> None:
        """A new model of the trained one's class, called after training began, is trained
        anew (the next fold of a k-fold loop): rows kept before it were scored by another
        model, and may be its training rows."""
        previous = self._model_ref() if self._model_ref is not None else None
        if previous is not None and type(previous) is type(module) and self.step > 0:
            self.copies.model_started_at = self.step

    @guarded_hook
    def forward_finished(self, module: nn.Module, args, kwargs, output=None) -> None:
        # When forward raises, PyTorch calls this always_call hook as (module, args, None).
        kwargs = kwargs if kwargs is not None else {}
        if self._shape_only_calls and _shape_only(args):  # else its inputs are not read again
            self._shape_only_calls -= 1
            return
        if isinstance(module, _Loss):
            self._inside_loss -= 1
            if output is not None and len(args) >= 2:
                self._loss_computed(type(module).__name__, module, args[0], args[1], output,
                                    None)  # guarded already
            return
        self._depth -= 1
        if self._direct is not None and self._depth == 1:
            sys.setprofile(self._direct_returned)  # until its next submodule, or its end
        if self._spy is not None and self._depth > 0:
            self._activation_module_left(module, output)
        if self._spy is not None and self._module_stack:
            self._module_stack.pop()
        if self._depth == 0 and self._model_ref is not None and module is self._model_ref():
            self.copy_called = None
            if self._spy is not None:
                self._stop_spying()
            self.inside_model = False
            self.last_batch_rows = _rows(args, kwargs)
            self._model_output_seen(module, args, kwargs, output)
        elif self._depth == 0 and self._copy_is(module):
            self.last_batch_rows = _rows(args, kwargs)
            self.last_outputs = _output_refs(output)
            self._keep_inputs(args, kwargs, output)

    def _note_outputs(self, output) -> None:
        """The model's output, weakly held: its tensors, and a loss it returned."""
        if isinstance(output, torch.Tensor):  # the common case: one reference, no search
            ref = weakref.ref(output)
            self.last_outputs = (ref,)
            self.recent_outputs.append(ref)
            # _is_scalar_loss spelled out
            self._returned_loss = ref if output.dim() == 0 and output.requires_grad else None
            return
        self.last_outputs = _output_refs(output)
        self.recent_outputs.extend(self.last_outputs)
        self._returned_loss = _returned_loss(output)

    def _enter_direct_pass(self, module: nn.Module) -> None:
        """``module`` is called outside any watched pass: when a forward called directly runs
        it, that forward's pass starts here, as if its module had been called."""
        found = direct_pass(module)
        owner = found.module() if found is not None else None
        if owner is None:
            return
        self._direct = found
        self.direct_forward_seen = True
        self._entered(owner, found.args)

    def _direct_pass_goes_on(self) -> None:
        """Another submodule is called inside the forward called directly, or that forward
        ended unseen (another profile function took the place of ours): then its pass ends."""
        if sys.getprofile() == self._direct_returned:
            sys.setprofile(None)
        if not on_stack(self._direct.frame):
            self._leave_direct_pass(None)

    def _direct_returned(self, frame, event: str, value) -> None:
        """The profile function, set only between the submodule calls of a forward called
        directly: its return ends the pass."""
        if event == "return" and self._direct is not None and frame is self._direct.frame:
            sys.setprofile(None)
            self._leave_direct_pass(value)

    def _leave_direct_pass(self, output) -> None:
        found, self._direct = self._direct, None
        module = found.module()
        if module is None:
            self._depth = 0
            return
        self.forward_finished(module, found.args, found.kwargs, output)

    def leave_direct_pass(self) -> None:
        """At the end of the watched block: no profile function of lossdoctor's stays set."""
        if sys.getprofile() == self._direct_returned:
            sys.setprofile(None)
        self._direct = None

    def scored_model(self) -> tuple[nn.Module | None, bool]:
        """The module whose output a loss now scores, and whether it is a copy of the model."""
        copy = self.copy_called() if self.copy_called is not None else None
        return (copy, True) if copy is not None else (self.model, False)

    def _model_output_seen(self, module, args, kwargs, output) -> None:
        """What a call of the watched model leaves, whichever path saw it end: its outputs,
        its inputs kept, a loss it returned, the chains it feeds."""
        chained = self._called_after is not None and self._chained(module, args, kwargs)
        self._note_outputs(output)
        if chained:
            self._keep_chained_inputs(output)
        else:
            self._keep_inputs(args, kwargs, output)
        if self._returned_loss is not None or self._returned_target is not None:
            self._model_returned_loss(output, args, kwargs)
        self._inner_target = None
        if self._chains_wanted and (self._learning_chain or self._pending is not None
                                    or self._chain_spy is not None):
            self._follow_output(module, output, args, kwargs)  # else it returns at once

    def _copy_is(self, module: nn.Module) -> bool:
        return self.copy_called is not None and self.copy_called() is module

    def _is_copy(self, module: nn.Module) -> bool:
        """Another instance of the trained model's class, or a wrapper holding one (timm's
        ModelEmaV2 calls ``self.module(x)``), called after the first optimizer step without
        gradients: a copy kept beside the model (an EMA copy, a teacher), not the model
        trained. A wrapper holding the model itself is not a copy, nor is the module that
        computes the model's input (chains_of_modules.py: two nn.Sequential modules)."""
        model = self.model
        if self._optimizer_ref is None or model is None or self._in_chain(module):
            return False
        if torch.is_grad_enabled() and any(p.requires_grad for p in module.parameters()):
            return False
        return _holds_a_copy(module, model)


def _shape_only(args) -> bool:
    """A call on inputs that carry shapes and no values (meta tensors, Keras's symbolic
    KerasTensor): shape inference, as Keras builds its models, not a forward pass. A model of
    several inputs gets them as one tuple or list (fresh26 s01: a Keras model of two inputs
    and its Concatenate layer; read as forward passes, their meta values broke the capture)."""
    first = args[0] if args else None
    if isinstance(first, (tuple, list)) and first:
        first = first[0]
    if isinstance(first, torch.Tensor):
        return first.is_meta
    return type(first).__name__ == "KerasTensor"


def _holds_a_copy(module: nn.Module, model: nn.Module) -> bool:
    """``module`` is of the model's class, or holds a copy of the model (a module of its class
    with parameters of the same shapes) and not the model itself: a frozen backbone built of
    the same blocks as the model (both Sequentials) is not a copy."""
    if type(module) is type(model):
        return True
    inner = [m for m in module.modules() if type(m) is type(model)]
    if any(m is model for m in inner):
        return False
    shapes = _shapes(model)
    return any(_shapes(m) == shapes for m in inner)


def _shapes(module: nn.Module) -> list[tuple[int, ...]]:
    return [tuple(p.shape) for p in module.parameters()]


def _has_parameters(module: nn.Module) -> bool:
    return next(module.parameters(), None) is not None


def _rows(args, kwargs) -> int:
    first = args[0] if args else None
    if isinstance(first, torch.Tensor):  # the common case, fast: one read of the tensor
        shape = first.shape
        if shape:
            return shape[0]
    return batch_rows((args, kwargs))


def _output_refs(output) -> tuple[weakref.ref, ...]:
    """Weak references to the tensors of a model output."""
    if isinstance(output, torch.Tensor):  # the common case, without the search
        return (weakref.ref(output),)
    return tuple(weakref.ref(t) for t in output_tensors(output))


def _returned_loss(output) -> weakref.ref | None:
    """A scalar that needs gradients among the model's outputs (looked at one level deep)."""
    if isinstance(output, torch.Tensor):  # _is_scalar_loss spelled out: the common case
        return weakref.ref(output) if output.dim() == 0 and output.requires_grad else None
    if isinstance(output, Mapping):
        output = output.get("loss")
    elif not isinstance(output, (torch.Tensor, tuple, list)):
        output = getattr(output, "loss", None)  # a dataclass output
    if isinstance(output, (tuple, list)):
        output = next((o for o in output if _is_scalar_loss(o)), None)
    return weakref.ref(output) if _is_scalar_loss(output) else None


def _is_scalar_loss(value) -> bool:
    return isinstance(value, torch.Tensor) and value.dim() == 0 and value.requires_grad
