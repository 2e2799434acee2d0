"""Parameter updates made without a torch.optim optimizer (``p.data.add_(p.grad, alpha=-lr)``
under no_grad, as in pytorch/examples word_language_model): each one is a training step.

After a backward pass, a few values of each parameter that received a gradient are noted. The
next time the run reaches a point where the update must have happened (the model called again,
zero_grad, another backward pass, the end), they are compared. ``p._version`` cannot tell: an
update through ``p.data`` does not count as a change of ``p``.

A framework's own optimizer (Keras's) counts its updates itself: a step is counted when its count
moved since the backward pass, whatever the update changed. An update of gradients that are all
zero (an output ReLU dead from the start) changes no value and is a step all the same.
"""

from __future__ import annotations

import weakref

import torch

from lossdoctor.capture import stats
from lossdoctor.capture.framework_optimizers import framework_state, torch_equivalent
from lossdoctor.capture.guard import guarded
from lossdoctor.capture.model_setup import describe_model, describe_tensors, plain
from lossdoctor.capture.tracing import plain_module
from lossdoctor.capture.update_rule import Rule, StepSums, fitted_rule
from lossdoctor.trace import LayerGradient

#: Values noted per parameter: any dense update changes them, and they cost a few bytes.
FINGERPRINT_VALUES = 16
#: Parameters noted, at most: an update by hand loops over all of them.
FINGERPRINT_PARAMETERS = 64
#: Autograd nodes walked, at most, to find the tensors a backward pass trains (no nn.Module).
MAX_GRAPH_NODES = 100_000
#: The setup's optimizer name for an update by hand, and for one that is SGD (update_rule.py).
MANUAL_UPDATE = "manual update"
MANUAL_SGD = "manual SGD update"
#: Why replays cannot run when an update by hand follows no SGD rule, in the user's words.
NO_RULE = ("your parameters are updated by hand, and the change of each update is not what "
           "SGD (with or without momentum or weight decay) makes of the gradient, so lossdoctor "
           "cannot replay your training with the same update")
#: ... and for the optimizer of a framework that updates outside torch.optim.
FRAMEWORK_OPTIMIZER = "Keras optimizer"


