"""batch_size: a batch size that holds training back, for the run's budget of training rows.

The gradient noise scale (McCandlish et al. 2018, "An Empirical Model of Large-Batch Training")
says which batch sizes pay: B_simple = tr(Sigma) / |G|^2, the batch at which the gradient's
noise is as large as the gradient itself. Far above it, a step costs many rows and moves little
further than a smaller batch's step: with a fixed number of epochs, too few steps are taken.
It is estimated on copies of the untrained and the trained model from small and large batches
of the captured rows (their appendix A): E|G_B|^2 = |G|^2 + tr(Sigma) / B, for two batch sizes,
solved for both; the smaller of the two estimates is the one judged.

Two candidates, each tested by replay before anything is reported:

* too large: the user's batch is more than ``LARGE_FACTOR`` x B_simple (above B_simple in a
  run of fewer than ``FEW_STEPS`` steps of at most two a epoch: a whole training set as one
  batch, or half of it), and B_simple is at least ``NEGLIGIBLE_NOISE_ROWS`` (one row: below it
  the gradient noise is negligible and the batch size cannot matter). Replayed with a batch
  near B_simple on the same number of training rows (so more steps), the lr scaled by the same
  paper's rule for the best lr,
  eps(B) = eps_max / (1 + B_noise / B).
* too small for BatchNorm: a model with BatchNorm trained on batches of at most
  ``TINY_BATCH`` rows normalizes each batch by statistics of one or two rows, which differ from
  the running statistics used in eval mode (and, for images, erase each image's own mean).
  Replayed with batches of ``BN_BATCH`` rows on the same number of rows. When the replay cannot
  show it (too few rows for enough larger batches), the mechanism itself is tested: the trained
  model scored on the validation rows in batches of the user's size with each batch's own
  statistics, as in training, against the running statistics eval mode uses. A model that does
  far better with the former learned to rely on statistics its validation never gets.

A batch far above the noise scale only costs when the run ends before training is done, so the
first candidate also needs the run to have still been learning at its end: the last half (at
least four) of its validation losses, or without them of its training loss in ten chunks,
falling by a one-sided Mann-Kendall trend test. A run that levelled off had rows enough.

Reported when the replay lowers the validation loss clearly against a replay of the user's
batch size on the same rows, and clearly below the run's own best (``_fix.beyond_the_run``: by
the bar of a fix and beyond the noise of the run's validation curve; for a run short by its
batch with no validation pass, the replay of its batch on its rows is its level; for a batch
too small for BatchNorm, whose passes wobble with its running statistics, the lower of its best
pass and its trained model with the statistics recomputed, by the bar of a fix): only then
does the training really suffer from its batch size. A run still learning at its end gets lower with
more, smaller steps, and as much with more epochs; catching up with it, or passing it by less
than a fix must take off, is no evidence against the batch. Unless its batch is half its
training set or more, the smaller batch must also beat the user's own batch trained
``MORE_EPOCHS`` times as long: where that does as much, the advice is more epochs.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn

from lossdoctor import budget as budgets
from lossdoctor.capture.sample import Batch
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._fix import beyond_the_run, fix_experiment, helped, improvement
from lossdoctor.checks._plain import plain_lr, plain_number
from lossdoctor.checks._rebatch import (
    SMALLEST_BATCH,
    batch_rows,
    pooled,
    pooled_training,
    rebatch,
    replay_rebatched,
    user_batch_size,
)
from lossdoctor.checks._recomputed_statistics import recomputed_statistics_loss
from lossdoctor.curve_stats import chunk_means, falling
from lossdoctor.experiments import ReplayResult
from lossdoctor.findings import TRAINING_SETTING, Cause, Experiment, Finding, Skip
from lossdoctor.sandbox import isolated

BATCH_SIZE = Cause(
    id="batch_size",
    title="The batch size does not suit the training",
    fix="Change the batch size (and scale the learning rate with it).",
    question="Does the batch size suit the training?",
    test=(
        "the gradient noise scale (McCandlish et al. 2018) from small-batch gradients on copies; "
        "BatchNorm with batches of 4 or fewer; replay at the suggested batch size with the "
        "learning rate scaled"
    ),
    setting=TRAINING_SETTING,
)

CAUSES = (BATCH_SIZE,)


#: A batch this many times B_simple spends most of its rows on averaging noise that is already
#: small: per the paper, training needs (1 + B / B_noise) times the fewest rows possible, so at
#: 4x B_simple it needs 2.5x the rows it would at B_simple.
LARGE_FACTOR = 4.0
#: BatchNorm statistics from this few rows are mostly noise.
TINY_BATCH = 4
BN_BATCH = 32
#: Rows in the small batches of the noise estimate, and how many of them at least (their mean
#: is the large batch). The large batch also holds at least the user's batch of rows: its own
#: noise is tr(Sigma) / rows, so to tell a noise scale below the user's batch apart from |G|^2,
#: the estimate must average at least that many rows. With 64 batches of 4 (256 rows) the
#: estimate for the 1,186-row batch of dev case 13007 ranged from 83 to 1,708 over four
#: shufflings of the same rows; with 1,024 rows, from 299 to 383.
NOISE_BATCH = 4
NOISE_BATCHES = 64
#: A run of fewer optimizer steps than this is short of steps: fewer than one replay of a fix
#: takes (case.REPLAY_STEPS), the length lossdoctor gives any fix to show itself. Such a run,
#: still learning at its end, gains from any batch above the noise scale when its batch is
#: what keeps its steps few (FEW_STEPS_PER_EPOCH): per the paper, the same rows in batches of
#: B' < B give B / B' times the steps, and each step does at least
#: (1 + B_noise / B) / (1 + B_noise / B') of a step's work at B, so progress gains whenever
#: B' < B; above B_noise the steps are cheap (each does at least half of the larger one's work).
FEW_STEPS = REPLAY_STEPS
#: ... and a run whose epochs take at most this many steps has a batch of half its training set
#: or more: its batch, not its epochs, keeps its steps few (the generator's full_batch: one a
#: epoch, 6-19 steps). A short run of smaller batches was short of epochs: its fixed twins of
#: 80 and 132 steps (dev cases 13262, 13685; batches of 64, noise scales 20-25) learn, and
#: smaller batches with more steps would still lower their loss.
FEW_STEPS_PER_EPOCH = 2
#: Replays are capped at this many steps on either side, to bound the check's cost: the
#: length of the shared replay of the user's setup, which then serves as the user's side. Tiny
#: batches are cheap: their side may take twice as many, so the larger batch gets enough steps.
MAX_STEPS = REPLAY_STEPS
TINY_MAX_STEPS = 2 * REPLAY_STEPS
#: A noise scale below this many rows is no evidence about the batch: B_simple < 1 says one
#: row's gradient already points where the whole training set's does (McCandlish et al. 2018:
#: tr(Sigma) < |G|^2), and their best lr, eps_max / (1 + B_noise / B), is then the same at any
#: batch of a row or more. A smaller batch would only take more steps at the same lr, which is
#: the learning-rate check's question (a larger step covers the same ground), not this one's.
#: On dev cases (docs/devset.md, session 10) batch_size was reported on noise scales of 0.004
#: (22030, a hand-written L2 penalty: first, ahead of the real cause) and 0.74 (22067, labels
#: 1 and 2 under BCE); where it was right the noise scale was 28-40 rows (22029, 22070). Not
#: for a run short of steps by its batch (FEW_STEPS, FEW_STEPS_PER_EPOCH): there, at the same
#: lr, each step of a smaller batch does as much as one of the user's, and the batch is what
#: keeps the steps few (two_batches_per_epoch dev 32003: batches of 458 rows, 24 steps, noise
#: scale 0.8, still falling; 22030 and 22067 took 25 steps an epoch).
NEGLIGIBLE_NOISE_ROWS = 1.0
#: A run still learning at its end gets further with more steps of any batch: the smaller
#: batch is blamed only when it beats the user's own batch trained for this many times the
#: run's steps (up to the smaller batch's replay), the run and twice as long again, as
#: learning_rate.MORE_RUNS asks of a run that learns steadily. Within that, "train more
#: epochs" is the honest advice (debug_subset_left_in dev 20114's twin: batches of 64, 91
#: steps, noise scale 12, still falling steeply, was told to use batches of 12, which reach
#: 0.149 where its own batch three times as long reaches 0.112). Not asked of a run short by
#: its batch (short_by_its_batch: a whole training set or half of it per step), whose batch is
#: what keeps it from taking the steps its epochs would give: more of its epochs replay the
#: same few steps, and the smaller batch's lr, scaled down for its noise, is no rival to them
#: in a replay of REPLAY_STEPS (tests/test_batch_size.py's full batch of 1,200 rows on the
#: base of dev 13007: 0.45 at 3x its 14 steps, batches of 56: 0.68).
MORE_EPOCHS = 3
#: A run short by its batch whose best validation loss is less than this share below the
#: constant guess has learned next to nothing in its few steps, which is what its counts can
#: say without a replay (counted_finding). On the kept dev cases of session 26 (seeds
#: 354000-354307, docs/devset.md) the broken runs short by their batch and still falling ended
#: 0.03-0.20 below the guess (354303 the highest); their fixed twins 0.31-1.0 below it (354304's
#: twin, a hard task, the lowest), and the one healthy twin short by its batch and still falling
#: (354002: two steps an epoch at a rate that learns in them) 1.0. A quarter sits between.
#: The same share marks a run short by its batch that its few steps never got going
#: (``barely_started``): its batch is then suspect whether or not its loss was still falling,
#: and the smaller batch is replayed at the user's own rate, not McCandlish's rate scaled down
#: for its noise. That rule takes the user's rate as the best one for the user's batch, which a
#: run that learned nothing in its steps does not show; at the same rate a step of a batch at or
#: above the noise scale does at least half a full batch's step's work (FEW_STEPS above). Dev
#: full_batch 362005 (14 SGD steps of 2,008 rows at 0.005, the guess not reached): batches of
#: 37 at the scaled 0.0026 took the replay 1.099 -> 1.043 (5%, no fix), at 0.005 to 0.940 (15%).
LITTLE_LEARNED_SHARE = 0.25
#: A finding read from counts, not confirmed by a replay: the floor of a replayed finding
#: (0.6, at the least improvement a fix must make), as the evidence of the least such fix.
COUNTED_CONFIDENCE = 0.6
#: Points of the run's last half its falling trend is tested on, at least; with the 4 or 5
#: points of a short run's last half, only a strictly falling curve passes the test.
TREND_POINTS = 4


@dataclass
class NoiseScale:
    gradient_sq: float  # |G|^2, the true gradient's squared norm
    trace_sigma: float  # tr(Sigma), the per-row gradient variance summed over parameters

    @property
    def simple(self) -> float:
        """B_simple; infinite when the gradient cannot be told from the noise."""
        if self.gradient_sq <= 0:
            return math.inf
        return max(self.trace_sigma, 0.0) / self.gradient_sq


@dataclass
class Trial:
    """The user's batch size and another, replayed on the same number of training rows."""

    user_batch: int
    batch: int
    user_lr: float
    lr: float
    rows: int
    before: ReplayResult
    after: ReplayResult

    @property
    def experiment(self) -> Experiment:
        return fix_experiment(
            f"batches of {self.batch} rows at lr {plain_lr(self.lr)} instead of "
            f"{self.user_batch} at lr {plain_lr(self.user_lr, 3)}, {_rows_words(self)}",
            self.before, self.after, steps=len(self.after.train_losses))


