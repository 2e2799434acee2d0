"""The loss part of a script: a loss module, a functional call, or a hand-written function."""

from __future__ import annotations

from .program import Program
from .text import variant

MODULE = {"ce": "nn.CrossEntropyLoss()", "bce": "nn.BCEWithLogitsLoss()", "mse": "nn.MSELoss()",
          "l1": "nn.L1Loss()", "huber": "nn.SmoothL1Loss()", "nll_raw": "nn.NLLLoss()"}
FUNCTIONAL = {"ce": "F.cross_entropy", "bce": "F.binary_cross_entropy_with_logits",
              "mse": "F.mse_loss", "l1": "F.l1_loss", "huber": "F.smooth_l1_loss",
              "nll_raw": "F.nll_loss"}
HAND = {
    "ce": ["def cross_entropy(logits, target):",
           "    log_probs = torch.log_softmax(logits, dim=1)",
           "    return -log_probs.gather(1, target.unsqueeze(1)).mean()"],
    "bce": ["def bce_with_logits(logit, target):",
            "    return -(target * F.logsigmoid(logit)",
            "             + (1 - target) * F.logsigmoid(-logit)).mean()"],
    "mse": ["def mse(pred, target):", "    return ((pred - target) ** 2).mean()"],
    "l1": ["def mae(pred, target):", "    return (pred - target).abs().mean()"],
    "huber": ["def huber(pred, target):", "    error = (pred - target).abs()",
              "    return torch.where(error < 1, 0.5 * error ** 2, error - 0.5).mean()"],
    "nll_raw": ["def cross_entropy(scores, target):",
                "    return -scores.gather(1, target.unsqueeze(1)).mean()"],
}


def call_name(p: Program) -> str:
    """What the script calls to compute the loss of predictions against targets."""
    style = p.loss.style
    if style == "module":
        return ["criterion", "loss_fn"][variant(p.seed, "criterion", 2)]
    if style == "hand":
        return HAND[p.loss.kind][0].split("(")[0].removeprefix("def ")
    return FUNCTIONAL[p.loss.kind]


def definition(p: Program) -> list[str]:
    """Lines defining the loss before the model (hand-written) or after it (a module)."""
    if p.loss.style == "module":
        return [f"{call_name(p)} = {MODULE[p.loss.kind]}"]
    if p.loss.style == "hand":
        return list(HAND[p.loss.kind])
    return []


def penalty(p: Program, params: str) -> list[str]:
    """A hand-written L2 penalty added to the training loss."""
    if not p.loss.l2:
        return []
    return [f"loss = loss + L2 * sum((w ** 2).sum() for w in {params})"]


#: The transforms a script may apply to the model's output before the loss (Loss.outside).
OUTSIDE = {"": "{}", "log_softmax": "F.log_softmax({}, dim=1)", "softmax": "F.softmax({}, dim=1)",
           "temperature": "{} / 2"}


def scored(p: Program, output: str) -> str:
    """What the loss is given of the model's output ``output``: it, or its transform."""
    return OUTSIDE[p.loss.outside].format(output)
