"""A model given inputs that another module of the training step computed with gradients, and
that the run's optimizer trains: an encoder before a decoder, each with an optimizer (the one
stepped first holds the encoder), or one optimizer over both. lossdoctor follows the module
called last as the model, and replays train copies of it alone on captured inputs held fixed:
the encoder's training is not in them, and a healthy encoder-decoder run's decoder, replayed
on early encodings, was read as a model too small to fit its data (underfit_capacity 0.77 on a
two-MLP run written for this). Replays are skipped, with this reason."""

from __future__ import annotations

import torch
from torch import nn

from lossdoctor.capture.fed_back import reaches

UPSTREAM = (
    "your training step also trains the module that computes the inputs of the one lossdoctor "
    "follows as your model (an encoder before a decoder): lossdoctor replays that one module "
    "on inputs held fixed, so it cannot train copies of your run")


def trained_upstream(inputs: list[torch.Tensor], model: nn.Module | None,
                     optimized: list[torch.Tensor]) -> bool:
    """Whether one of ``inputs`` was computed with gradients from parameters that are not
    ``model``'s and that ``optimized`` (the tensors the optimizer trains) holds."""
    roots = [t.grad_fn for t in inputs if t.grad_fn is not None]
    if not roots or model is None or not optimized:
        return False
    own = {id(p) for p in model.parameters()}
    others = {id(p) for p in optimized if id(p) not in own}
    return bool(others) and reaches(roots, others)

