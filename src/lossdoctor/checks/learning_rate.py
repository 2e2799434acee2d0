"""Is the learning rate too high or too low for this model, loss, optimizer and data?

Three kinds of evidence must agree before a cause is reported:

1. Where the user's lr sits on a learning-rate range test (:mod:`lossdoctor.lr_range`) run on a
   copy. Too high: past the lr where the loss stops falling, on a test that blows up within two
   decades above the user's lr. Too low: orders of magnitude below the range test's
   suggestion. The range test should show the loss responding to the lr (falling or blowing
   up somewhere): on a flat curve its lowest point, and so its suggestion, is arbitrary. A
   model too slow to move in the test's step or two per lr is flat too; "too low" is then
   reported only when the replay at the higher lr beats the best constant guess on held-out
   data (labels without information cannot).
2. The run's own symptoms, against the untrained model's loss on the same batches. Too high:
   losses that are not finite, a training loss that made next to no progress or got worse
   while a lower lr makes progress, step-to-step swings well beyond those at the lower lr, or
   a run that clearly beat the constant guess and then fell back to it for good
   (:mod:`._collapsed_run`), which the lower lr's replay must not do.
   Too low: a training loss that made next to no progress while a higher lr makes progress.
3. A counterfactual replay at a better lr against the replay of the user's own setup
   (``case.baseline``): the validation loss must clearly improve.

(The fraction of steps whose loss rises is not used: with minibatch noise it sits near one half
in healthy and broken runs alike.)
"""

from __future__ import annotations

import itertools
import math
import statistics
import time
from dataclasses import dataclass, replace

from lossdoctor.blow_up import blow_up_start
from lossdoctor.case import REPLAY_STEPS, Case
from lossdoctor.checks._collapsed_run import (
    collapse_evidence,
    collapse_text,
    collapsed_run,
    keeps_what_it_learned,
)
from lossdoctor.checks._early_deaths import EarlyDeath, killed_early
from lossdoctor.checks._fix import (
    MEANINGFUL_IMPROVEMENT,
    beyond_the_run,
    fix_experiment,
    helped,
    improvement,
    relative_drop,
    run_validation,
    settled_loss,
)
from lossdoctor.checks._lr_rise import CURVES_ONLY, find_rise, peaks_early
from lossdoctor.checks._negative_rate import NegativeRate, negative_rate
from lossdoctor.checks._plain import plain_lr
from lossdoctor.checks._rate_at_default_init import from_default_init
from lossdoctor.checks._rebatch import (
    SMALLEST_BATCH,
    pooled_training,
    replay_rebatched,
    user_batch_size,
)
from lossdoctor.checks._same_length import (
    MORE_RUNS,
    Behind,
    behind,
    may_be_far_behind,
    runs_to_reach,
)
from lossdoctor.checks._sgd_rates import below_every_usual_rate, below_usual_sgd_rates
from lossdoctor.collapse import Collapse, fell_back
from lossdoctor.curve_stats import chunk_means, falling
from lossdoctor.experiments import Plan, Replayer, ReplayResult
from lossdoctor.findings import TRAINING_SETTING, Cause, Experiment, Finding, Skip
from lossdoctor.lr_range import (
    LOW_GAP_DECADES,
    RangeTest,
    decades,
    lr_range_test,
    span_around,
)
from lossdoctor.lr_schedule import LrSchedule
from lossdoctor.measured_consequences import CHANGED_FIRST, SAME_EFFECT_MARGIN

LR_TOO_HIGH = Cause(
    id="lr_too_high",
    title="The learning rate is too high",
    fix="Lower the learning rate.",
    question="Is your learning rate too high?",
    test=(
        "an LR range test with your rate placed on it, the run's own oscillation and progress "
        "(a loss that fell back to the constant guess after clear progress); replay at the "
        "suggested rate (without a replay: a loss that turned up while a warmup raised the "
        "rate toward its peak)"
    ),
    # Too high an lr makes every replay at it blow up, so Adam at its own lr looks like a
    # better optimizer when it is a smaller step.
    explains={"dead_relu", "exploding_gradients", "optimizer_choice", "underfit_capacity",
              "nan_inf"},
    # Steps too large drive tanh and sigmoid units to their limits, once the lower rate's replay
    # is measured to help (makemore's MLP at AdamW 0.5: its tanh layer 66% pinned after the
    # first updates, 99% at the end, shown above the rate as a cause of its own).
    explains_if_fixed={"saturated_activation"},
    figures=("lr_range",),
    setting=TRAINING_SETTING,
)
LR_TOO_LOW = Cause(
    id="lr_too_low",
    title="The learning rate is too low",
    fix="Raise the learning rate.",
    question="Is your learning rate too low?",
    test=(
        "an LR range test with your rate placed on it, the run's own oscillation and progress; "
        "replay at the suggested rate"
    ),
    figures=("lr_range",),
    setting=TRAINING_SETTING,
)

CAUSES = (LR_TOO_HIGH, LR_TOO_LOW)