class UpdateEvents:
    """Active only until a torch.optim optimizer steps; then its hooks count the steps."""

    def _start_update_events(self) -> None:
        self._trained: list[weakref.ref] = []  # the tensors backward passes train
        self._fingerprint: torch.Tensor | None = None  # their values after the last backward
        #: A backward pass trained parameters that no optimizer has stepped since.
        self.update_awaited = False
        self._held_at_backward = 0  # held losses that belong to the update awaited
        #: On sampled steps, id -> copies of the values and gradient after the backward pass.
        self._values_before: dict[int, tuple[torch.Tensor, torch.Tensor | None]] = {}
        #: The last sampled step's changes (id -> change), when the step after it is sampled.
        self._last_changes: tuple[int, dict[int, torch.Tensor]] | None = None
        self._rule: Rule | None = None  # the SGD rule the updates follow, once read
        #: A framework optimizer's (Keras's) count of its updates and its learning rate, read
        #: after the backward pass; None without one.
        self._framework_noted: tuple[int, float | None] | None = None

    def parameters_trained(self, root: torch.Tensor) -> None:
        """After a backward pass: note the trained values, to see them change."""
        if self._optimizer_ref is not None:
            return
        self._held_at_backward = len(self._held)
        if self._fingerprint is not None:  # accumulating gradients: the update is still due
            return
        if not self._trained:
            self._trained = [weakref.ref(p) for p in self._trained_tensors(root)]
        params = self._trained_alive()
        self._fingerprint = _fingerprint(params)
        self._framework_noted = framework_state(self.model)
        self.update_awaited = True
        if self.trace.steps == 0:
            self._keep_untrained_model(params)
        if self.sampled:
            self._values_before = {id(p): (p.detach().clone(), _copy(p.grad)) for p in params}

    @guarded
    def check_parameter_update(self) -> None:
        """Count a step if the trained values changed since the last backward pass, or, for a
        framework's own optimizer, if it counted an update since."""
        if self._fingerprint is None or self._optimizer_ref is not None:
            return
        params = self._trained_alive()
        if self._framework_noted is not None:
            if not self.framework_stepped():
                return
        elif torch.equal(_fingerprint(params), self._fingerprint):
            return
        self._fingerprint, self.update_awaited = None, False
        self._updated_by_hand(params)

    def framework_stepped(self) -> bool:
        """Whether the framework optimizer noted at the last backward pass has counted an
        update since (False without one)."""
        noted = self._framework_noted
        if noted is None:
            return False
        now = framework_state(self.model)
        return now is not None and now[0] != noted[0]

    def _updated_by_hand(self, params: list[torch.Tensor]) -> None:
        self.settle_losses(self._held_at_backward)
        self.on_step()  # a listener may end the run here (StopRun), as at an optimizer step
        framework = self._framework_noted is not None
        sums = None if framework else self._step_sums(params)
        rule = fitted_rule(sums) if sums is not None else None
        if self.trace.steps == 0:
            self._describe_manual_setup(params, rule)
        elif self._rule_changed(rule, sums):
            self._replay_with(rule)
        lr = self._framework_noted[1] if framework else (rule.lr if rule else None)
        if lr is not None:  # a rule is read on sampled steps only; a framework's at every one
            self.trace.setup.follow_lr(self.step, lr)
            if self._values_before:
                self.trace.learning_rates.append(lr)
        self._record_manual_update(params)
        self._count_zero_grad()
        self.trace.steps += 1
        self.sampled = self.schedule.is_sampled(self.trace.steps)

    def _trained_tensors(self, root: torch.Tensor) -> list[torch.Tensor]:
        model = self.model
        if model is not None:
            return [p for p in plain_module(model).parameters() if p.requires_grad]
        return _graph_leaves(root)

    def _trained_alive(self) -> list[torch.Tensor]:
        alive = (ref() for ref in self._trained)
        return [p for p in alive if p is not None]

    def _keep_untrained_model(self, params: list[torch.Tensor]) -> None:
        model = self.model
        if model is not None and self.copies.initial_model is None:
            self.copies.keep_initial(plain_module(model))
        elif model is None:
            self._tensors_trained(params)

    def _describe_manual_setup(self, params: list[torch.Tensor], rule: Rule | None) -> None:
        setup = self.trace.setup
        model = self.model
        if model is not None:
            self._name_parameters(plain_module(model))
            describe_model(plain_module(model), setup)
        else:
            describe_tensors(params, setup)
        equivalent = torch_equivalent(model)
        if equivalent is not None:  # a framework's own optimizer, replayed as torch.optim
            self._describe_framework_optimizer(model, *equivalent)
        else:
            self._replay_with(rule)

    def _rule_changed(self, rule: Rule | None, sums: StepSums | None) -> bool:
        """Whether a later step shows the rule read so far was not the whole of it: a term it
        lacked (a momentum, seen once the previous change is known), or no rule at all where
        every term could be fitted. Not for a framework's own optimizer."""
        if self.trace.setup.optimizer_class not in (MANUAL_UPDATE, MANUAL_SGD):
            return False
        if rule is not None:
            return self._rule is not None and rule.richer(self._rule)
        return self._rule is not None and sums is not None and sums.has_previous and (
            sums.telling)

    def _replay_with(self, rule: Rule | None) -> None:
        """Name the update and give replays the torch.optim.SGD that makes it (or, without a
        rule, none: the checks that replay say why)."""
        setup, copies = self.trace.setup, self.copies
        self._rule = rule
        setup.optimizer_class = MANUAL_UPDATE if rule is None else MANUAL_SGD
        setup.optimizer_hparams = {} if rule is None else rule.hparams()
        copies.optimizer_class = None if rule is None else torch.optim.SGD
        copies.optimizer_hparams = dict(setup.optimizer_hparams)
        copies.optimizer_problem = NO_RULE if rule is None else ""

    def _describe_framework_optimizer(self, model, torch_class: type, hparams: dict) -> None:
        """A framework's own optimizer (Keras): named as the script named it, replayed with the
        torch.optim optimizer that makes the same updates."""
        setup = self.trace.setup
        setup.optimizer_class = f"{type(model.optimizer).__name__} ({FRAMEWORK_OPTIMIZER})"
        setup.optimizer_hparams = plain(hparams)
        self.copies.optimizer_class, self.copies.optimizer_hparams = torch_class, hparams
        self.trace.setup.follow_lr(self.step, hparams["lr"])

    def _record_manual_update(self, params: list[torch.Tensor]) -> None:
        """A sampled step's gradient and update sizes, as the optimizer hooks record them."""
        if not self._values_before:
            return
        self.trace.gradient_samples += 1
        for index, param in enumerate(params):
            before, grad = self._values_before.get(id(param), (None, None))
            grad = _update_gradient(param, grad)
            if before is None or grad is None:
                continue
            weight = stats.norm(before)
            name = self._param_names.get(id(param))
            self.trace.gradients.append(LayerGradient(
                step=self.step, name=name or f"tensor {index}",
                grad_norm=stats.norm(grad), weight_norm=weight,
                update_ratio=stats.norm(param.detach() - before) / max(weight, 1e-12),
                dims=param.dim(), named=name is not None))
        self._values_before = {}

    @torch.no_grad()
    def _step_sums(self, params: list[torch.Tensor]) -> StepSums | None:
        """A sampled step's numbers for update_rule.py: each parameter's change since the
        backward pass, the gradient the update used, its values before and the previous step's
        change; None when the step was not sampled. Keeps this step's changes when the next
        step is sampled too."""
        if not self._values_before:
            return None
        sums, changes = StepSums(), {}
        last_step, last = self._last_changes or (-2, {})
        for param in params:
            before, grad = self._values_before.get(id(param), (None, None))
            grad = _update_gradient(param, grad)
            if before is None or grad is None:
                continue
            change = param.detach() - before
            previous = last.get(id(param)) if last_step == self.trace.steps - 1 else None
            sums.add(change, grad.detach(), before, previous)
            changes[id(param)] = change
        sampled_next = self.schedule.is_sampled(self.trace.steps + 1)
        self._last_changes = (self.trace.steps, changes) if sampled_next else None
        return sums


