"""Which torch.nn loss a hand-written (or model-returned) loss behaves like, measured on the
step it was recorded at: the checks that need the kind of loss (classification or regression,
what output it takes) then treat it as that loss. A penalty too small to change the value
(an L2 term of 1e-4) leaves the likeness; anything else leaves the kind unknown."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: Relative difference between the user's loss and a torch loss on the same tensors for the two
#: to count as alike: float32 rounding, a hand-written clamp (1e-6 against torch's log clamp at
#: -100) or a small penalty change the value by less than this.
LIKENESS_TOLERANCE = 1e-2


def _elementwise(loss):
    """An elementwise loss on the two tensors, broadcast against each other as the torch loss
    and tensor arithmetic broadcast them (``(out - y) ** 2`` of (N, 1) and (N,) is N x N); for
    shapes that differ with as many elements, also with the target given the prediction's
    shape (``out.squeeze(-1) - y``). A hand-written loss that broadcasts is alike the torch
    loss that broadcasts the same way; _written_broadcast.py tells which way it computed."""
    def compute(prediction, target):
        values = [_spread(loss, prediction, target)]
        if prediction.shape != target.shape and prediction.numel() == target.numel():
            values.append(_matched(loss, prediction, target))
        return values
    return compute


def _spread(loss, prediction, target):
    prediction, target = torch.broadcast_tensors(prediction, target)
    return loss(prediction, target.to(prediction.dtype))


def _matched(loss, prediction, target):
    return loss(prediction, target.reshape(prediction.shape).to(prediction.dtype))


def _class_indices(loss):
    def compute(prediction, target):
        if target.is_floating_point() or prediction.dim() != target.dim() + 1:
            return None
        return loss(prediction.reshape(-1, prediction.shape[-1]), target.reshape(-1))
    return compute


def _class_probabilities(loss):
    """cross_entropy against rows of class probabilities of the prediction's shape (one-hot or
    soft targets: Keras' categorical_crossentropy with from_logits=True)."""
    def compute(prediction, target):
        if not target.is_floating_point() or prediction.shape != target.shape:
            return None
        if prediction.dim() < 2:
            return None
        return loss(prediction.reshape(-1, prediction.shape[-1]),
                    target.reshape(-1, target.shape[-1]))
    return compute


def _either(*computes):
    def compute(prediction, target):
        return [value for value in (c(prediction, target) for c in computes) if value is not None]
    return compute


def _probabilities(prediction, target):
    if prediction.shape != target.shape or prediction.min() < 0 or prediction.max() > 1:
        return None
    return F.binary_cross_entropy(prediction, target.to(prediction.dtype))


#: Keras' epsilon (keras.config.epsilon()): its cross-entropies on probabilities clip each
#: probability into [KERAS_EPSILON, 1 - KERAS_EPSILON] before the log.
KERAS_EPSILON = 1e-7


def keras_log_probabilities(prediction):
    """A prediction read as Keras reads class probabilities (``from_logits=False``): each row
    divided by its sum, clipped into Keras' range, its log."""
    rows = prediction / prediction.sum(-1, keepdim=True)
    return rows.clamp(KERAS_EPSILON, 1 - KERAS_EPSILON).log()


def _categorical(prediction, target):
    """Keras' categorical_crossentropy: rows of class probabilities against one-hot (or soft)
    rows of the same shape."""
    if not target.is_floating_point() or prediction.shape != target.shape or prediction.dim() < 2:
        return None
    return -(target * keras_log_probabilities(prediction)).sum(-1).mean()


def _sparse_categorical(prediction, target):
    """Keras' sparse_categorical_crossentropy: rows of class probabilities against class
    indices (Keras takes whole-number floats as indices, and a trailing size-1 axis off)."""
    if target.dim() == prediction.dim() and target.shape[-1] == 1:
        target = target.squeeze(-1)
    if prediction.dim() != target.dim() + 1 or prediction.dim() < 2:
        return None
    if prediction.shape[:-1] != target.shape:
        return None  # gather would score the first rows of a larger output (a graph's nodes)
    if target.is_floating_point() and not torch.equal(target, target.round()):
        return None
    indices = target.long().unsqueeze(-1)
    if indices.min() < 0 or indices.max() >= prediction.shape[-1]:
        return None
    return -keras_log_probabilities(prediction).gather(-1, indices).mean()