#: The range test "responds to the lr" when its loss falls by at least this fraction (or it
#: blows up): the bar a fix must clear, for the same reason.
MIN_RANGE_DROP = MEANINGFUL_IMPROVEMENT
#: Step-to-step loss variation this many times that at the lower lr on the same batches is
#: oscillation caused by the lr (the batches' own noise is common to both and cancels).
OSCILLATION_RATIO = 2.0
#: The training loss "rose late" when the mean of the run's last stretch is this many times that
#: of its best stretch, beyond how much a replay at the lower lr rises: the same ratio, for the
#: same reason, as OSCILLATION_RATIO (the data's own ups and downs are common to both).
LATE_RISE_RATIO = OSCILLATION_RATIO
#: Stretches a run's training losses are cut into to compare its end with its best: each
#: averages an eighth of the run, so minibatch noise averages out, and the last is its final
#: eighth.
RISE_STRETCHES = 8
#: Closer than LOW_GAP_DECADES, the range test alone does not say "too low": a decade below its
#: lowest point is where the usual pick (a tenth of it) puts a healthy rate. Plain SGD at
#: Adam's rate sits there too (the generator's adam_to_sgd_same_lr), so at least this far
#: below the lowest point, the run and the replay of its setup must lag a replay at the
#: higher lr (LAGGING_SHARE) for the lr to be blamed.
NEAR_GAP_DECADES = 1.0
#: "Lags": less than this share of the progress the replay at the higher lr makes: the
#: generator's own rule for a run that lags its fixed twin (bench/devset/validity.py: a gain
#: at most half the twin's), as optimizer_choice's STUCK_SHARE.
LAGGING_SHARE = 0.5
#: The most progress a run can make (its loss at 0) when the loss cannot go below zero.
FULL_PROGRESS = 1.0
#: "Next to no progress": the run's training loss fell below the untrained model's by less than
#: this share of what the replay at the better lr achieves on the same batches.
STALLED_SHARE = 0.25
#: "Settled far above": the run's training loss got less than this share of the way down that a
#: replay at the lower lr gets on the same batches. The same "less than half the way" bar
#: optimizer_choice puts on a run it calls stuck. Measured on the 840 stored reports of earlier
#: sessions in which learning_rate ran: five had a lower lr confirmed by the replay and no other
#: symptom (so a finding at 0.3, not reported), all five broken runs (a too-high lr put in on
#: purpose or by the thread's asker), at 0.35, 0.36, 0.40, 0.65 and 0.72 of the lower lr's
#: progress; no fixed twin or healthy run reached that point (docs/corpus.md, session 9).
SETTLED_SHARE = 0.5
#: Validation passes the run's last half must hold for its trend to be tested: with four, only
#: a strictly falling curve passes the one-sided trend test (batch_size's TREND_POINTS).
STEADY_POINTS = 4
#: "Learns steadily" asks the run's own curve to have come more than this share of the way
#: the replay at the higher lr gets (from the constant guess, else the untrained model).
#: STALLED_SHARE (a quarter) let plain SGD at 0.02 on an LSTM (dev plain_sgd 32006: 0.694 ->
#: 0.521 in 8 epochs, a third of the way lr 0.8 gets in 300 steps, falling in a straight
#: line; its twin, Adam, reaches 0.17) pass for a steady learner, and with optimizer_choice
#: declining (plain SGD at a higher lr does as well) the run was called healthy. The dev
#: runs dismissed as steady that should be (twins) came 0.46 (21085: AdamW 1e-3), 0.48,
#: 0.49 and 0.54 of the way; the bar sits between them and 32006's 0.33.
STEADY_SHARE = 0.4
#: The ladder of rates tried above the user's in a short run: each twice the last (a factor
#: of 2 is the usual step of a manual search; the range test's candidates are a decade apart),
#: at most three (8x the user's rate, most of the decade to the range test's lowest point).
DOUBLING = 2.0
MAX_DOUBLINGS = 3
#: Chunks a run's training loss is averaged in when its validation passes are too few for a
#: trend: batch_size's still_learning does the same, so minibatch noise averages out and the
#: last half still holds STEADY_POINTS points.
TRAINING_CHUNKS = 10
#: On a flat range test (``_flat``), the "too high" replays try the user's rate divided by
#: these: a decade and two below, the steps a practitioner tries first and the decade the range
#: test's own pick steps down, as ``_doublings`` tries rates upward. A flat test's suggestion
#: is noise: bench/projects5's BERT under AdamW at 0.05 (loss at the constant guess from the
#: start) got a suggestion of 2.9e-4, where 300 steps stay at the guess too, while the
#: project's own rate, 3e-3, trains (a decade and a bit below the user's).
FLAT_TEST_CUTS = (10.0, 100.0)
#: For ReLU units the first updates killed (checks._early_deaths), the lower rate replayed is
#: at most the user's divided by this: a decade, the step of the range test's own pick (a
#: tenth of its lowest point) and of a practitioner's first try. s13 (Adam at 0.05): 1e-3
#: trains to accuracy 0.99 (bench/fresh20/README.md).
KILLED_RATE_CUT = 10.0


@dataclass
class Counterfactual:
    """A replay of the user's setup with only the learning rate changed."""

    lr: float
    replay: ReplayResult

    @property
    def val_after(self) -> float:
        return settled_loss(self.replay)


@dataclass
class Measures:
    """The numbers both causes are judged on."""

    user_lr: float  # the peak of the run's schedule (its only lr without one)
    optimizer: str
    test: RangeTest
    baseline: ReplayResult  # the user's own setup
    run_losses: list[float]  # mean training loss of each optimizer step of the run
    untrained_loss: float  # the initial model's loss on the training batches
    scheduled: bool = False  # the lr changed during the run
    #: The best constant guess's loss on the same batches (None when it cannot be had).
    constant_loss: float | None = None

    @property
    def lr_words(self) -> str:
        """"Your learning rate (0.001, Adam)", or with a schedule "Your peak learning rate"."""
        which = "peak learning rate" if self.scheduled else "learning rate"
        return f"Your {which} ({plain_lr(self.user_lr, 3)}, {self.optimizer})"

    @property
    def val_before(self) -> float:
        return settled_loss(self.baseline)

    def vs_untrained(self, losses: list[float]) -> float:
        """Training loss over the second half of a run, relative to the untrained model's:
        below 1 is progress."""
        late = _second_half_mean([v for v in losses if math.isfinite(v)])
        return late / self.untrained_loss if self.untrained_loss > 0 else math.nan

    @property
    def nothing_learned(self) -> float:
        """The training loss of a model that learned nothing from its inputs: the untrained
        model's, or the best constant guess's when lower. An initialization worse than a
        constant (a large output layer) is left by learning the targets' mean, which reads
        no input: a run stuck at the constant guess made no progress on the task."""
        constant = self.constant_loss
        if constant is None or not math.isfinite(constant) or constant <= 0:
            return self.untrained_loss
        return min(self.untrained_loss, constant)

    def progress(self, losses: list[float]) -> float:
        """How far below ``nothing_learned`` the second half of a run's training loss is, as
        a share of it: 0 for none, negative for worse."""
        late = _late_mean(losses)
        reference = self.nothing_learned
        return 1 - late / reference if reference > 0 else math.nan

    @property
    def below_constant(self) -> bool:
        """Whether the constant guess is the reference progress is measured from."""
        return self.nothing_learned < self.untrained_loss

    def behind(self, other: Counterfactual, share: float, *runs: list[float]) -> bool:
        """The run (or each of ``runs``' training losses) made at most ``share`` of the progress
        the other lr makes on the same batches."""
        other_progress = self.progress(other.replay.train_losses)
        return other_progress > 0 and all(
            self.progress(losses) <= share * other_progress
            for losses in runs or (self.run_losses,))

    def stalled(self, other: Counterfactual) -> bool:
        """The run made next to no progress (or went backwards) where the other lr does not."""
        return self.behind(other, STALLED_SHARE)

    def settled_high(self, other: Counterfactual) -> bool:
        """The run progressed, but less than SETTLED_SHARE of the way the other lr gets."""
        return self.behind(other, SETTLED_SHARE)

    def lagging(self, other: Counterfactual) -> bool:
        """Both the run and the replay of its setup made at most LAGGING_SHARE of the progress
        the other lr makes: a run whose replay at its own lr keeps up is not held back by the
        lr (for a run shorter than REPLAY_STEPS both replays take its own steps:
        ``_replay_steps``)."""
        return self.behind(other, LAGGING_SHARE, self.run_losses, self.baseline.train_losses)

    @property
    def may_lag(self) -> bool:
        """Whether ``lagging`` can hold for any replay (read before paying for one): with a
        loss that cannot go below zero, no replay makes more than FULL_PROGRESS."""
        return all(self.progress(losses) <= LAGGING_SHARE * FULL_PROGRESS
                   for losses in (self.run_losses, self.baseline.train_losses))

    def oscillation_ratio(self, other: Counterfactual) -> float:
        reference = relative_variation(other.replay.train_losses)
        return relative_variation(self.run_losses) / reference if reference else 0.0

    def late_rise(self, other: Counterfactual) -> float:
        """How many times more the run's training loss rose from its best stretch to its end
        than a replay at the other lr did."""
        return rise(self.run_losses) / max(rise(other.replay.train_losses), 1.0)

    @property
    def nonfinite_fraction(self) -> float:
        values = self.run_losses
        return sum(not math.isfinite(v) for v in values) / len(values) if values else 0.0

    @property
    def responds_to_lr(self) -> bool:
        return self.test.diverged or self.test.drop >= MIN_RANGE_DROP


