"""over_regularized: weight decay, dropout or a penalty so strong that the model cannot fit its
data.

A differential test on copies: the user's setup is replayed on the captured batches with the
regularization taken away (weight decay divided by 100, every dropout layer off, a penalty on
the weights the script added to its loss by hand left out), everything else the same, and
compared with the replay of the user's own setup. Both are scored by the loss without the
penalty, as a validation computes it. Three things must hold:

1. The validation loss falls clearly once the regularization is gone.
2. With it, the model fits its training data far worse: it gets less than two thirds of the way
   from the constant guess (the best input-free prediction) to where the model gets without it.
   Regularization that only trades a little training fit for generalization (dropout 0.1-0.5
   on a model that fits) keeps most of that way. Without a constant guess (a fairseq
   criterion), the way is measured from the untrained model, which overstates it; dropout
   above the usual rates (USUAL_MOST_DROPOUT) then passes this bar.

3. The replay without it settles clearly below the run's own best validation loss
   (``_fix.beyond_the_run``): regularization that holds the run back shows in the run. Dropout
   also slows a fit down, so within the replay's few hundred steps the copy with dropout trails
   the one without, though the user's longer run, validated in eval mode, gets as far
   (a fixed twin of no_eval_with_dropout, dropout 0.5-0.7, was told its regularization held it
   back).

A run without validation passes that took fewer than REPLAY_STEPS steps is judged in its own
steps (``Case.run_length_steps``): both replays take as many, and the run's level is where its
setup gets in them. In 300 steps heavy dropout gets as far as none: dev dropout_heavy 345048
(dropout 0.88, 112 steps, no validation) settled at 0.0047 against 0.0004 without it, where in
its 112 steps it stayed at 0.33.

The training fit is measured in eval mode on the training batches after each replay: losses
taken in train mode include the dropout's own noise, which taking dropout away removes trivially.

When the inputs are off scale (``checks._features``), a finding's two replays are run again
with the inputs standardized: where the regularization no longer holds the model back there (the
first two bars), what taking it away gained came from the inputs' scale (dropout 0.17 beside a
column in the tens of thousands drops units whose values are in the thousands), and the finding
says so (``measured_consequences.GAIN_GONE_WITH_STANDARDIZED_INPUTS``): the confirmed fix that
standardizes the inputs then explains it.

Dropout is read from the model's layers and from the dropout calls its forward makes itself
(``F.dropout(x, p, self.training)``, :mod:`._dropout`).

A hand-written loss that adds a term on the model's outputs alone to its data term (a VAE's
KL, :mod:`._loss_terms`) is tested first, apart: replayed with that term weighted TERM_WEIGHT,
the data term must fall by the bar of a fix and below the run's own, while the run held the
term at its floor (HELD_TERM_SHARE of where the replay takes it): a collapsed posterior.
Weighting a healthy VAE's KL less also improves its reconstruction; what it does not do is
lift a KL pinned near zero tenfold.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn

from lossdoctor.budget import OutOfTime
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._dropout import called_rates, layer_rates, without_dropout
from lossdoctor.checks._features import off_scale_standardizing
from lossdoctor.checks._fix import (
    MEANINGFUL_IMPROVEMENT,
    beyond_the_run,
    fix_experiment,
    helped,
    improvement,
    relative_drop,
    settled_loss,
)
from lossdoctor.checks._loss_terms import LossTerms, split_terms, term_values
from lossdoctor.checks._plain import plain_number
from lossdoctor.experiments import Plan, ReplayResult
from lossdoctor.findings import Cause, Experiment, Finding
from lossdoctor.measured_consequences import GAIN_GONE_WITH_STANDARDIZED_INPUTS

OVER_REGULARIZED = Cause(
    id="over_regularized",
    title="Regularization is too strong",
    fix="Lower the weight decay or the dropout rate.",
    question="Is weight decay, dropout or a penalty added to the loss holding the fit back?",
    test=(
        "replay with weight decay /100, dropout off (layers and calls in the forward) and a "
        "hand-written penalty on the weights left out; reported when training and validation "
        "both improve. A loss term on the outputs alone (a VAE's KL): replay with it weighted "
        "0.1; reported when the data term improves and the run held the term at its floor"
    ),
    # regularization that holds the fit back makes the model look too small: with dropout 0.8
    # over_regularized_dropout_cnn read "The model is too small for the task" beside "with
    # dropout off, the same model's validation loss falls from 1.39 to 0.0138"
    explains={"underfit_capacity"},
)

CAUSES = (OVER_REGULARIZED,)


#: Weight decay in the replay: the user's divided by this, two orders of magnitude, well below
#: any decay that could hold a model back and still a decay (AdamW's default stays "on").
WEIGHT_DECAY_DIVISOR = 100.0
#: Regularization "holds the model back" when, with it, the training fit makes less than this
#: share of the progress beyond the constant guess that it makes without it: it costs more than
#: a third of what the model can learn, far more than the few percent usual dropout costs.
HELD_BACK_SHARE = 2 / 3
#: Dropout up to this rate is the usual light setting (the default of PyTorch's Transformer
#: layers): it is not what holds a model back, and replaying without it only costs time.
LIGHT_DROPOUT = 0.1
#: The highest usual dropout rate: 0.5 for hidden units, the rate Srivastava et al. (2014,
#: "Dropout", JMLR) found best across their networks; 0.1-0.3 is the usual setting of
#: transformers. On the MLP of tests/test_over_regularized.py the training fit keeps 0.94 of
#: its way at dropout 0.3 and 0.88 at 0.5, against 0.75 at 0.7 and 0.54 at 0.9.
USUAL_MOST_DROPOUT = 0.5
#: On a run whose curves show no symptom, a finding about dropout within the usual rates is
#: advice (learning_rate._only_advice's rule for a rate, and its confidence).
ADVICE_CONFIDENCE = 0.3
#: Decoupled weight decay (AdamW) and SGD's shrink the weights by lr x decay each step; when that
#: adds up to less than this over a whole replay, the decay cannot hold the model back.
NEGLIGIBLE_SHRINK = 0.05
#: A penalty on the weights added to the loss by hand that is less than this share of the loss
#: the untrained model starts at (the same 5% as NEGLIGIBLE_SHRINK) barely changes what the
#: optimizer minimizes: an L2 term of 1e-4 (1e-3) on the 8-64-2 MLP of
#: tests/test_over_regularized.py is 0.3% (3.3%) of its cross-entropy; the penalties of the
#: development set's hand_l2_penalty cases (weights 0.17-0.49: 09134, 12124, 12150, 12332)
#: start at 87% to 98%.
NEGLIGIBLE_PENALTY_SHARE = 0.05


@dataclass
class Regularization:
    """What regularizes the user's training."""

    weight_decay: float
    dropout: dict[str, float]  # layer name -> drop probability, for layers with p > 0
    #: the training loss without the penalty the script added to it by hand, when it has one
    without_penalty: object | None = None
    penalty_share: float = 0.0  # the penalty's share of the untrained model's training loss
    #: a term of the loss on the model's outputs alone beside its data term (a VAE's KL)
    output_term: LossTerms | None = None

    @property
    def present(self) -> bool:
        """Whether anything is replayed (budget.WHEN_SETUP_CALLS asks too)."""
        return self.taken_away or self.output_term is not None

    @property
    def taken_away(self) -> bool:
        """Whether anything is taken away in the replay without regularization."""
        return self.weight_decay > 0 or bool(self.dropout) or self.without_penalty is not None

    @property
    def strongest_dropout(self) -> float:
        return max(self.dropout.values(), default=0.0)


