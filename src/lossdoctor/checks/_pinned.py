"""How much of a trained copy's sigmoid/tanh output is pinned at its limits, on the validation
batches: what a replay's fix left of saturated units (saturated_activation's standardized
inputs, unscaled_targets' standardized targets)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from lossdoctor.capture import stats as capture_stats
from lossdoctor.capture.activations import ActivationSpy
from lossdoctor.experiments import map_first_input

#: "Mostly pinned": more than half of a layer's outputs at their limits.
MOSTLY_PINNED = 0.5
#: The hidden activations that saturate (capture.stats.SATURATION_MARGIN's kinds, without the
#: probabilities a loss is given, which are the model's output).
HIDDEN_SATURATING = ("sigmoid", "tanh")


@torch.no_grad()
def pinned_after(case, model, kinds: tuple[str, ...], standardize: Callable | None = None,
                 output_kind: str | None = None) -> float | None:
    """Mean fraction of the ``kinds`` outputs pinned when the trained copy ``model`` sees the
    validation batches (their first input through ``standardize`` if given); with
    ``output_kind``, the model's output counts too, as that kind. None when nothing of those
    kinds was seen (no validation batches, or no such activation)."""
    replayer = case.replayer
    fractions: list[float] = []

    def seen(found_kind: str, output: torch.Tensor) -> None:
        if found_kind in kinds:
            fractions.append(capture_stats.saturated_fraction(found_kind, output))

    model.eval()
    for batch in replayer.validation_batches:
        if standardize is not None:
            batch = map_first_input(batch, standardize)
        with ActivationSpy(seen):
            output = replayer.predict(model, batch)
        if output_kind is not None:
            fractions.append(capture_stats.saturated_fraction(output_kind, output))
    fractions = [f for f in fractions if f is not None]
    return sum(fractions) / len(fractions) if fractions else None


@torch.no_grad()
def pinned_by_call(replayer, model, kinds: tuple[str, ...]) -> list[tuple[str, float]]:
    """The kind and pinned fraction of each ``kinds`` activation, in the order they were
    computed, when ``model`` (put in training mode) sees the first training batch: before any
    update when ``model`` is a copy of the initial one. [] without training batches."""
    if not replayer.train_batches:
        return []
    found: list[tuple[str, float]] = []

    def seen(kind: str, output: torch.Tensor) -> None:
        if kind in kinds:
            found.append((kind, capture_stats.saturated_fraction(kind, output)))

    model.train()
    with ActivationSpy(seen):
        replayer.predict(model, replayer.train_batches[0])
    return found