def check(case: Case) -> list[Finding]:
    """``lr_too_high`` or ``lr_too_low`` when range test, symptoms and replay agree; without
    replays, ``lr_too_high`` from the curves of a warmup whose loss turned below its peak; a
    negative rate that kept the loss from falling, from the run alone."""
    negative = negative_rate(case.trace)
    if negative is not None:
        return [_negative_finding(negative)]
    try:
        case.require_replay()  # Skip without replays, before anything is measured
    except Skip:
        found = too_high_on_the_curves(case)
        if found is None:
            raise
        return [found]
    m = measure(case)
    return [f for f in (_too_high(case, m), _too_low(case, m)) if f is not None]


def measure(case: Case) -> Measures:
    replayer = case.require_replay()
    user_lr = _user_lr(case)
    test = lr_range_test(replayer, *span_around(user_lr))
    run_losses = [loss for _, loss in case.trace.step_losses()]
    untrained = replayer.evaluate(case.copies.initial_model, replayer.train_batches)
    optimizer = case.copies.optimizer_class.__name__
    return Measures(user_lr, optimizer, test, case.baseline, run_losses, untrained,
                    _scheduled(case), case.constant_guess_loss("training"))


#: How sure a negative rate is the cause: the rate is read from the run, and its losses show
#: the steps did not bring the loss down; what is left is an optimizer of one's own that adds
#: ``lr * gradient`` (such a run's loss falls, and nothing is reported).
NEGATIVE_RATE_CONFIDENCE = 0.95


def _negative_finding(negative: NegativeRate) -> Finding:
    """lr_too_high in its sign: a negative rate steps up the gradient, so the loss climbs or
    blows up as at too high a rate (and explains the same consequences)."""
    late = (f"{negative.late:.3g}" if math.isfinite(negative.late) else "not finite")
    return Finding(
        LR_TOO_HIGH, NEGATIVE_RATE_CONFIDENCE,
        f"Your learning rate is negative ({plain_lr(negative.lr, 3)}) for {negative.steps} "
        f"optimizer steps from step {negative.first_step}: each step moves the weights up the "
        f"gradient, which raises the loss instead of lowering it. Over those steps the training "
        f"loss went from {negative.before:.3g} to {late}.",
        evidence={"lowest_lr": negative.lr, "first_negative_step": negative.first_step,
                  "negative_steps": negative.steps, "loss_before": negative.before,
                  "late_loss": negative.late},
        fix=("Use a positive learning rate: optimizers subtract the rate times the gradient, "
             "so a negative rate climbs the loss."),
        root=True, title="The learning rate is negative")


def replay_at(replayer: Replayer, lr: float, steps: int = REPLAY_STEPS) -> Counterfactual:
    return Counterfactual(lr, replayer.replay(Plan(lr=lr, steps=steps)))


def _replay_steps(m: Measures) -> int:
    """How long the replays that judge "too low" train: the run's own optimizer steps when
    REPLAY_STEPS is at least MORE_RUNS times them, else REPLAY_STEPS. A rate too low shows as
    a run that gets less far than a higher rate in the steps it had; a replay MORE_RUNS times
    as long or longer gives the user's rate the "training longer" that learning_steadily
    weighs separately, and can get as far as the higher rate: dev plain_sgd 40006
    (plain SGD at 0.04 with StepLR on a CNN, 105 steps, validation loss 17.4 -> 5.50 against a
    constant guess of 7.76; the replay of its setup for 300 steps reached 0.45, so the run
    read as keeping up; its twin, momentum 0.9, reached 0.78 in the same 105 steps). A run
    nearly as long as a replay is judged as before: sgd_tiny_lr 40004's twin (RMSprop at 1e-3,
    270 steps, 0.42 of the way below the guess) lagged a 270-step replay at 0.009 and was
    blamed, where the range test puts its rate at the usual pick."""
    steps = len(m.run_losses)
    return steps if 0 < steps * MORE_RUNS <= REPLAY_STEPS else REPLAY_STEPS


def _doublings(m: Measures) -> list[float]:
    """The user's rate doubled, and doubled again, up to the range test's lowest point: the
    rates a practitioner tries next. The range test's two candidates are a decade apart, and
    between them can lie the only rates that work: plain SGD on dev plain_sgd 40006 (lr 0.04,
    lowest point 0.37) reaches 0.65 in its 105 steps at 0.07 and collapses to the constant
    guess at 0.12 and above."""
    rates, lr = [], DOUBLING * m.user_lr
    while lr < m.test.minimum_lr and len(rates) < MAX_DOUBLINGS:
        rates.append(lr)
        lr *= DOUBLING
    return rates


def _user_lr(case: Case) -> float:
    """The highest lr the run trained at (the peak of a warmup or schedule: see
    :mod:`lossdoctor.lr_schedule`), which is the one the range test places."""
    lr = case.replayer.user_lr
    if lr is None:
        raise Skip("needs the optimizer's learning rate: none was recorded")
    if not lr > 0:
        raise Skip(f"needs a positive learning rate; the optimizer's is {lr}")
    return lr


def _scheduled(case: Case) -> bool:
    schedule = case.replayer.schedule
    return schedule is not None and schedule.replayed


# --- too high ------------------------------------------------------------------------------


def _too_high(case: Case, m: Measures) -> Finding | None:
    killed = [] if _high_position(m) else killed_early(case.trace)
    collapsed = collapsed_run(case)
    if not (_high_position(m) or _late_rise_position(m) or killed or collapsed):
        return None
    lower = _best_lower(case.replayer, m, killed, collapsed)
    experiment = _experiment(m, lower)
    kept = collapsed is not None and keeps_what_it_learned(case, collapsed, lower.replay)
    if kept and not helped(experiment, case):
        experiment = _against_the_run(m, lower, collapsed)
    if not (helped(experiment, case) or kept):
        return None
    if not (_high_position(m) or killed or kept) and m.late_rise(lower) < LATE_RISE_RATIO:
        return None
    symptom = kept or _high_symptom(m, lower)
    strength = 0.25 * min(improvement(experiment) / 0.5, 1.0) + 0.15 * _past_divergence(m)
    return Finding(
        cause=LR_TOO_HIGH,
        confidence=0.6 + strength if symptom else 0.3,
        verdict=(_collapse_verdict(m, lower, collapsed) if kept
                 else _high_verdict(m, lower, symptom, killed)),
        evidence=(_high_evidence(m, lower) | _killed_evidence(killed)
                  | (collapse_evidence(collapsed) if kept else {})),
        fix=f"Lower the {_which(m)} from {plain_lr(m.user_lr, 3)} to about "
        f"{plain_lr(lower.lr)} (optimizer {m.optimizer}).",
        experiment=experiment,
        details={"range_test": range_test_details(m.test, m.user_lr, lower.lr)},
    )


def _high_position(m: Measures) -> bool:
    """Past the lowest point of the range test, on a test that blows up before its end (two
    decades above the user's lr, or at 10): where training blows up, the lr matters."""
    return m.user_lr > m.test.minimum_lr and m.test.diverged