@dataclass
class Fit:
    """Where one replay ended: its training fit (eval mode) and its validation loss."""

    train: float
    validation: float
    replay: ReplayResult


def check(case) -> list[Finding]:
    """``over_regularized`` when taking weight decay and dropout away makes the model fit its
    training data and its validation data clearly better."""
    replayer = case.require_replay()
    regularization = regularization_of(case)
    held = _held_term(case, replayer, regularization.output_term)
    if held is not None:
        return [held]
    if not regularization.taken_away:
        return []
    steps = case.run_length_steps  # a short run without validation: in its own steps
    after = _fit(replayer, without_dropout(replayer.copies.initial_model),
                 {"weight_decay": regularization.weight_decay / WEIGHT_DECAY_DIVISOR},
                 loss=regularization.without_penalty, steps=steps)
    reference = _reference_loss(case, replayer)
    if not helped(_experiment(regularization, case.baseline_for(steps), after.replay), case):
        return _held_back_from_the_end(case, replayer, regularization, reference, steps)
    if not beyond_the_run(case, after.validation):
        # the run itself got as far: what the replay shows is a slower fit
        return _held_back_from_the_end(case, replayer, regularization, reference, steps)
    before = _fit(replayer, copy.deepcopy(replayer.copies.initial_model), {}, steps=steps)
    share = progress_share(before.train, after.train, reference)
    if share >= HELD_BACK_SHARE and not _dropout_beyond_usual_without_guess(case, regularization):
        return []
    finding = _finding(regularization, before, after, reference)
    if getattr(case, "curves_show_symptom", None) is False and not _beyond_usual(regularization):
        finding.confidence = min(finding.confidence, ADVICE_CONFIDENCE)
    mark_gain_of_raw_inputs(case, replayer, regularization, reference, finding)
    return [finding]