def check(case) -> list[Finding]:
    """``batch_size`` when a replay with a better batch size, on the same rows, clearly helps;
    when the diagnosis' budget stops the replays, a run short by its batch that learned next
    to nothing, read from its counts (``counted_finding``)."""
    replayer = case.require_replay()
    user_batch, lr = user_batch_size(case.trace, replayer), _user_lr(case)
    if user_batch < 1:
        raise Skip("needs the training batch size: no training loss with rows was seen")
    counted = counted_finding(case, user_batch)
    try:
        return _replayed(case, replayer, user_batch, lr)
    except budgets.OutOfTime:
        if counted is None:
            raise
        return [counted]  # the refusal was counted: the check reads as stopped, with it


def _replayed(case, replayer, user_batch: int, lr: float) -> list[Finding]:
    pool = pooled_training(case)
    noise = run_noise_scale(replayer, case.copies, pool, user_batch, _tiny_for_batchnorm(
        case, user_batch))
    batch = _candidate(case, user_batch, noise)
    if batch is None:
        return []
    rows = _row_budget(case, user_batch, batch)
    trial = _trial(case, pool, user_batch, batch, lr, noise, rows)
    if helped(trial.experiment, case) and _beyond_the_run(case, trial, pool):
        if (batch < user_batch and not short_by_its_batch(case.trace)
                and not helped(_against_more_epochs(case, pool, trial), case)):
            return []  # more epochs of the user's batch do as much: no batch size to blame
        return [_finding(trial, noise, has_batchnorm(case.copies.initial_model),
                         _short_words(case.trace))]
    if batch > user_batch and has_batchnorm(case.copies.initial_model):
        return _statistics_finding(case, user_batch)
    return []