def _late_rise_position(m: Measures) -> bool:
    """Above the range test's suggestion, on a test that blows up, and a run whose training
    loss fell and then rose (LATE_RISE_RATIO): the range test takes a few steps at each lr,
    and an lr that is fine for a few steps can still be too high for a whole run, once the
    loss is low (sequence_tagging_bilstm_crf_lr). Read off the run alone, so that no replay is
    spent where the run did not rise."""
    return (m.test.diverged and m.user_lr > m.test.suggested_lr
            and rise(m.run_losses) >= LATE_RISE_RATIO)


def _past_divergence(m: Measures) -> bool:
    return m.test.diverged and m.user_lr >= m.test.divergence_lr


def _high_symptom(m: Measures, lower: Counterfactual) -> bool:
    return (
        m.nonfinite_fraction > 0
        or m.stalled(lower)
        or m.settled_high(lower)
        or m.oscillation_ratio(lower) >= OSCILLATION_RATIO
        or m.late_rise(lower) >= LATE_RISE_RATIO
    )


def _lower_rates(m: Measures, killed: list[EarlyDeath],
                 collapsed: Collapse | None = None) -> list[float]:
    """The rates the "too high" replays try: the range test's suggestion; for units the first
    updates killed, at most a decade below the user's (KILLED_RATE_CUT): a range test of a few
    steps at each rate sees a loss that falls while the units die, and its suggestion can lie
    above the rate that killed them (bench/fresh20 s13, Adam at 0.05). The same for a run that
    learned and then fell back to the constant guess (``_collapsed_run``): its rate trained for
    a while, which a few steps at each rate also see (past the range test's lowest point, its
    suggestion already lies below the user's rate). On a flat range test (``_flat``) its
    suggestion is noise: the user's rate a decade and two below (FLAT_TEST_CUTS), the first
    tried first."""
    if killed or (collapsed and not _high_position(m)):
        return [min(m.test.suggested_lr, m.user_lr / KILLED_RATE_CUT)]
    if _flat(m.test):
        return [m.user_lr / cut for cut in FLAT_TEST_CUTS]
    return [m.test.suggested_lr]


def _flat(test: RangeTest) -> bool:
    """The range test's loss fell less than MIN_RANGE_DROP before it blew up (or did not): its
    lowest point, and the suggestion a tenth of it, are where the noise happened to be lowest."""
    return test.drop < MIN_RANGE_DROP


def _best_lower(replayer: Replayer, m: Measures, killed: list[EarlyDeath],
                collapsed: Collapse | None = None) -> Counterfactual:
    """The replay at the best of ``_lower_rates`` (the lowest finite validation loss); a rate
    after the first only while the time left holds another replay as long as the first took
    (the budget the checks after this one need stays theirs)."""
    first, *others = _lower_rates(m, killed, collapsed)
    start = time.perf_counter()
    tried = [replay_at(replayer, first)]
    took = time.perf_counter() - start
    for lr in others:
        if replayer.seconds_left() < took:
            break
        tried.append(replay_at(replayer, lr))
    finite = [c for c in tried if math.isfinite(c.val_after)]
    return min(finite, key=lambda c: c.val_after) if finite else tried[0]


def _killed_evidence(killed: list[EarlyDeath]) -> dict[str, float]:
    if not killed:
        return {}
    worst = killed[0]
    return {"relu_dead_share_at_start": worst.at_start,
            "relu_dead_share_after_first_steps": worst.least_after,
            "relu_dead_from_step": float(worst.dead_from)}


def _killed_text(killed: list[EarlyDeath]) -> str:
    worst = killed[0]
    return (f"in its first {worst.dead_from} steps your training killed the ReLU units of "
            f"{worst.layer!r} ({worst.at_start:.0%} dead at the start, at least "
            f"{worst.least_after:.0%} from step {worst.dead_from} to the end): a step too large "
            f"pushes a unit below zero for every input, and a dead unit gets no gradient to "
            f"come back")


def _high_verdict(m: Measures, lower: Counterfactual, symptom: bool,
                  killed: list[EarlyDeath] | None = None) -> str:
    lr = m.lr_words
    if killed:
        where = _killed_text(killed)
    elif not _high_position(m):
        where = (f"a learning-rate range test, a few steps at each rate, blows up at about "
                 f"{plain_lr(m.test.divergence_lr)}: your rate holds for a few steps, not for "
                 f"a whole run")
    elif _flat(m.test):
        where = (f"on a learning-rate range test the loss hardly moves at any rate up to "
                 f"about {plain_lr(m.test.divergence_lr)}, where it blows up")
    else:
        where = (f"on a learning-rate range test the loss stops falling at about "
                 f"{plain_lr(m.test.minimum_lr)} and blows up at about "
                 f"{plain_lr(m.test.divergence_lr)}")
    if not symptom:
        return f"{lr} is near the edge ({where}), but your run shows no sign of it."
    return f"{lr} is too high: {_high_symptom_text(m, lower)}; {where}. {_replay_text(m, lower)}."


def _against_the_run(m: Measures, lower: Counterfactual, collapsed: Collapse) -> Experiment:
    """The lower rate's replay against where the run itself ended, for a run whose fall its
    own replay did not repeat: where the step that knocks a model off comes varies from run to
    run (dev 431012: the run fell back after its first epoch, its replay at the same rate
    reached 2e-10)."""
    return Experiment(f"lr {plain_lr(lower.lr)} instead of {plain_lr(m.user_lr, 3)} "
                      f"({m.optimizer})", collapsed.end, lower.val_after,
                      lower.replay.planned_steps,
                      measure="validation loss (before: where your run ended)")


def _collapse_verdict(m: Measures, lower: Counterfactual, collapsed: Collapse) -> str:
    """A run that learned and lost it: its curve, the lower rate's replay, and the replay of
    the user's own setup, which need not fall back in its own steps."""
    if not math.isfinite(m.val_before):
        own = "replayed at your rate, your setup blows up"
    elif fell_back(m.baseline.validation_losses, collapsed.guess) is not None:
        own = f"replayed at your rate, your setup fell back too, to {m.val_before:.3g}"
    else:
        own = (f"replayed at your rate, your setup got to {m.val_before:.3g} this time: where "
               "the step that knocks a model off comes varies from run to run")
    return (f"{m.lr_words} is too high: {collapse_text(collapsed)}. Replayed for "
            f"{lower.replay.planned_steps} steps at lr {plain_lr(lower.lr)}, the validation loss "
            f"settles at {lower.val_after:.3g} and keeps it ({own}).")


def _high_symptom_text(m: Measures, lower: Counterfactual) -> str:
    if m.nonfinite_fraction > 0:
        return f"{m.nonfinite_fraction:.0%} of your training losses are NaN or infinite"
    if m.stalled(lower) or _only_settled_high(m, lower):
        return _progress_text(m, lower)
    if m.oscillation_ratio(lower) < OSCILLATION_RATIO:
        return (f"your training loss fell, then rose to {rise(m.run_losses):.1f}x its lowest "
                f"by the end of the run, where a replay at lr {plain_lr(lower.lr)} keeps "
                f"falling")
    return (
        f"your training loss swings {m.oscillation_ratio(lower):.1f}x as much from step to "
        f"step as at lr {plain_lr(lower.lr)} on the same batches"
    )