def mark_gain_of_raw_inputs(case, replayer, regularization: Regularization,
                                 reference: float, finding: Finding) -> None:
    """When the inputs are off scale, the regularization's replays again with them
    standardized: where it no longer holds the model back there, what taking it away gained
    came from the inputs' scale (light dropout on inputs in the thousands drops units whose
    values are in the thousands), and the finding says so (GAIN_GONE_WITH_STANDARDIZED_INPUTS:
    standardizing the inputs, replayed and confirmed, then explains it)."""
    transform = off_scale_standardizing(case)
    if transform is None:
        return
    try:
        _replay_on_standardized_inputs(case, replayer, regularization, reference, finding,
                                       transform)
    except OutOfTime:
        return  # the finding stands as measured on the user's inputs


def _replay_on_standardized_inputs(case, replayer, regularization: Regularization,
                                   reference: float, finding: Finding, transform) -> None:
    steps = case.run_length_steps
    free = _fit(replayer, without_dropout(replayer.copies.initial_model),
                {"weight_decay": regularization.weight_decay / WEIGHT_DECAY_DIVISOR},
                loss=regularization.without_penalty, steps=steps, transform=transform)
    held = _fit(replayer, copy.deepcopy(replayer.copies.initial_model), {}, steps=steps,
                transform=transform)
    experiment = _experiment(regularization, held.replay, free.replay)
    measured = {"standardized_val_before": held.validation,
                "standardized_val_after": free.validation}
    finding.evidence |= {key: value for key, value in measured.items() if math.isfinite(value)}
    if helped(experiment, case) and \
            progress_share(held.train, free.train, reference) < HELD_BACK_SHARE:
        return
    finding.evidence[GAIN_GONE_WITH_STANDARDIZED_INPUTS] = 1.0
    finding.verdict += (
        f" With your inputs standardized, taking it away no longer helps (validation loss "
        f"{held.validation:.3g} with it, {free.validation:.3g} without): it is the inputs' "
        "scale that holds the model back.")


