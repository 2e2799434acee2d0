"""A hand-written loss that adds a term on the model's outputs alone to its data term: a VAE's
``reconstruction + kl`` (the KL reads the encoder's mean and log-variance, not the target), an
auxiliary loss on activations. The recorded program (capture/loss_program.py) is split at its
last addition, through the reductions taken of the sum (``mean(r + kl)``):

    terms = split_terms(program)
    terms.data, terms.regularizer       # each term alone, reduced as the sum was
    terms.weighted(0.1)                 # the loss with the regularizer weighted a tenth

The data term is the operand that reads the target; the regularizer the one that reads the
model's output and neither the target nor the parameters (a penalty on the parameters is
``LossProgram.without_penalty``'s).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from lossdoctor.capture.loss_program import PENALTY_JOINS, LossProgram
from lossdoctor.capture.loss_tape import Output, Parameter, Result, Target
from lossdoctor.sandbox import isolated

#: Reductions of a sum that are sums of the reductions (``mean(a + b) = mean(a) + mean(b)``):
#: the split passes through them to the addition.
LINEAR_REDUCTIONS = {"mean", "sum"}


@dataclass
class LossTerms:
    program: LossProgram
    join: int  # the addition's call
    data_index: int  # which of its two operands is the data term

    @property
    def data(self) -> LossProgram:
        return self._joined(lambda data, regularizer: data)

    @property
    def regularizer(self) -> LossProgram:
        return self._joined(lambda data, regularizer: regularizer)

    def weighted(self, weight: float) -> LossProgram:
        """The loss with the regularizer multiplied by ``weight``."""
        return self._joined(lambda data, regularizer: data + weight * regularizer)

    def _joined(self, join) -> LossProgram:
        def operands(a, b):
            return join(a, b) if self.data_index == 0 else join(b, a)

        calls = list(self.program.calls)
        calls[self.join] = replace(calls[self.join], func=operands, kwargs={})
        return LossProgram(calls, self.program.result, self.program.target_path,
                           self.program.scale)


def split_terms(program) -> LossTerms | None:
    """The loss's data term and a regularizer on the model's outputs added to it; None for a
    loss of another shape (one term, a penalty on the parameters, no target read)."""
    if not isinstance(program, LossProgram):
        return None
    join = _addition_under_reductions(program)
    if join is None:
        return None
    operands = program.calls[join].args
    reads_target = [_reads(program, ref, Target) for ref in operands]
    if sorted(reads_target) != [False, True]:
        return None
    regularizer = operands[reads_target.index(False)]
    if _reads(program, regularizer, Parameter) or not _reads(program, regularizer, Output):
        return None
    return LossTerms(program, join, reads_target.index(True))


def _addition_under_reductions(program: LossProgram) -> int | None:
    """The call of the addition the loss ends in, under any number of mean and sum calls; None
    when it ends in something else."""
    ref = program.result
    while ref.item is None:
        call = program.calls[ref.call]
        first = call.args[0] if call.args else None
        if call.name in PENALTY_JOINS:
            two = len(call.args) == 2 and not call.kwargs
            return ref.call if two and all(isinstance(a, Result) for a in call.args) else None
        if call.name not in LINEAR_REDUCTIONS or not isinstance(first, Result):
            return None
        ref = first
    return None


def _reads(program: LossProgram, ref, kind: type) -> bool:
    """Whether the value ``ref`` stands for was computed from a ``kind`` reference."""
    if isinstance(ref, kind):
        return True
    if not isinstance(ref, Result):
        return False
    call = program.calls[ref.call]
    values = [*call.args, *call.kwargs.values()]
    return any(_reads(program, value, kind) for value in _flat(values))


def _flat(values):
    for value in values:
        if isinstance(value, (list, tuple)):
            yield from _flat(value)
        elif isinstance(value, dict):
            yield from _flat(list(value.values()))
        else:
            yield value


# --- measuring the terms ---------------------------------------------------------------------


@dataclass
class TermValues:
    """A model's data term and regularizer on the validation batches (eval mode)."""

    data: float
    regularizer: float


def term_values(replayer, terms: LossTerms, model) -> TermValues:
    """Row-weighted means of each term over ``replayer``'s validation batches, in eval mode
    under a fixed seed (a VAE samples its latent in eval mode too); the model's mode is
    restored."""
    model = replayer.placed(model)
    was_training = model.training
    model.eval()
    try:
        with isolated(0), torch.no_grad():
            return TermValues(*(_mean(program, model, replayer.validation_batches)
                                for program in (terms.data, terms.regularizer)))
    finally:
        model.train(was_training)


def _mean(program: LossProgram, model, batches) -> float:
    total = sum(float(program.loss(model, b)) * b.rows for b in batches)
    return total / max(sum(b.rows for b in batches), 1)