def _only_settled_high(m: Measures, lower: Counterfactual) -> bool:
    return (m.settled_high(lower) and m.oscillation_ratio(lower) < OSCILLATION_RATIO
            and m.late_rise(lower) < LATE_RISE_RATIO)


def _high_evidence(m: Measures, lower: Counterfactual) -> dict[str, float]:
    evidence = _common_evidence(m, lower)
    evidence.update(
        oscillation_ratio=m.oscillation_ratio(lower),
        late_rise=m.late_rise(lower),
        step_to_step_variation=relative_variation(m.run_losses),
        nonfinite_fraction=m.nonfinite_fraction,
    )
    if m.test.diverged:
        evidence["divergence_lr"] = m.test.divergence_lr
    return _finite(evidence)


def too_high_on_the_curves(case: Case) -> Finding | None:
    """The loss fell while a warmup raised the rate, then turned up (giving back at least half
    its progress) at a rate below the peak the schedule reached early and trained at: the
    peak is too high. Read when the training cannot be replayed (see lr_schedule's rise)."""
    schedule = LrSchedule.of(case.trace.setup, case.trace.steps)
    if schedule is None or schedule.constant or not peaks_early(schedule):
        return None
    rise = find_rise(schedule, case.trace.step_losses())
    if rise is None:
        return None
    end = f"{rise.end:.3g}" if math.isfinite(rise.end) else "NaN or infinity"
    verdict = (
        f"Your peak learning rate ({plain_lr(schedule.peak, 3)}) is too high: your training "
        f"loss fell from {rise.first:.3g} to {rise.best:.3g} while your warmup raised the rate "
        f"to {plain_lr(rise.lr_falling, 2)}, then rose to {end} once the rate passed "
        f"{plain_lr(rise.lr_rise, 2)}, on its way to that peak. Your training could not be "
        "replayed to test a lower rate, so this rests on the curves alone."
    )
    evidence = {"user_lr": schedule.peak, "lr_while_falling": rise.lr_falling,
                "lr_at_rise": rise.lr_rise, "best_step": rise.best_step,
                "rise_step": rise.rise_step, "loss_first": rise.first, "loss_best": rise.best,
                "loss_end": rise.end, "suggested_lr": rise.cap}
    return Finding(
        cause=LR_TOO_HIGH, confidence=CURVES_ONLY, verdict=verdict, evidence=_finite(evidence),
        fix=f"Lower the learning rate (the peak of your schedule) from "
            f"{plain_lr(schedule.peak, 3)} to about {plain_lr(rise.cap)}, the rate your loss "
            f"was lowest at.")


# --- too low -------------------------------------------------------------------------------


def _too_low(case: Case, m: Measures) -> Finding | None:
    if blew_up(case):
        return None
    far = decades(m.user_lr, m.test.suggested_lr) >= LOW_GAP_DECADES
    steps = _replay_steps(m)
    if steps < REPLAY_STEPS and m.progress(m.run_losses) <= LAGGING_SHARE * FULL_PROGRESS:
        m = replace(m, baseline=case.baseline_for(steps))
    else:
        steps = REPLAY_STEPS  # a run that got far is judged as before: no replay is paid for
    short = steps < REPLAY_STEPS and m.may_lag
    slow = long_run(m) and ((_unusually_low(m) and may_be_far_behind(case))
                            or _low_for_sgd(m))
    if not (far or short or _near_low_position(m) or slow):
        return None
    ladder = _doublings(m) if short and not far else []
    higher = _best_higher(case.replayer, m, steps, ladder)
    if not higher.lr > m.user_lr:
        return None
    experiment = _experiment(m, higher)
    if not helped(experiment, case):
        return None
    if not m.responds_to_lr and not _learns_from_inputs(case, higher):
        return None
    stalled = m.stalled(higher) if far else m.lagging(higher)
    against = behind(case, higher.replay, Plan(lr=higher.lr)) if long_run(m) else None
    far_slower = against is not None and against.far_slower and _low_for_sgd(m)
    if not (far or stalled or (against is not None and against.far) or far_slower):
        return None
    more = _more_steps(case, m, steps)
    if more is not None and _does_as_much(m, more, higher):
        return _short_of_steps(m, higher, more, steps)
    beyond = beyond_the_run(case, higher.val_after)
    steady = beyond and learning_steadily(case, higher, m)
    stalled = stalled and beyond and not steady
    if against is not None:  # a long run with its own validation: judged in its own steps
        stalled = (against.far and (stalled or _unusually_low(m))) or far_slower
        steady = steady and not stalled
    gap = decades(m.user_lr, m.test.suggested_lr if far else higher.lr)
    strength = 0.25 * min(improvement(experiment) / 0.5, 1.0) + 0.15 * min(gap / 4, 1.0)
    reported = stalled and not _only_advice(case, m)
    started_well = from_default_init(case, higher.lr) if reported else None
    escapes_only = started_well is not None and not helped(started_well, case)
    return Finding(
        cause=LR_TOO_LOW,
        confidence=0.6 + strength if reported and not escapes_only else 0.3,
        verdict=_steady_verdict(m, higher, _steady_curve(case, m)) if steady else (
            _behind_verdict(m, higher, against) if against is not None else _low_verdict(
                m, higher, stalled, None if beyond else case.run_best_validation()))
        + (_escapes_only_text(started_well) if escapes_only else ""),
        evidence=_finite(_common_evidence(m, higher) | {
            "decades_below_suggestion": decades(m.user_lr, m.test.suggested_lr),
            "decades_below_lowest_point": decades(m.user_lr, m.test.minimum_lr),
            "run_best_val_loss": case.run_best_validation(),
            "replay_steps": float(steps),
            "share_left_in_own_steps": math.nan if against is None else against.left,
            "times_faster_at_higher_lr": math.nan if against is None else against.times_faster}
            | _more_steps_evidence(more) | _changed_first(m)),
        fix=f"Raise the {_which(m)} from {plain_lr(m.user_lr, 3)} to about "
        f"{plain_lr(higher.lr)} (optimizer {m.optimizer}).",
        experiment=experiment,
        details={"range_test": range_test_details(m.test, m.user_lr, higher.lr)},
    )


def _escapes_only_text(started_well: Experiment) -> str:
    """Said of a higher rate that only makes up for a start far off (_rate_at_default_init)."""
    return (f" But your model starts far off, and from PyTorch's default initialization your "
            f"rate does as well as the higher one ({started_well.before:.3g} against "
            f"{started_well.after:.3g} in a {started_well.steps}-step replay): the higher rate "
            f"only moves the weights out of the bad start sooner.")


def blew_up(case: Case) -> bool:
    """The run's training loss grew and then turned NaN or infinite (``blow_up``): its steps
    were too large somewhere, never too small. A replay at a higher rate can still do better
    before a blow-up it does not reach (a loop over time steps in the script, which a replay
    of one call per step cannot follow), which is no sign of a rate too low."""
    return blow_up_start(case.trace.step_losses()) is not None


@dataclass
class MoreSteps(Counterfactual):
    """The run's rows at the user's own rate, split into batches of ``batch``: more steps."""

    batch: int