def _held_back_from_the_end(case, replayer, regularization: Regularization, reference: float,
                            steps: int) -> list[Finding]:
    """Dropout above the usual rates (USUAL_MOST_DROPOUT) in a run longer than the replays:
    from the initial weights, a replay cut short (by the budget on a slow model: projects6
    mingpt_adder dropout_0.7's were cut to 101 of 300 steps) ends above where the run's longer
    training got, with dropout or without. Training on from the run's own final weights, the
    replay starts where the run got: with dropout off it must then end clearly below the run's
    best validation loss and the one that trains on with dropout, and fit the training data
    far better (HELD_BACK_SHARE), as from the start. Dropout that only slows a fit leaves
    little for the run's trained weights to gain from its removal (tests/
    test_over_regularized.py, replays cut to 60 steps: dropout 0.8 found, 0.3 and a 0.6 that
    only slows the fit quiet). A model held on a plateau is not helped within the replay's
    steps either way (s30-gelu's small transformer on 3-digit sums, dropout 0.7: 1.736 trained
    on with dropout, 1.729 without, the run's best 1.739; dropout 0.1 leaves the plateau at
    step 600)."""
    final = case.copies.final_model
    if final is None or regularization.strongest_dropout <= USUAL_MOST_DROPOUT:
        return []
    after = _fit(replayer, without_dropout(final), {}, steps=steps)
    if not beyond_the_run(case, after.validation):
        return []
    before = _fit(replayer, copy.deepcopy(final), {}, steps=steps)
    dropout_only = Regularization(0.0, regularization.dropout)
    if not helped(_experiment(dropout_only, before.replay, after.replay), case):
        return []
    if progress_share(before.train, after.train, reference) >= HELD_BACK_SHARE:
        return []
    finding = _finding(dropout_only, before, after, reference)
    finding.verdict = _verdict_from_the_end(regularization, before, after)
    finding.experiment.description += ", training on from where your run ended"
    return [finding]


def _verdict_from_the_end(regularization: Regularization, before: Fit, after: Fit) -> str:
    steps = after.replay.planned_steps or REPLAY_STEPS
    return (
        f"Your dropout (up to {regularization.strongest_dropout:.2g} in "
        f"{len(regularization.dropout)} layers) holds the model back: training on from where "
        f"your run ended for {steps} more steps with dropout off, its loss on the training "
        f"data falls to {after.train:.3g} (with dropout {before.train:.3g}) and the validation "
        f"loss to {after.validation:.3g} (with dropout {before.validation:.3g}). It keeps the "
        "model from fitting the data, not just from overfitting it."
    )


def _dropout_beyond_usual_without_guess(case, regularization: Regularization) -> bool:
    """Dropout above the usual rates (USUAL_MOST_DROPOUT) on a run whose loss has no constant
    guess: the training fit's share is then measured from the untrained model, whose loss
    counts the progress every model makes first (a language model learning its tokens'
    frequencies: bench/projects4 fairseq_lm dropout_0.7, share 0.86 from the untrained model's
    2,728 against 846 with dropout and 547 without), so the share cannot tell a fit held back
    from one that kept its way; the rate can, beside the other two bars."""
    return (case.constant_guess_loss("training") is None
            and regularization.strongest_dropout > USUAL_MOST_DROPOUT)


def _beyond_usual(regularization: Regularization) -> bool:
    """Regularization outside the usual settings: dropout above USUAL_MOST_DROPOUT, weight
    decay or a penalty added by hand (their usual size depends on the optimizer and the loss:
    not judged here)."""
    return (regularization.strongest_dropout > USUAL_MOST_DROPOUT
            or regularization.weight_decay > 0 or regularization.without_penalty is not None)


def regularization_of(case) -> Regularization:
    """The weight decay and dropout that could matter (light settings count as none)."""
    hparams = case.copies.optimizer_hparams
    decay = _number(hparams.get("weight_decay"))
    if _shrinks_directly(case.copies.optimizer_class) and (
        _number(case.replayer.user_lr) * decay * REPLAY_STEPS < NEGLIGIBLE_SHRINK
    ):
        decay = 0.0
    dropout = {name: p for name, p in dropout_rates(case.copies.initial_model,
                                                    _forward_of(case)).items()
               if p > LIGHT_DROPOUT}
    without, share = _hand_penalty(case)
    return Regularization(decay, dropout, without, share, split_terms(case.copies.replay_loss))


def _forward_of(case):
    """A forward of a model on the first training batch, as the script's loss calls it."""
    loss, batches = case.copies.replay_loss, case.replayer.train_batches
    if loss is None or not batches:
        return None
    return lambda model: loss.loss(model, batches[0])