CANDIDATES = {
    "mse_loss": _elementwise(F.mse_loss),
    "l1_loss": _elementwise(F.l1_loss),
    # Huber at delta 1, written by hand as torch.where(error < 1, 0.5 * error ** 2, error - 0.5)
    # (huber_loss at delta 1 is the same function). After mse_loss and l1_loss: where every
    # error is below 1 it is half the MSE, which mse_loss does not match.
    "smooth_l1_loss": _elementwise(F.smooth_l1_loss),
    "binary_cross_entropy": _probabilities,
    "binary_cross_entropy_with_logits": _elementwise(F.binary_cross_entropy_with_logits),
    "cross_entropy": _either(_class_indices(F.cross_entropy),
                             _class_probabilities(F.cross_entropy)),
    "nll_loss": _class_indices(F.nll_loss),
    # after the torch losses: a softmax output scored by nll_loss of its log is the same value
    "categorical_crossentropy": _categorical,
    "sparse_categorical_crossentropy": _sparse_categorical,
}


#: The candidates that compare prediction and target element by element.
ELEMENTWISE = {"mse_loss": F.mse_loss, "l1_loss": F.l1_loss, "smooth_l1_loss": F.smooth_l1_loss,
               "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits}


def alike_loss(value: float, prediction, target, called: str = "") -> str | None:
    """The name of the torch loss that gives ``value`` on these tensors, if one does; of several
    within LIKENESS_TOLERANCE, the nearest (the first listed on a tie). Near-uniform softmax
    rows give cross_entropy of the rows and Keras' categorical_crossentropy of them within a
    fraction of a percent of each other (both near ln C), the one computed exactly to float
    rounding. A loss ``called`` by its torch name is that loss whenever it gives the value
    itself: near-uniform log-probabilities divided by their row sums, as Keras' sparse
    categorical cross-entropy takes them, give nll_loss's value too (pygcn at chance,
    bench/projects8)."""
    if not isinstance(prediction, torch.Tensor) or not isinstance(target, torch.Tensor):
        return None
    prediction, target = prediction.detach(), target.detach()
    found: list[tuple[float, str]] = []
    with torch.no_grad():
        for name, compute in CANDIDATES.items():
            try:
                candidates = compute(prediction, target)
            except Exception:  # noqa: BLE001 - a loss these tensors do not fit is not alike
                continue
            distances = [_distance(c, value) for c in _listed(candidates) if _alike(c, value)]
            if distances:
                found.append((min(distances), name))
    if called in (name for _, name in found):
        return called
    return min(found, key=lambda pair: pair[0])[1] if found else None


def _listed(candidates) -> list:
    return candidates if isinstance(candidates, list) else [candidates]


def _alike(candidate, value: float) -> bool:
    return candidate is not None and math.isclose(float(candidate), value,
                                                  rel_tol=LIKENESS_TOLERANCE)


def _distance(candidate, value: float) -> float:
    return abs(float(candidate) - value)


def broadcast_value(name: str, prediction, target, matched: bool) -> float | None:
    """The elementwise loss ``name`` of the two tensors broadcast against each other, or with
    the target given the prediction's shape when ``matched``; None when they do not fit or
    ``name`` is no elementwise loss."""
    loss = ELEMENTWISE.get(name)
    if loss is None:
        return None
    try:
        with torch.no_grad():
            value = (_matched if matched else _spread)(loss, prediction, target)
    except (RuntimeError, TypeError):
        return None
    return float(value)


def named_alike(name: str, alike: str | None) -> str:
    """The loss's name as shown, with the loss it behaves like: "hand-written loss (like
    mse_loss)"; losses.loss_kind reads the kind from it."""
    return f"{name} (like {alike})" if alike and alike != name else name