def counted_finding(case, user_batch: int) -> Finding | None:
    """Read from the run's counts alone, before any replay: a run short by its batch
    (``short_by_its_batch``: one or two steps an epoch, fewer than FEW_STEPS in all), still
    learning at its end, whose best validation loss is within LITTLE_LEARNED_SHARE of the
    constant guess, and that did not fit its training rows either (``fit_its_rows``). Its
    batch, as large as its training set, left it a few steps that could not get it anywhere
    yet; a replay that runs must confirm it (``check``), this stands only where the budget
    stopped the replays. None for a closure optimizer (L-BFGS takes few steps of the whole
    set by design) or without a constant guess to measure against."""
    trace = case.trace
    if case.copies.step_takes_closure or not (short_by_its_batch(trace)
                                              and still_learning(trace)):
        return None
    learned = learned_share(case)
    if learned is None or learned > LITTLE_LEARNED_SHARE or fit_its_rows(case):
        return None
    curve = [p.loss for p in trace.validation_passes() if math.isfinite(p.loss)]
    guess = case.constant_guess_loss("validation")
    per_epoch = steps_per_epoch(trace)
    return Finding(
        BATCH_SIZE,
        confidence=COUNTED_CONFIDENCE,
        verdict=(
            f"Your batches of {user_batch:,} rows take your training set in "
            f"{per_epoch:.2g} step{'s' if per_epoch >= 1.5 else ''} an epoch, so the whole run "
            f"made {trace.steps} optimizer steps. Its validation loss was still falling when it "
            f"stopped, and its best ({plain_number(min(curve))}) is only "
            f"{100 * learned:.1f}% below the constant guess's ({plain_number(guess)}): too "
            "few steps to learn anything yet. (Read from the run's counts: the replays that "
            "would show a smaller batch doing better did not fit the diagnosis' time budget.)"),
        evidence={"batch_size": float(user_batch), "optimizer_steps": float(trace.steps),
                  "steps_per_epoch": per_epoch, "validation_best": min(curve),
                  "constant_guess_loss": guess, "learned_share_of_guess": learned},
        fix=("Use a batch of a few dozen to a few hundred rows (many steps an epoch), keeping "
             "the learning rate, or train for many more epochs."),
    )