def _hand_penalty(case) -> tuple[object | None, float]:
    """The training loss without the penalty on the weights the script added to it by hand,
    and the penalty's share of the loss the untrained model starts at; (None, share) for a
    penalty too light to matter, (None, 0) for none."""
    loss = case.copies.replay_loss
    without = getattr(loss, "data_term", None)
    batches = case.replayer.train_batches
    model = case.copies.initial_model
    if without is None or not batches or model is None:
        return None, 0.0
    model = copy.deepcopy(model).eval()  # BatchNorm's statistics stay the copy's own
    with torch.no_grad():
        total = sum(float(loss.loss(model, b)) for b in batches[:PENALTY_BATCHES])
        data = sum(float(without.loss(model, b)) for b in batches[:PENALTY_BATCHES])
    share = (total - data) / total if total > 0 and math.isfinite(total - data) else 0.0
    return (without if share >= NEGLIGIBLE_PENALTY_SHARE else None), share


#: Training batches the penalty's share is measured on: a mean over a few is plenty for a term
#: that depends on the weights alone.
PENALTY_BATCHES = 4


def _shrinks_directly(optimizer_class) -> bool:
    """Optimizers whose decay shrinks each weight by lr x decay per step, whatever the gradient
    (Adam's coupled L2 term is rescaled with the gradient instead)."""
    return optimizer_class in (torch.optim.SGD, torch.optim.AdamW)


def _number(value) -> float:
    try:
        return float(value or 0.0)
    except (TypeError, ValueError):
        return 0.0


def dropout_rates(model: nn.Module, forward=None) -> dict[str, float]:
    """Drop probability of each dropout layer (and attention dropout) that drops anything, and
    of each dropout call the forward makes itself (``F.dropout(x, p, self.training)``), found by
    running ``forward(model)`` when it is given."""
    rates = layer_rates(model)
    calls = called_rates(model, forward) if forward is not None else []
    rates.update({f"dropout call {i} in forward": p for i, p in enumerate(calls, 1)})
    return rates


def _fit(replayer, model: nn.Module, hparams: dict, loss=None,
         steps: int = REPLAY_STEPS, transform=None) -> Fit:
    """A replay of ``model`` and where it ended; ``transform``: applied to every batch, the
    training fit's included."""
    replay = replayer.replay(Plan(model=model, hparams=hparams, steps=steps, loss=loss,
                                  transform=transform))
    batches = replayer.train_batches
    if transform is not None:
        batches = [transform(batch) for batch in batches]
    train = replayer.evaluate(model, batches) if not replay.diverged else math.inf
    return Fit(train, settled_loss(replay), replay)


def _reference_loss(case, replayer) -> float:
    """The constant guess's training loss, else the untrained model's."""
    guess = case.constant_guess_loss("training")
    if guess is not None:
        return guess
    return replayer.evaluate(replayer.copies.initial_model, replayer.train_batches)


def progress_share(regularized: float, free: float, reference: float) -> float:
    """How much of the way from ``reference`` down to ``free`` the ``regularized`` fit got.
    When the fit without regularization only gets to the constant guess (within a
    MEANINGFUL_IMPROVEMENT of it) and the one with it stays clearly above the guess, none:
    the regularization keeps the model from fitting even the targets' mean (weight decay 0.5
    pulling every output towards 0: bench/fresh26 s07, 0.289 against a guess of 0.164, 0.165
    without it in the replay's 300 steps)."""
    if not (math.isfinite(regularized) and math.isfinite(free)):
        return 1.0
    if reference <= free:
        at_guess = free <= reference * (1 + MEANINGFUL_IMPROVEMENT)
        above_guess = relative_drop(regularized, reference) >= MEANINGFUL_IMPROVEMENT
        return 0.0 if at_guess and above_guess else 1.0
    return (reference - regularized) / (reference - free)


# --- a term of the loss on the model's outputs (a VAE's KL) held at its floor ---------------


