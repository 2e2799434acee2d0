"""Training losses that backward never went through: a loop that forgot ``loss.backward()``,
or a Lightning ``training_step`` that returns nothing (Lightning then skips the backward pass
and still steps the optimizer). A loss is filed as a training loss when backward goes through
it, so such a run had only evaluations: it was reported as "no training seen", its training
losses read as hundreds of validation passes. When the optimizer stepped and no backward ever
ran, the losses computed in train mode with gradients on were the training losses."""

from __future__ import annotations

from lossdoctor.trace import Trace

#: Optimizer steps before steps without any backward pass say something about the loop: the
#: mirror of checks.training_loop.MIN_BACKWARD_PASSES (one step and the end of the script is a
#: step looked at once; a second with still no gradient is a loop that never computes them).
MIN_STEPS_WITHOUT_BACKWARD = 2


def file_unbackpropagated_losses(trace: Trace) -> None:
    """Refile as training losses, in place, the losses a run that stepped its optimizer and
    never called backward computed in train mode with gradients on; mark the trace."""
    if trace.steps < MIN_STEPS_WITHOUT_BACKWARD or trace.train_losses():
        return
    unbackpropagated = [record for record in trace.losses
                        if record.phase == "eval" and record.with_gradients
                        and record.model_training is not False]
    if not unbackpropagated:
        return
    for record in unbackpropagated:
        record.phase = "train"
    trace.backward_never_ran = True
