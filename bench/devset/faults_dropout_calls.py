"""train_eval_mode through a dropout written as a call in the forward (session 35, s35-eval):
``F.dropout(h, DROPOUT, training=self.training)`` before the output layer of an MLP or CNN
class, as tkipf/pygcn's GCN and many hand-written models drop, with no nn.Dropout layer for
the model's mode to reach. Validated without model.eval() it drops as in training; written
without training= (its default is True) it drops in eval mode too."""

from __future__ import annotations

import random

from .faults_training import CLASSIFICATION_DROPOUT, REGRESSION_DROPOUT
from .operators import every, operator, torch_module
from .program import Program


def _module_class(p: Program) -> bool:
    return (p.model.style == "module" and p.model.family in ("mlp", "cnn")
            and p.model.depth > 0 and p.data.has_val)


def _dropout_call(p: Program, rng: random.Random) -> Program:
    """F.dropout(h, DROPOUT, training=self.training) before the head, 0.5-0.7 (0.1-0.2 on regression)"""  # noqa: E501
    low, high = REGRESSION_DROPOUT if p.data.task == "regression" else CLASSIFICATION_DROPOUT
    return p.with_model(dropout=round(rng.uniform(low, high), 2), dropout_call="flag")


@operator("train_eval_mode", "validated without model.eval(): the dropout call in the forward "
          "(training=self.training) stays on", applies=every(torch_module, _module_class),
          setup=_dropout_call)
def no_eval_with_dropout_call(p: Program, rng: random.Random) -> Program:
    return p.with_train(modes="never")


@operator("train_eval_mode", "F.dropout(h, p) in the forward without training=: its default "
          "(True) keeps the dropout on in eval mode", applies=every(torch_module, _module_class),
          setup=_dropout_call)
def dropout_call_without_flag(p: Program, rng: random.Random) -> Program:
    return p.with_model(dropout_call="always")