#: The regularizer term's weight in the replay that tests it: a tenth, the first step down a
#: practitioner takes (a beta-VAE's beta of 0.1), and between the usual fixes of a VAE's
#: reductions (World Models' summed losses weigh its KL 0.31 times as much as its means did).
TERM_WEIGHT = 0.1
#: The run held the regularizer at its floor when the trained model's term is below this share
#: of where the replay with a tenth of its weight takes it (a collapsed posterior: the encoder
#: gives every row the prior, and the latent carries nothing). A term free to settle rises
#: less than its weight falls; one pinned at its floor rises at least as much: the bar is the
#: weight itself. Measured on dev VAEs (session 23, seeds 334400-334406, docs/devset.md):
#: healthy (each term summed over its dimensions, or both summed over the batch as
#: pytorch/examples does) 0.22-0.41, half of that or more above the bar; collapsed (a per-pixel
#: mean reconstruction x10 beside a per-unit mean KL) 0.0005-0.0013, one partly collapsed
#: 0.12 (quiet).
HELD_TERM_SHARE = TERM_WEIGHT


def _held_term(case, replayer, terms: LossTerms | None) -> Finding | None:
    """A term on the model's outputs added to the loss (a VAE's KL) that the run drove to its
    floor while the data term stalled: with the term weighted TERM_WEIGHT, the data term ends
    clearly lower, in the replay and beyond the run, and the term itself rises from where the
    run held it."""
    measures = term_measures(case, replayer, terms)
    if measures is None:
        return None
    experiment = measures.pop("experiment")
    if not (helped(experiment) and measures["data_drop_beyond_run"] >= MEANINGFUL_IMPROVEMENT
            and measures["held_share"] <= HELD_TERM_SHARE):
        return None
    return _held_term_finding(measures, experiment)


def term_measures(case, replayer, terms: LossTerms | None) -> dict | None:
    """The data term and the regularizer of the run's model, of a replay of the user's loss and
    of one with the regularizer weighted TERM_WEIGHT; None for a loss without such a term."""
    final = case.copies.final_model
    if terms is None or final is None:
        return None
    run = term_values(replayer, terms, final)
    before, before_replay = _term_replay(replayer, terms, None)
    after, after_replay = _term_replay(replayer, terms, terms.weighted(TERM_WEIGHT))
    if not (after.regularizer > 0 and math.isfinite(after.data)):
        return None
    steps = after_replay.planned_steps or REPLAY_STEPS
    experiment = Experiment(f"the loss term on the outputs alone weighted {TERM_WEIGHT:g}",
                            before.data, after.data, steps, measure="data term")
    return {
        "experiment": experiment,
        "data_term_run": run.data, "regularizer_run": run.regularizer,
        "data_term_before": before.data, "regularizer_before": before.regularizer,
        "data_term_after": after.data, "regularizer_after": after.regularizer,
        "data_drop_beyond_run": relative_drop(run.data, after.data),
        "held_share": max(run.regularizer, 0.0) / after.regularizer,
        "term_weight": TERM_WEIGHT,
        "replay_diverged": float(before_replay.diverged or after_replay.diverged),
    }


def _term_replay(replayer, terms: LossTerms, loss):
    model = copy.deepcopy(replayer.copies.initial_model)
    replay = replayer.replay(Plan(model=model, steps=REPLAY_STEPS, loss=loss))
    return term_values(replayer, terms, model), replay


def _held_term_finding(measures: dict, experiment: Experiment) -> Finding:
    strength = min(improvement(experiment) / 0.5, 1.0)
    return Finding(
        OVER_REGULARIZED,
        confidence=0.6 + 0.2 * strength + 0.15 * (1 - measures["held_share"] / HELD_TERM_SHARE),
        verdict=(
            "A term of your loss that reads only the model's outputs, not the target (a KL "
            f"term, an auxiliary loss), outweighs the fit: your run drove it to "
            f"{measures['regularizer_run']:.3g} while the term that fits the data stayed at "
            f"{measures['data_term_run']:.3g}. Replayed {experiment.steps} steps with that term "
            f"weighted {TERM_WEIGHT:g}, the data term falls to {measures['data_term_after']:.3g} "
            f"(from {measures['data_term_before']:.3g} with your weights) and the term rises to "
            f"{measures['regularizer_after']:.3g}. For a VAE this is a collapsed posterior: "
            "the latent code carries nothing, and every input decodes alike."),
        evidence=measures,
        fix=("Weigh the term less against the data term: reduce both the same way (sum each "
             "over its dimensions, then average over the batch), or multiply the term by a "
             "weight below 1 (or warm it up from 0)."),
        experiment=experiment,
    )