def learned_share(case) -> float | None:
    """How far below the constant guess the run's best validation loss got, as a share of the
    guess (negative above it); None without validation passes, a guess, or the time for it."""
    curve = [p.loss for p in case.trace.validation_passes() if math.isfinite(p.loss)]
    try:
        guess = case.constant_guess_loss("validation") if curve else None
    except budgets.OutOfTime:
        return None
    if guess is None or not (math.isfinite(guess) and guess > 0):
        return None
    return (guess - min(curve)) / guess


def barely_started(case) -> bool:
    """A run short by its batch (``short_by_its_batch``) whose best validation loss is less than
    LITTLE_LEARNED_SHARE below the constant guess, whether or not it was still falling: its few
    steps never got it going (dev full_batch 362005: 14 full-batch SGD steps, the validation
    loss 1.1020 -> 1.0987, above the guess 1.083, a fall too small for the trend test), so
    ``still_learning`` cannot say whether more steps would pay; the replay does. A run with no
    validation pass is judged by its last epoch's training loss against the constant guess on
    the training rows (``training_learned_share``)."""
    if case.copies.step_takes_closure or not short_by_its_batch(case.trace):
        return False
    learned = learned_share(case)
    if learned is None and not case.trace.validation_passes():
        learned = training_learned_share(case)
    return learned is not None and learned <= LITTLE_LEARNED_SHARE and not fit_its_rows(case)


def fit_its_rows(case) -> bool:
    """The run's last epoch's training loss more than LITTLE_LEARNED_SHARE below the constant
    guess on the training rows: its steps got it going on the rows it trains on, whatever its
    validation loss says. A validation loss left near the guess is then what the model learned
    failing to carry over (overfitting's question: a training set of a few dozen rows fitted
    to zero), not a run its few steps never started."""
    learned = training_learned_share(case)
    return learned is not None and learned > LITTLE_LEARNED_SHARE


def training_learned_share(case) -> float | None:
    """How far below the constant guess on the training rows the run's last epoch's mean
    training loss got, as a share of the guess; None without either. For a run that never
    validated (dev two_batches_per_epoch 365021: 16 Adam steps of 436 rows under a one-cycle,
    the training loss 0.687 against the guess's 0.693, was unexplained): the training loss is
    on rows the model trained on, so it errs toward more learned, never toward a run that
    barely started."""
    epochs = case.trace.epoch_train_losses()
    try:
        guess = case.constant_guess_loss("training") if epochs else None
    except budgets.OutOfTime:
        return None
    if guess is None or not (math.isfinite(guess) and guess > 0):
        return None
    last = epochs[-1][1]
    return (guess - last) / guess if math.isfinite(last) else None


