"""Optimizer steps given a closure (``optimizer.step(closure)``, as LBFGS needs): the closure
computes the loss and its gradients inside the step, where the hook before a step comes too
early (before the model was ever called, at the first step). Such a step is taken to start
when its closure first returns: what that evaluation computed is then the step's forward and
backward pass, as in a loop that calls them before ``step()``. Later evaluations inside the
same step (LBFGS's line search) are training losses of that step."""

from __future__ import annotations

from collections.abc import Callable


def closure_of(args: tuple, kwargs: dict) -> Callable | None:
    """The closure a step was given, if any (the step's ``args`` start with the optimizer, as
    PyTorch gives them to the hooks)."""
    closure = kwargs.get("closure", args[1] if len(args) > 1 else None)
    return closure if callable(closure) else None


class ClosureSteps:
    """Wraps a step's closure so that ``start(optimizer)`` runs once, when the closure first
    returns (or at the step's end, when the optimizer never called it)."""

    def __init__(self, start: Callable[[object], None]) -> None:
        self.start = start
        self.pending = None  # the optimizer whose step, given a closure, has not started yet

    def watched(self, optimizer, args: tuple, kwargs: dict,
                closure: Callable) -> tuple[tuple, dict]:
        """The step's arguments with its closure wrapped (the optimizer's pre-hook returns
        them); the closure's result is returned untouched."""
        self.pending = optimizer

        def watched_closure(*closure_args, **closure_kwargs):
            result = closure(*closure_args, **closure_kwargs)
            self.started()
            return result

        if "closure" in kwargs:
            return args, {**kwargs, "closure": watched_closure}
        return (args[0], watched_closure, *args[2:]), kwargs

    def started(self) -> None:
        """The step starts now, if it has not yet."""
        optimizer, self.pending = self.pending, None
        if optimizer is not None:
            self.start(optimizer)