# --- finding ---------------------------------------------------------------------------------


def _finding(regularization: Regularization, before: Fit, after: Fit, reference: float
             ) -> Finding:
    share = max(progress_share(before.train, after.train, reference), 0.0)
    experiment = _experiment(regularization, before.replay, after.replay)
    strength = min(improvement(experiment) / 0.5, 1.0)
    return Finding(
        OVER_REGULARIZED,
        confidence=0.6 + 0.2 * strength + 0.15 * (1 - share / HELD_BACK_SHARE),
        verdict=_verdict(regularization, before, after),
        evidence=_evidence(regularization, before, after) | {
            "constant_guess_train_loss": reference, "progress_share": share},
        fix=_fix(regularization),
        experiment=experiment,
    )


def _experiment(regularization: Regularization, before: ReplayResult, after: ReplayResult
                ) -> Experiment:
    return fix_experiment(_what_was_taken_away(regularization), before, after)


def _settings(regularization: Regularization) -> str:
    parts = []
    if regularization.weight_decay > 0:
        parts.append(f"weight decay {plain_number(regularization.weight_decay)}")
    if regularization.dropout:
        count = len(regularization.dropout)
        parts.append(f"dropout up to {regularization.strongest_dropout:.2g} in {count} "
                     f"{'layer' if count == 1 else 'layers'}")
    if regularization.without_penalty is not None:
        parts.append(f"a penalty on the weights added to the loss by hand, "
                     f"{regularization.penalty_share:.0%} of the loss at the start")
    return " and ".join(parts)


def _what_was_taken_away(regularization: Regularization) -> str:
    parts = []
    if regularization.weight_decay > 0:
        lowered = regularization.weight_decay / WEIGHT_DECAY_DIVISOR
        parts.append(f"weight decay {plain_number(lowered)} instead of "
                     f"{plain_number(regularization.weight_decay)}")
    if regularization.dropout:
        parts.append("dropout off")
    if regularization.without_penalty is not None:
        parts.append("the penalty left out of the loss")
    return ", ".join(parts)


def _verdict(regularization: Regularization, before: Fit, after: Fit) -> str:
    steps = after.replay.planned_steps or REPLAY_STEPS
    return (
        f"Your regularization ({_settings(regularization)}) holds the model back: replayed "
        f"{steps} steps with {_what_was_taken_away(regularization)}, its loss on the training "
        f"data falls from {before.train:.3g} to {after.train:.3g} and the validation loss "
        f"from {before.validation:.3g} to {after.validation:.3g}. It keeps the model from "
        "fitting the data, not just from overfitting it."
    )


def _evidence(regularization: Regularization, before: Fit, after: Fit) -> dict[str, float]:
    evidence = {
        "weight_decay": regularization.weight_decay,
        "replayed_weight_decay": regularization.weight_decay / WEIGHT_DECAY_DIVISOR,
        "strongest_dropout": regularization.strongest_dropout,
        "dropout_layers": float(len(regularization.dropout)),
        "penalty_share": regularization.penalty_share,
        "train_loss_before": before.train,
        "train_loss_after": after.train,
        "val_before": before.validation,
        "val_after": after.validation,
        "train_improvement": relative_drop(before.train, after.train),
        "improvement": relative_drop(before.validation, after.validation),
    }
    return {name: value for name, value in evidence.items() if math.isfinite(value)}


def _fix(regularization: Regularization) -> str:
    steps = []
    if regularization.weight_decay > 0:
        steps.append(f"lower the weight decay from {plain_number(regularization.weight_decay)} "
                     "(try a tenth to a hundredth of it)")
    if regularization.dropout:
        steps.append(f"lower the dropout from {regularization.strongest_dropout:.2g} (0.1-0.3 is "
                     "usual; start without it)")
    if regularization.without_penalty is not None:
        steps.append("lower the weight of the penalty you add to the loss (try a tenth to a "
                     "hundredth of it)")
    return f"{' and '.join(steps).capitalize()}, then add regularization back only as far as " \
        "the validation loss keeps improving."