def _copy(grad: torch.Tensor | None) -> torch.Tensor | None:
    return None if grad is None else grad.detach().clone()


def _update_gradient(param: torch.Tensor, after_backward: torch.Tensor | None):
    """The gradient the update used: the one the parameter holds now (clipped, perhaps), or,
    if it was already reset to zero or None, the one the backward pass left."""
    grad = param.grad
    if grad is not None and bool(grad.any()):
        return grad
    return after_backward


@torch.no_grad()
def _fingerprint(params: list[torch.Tensor]) -> torch.Tensor:
    """A few values of each parameter, evenly spread, on the CPU."""
    chosen = params[:: max(len(params) // FINGERPRINT_PARAMETERS, 1)][:FINGERPRINT_PARAMETERS]
    parts = []
    for param in chosen:
        flat = param.detach().reshape(-1)
        index = torch.linspace(0, flat.numel() - 1, min(FINGERPRINT_VALUES, flat.numel()),
                               dtype=torch.float64)  # float32 rounds past the end above 2**24
        parts.append(flat[index.long().to(flat.device)].float().cpu())
    return torch.cat(parts) if parts else torch.zeros(0)


def _graph_leaves(root: torch.Tensor) -> list[torch.Tensor]:
    """The tensors a backward pass from ``root`` accumulates gradients into."""
    leaves, seen = [], {}  # id -> node: held, so that no id is reused while walking
    stack = [root.grad_fn] if root.grad_fn is not None else []
    while stack and len(seen) < MAX_GRAPH_NODES:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen[id(node)] = node
        variable = getattr(node, "variable", None)
        if isinstance(variable, torch.Tensor):
            leaves.append(variable)
        stack.extend(parent for parent, _ in node.next_functions)
    return leaves