def _more_steps(case: Case, m: Measures, steps: int) -> MoreSteps | None:
    """For a run replayed at its own length (shorter than REPLAY_STEPS), the rows it trained on
    at its own rate in batches small enough to take REPLAY_STEPS steps (at least
    SMALLEST_BATCH rows): the other fix of a run too short to learn, more steps rather than
    larger ones. None for a run judged at REPLAY_STEPS, or whose batches cannot be split."""
    user_batch = user_batch_size(case.trace, case.replayer)
    rows = steps * user_batch
    batch = max(SMALLEST_BATCH, rows // REPLAY_STEPS)
    if steps >= REPLAY_STEPS or batch >= user_batch:
        return None
    try:
        pool = pooled_training(case)
        replay = replay_rebatched(case.replayer, pool, batch, m.user_lr, rows, REPLAY_STEPS,
                                  user_batch)
    except Skip:
        return None
    return MoreSteps(m.user_lr, replay, batch)


def _does_as_much(m: Measures, more: MoreSteps, higher: Counterfactual) -> bool:
    """Whether more steps at the user's rate took the validation loss down as far as the higher
    rate did in the run's own steps, within SAME_EFFECT_MARGIN (the rule by which one fix's
    replay makes another setting's a consequence, measured_consequences): then the run is
    short of steps, and a higher rate only makes up for them. A rate far below any that works
    (the generator's lr_divided, sgd_tiny_lr) gains little from a few times more steps."""
    if not math.isfinite(more.val_after):
        return False
    more_drop = relative_drop(m.val_before, more.val_after)
    return more_drop >= relative_drop(m.val_before, higher.val_after) - SAME_EFFECT_MARGIN


def _more_steps_evidence(more: MoreSteps | None) -> dict[str, float]:
    """The more-steps replay's numbers, for a finding it did not dismiss."""
    if more is None:
        return {}
    return {"more_steps_batch_size": float(more.batch),
            "more_steps_replay_steps": float(len(more.replay.train_losses)),
            "more_steps_val_after": more.val_after}


def _short_of_steps(m: Measures, higher: Counterfactual, more: MoreSteps,
                    steps: int) -> Finding:
    """Dismissed: the higher rate's replay helps, but so do more steps at the user's rate."""
    taken = len(more.replay.train_losses)
    return Finding(
        cause=LR_TOO_LOW,
        confidence=0.3,
        verdict=(f"{m.lr_words} may be low for a run of {steps} steps: a replay at lr "
                 f"{plain_lr(higher.lr)} brings the validation loss from {m.val_before:.3g} "
                 f"to {higher.val_after:.3g} in as many steps. But the same training rows in "
                 f"batches of {more.batch} ({taken} steps) at your own rate reach "
                 f"{more.val_after:.3g}: your run is short of steps, not of learning rate."),
        evidence=_finite(_common_evidence(m, higher) | {"replay_steps": float(steps)}
                         | _more_steps_evidence(more)),
        fix="Take more optimizer steps at your learning rate: smaller batches or more epochs.",
    )


def long_run(m: Measures) -> bool:
    """A run too long for ``_replay_steps`` to replay at its own length (over REPLAY_STEPS /
    MORE_RUNS steps): judged by ``_same_length.behind``, its end against the higher rate
    replayed for as many steps as it took."""
    return len(m.run_losses) * MORE_RUNS > REPLAY_STEPS


def _behind_verdict(m: Measures, higher: Counterfactual, against: Behind) -> str:
    """A long run judged in its own steps: the share of the higher rate's way it covered."""
    lr, where = m.lr_words, _low_range_text(m)
    same = (f"your validation loss ended at {against.run:.3g}, where a replay at lr "
            f"{plain_lr(higher.lr)} for as many steps ({against.steps}) gets to "
            f"{against.replay:.3g}, from {against.start:.3g} for a model that learned nothing")
    if not against.far and against.far_slower and _low_for_sgd(m):
        return (f"{lr} is too low: {where}; {same}. The replay got down to where your run "
                f"ended ({against.run:.3g}) in {against.reached_in:.0f} steps, "
                f"{against.times_faster:.0f} times as fast as your run's "
                f"{against.run_steps}. {_replay_text(m, higher, _which_of_two(m, higher))}.")
    if not against.far:
        return f"{lr} may be low ({where}), but your run kept up: {same}."
    return (f"{lr} is too low: {where}; {same}: your run covered {1 - against.left:.0%} of "
            f"that way. {_replay_text(m, higher, _which_of_two(m, higher))}.")


def learning_steadily(case: Case, higher: Counterfactual, m: Measures) -> bool:
    """The run's own validation loss made more than STEADY_SHARE of the progress (from the
    constant guess, else the untrained model's loss) that the replay at the higher lr makes,
    and its last half (at least STEADY_POINTS passes) still falls by the trend test: a run
    that learns at a steady pace is not held back in the sense of this cause, however much
    faster a higher lr gets there (dev 21085's twin: AdamW at 1e-3, its validation loss
    falling from 0.685 to 0.431 in 12 epochs, 46% of the progress lr 0.01 makes in 300 steps;
    the broken lr_divided and sgd_tiny_lr runs made none), and at the pace it ends with it
    would get where the higher lr gets within MORE_RUNS times its length. A run with fewer
    validation passes is asked the same of its training loss (``training_steadily``)."""
    passes = run_validation(case)
    if len(passes) < STEADY_POINTS:
        return training_steadily(m, higher)
    reference = case.constant_guess_loss("validation")
    if reference is None or not math.isfinite(reference):
        reference = case.baseline.start_validation
    ahead = reference - higher.val_after
    if not (math.isfinite(ahead) and ahead > 0):
        return False
    tail = passes[-max(len(passes) // 2, STEADY_POINTS):]
    return ((reference - min(passes)) > STEADY_SHARE * ahead and falling(tail)
            and runs_to_reach(passes, higher.val_after) <= MORE_RUNS)


def training_steadily(m: Measures, higher: Counterfactual) -> bool:
    """``learning_steadily`` for a run without STEADY_POINTS validation passes (no validation
    set, or a few epochs): its training loss in TRAINING_CHUNKS chunks, the last one more than
    STEADY_SHARE of the progress the higher lr's replay makes, and the last half of the chunks
    still falling. Whether the run stalled is read from the mean of its second half
    (``Measures.progress``), which on a curve still falling at its end is well above where the
    run got: the end, not the average, says how far it came."""
    chunks = chunk_means([v for v in m.run_losses if math.isfinite(v)], TRAINING_CHUNKS)
    ahead = m.progress(higher.replay.train_losses)
    if len(chunks) < 2 * STEADY_POINTS or not (math.isfinite(ahead) and ahead > 0):
        return False
    reached = 1 - chunks[-1] / m.nothing_learned if m.nothing_learned > 0 else math.nan
    return reached > STEADY_SHARE * ahead and falling(chunks[len(chunks) // 2:])


def _near_low_position(m: Measures) -> bool:
    """At least NEAR_GAP_DECADES below the range test's lowest point, for a run that may lag a
    replay at a higher lr (``Measures.may_lag``). A flat test is no reason to look away: plain
    SGD at 0.01 on a small CNN barely moves in the test's step or two per lr (dev cases
    30018 and 30036, plain_sgd: drops of 0.04 and 0.07), so its lowest point says little, but
    the replay at the higher lr still has to learn from the inputs (``_learns_from_inputs``)
    and the run to lag it."""
    return decades(m.user_lr, m.test.minimum_lr) >= NEAR_GAP_DECADES and m.may_lag


#: Optimizers that scale each step by the gradient's own running size: their rates are
#: conventions (Adam's 1e-3 of Kingma & Ba, 3e-4, 1e-4 to fine-tune), set well below what a
#: hundred-step range test tolerates (its lowest point sits near 0.01-0.1 for them), so a
#: distance to that point does not make one of them unusually low.
ADAPTIVE_OPTIMIZERS = frozenset({"Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop",
                                 "Adagrad", "Adadelta", "SparseAdam"})


def _unusually_low(m: Measures) -> bool:
    """At least LOW_GAP_DECADES below the range test's lowest point: beyond the decade below
    it where the usual pick puts a healthy rate, by the range test's own uncertainty (about a
    decade). A long run that learns at a rate closer to the lowest point is not blamed for
    trailing a higher rate in its own steps, however far: dev twin 90001 of
    adam_to_sgd_same_lr (RMSprop at 1e-3 on a GRU, 1.05 decades below, 300 steps) ended at
    0.375 against a constant guess of 0.694 where lr 0.011 gets to 0.001 in as many steps (it
    left 0.54 of that way), and a twin is a usual setting. The comparison in its own steps can
    then only take a finding back. Nor is an adaptive optimizer's rate (ADAPTIVE_OPTIMIZERS)
    unusually low by that distance: three fixed twins of the real-case corpus, Adam at 1e-3,
    3e-4 and 2e-4 (2.1-2.5 decades below), were called too low after s15-slow's rule; a rate
    far below any usual one is still found by the range test (LOW_GAP_DECADES below its
    suggestion, the generator's lr_divided)."""
    return (m.optimizer not in ADAPTIVE_OPTIMIZERS
            and decades(m.user_lr, m.test.minimum_lr) >= LOW_GAP_DECADES)


def _low_for_sgd(m: Measures) -> bool:
    """SGD below its usual rates (``_below_usual_rates``) and at least NEAR_GAP_DECADES below
    the range test's lowest point: the setting, which no one picks for SGD on purpose, stands
    for the second decade LOW_GAP_DECADES asks of the range test alone. That lowest point is
    the least of a curve that often lies flat over a decade or two past where the loss starts
    to fall, so one noisy step moves it by a decade; fewer steps a decade move it further (a
    range test cut by the budget to about five steps a decade). Plain SGD or SGD with momentum
    at Adam's usual 1e-4 (dev scripts, docs/devset.md session 32) was read at 1.6 decades below
    it on a cut test and 2.6 on a whole one; a replay at the higher rate must still show the
    run ten times slower (``_same_length.SLOWER_FACTOR``)."""
    return _below_usual_rates(m) and decades(m.user_lr, m.test.minimum_lr) >= NEAR_GAP_DECADES


def _only_advice(case: Case, m: Measures) -> bool:
    """Curves that show no symptom (the run learns, and did not stop short of what it could
    reach) at a rate inside its optimizer's usual ones: a higher rate would go faster, but
    nothing went wrong to diagnose. On the development cases of sessions 20-21 every finding
    of this kind was wrong: 6 of 6 reported on runs without a symptom, all at usual rates
    (5 fixed twins: SGD 0.009 and 0.03, AdamW 3e-3, RMSprop 7e-4 and 9e-4; 1 run whose cause
    was a two-unit layer, AdamW 1e-3), while every right one had a symptom (SGD 1e-6 to 9e-4).
    Below the usual rates the finding stands without a symptom: the real case of SGD at Adam's
    1.25e-4 on a heatmap detector learned steadily, ten times slower than it could."""
    return case.curves_show_symptom is False and not _below_its_usual_rates(m)


def _below_its_usual_rates(m: Measures) -> bool:
    """SGD below SGD's usual rates; another optimizer below Adam's (and SGD's)."""
    return _below_usual_rates(m) or (m.optimizer != "SGD" and below_every_usual_rate(m.user_lr))


def _below_usual_rates(m: Measures) -> bool:
    """SGD at a rate below SGD_LOWEST_USUAL_LR (``_sgd_rates``). A run ten times slower than
    the range test's rate (``_same_length.SLOWER_FACTOR``) is blamed on its rate only there:
    on an easy problem the range test tolerates rates of 1-10, and dev twin 150507 (SGD with
    momentum at 0.008, 180 steps, its validation loss 0.65 -> 0.18; the range test's lowest
    point at 10, 3.1 decades above) is a usual setting."""
    return below_usual_sgd_rates(m.optimizer, m.user_lr)


def _changed_first(m: Measures) -> dict[str, float]:
    """CHANGED_FIRST for SGD below its usual rates: the rate is what a practitioner fixes
    first, ahead of the optimizer (dev sgd_tiny_lr, plain SGD at 1e-5 to 1e-4, reported
    optimizer_choice first where Adam's replay got a little further than a higher rate's)."""
    return {CHANGED_FIRST: 1.0} if _below_usual_rates(m) else {}


def _learns_from_inputs(case: Case, higher: Counterfactual) -> bool:
    """At the higher lr the model predicts held-out data clearly better (by
    MEANINGFUL_IMPROVEMENT) than the best constant guess. Needed when the range test is flat:
    a model that trains too slowly to move in the test's one or two steps per lr (plain SGD on
    a CNN) gives a flat curve, but so do labels that carry no information, and only the first
    is the lr's fault."""
    constant = case.constant_guess_loss("validation")
    return (constant is not None
            and relative_drop(constant, higher.val_after) > MEANINGFUL_IMPROVEMENT)


def _best_higher(replayer: Replayer, m: Measures, steps: int = REPLAY_STEPS,
                 ladder: list[float] | None = None) -> Counterfactual:
    """The better of the range test's suggestion and the lr at its lowest loss: the test sees
    only a step or two per lr, so problems that need many steps can do with the larger one.
    With a ``ladder`` (``_doublings``), its rates too; only rates above the user's are tried
    when there are any (a suggestion at or below the user's rate is no "higher" one)."""
    lrs = [lr for lr in (m.test.suggested_lr, m.test.minimum_lr, *(ladder or []))
           if lr > m.user_lr]
    candidates = [replay_at(replayer, lr, steps) for lr in lrs or [m.test.suggested_lr]]
    finite = [c for c in candidates if math.isfinite(c.val_after)]
    return min(finite, key=lambda c: c.val_after) if finite else candidates[0]


def _low_verdict(m: Measures, higher: Counterfactual, stalled: bool,
                 run_level: float | None = None) -> str:
    lr = m.lr_words
    where = _low_range_text(m)
    if run_level is not None:
        return (f"{lr} may be low ({where}), but your run reached a validation loss of "
                f"{run_level:.3g} by itself, and a replay at lr {plain_lr(higher.lr)} gets to "
                f"{higher.val_after:.3g}, not clearly lower: a higher rate would get there "
                f"sooner, not further.")
    if not stalled:
        return f"{lr} may be low ({where}), but your training loss still made progress."
    return f"{lr} is too low: {where}; {_progress_text(m, higher)}. " + (
        f"{_replay_text(m, higher, _which_of_two(m, higher))}."
    )


def _steady_curve(case: Case, m: Measures) -> tuple[str, list[float]]:
    """The curve ``learning_steadily`` judged: the validation passes, or the training loss."""
    passes = run_validation(case)
    if len(passes) >= STEADY_POINTS:
        return "validation", passes
    return "training", chunk_means([v for v in m.run_losses if math.isfinite(v)],
                                   TRAINING_CHUNKS)


def _steady_verdict(m: Measures, higher: Counterfactual, curve: tuple[str, list[float]]) -> str:
    which, losses = curve
    return (f"{m.lr_words} may be low ({_low_range_text(m)}), but your run learns steadily: "
            f"its {which} loss fell from {losses[0]:.3g} to {losses[-1]:.3g} and was still "
            f"falling at the end. A replay at lr {plain_lr(higher.lr)} gets to "
            f"{higher.val_after:.3g} sooner; training longer would also get further.")


def _low_range_text(m: Measures) -> str:
    """Where the range test puts a better lr: where its loss falls fastest (the suggestion the
    gap is measured from) and, when it differs, where it is lowest (the fix may use either)."""
    gap = decades(m.user_lr, m.test.suggested_lr)
    fastest, lowest = plain_lr(m.test.suggested_lr), plain_lr(m.test.minimum_lr)
    if gap < LOW_GAP_DECADES:
        return (f"on a learning-rate range test the loss is lowest at about {lowest}, "
                f"{_orders(decades(m.user_lr, m.test.minimum_lr))} above your rate")
    where = (f"on a learning-rate range test the loss falls fastest at about {fastest}, "
             f"{gap:.0f} orders of magnitude above your rate")
    return where + (f", and is lowest at about {lowest}" if lowest != fastest else "")


def _orders(gap: float) -> str:
    return "an order of magnitude" if round(gap) <= 1 else f"{gap:.0f} orders of magnitude"


def _which_of_two(m: Measures, higher: Counterfactual) -> str:
    """Said when the range test gave two candidates and the replay picked one of them, or the
    replay picked a rate of the ladder (``_doublings``) between the user's and the lowest."""
    fastest, lowest = plain_lr(m.test.suggested_lr), plain_lr(m.test.minimum_lr)
    if higher.lr not in (m.test.suggested_lr, m.test.minimum_lr):
        return (f" (of your rate doubled up to {lowest}, where the range test's loss is "
                "lowest, the one that did better in replays)")
    if fastest == lowest:
        return ""
    return f" (of {fastest} and {lowest}, the one that did better in replays)"


# --- shared --------------------------------------------------------------------------------


def _which(m: Measures) -> str:
    return "learning rate (the peak of your schedule)" if m.scheduled else "learning rate"


def _progress_text(m: Measures, other: Counterfactual) -> str:
    """Losses, not ratios to the untrained model's: a ratio turns meaningless (negative) when
    a broken loss falls below zero, and the reader compares losses anyway."""
    if m.below_constant:
        return (
            f"over the second half of your run the training loss is "
            f"{_late_mean(m.run_losses):.3g}, where always predicting the same answer gives "
            f"{m.nothing_learned:.3g}; at lr {plain_lr(other.lr)} it is "
            f"{_late_mean(other.replay.train_losses):.3g} on the same batches"
        )
    return (
        f"over the second half of your run your training loss averages "
        f"{_late_mean(m.run_losses):.3g} (the untrained model's: {m.untrained_loss:.3g}), "
        f"against {_late_mean(other.replay.train_losses):.3g} at lr {plain_lr(other.lr)} on "
        f"the same batches"
    )


def _late_mean(losses: list[float]) -> float:
    return _second_half_mean([v for v in losses if math.isfinite(v)])


def _common_evidence(m: Measures, other: Counterfactual) -> dict[str, float]:
    return {
        "user_lr": m.user_lr,
        "suggested_lr": m.test.suggested_lr,
        "minimum_lr": m.test.minimum_lr,
        "replayed_lr": other.lr,
        "range_test_drop": m.test.drop,
        "late_loss_vs_untrained": m.vs_untrained(m.run_losses),
        "replayed_late_loss_vs_untrained": m.vs_untrained(other.replay.train_losses),
        "val_before": m.val_before,
        "val_after": other.val_after,
        "improvement": relative_drop(m.val_before, other.val_after),
        "replay_of_your_setup_blew_up": float(m.baseline.diverged),
    }


def _finite(evidence: dict[str, float]) -> dict[str, float]:
    return {name: value for name, value in evidence.items() if math.isfinite(value)}


def _replay_text(m: Measures, other: Counterfactual, which: str = "") -> str:
    if not math.isfinite(m.val_before):
        return (
            f"Replayed, your setup's loss becomes NaN or infinite; at lr {plain_lr(other.lr)} "
            f"the validation loss reaches {other.val_after:.3g}"
        )
    return (
        f"Replaying {other.replay.planned_steps} steps at lr {plain_lr(other.lr)}{which} brings "
        f"the validation loss from {m.val_before:.3g} to {other.val_after:.3g}"
    )


def _experiment(m: Measures, other: Counterfactual) -> Experiment:
    return fix_experiment(f"lr {plain_lr(other.lr)} instead of {plain_lr(m.user_lr, 3)} "
                          f"({m.optimizer})", m.baseline, other.replay)


def range_test_details(test: RangeTest, user_lr: float, fix_lr: float) -> dict:
    """The range test curve for a report to draw, with the user's lr and the fix's placed on
    it."""
    return {
        "lrs": list(test.lrs),
        "losses": [v if math.isfinite(v) else None for v in test.losses],
        "user_lr": user_lr,
        "fix_lr": fix_lr,
        "suggested_lr": test.suggested_lr,
        "minimum_lr": test.minimum_lr,
        "divergence_lr": test.divergence_lr,
    }


def relative_variation(losses: list[float]) -> float:
    """Median step-to-step change of the loss relative to its median size."""
    finite = [v for v in losses if math.isfinite(v)]
    if len(finite) < 3:
        return 0.0
    steps = [abs(b - a) for a, b in itertools.pairwise(finite)]
    level = statistics.median(abs(v) for v in finite)
    return statistics.median(steps) / level if level else 0.0


def rise(losses: list[float]) -> float:
    """The mean of the last of RISE_STRETCHES stretches of the finite losses over the lowest
    stretch mean: 1 for a loss that ends at its best, 2 for one that ends at twice it."""
    finite = [v for v in losses if math.isfinite(v)]
    size = len(finite) // RISE_STRETCHES
    if size == 0:
        return 1.0
    means = [statistics.fmean(finite[i:i + size]) for i in range(0, size * RISE_STRETCHES, size)]
    best = min(means)
    return means[-1] / best if best > 0 else 1.0


def _second_half_mean(values: list[float]) -> float:
    late = values[len(values) // 2 :]
    return sum(late) / len(late) if late else math.nan


def _late_mean(losses: list[float]) -> float:
    """The mean of the finite losses of the second half of a run."""
    return _second_half_mean([v for v in losses if math.isfinite(v)])