def _beyond_the_run(case, trial: Trial, pool: Batch) -> bool:
    """The replayed batch clearly below where the run got. A run short by its batch with no
    validation pass has no level of its own but the replay of its batch on its rows (the
    trial's other side, which ``helped`` compared it with): the baseline replay of its setup
    takes REPLAY_STEPS steps, many times the run's, and is no measure of where it got. A batch
    too small for BatchNorm: ``_beyond_the_trained_model``."""
    if short_by_its_batch(case.trace) and not case.trace.validation_passes():
        return True
    if trial.batch > trial.user_batch and case.copies.final_model is not None:
        return _beyond_the_trained_model(case, trial, pool)
    return beyond_the_run(case, trial.experiment.after)


def _beyond_the_trained_model(case, trial: Trial, pool: Batch) -> bool:
    """The larger batch's replay clearly below (by a fix's bar, ``helped``) both the run's
    best validation pass and its trained model scored with BatchNorm statistics recomputed
    over the training rows (``_recomputed_statistics``), in place of the bar of the passes'
    noise that ``beyond_the_run`` puts on the best pass. A run on batches of a row or two
    reads its weights through running statistics that are themselves noisy, so its passes
    wobble by the fault itself: dev batchnorm_tiny_batches 414205 (1,500 Adam steps of 2
    rows) passed 1.30, 1.26, 1.14, 1.21, 1.03, a pass noise of 0.107; batches of 32 reached
    0.817, below its best by 0.21 but not by three noise widths (0.32), and it was called
    healthy. Its trained weights with recomputed statistics read 1.04: where it got."""
    recomputed = recomputed_statistics_loss(case.replayer, case.copies.final_model, pool,
                                            BN_BATCH)
    if recomputed is None:
        return beyond_the_run(case, trial.experiment.after)
    level = min(case.run_best_validation(), recomputed)
    return helped(Experiment("the trained model against the replay", level,
                             trial.experiment.after, 0), case)


def _user_lr(case) -> float:
    lr = case.replayer.user_lr  # the peak of a schedule
    if lr is None:
        raise Skip("needs the optimizer's learning rate: none was recorded")
    return lr


def _tiny_for_batchnorm(case, user_batch: int) -> bool:
    return user_batch <= TINY_BATCH and has_batchnorm(case.copies.initial_model)


def run_noise_scale(replayer, copies, pool: Batch, user_batch: int,
                    at_end: bool = False) -> NoiseScale:
    """The smaller of the noise scales of the untrained and the trained model. The noise scale
    grows as training goes on (McCandlish et al. 2018, section 3: it rises as the loss falls),
    so a batch can be far above it early in the run and not at its end; and a run that ends
    on a plateau (a full batch whose few steps reached the constant guess) ends where the
    gradient is all but gone, its noise scale above the whole training set (2,684 rows of
    1,186 on dev case 13007, 235 for its untrained model). Whether such a batch costs the run
    is for the trend and the replay to say. ``at_end``: the trained model's alone (where it
    was kept), for a batch too small for BatchNorm, whose fix is a larger batch: its lr is
    scaled up for the noise where the run ends."""
    models = [m for m in (copies.initial_model, copies.final_model) if m is not None]
    models = models[-1:] if at_end else models
    return min((noise_scale(replayer, m, pool, user_batch) for m in models),
               key=lambda n: n.simple)


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def _candidate(case, user_batch: int, noise: NoiseScale) -> int | None:
    """The batch size to try instead, or None when the user's is not suspect."""
    if _tiny_for_batchnorm(case, user_batch):
        return BN_BATCH
    if short_by_its_batch(case.trace):
        return _short_run_candidate(case, user_batch, noise)
    if noise.simple < NEGLIGIBLE_NOISE_ROWS:
        return None
    suggested = max(SMALLEST_BATCH, round(noise.simple)) if math.isfinite(noise.simple) else 0
    if user_batch > LARGE_FACTOR * noise.simple and suggested < user_batch and still_learning(
            case.trace):
        return suggested
    return None


def _short_run_candidate(case, user_batch: int, noise: NoiseScale) -> int | None:
    """For a run short by its batch that barely started (``barely_started``): the batch that
    spreads its rows over the replay's steps (``_spread``), whatever the noise scale reads.
    Else, still learning with its batch above the noise scale: the smaller of the noise scale
    and the spread, as before.

    The barely started run is replayed at the user's rate with the run's rows and at most
    MAX_STEPS steps; per McCandlish et al. a step of B rows does 1 / (1 + B_noise / B) of a
    full step's work, so below the spread the capped steps do more with every row added to
    the batch, and above it, with every row passed, the R / B steps do R / (B + B_noise), less
    with every row added: the spread does most. The noise scale, when below the spread, had
    the replay pass a third of the run's rows and miss the bar (dev two_batches_per_epoch
    365004: 34 RMSprop steps of 962 rows, 6% below the guess, noise scale 35, spread 109;
    batches of 35 took the validation loss 1.027 -> 0.922, not beyond the run's best 1.019;
    batches of 109, 0.771). Measured on an untrained model near the constant guess, whose
    gradient is all but noise, the noise scale is at times infinite (365009: 24 Adam steps of
    575 rows, 0.7% below the guess: no candidate, unexplained; batches of 46 reach 0.411): the
    replay on the run's rows decides. A run that learned more keeps the noise scale: the
    spread's 300 steps through all of a levelled run's rows beat the 120 steps of
    tests/test_batch_size.py's (500, 60) run, which more epochs would do as well."""
    spread = _spread(case, user_batch)
    if barely_started(case):
        suggested = max(SMALLEST_BATCH, round(spread))
        return suggested if suggested < user_batch else None
    fitting = min(noise.simple, spread)
    suggested = max(SMALLEST_BATCH, round(fitting)) if math.isfinite(fitting) else 0
    if user_batch > noise.simple and suggested < user_batch and still_learning(case.trace):
        return suggested
    return None


def short_by_its_batch(trace) -> bool:
    """Fewer than FEW_STEPS steps, at most FEW_STEPS_PER_EPOCH an epoch: a batch of half the
    training set or more is what keeps the run's steps few."""
    return trace.steps < FEW_STEPS and 0 < steps_per_epoch(trace) <= FEW_STEPS_PER_EPOCH


def steps_per_epoch(trace) -> float:
    """Optimizer steps per epoch, the epochs marked by the training loader's passes or else by
    the validation passes; 0 when neither marks them."""
    epochs = len(trace.epoch_starts) or len(trace.validation_passes())
    return trace.steps / epochs if epochs else 0.0


def _spread(case, user_batch: int) -> float:
    """The batch that spreads the run's rows over FEW_STEPS steps: what a run short of steps
    lacks is steps, and the replays stop at as many (MAX_STEPS), so a larger batch than this
    gives it fewer than it could have."""
    return max(case.trace.steps, 1) * user_batch / FEW_STEPS


def still_learning(trace) -> bool:
    """The last half (at least TREND_POINTS) of the validation curve, else of the training
    loss, falls significantly."""
    curve = [p.loss for p in trace.validation_passes() if math.isfinite(p.loss)]
    if len(curve) < TREND_POINTS:
        curve = chunk_means([v for _, v in trace.step_losses() if math.isfinite(v)], 10)
    tail = curve[-max(len(curve) // 2, TREND_POINTS):]
    return len(tail) >= TREND_POINTS and falling(tail)


def _row_budget(case, user_batch: int, batch: int) -> int:
    """The rows the run trained on, capped at MAX_STEPS (TINY_MAX_STEPS for a tiny batch) of
    the user's batches."""
    cap = TINY_MAX_STEPS if batch > user_batch else MAX_STEPS
    return min(max(case.trace.steps, 1), cap) * user_batch


# --- the noise scale ---------------------------------------------------------------------------


def noise_scale(replayer, model: nn.Module, pool: Batch, user_batch: int = 0) -> NoiseScale:
    """|G|^2 and tr(Sigma) from gradients of NOISE_BATCH rows each, on a copy: NOISE_BATCHES
    of them, or as many as hold ``user_batch`` rows when more (as the pool has)."""
    size = NOISE_BATCH
    wanted = max(NOISE_BATCHES, math.ceil(user_batch / size))
    count = min(replayer.sized(wanted), pool.rows // size)
    if count < 2:
        raise Skip(f"needs at least {2 * size} training rows to measure the gradient noise")
    total, small = None, 0.0  # streamed: one gradient's memory, not ``count`` of them
    with isolated(0):
        model = copy.deepcopy(model)
        for i in range(count):
            rows = batch_rows(pool, range(i * size, (i + 1) * size))
            gradient = _gradient(replayer, model, rows)
            small += float((gradient**2).sum()) / count
            total = gradient if total is None else total.add_(gradient)
    large = float(((total / count) ** 2).sum())
    big = size * count
    gradient_sq = (big * large - size * small) / (big - size)
    trace_sigma = (small - large) / (1 / size - 1 / big)
    return NoiseScale(gradient_sq, trace_sigma)


def _gradient(replayer, model: nn.Module, batch: Batch) -> torch.Tensor:
    model.train()
    model.zero_grad(set_to_none=True)
    replayer.loss(model, batch).backward()
    parts = [p.grad.reshape(-1) for p in model.parameters() if p.grad is not None]
    return torch.cat(parts).double() if parts else torch.zeros(1, dtype=torch.float64)


# --- replays on rebatched rows -----------------------------------------------------------------


def _trial(case, pool: Batch, user_batch: int, batch: int, lr: float, noise: NoiseScale,
           rows: int) -> Trial:
    new_lr = (lr * batch / user_batch if _tiny_for_batchnorm(case, user_batch)
              else lr if barely_started(case)
              else scaled_lr(lr, user_batch, batch, noise.simple))
    if rows == REPLAY_STEPS * user_batch:
        before = case.baseline
    else:
        kept = replayable_batch(user_batch, pool)
        before = replay_rebatched(case.replayer, pool, kept, lr, rows // user_batch * kept,
                                  TINY_MAX_STEPS, user_batch)
    after = replay_rebatched(case.replayer, pool, batch, new_lr, rows, MAX_STEPS, user_batch)
    return Trial(user_batch, batch, lr, new_lr, rows, before, after)


def replayable_batch(user_batch: int, pool: Batch) -> int:
    """The user's batch as the kept rows can replay it: all of them when the batch is larger
    than the sample kept (a whole training set as one batch, of more rows or bytes than the
    capture keeps: test full_batch 710015 was "unexplained", this check skipped with "needs at
    least N kept training rows"). Every step of the run's steps then takes the gradient of all
    the kept rows, the nearest to the whole set's that the sample holds."""
    return min(user_batch, pool.rows)


def _against_more_epochs(case, pool: Batch, trial: Trial) -> Experiment:
    """The smaller batch's replay against the user's batch and lr trained MORE_EPOCHS times the
    run's steps (no more than the smaller batch took)."""
    steps = min(len(trial.after.train_losses), MORE_EPOCHS * max(case.trace.steps, 1))
    kept = replayable_batch(trial.user_batch, pool)
    longer = replay_rebatched(case.replayer, pool, kept, trial.user_lr, steps * kept, steps,
                              trial.user_batch)
    return fix_experiment(f"batches of {trial.batch} rows instead of {trial.user_batch} trained "
                          f"for {steps} steps", longer, trial.after)


# Batches too small for BatchNorm move to a larger batch at the linearly scaled rate (Goyal et
# al. 2017, who scaled BatchNorm ResNets so): the noise scale measured through BatchNorm on a
# row or two mixes the statistics' noise into the gradient's and swung from 9 to 82 over three
# seeds of one two-image run (tests/test_batch_size.py brightness_run), its rate from 0.004 to
# 0.012; at 0.005 batches of 32 took the validation loss from 0.204 to 0.170 only, the linear
# rate (0.016) to 0.065-0.090 on all three.


def scaled_lr(lr: float, old_batch: int, new_batch: int, noise: float) -> float:
    """McCandlish et al.'s best lr at a batch B is eps_max / (1 + B_noise / B): moving from one
    batch size to another multiplies the lr by the ratio of those factors."""
    if not math.isfinite(noise):
        return lr * new_batch / old_batch
    return lr * (1 + noise / old_batch) / (1 + noise / new_batch)


# --- BatchNorm statistics from tiny batches ---------------------------------------------------


def batch_statistics_experiment(case, user_batch: int) -> Experiment | None:
    """The trained model's validation loss with BatchNorm's running statistics (eval mode, as
    validated) and with each batch of ``user_batch`` rows normalized by its own statistics, as
    in training; None without the trained model."""
    if case.copies.final_model is None:
        return None
    replayer = case.replayer
    small = rebatch(pooled(replayer.validation_batches), user_batch)
    if not small:
        return None
    running = replayer.evaluate(copy.deepcopy(case.copies.final_model), small)
    model = copy.deepcopy(case.copies.final_model).train()
    with isolated(0), torch.no_grad():
        # per element, as ``running`` and the curves are: the training loss of a summed
        # reduction is a sum over the batch's elements
        own = sum(float(replayer.scored_loss(model, b)) * b.rows for b in small) / sum(
            b.rows for b in small)
    return Experiment(f"BatchNorm normalizing each batch of {user_batch} validation rows by "
                      "its own statistics, as in training, instead of by running statistics",
                      running, own, 0)


def _statistics_finding(case, user_batch: int) -> list[Finding]:
    experiment = batch_statistics_experiment(case, user_batch)
    if experiment is None or not helped(experiment, case):
        return []
    return [Finding(
        BATCH_SIZE,
        confidence=0.6 + 0.35 * min(improvement(experiment) / 0.5, 1.0),
        verdict=(f"Your batches of {user_batch} rows are too small for the model's BatchNorm "
                 "layers: in training each batch is normalized by its own statistics, at "
                 "validation by running averages of them, and the two differ. Your trained "
                 f"model scores {experiment.after:.3g} on the validation rows normalized as in "
                 f"training and {experiment.before:.3g} as validated."),
        evidence={"batch_size": float(user_batch), "suggested_batch_size": float(BN_BATCH),
                  "val_running_statistics": experiment.before,
                  "val_batch_statistics": experiment.after,
                  "improvement": improvement(experiment)},
        fix=(f"Train with batches of at least {BN_BATCH} rows, or replace BatchNorm with "
             "GroupNorm or LayerNorm, which do not depend on the batch."),
        experiment=experiment,
    )]


# --- finding -----------------------------------------------------------------------------------


def _finding(trial: Trial, noise: NoiseScale, batchnorm: bool, short: str = "") -> Finding:
    tiny = trial.batch > trial.user_batch
    experiment = trial.experiment
    return Finding(
        BATCH_SIZE,
        confidence=0.6 + 0.35 * min(improvement(experiment) / 0.5, 1.0),
        verdict=_verdict(trial, experiment, noise, tiny and batchnorm, short),
        evidence=_evidence(trial, experiment, noise),
        fix=_fix(trial),
        experiment=experiment,
    )


def _rows_words(trial: Trial) -> str:
    """How much data both replays train on: rows passed through, not the dataset's size
    (batch_size_full_batch_mlp: 'the same 60,000 training rows' for 20 epochs of 3,000 rows)."""
    return (f"through as many rows either way ({trial.rows:,}: {trial.rows // trial.user_batch:,} "
            f"of your batches of {trial.user_batch:,})")


def _fix(trial: Trial) -> str:
    text = (
        f"Use batches of about {trial.batch} rows with lr {plain_lr(trial.lr)} (instead of "
        f"{trial.user_batch} rows at lr {plain_lr(trial.user_lr, 3)}) for as many epochs as before"
    )
    if trial.batch > trial.user_batch:
        return text + ", or replace BatchNorm with GroupNorm or LayerNorm if memory forbids it."
    return text + ", or keep your batch size and train for more epochs."


def _short_words(trace) -> str:
    """"Your batches of 575 rows take your training set in 2 steps an epoch, so the whole run
    made 24 optimizer steps", for a run short by its batch; else ""."""
    if not short_by_its_batch(trace):
        return ""
    per_epoch = steps_per_epoch(trace)
    return (f"take your training set in {per_epoch:.2g} step{'s' if per_epoch >= 1.5 else ''} "
            f"an epoch, so the whole run made only {trace.steps} optimizer steps")


def _verdict(trial: Trial, experiment: Experiment, noise: NoiseScale, batchnorm: bool,
             short: str = "") -> str:
    replay = (
        f"Replayed {_rows_words(trial)}, batches of {trial.batch} at lr "
        f"{plain_lr(trial.lr)} bring the validation loss from {experiment.before:.3g} to "
        f"{experiment.after:.3g}."
    )
    if batchnorm:
        return (
            f"Your batches of {trial.user_batch} rows are too small for the model's BatchNorm "
            "layers: each normalizes by statistics of a row or two, which differ from the "
            f"running statistics used at validation. {replay}"
        )
    larger = (f"are far larger than the gradient noise calls for (its noise scale is about "
              f"{noise.simple:.3g} rows): each step averages away noise that was already small")
    if short and trial.batch < trial.user_batch:
        noisy = math.isfinite(noise.simple) and trial.user_batch > LARGE_FACTOR * noise.simple
        return (f"Your batches of {trial.user_batch:,} rows {short}: too few for the model to "
                f"learn much." + (f" They {larger}." if noisy else "") + f" {replay}")
    return (f"Your batches of {trial.user_batch} rows {larger}, so your epochs take too few "
            f"steps. {replay}")


def _evidence(trial: Trial, experiment: Experiment, noise: NoiseScale) -> dict[str, float]:
    evidence = {
        "batch_size": float(trial.user_batch),
        "suggested_batch_size": float(trial.batch),
        "gradient_noise_scale": noise.simple,
        "user_lr": trial.user_lr,
        "replayed_lr": trial.lr,
        "rows_replayed": float(trial.rows),
        "val_before": experiment.before,
        "val_after": experiment.after,
        "improvement": improvement(experiment),
    }
    return {name: value for name, value in evidence.items() if math.isfinite(value)}
