"""optimizer_choice: plain SGD (no momentum) stuck where SGD with momentum or Adam moves.

A differential test on copies, three replays of the same length as the replay of the user's
own setup (``case.baseline``), on the same batches:

* Adam at the user's own lr (the matched rate: a script written for Adam and switched to SGD
  keeps Adam's rate, which plain SGD's steps, lr times the gradient, make far too small) and at
  its usual lr of 1e-3, the better of the two; then (only if Adam does not move) SGD with
  momentum 0.9 at the user's learning rate: the alternatives.
* The control: plain SGD at 10x the user's lr and at the lrs a learning-rate range test picks
  (its lowest point and a tenth of it, as :mod:`lossdoctor.checks.learning_rate` does), above
  or below the user's. Momentum 0.9 takes steps up to 10x as long in a steady direction, so part
  of what it gains could be had from a higher lr alone; Adam at 1e-3 is, for plain SGD's user,
  also a different step size. If plain SGD at some other lr does as well, the learning rate is
  what is wrong (``lr_too_low`` or ``lr_too_high``), not the optimizer.

Reported when the replay of the user's own setup is stuck but finite (a replay that blows up
at the user's lr is a learning-rate problem whatever else moves) and an alternative lowers
the validation loss clearly below both the user's setup and the best control: only then is it
the optimizer that is stuck. Stuck means that both the replay and the run itself got less than
half as far below the constant guess as the alternative did: plain SGD that gets most of the
way, only more slowly, trains fine. At one of SGD's usual rates (``_sgd_rates``) it is
reported even when a higher plain SGD rate does as well, for a run that made next to no
progress, unless plain SGD at the higher rate does clearly more than Adam at its own usual
rates (``_at_usual_rates``: the rate is then what is wrong, not the optimizer).

Which of the two leads, the optimizer or the rate (lr_too_low), is read from these replays
(``measured_consequences.CHANGED_FIRST``, a strength): where no plain SGD rate gets as far as
the alternative, the optimizer is measured to be needed and leads at any usual rate
(MEASURED_FIRST); where a higher plain SGD rate does as much, the evidence does not decide, and
the rate's position does (``_sgd_rates``: at SGD's usual rates the optimizer leads, by
POSITION_FIRST; below them the learning-rate check marks the rate); where it does clearly
more than Adam at its usual rates, optimizer_choice is not reported. Below every usual rate
(SGD's and Adam's, ``_sgd_rates.below_every_usual_rate``: 1e-5 to 9e-5) no optimizer runs at
the user's rate: Adam's fix raises the rate too (FIX_CHANGES_A_SETTING), and the rate leads.

Only plain SGD is judged: momentum and adaptive optimizers are what the fix would suggest.
One exception, any optimizer but LBFGS: a run of a few steps (``_closure_schedule``: at most
MAX_CLOSURE_STEPS) whose step was given a closure, called once a step. The step count was
written for LBFGS, which evaluates the closure up to 20 times a step; the run's own steps are
replayed with LBFGS on the same closure (bench/projects7's sgd_instead_of_lbfgs), and reported
when LBFGS helps and the user's optimizer is stuck beside it (STUCK_SHARE).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._closure_schedule import (
    LBFGS_EVALUATIONS,
    lbfgs_replays,
    sized_for_lbfgs,
)
from lossdoctor.checks._fix import (
    MEANINGFUL_IMPROVEMENT,
    fix_experiment,
    helped,
    improvement,
    run_validation,
    settled_loss,
)
from lossdoctor.checks._plain import plain_lr
from lossdoctor.checks._same_length import Behind, behind, ended_at, own_length
from lossdoctor.checks._sgd_rates import (
    ADAM_HIGHEST_USUAL_LR,
    below_every_usual_rate,
    below_usual_sgd_rates,
    inside_adams_usual_rates,
)
from lossdoctor.experiments import Plan, ReplayResult
from lossdoctor.findings import TRAINING_SETTING, Cause, Experiment, Finding
from lossdoctor.lr_range import LOW_GAP_DECADES, RangeTest, decades, lr_range_test, span_around
from lossdoctor.measured_consequences import CHANGED_FIRST, FIX_CHANGES_A_SETTING

OPTIMIZER_CHOICE = Cause(
    id="optimizer_choice",
    title="The optimizer is stuck where another would move",
    fix="Use momentum (e.g. SGD(momentum=0.9)) or an adaptive optimizer such as Adam.",
    question="Is plain SGD stuck where momentum or Adam moves?",
    test=(
        "replay with Adam or SGD(momentum=0.9), against plain SGD at other learning rates as the "
        "control (so a learning rate that is merely too low or too high is not blamed on the "
        "optimizer); for a few steps given a closure an optimizer calls once, replay of the "
        "run's own steps with LBFGS"
    ),
    figures=("lr_range",),
    setting=TRAINING_SETTING,
)

CAUSES = (OPTIMIZER_CHOICE,)


MOMENTUM = 0.9
#: Adam's default learning rate, which suits most models it is used on.
ADAM_LR = 1e-3
#: The highest rate Adam is tried (and suggested) at: an SGD rate above it is not copied over.
#: Adam moves every weight by about lr a step whatever its gradient's scale, so where SGD's
#: 0.05 is ordinary, Adam's 0.05 moves each weight 50 times its default step; tuned Adam rates
#: sit between 1e-4 and 1e-2 (Kingma & Ba's default 1e-3). optimizer_choice_sgd_twin_sensors_mlp
#: was told "Switch to Adam(lr=0.05)".
ADAM_HIGHEST_LR = ADAM_HIGHEST_USUAL_LR
#: Momentum 0.9's longest step, 1 / (1 - 0.9) times plain SGD's: the first control lr.
MOMENTUM_STEP = 10.0
#: Plain SGD is "stuck" when its replay gets less than this share of the way below the constant
#: guess that the alternative gets: the generator's own rule for a run that lags its fixed twin
#: (bench/devset/validity.py: a gain at most half the twin's).
STUCK_SHARE = 0.5
#: Plain SGD at a usual rate, where a higher plain SGD rate does as well as the alternative,
#: is blamed on the optimizer only when the run made next to no progress: it covered less than
#: this share of the alternative's way (learning_rate's STALLED_SHARE, its "next to no
#: progress"). Far behind (FAR_BEHIND_SHARE) is not enough there: a fixed twin of the
#: generator's plain_tensor_std_one (dev 250450, plain SGD 0.05, validation 0.68 -> 0.51
#: against a guess of 0.69, improving) covered 0.38 of Adam's way in its own steps, where SGD
#: at 0.5 went as far as Adam, and was told to switch; the real-case corpus's udacity twin
#: covered 0.75. The broken plain SGD runs that learned at all covered 0.09-0.17
#: (plain_sgd 90017, 90026, session 15), the rest about 0; adam_to_sgd_same_lr 90010 (SGD at
#: 1e-3, 0.46) had the learning rate reported first, which still holds.
NEXT_TO_NO_PROGRESS = 0.25
#: ... but on a run whose curves show the symptom (lossdoctor.symptom: at or barely below the
#: constant guess, or a short run still falling), the bar is the lagging one the
#: learning-rate check blames the rate by (learning_rate.LAGGING_SHARE, the generator's own
#: bar for a run that lags its twin): "switch back to Adam" and "raise SGD's rate" are then
#: both fixes, and the two checks must judge the run's progress by the same bar, or the
#: stricter one leaves the rate alone where the optimizer was changed (s21: dev
#: adam_to_sgd_same_lr 312089, SGD at Adam's 3e-3, a tie between Adam 0.267 and SGD at 1.0
#: 0.296, covered more than a quarter of Adam's way: lr_too_low alone, as on the test part).
#: The twins that covered 0.38 and 0.75 of the way (above) showed no symptom and keep the
#: stricter bar. So does a run without one, unless its plain SGD runs at one of Adam's usual
#: rates (``_sgd_rates``: 1e-4 to 1e-2, the rate an Adam script keeps when switched to plain
#: SGD): dev adam_to_sgd_same_lr 322046 (SGD at 3e-3, 198 steps, 27% below the guess: no
#: symptom) covered 0.32 of Adam's way and tied with SGD at 7.0, and was called healthy (its
#: lr_too_low is advice without a symptom); the 0.38 twin ran plain SGD at 0.05.
LAGGING_WITH_SYMPTOM = 0.5
#: CHANGED_FIRST's strengths: measured (no plain SGD rate did as well as the alternative), and
#: by the rate's position alone (a higher plain SGD rate did as well, at one of SGD's usual
#: rates). A measured mark leads the learning-rate check's, which is by position.
MEASURED_FIRST = 2.0
POSITION_FIRST = 1.0


@dataclass
class Replay:
    """One replay of the user's training with another optimizer or lr."""

    label: str  # how a practitioner would write the optimizer: "SGD(lr=0.1, momentum=0.9)"
    result: ReplayResult
    plan: Plan | None = None  # what was replayed (None: the user's own setup)

    @property
    def validation(self) -> float:
        return settled_loss(self.result)


def switch(before: Replay, after: Replay) -> Experiment:
    """Training as in ``after`` instead of as in ``before``, tested by their two replays."""
    return fix_experiment(f"{after.label} instead of {before.label}", before.result, after.result)


def check(case) -> list[Finding]:
    """``optimizer_choice`` when momentum or Adam clearly beats plain SGD at any lr."""
    replayer = case.require_replay()
    if sized_for_lbfgs(case):
        found = _closure_finding(case)
        if found is not None:
            return [found]
    if not plain_sgd(case.copies.optimizer_class, case.copies.optimizer_hparams):
        return []
    lr = replayer.user_lr or 0.0  # the peak of a schedule
    if not lr > 0:
        return []
    user = Replay(f"SGD(lr={plain_lr(lr, 3)})", case.baseline)
    if not math.isfinite(user.validation):
        return []
    tried: list[Replay] = []
    best = _first_that_moves(_alternatives(replayer, lr, tried), user)
    constant = case.constant_guess_loss("validation")
    if best is None:
        return []
    against = behind(case, best.result, best.plan)
    if not _stuck(user.validation, best, constant) or not (
            against.far if against is not None
            else _stuck(_run_level(case.trace), best, constant)):
        return []
    test, controls = _controls(replayer, lr)
    control = min(controls, key=lambda r: r.validation, default=user)
    lr_also_fixes = not helped(switch(control, best)) or not _clearly_below(
        best, control, constant)
    keeps_rate = _adams_rate_kept(lr, tried, control, constant)
    if lr_also_fixes and not (
            _usual_rate(lr, test, control, keeps_rate)
            and not _clearly_below(control, _at_usual_rates(tried), constant)
            and _next_to_no_progress(case, against, user, best, constant)):
        return []
    return [_finding(user, best, control, lr_also_fixes, lr, keeps_rate,
                     rate_did_more=_clearly_below(control, best, constant))]


def _closure_finding(case) -> Finding | None:
    """A few steps sized for LBFGS taken by a one-evaluation optimizer (``_closure_schedule``),
    when LBFGS on the same steps clearly gets further: the user's optimizer is stuck there."""
    user_result, tried = lbfgs_replays(case)
    name = case.copies.optimizer_class.__name__
    user = Replay(f"{name}(lr={plain_lr(case.replayer.user_lr or 0.0, 3)})", user_result)
    best = min((Replay(label, result) for label, result in tried), key=lambda r: r.validation)
    constant = case.constant_guess_loss("validation")
    experiment = switch(user, best)
    if not helped(experiment, case) or not _stuck(user.validation, best, constant):
        return None
    steps = case.trace.steps
    verdict = (
        f"Your training steps give {name} a closure, as LBFGS needs, but {name} calls it once "
        f"a step: your {steps} steps are {steps} first-order steps, where LBFGS evaluates the "
        f"closure up to {LBFGS_EVALUATIONS} times in each, following the curvature. Replayed "
        f"for your {steps} steps on your batches, {user.label} leaves the validation loss at "
        f"{user.validation:.3g}, {best.label} brings it to {best.validation:.3g}.")
    evidence = {"val_before": user.validation, "val_after": best.validation,
                "improvement": improvement(experiment), "run_steps": float(steps)}
    return Finding(OPTIMIZER_CHOICE, 0.6 + 0.35 * min(improvement(experiment) / 0.5, 1.0),
                   verdict, evidence, experiment=experiment,
                   fix=(f"Step with torch.optim.{best.label} (the closure you wrote is what "
                        f"it needs), or give {name} far more steps."))


def plain_sgd(optimizer_class: type | None, hparams: dict) -> bool:
    return optimizer_class is torch.optim.SGD and not hparams.get("momentum")


def _alternatives(replayer, lr: float, tried: list[Replay] | None = None
                  ) -> Iterator[Replay]:
    """Adam (the better of the matched rate, at most ADAM_HIGHEST_LR, and its usual one), then
    SGD with momentum: replayed one at a time, as far as needed; each replay is added to
    ``tried``."""
    tried = [] if tried is None else tried
    tried += [_adam(replayer, rate) for rate in sorted({_matched(lr), ADAM_LR})]
    yield min(tried, key=lambda r: r.validation)
    momentum = Plan(hparams={"momentum": MOMENTUM}, steps=REPLAY_STEPS)
    tried.append(Replay(f"SGD(lr={plain_lr(lr, 3)}, momentum={MOMENTUM})",
                        replayer.replay(momentum), momentum))
    yield tried[-1]


def _matched(lr: float) -> float:
    """Adam's rate matched to the user's: the same, at most ADAM_HIGHEST_LR."""
    return min(lr, ADAM_HIGHEST_LR)


def _at_usual_rates(tried: list[Replay]) -> Replay:
    """The best switch replayed at a rate usual for the optimizer switched to: SGD with
    momentum (at the user's rate, a usual one where it is judged so) or Adam inside its usual
    rates (``_sgd_rates``: 1e-3 always, the user's own rate, capped at 0.01, where it lies
    there). Adam at the user's 0.05 capped at 0.01 alone is Adam at the top of its range: a
    higher plain SGD rate beating it says nothing of Adam at its usual 1e-3 (s20: the test
    part's plain_sgd case, plain SGD at a usual rate, was told only to raise the rate on that
    comparison)."""
    usual = [r for r in tried if r.plan is not None and (
        r.plan.optimizer_class is None or inside_adams_usual_rates(r.plan.lr))]
    return min(usual or tried, key=lambda r: r.validation)


def _adam(replayer, lr: float) -> Replay:
    plan = Plan(optimizer_class=torch.optim.Adam, lr=lr, steps=REPLAY_STEPS)
    return Replay(f"Adam(lr={plain_lr(lr, 3)})", replayer.replay(plan), plan)


def _first_that_moves(alternatives: Iterator[Replay], user: Replay) -> Replay | None:
    return next((r for r in alternatives if helped(switch(user, r))), None)


def _stuck(level: float | None, best: Replay, constant: float | None,
           share: float = STUCK_SHARE) -> bool:
    """A validation loss ``level`` of plain SGD (its replay's, or the run's own) less than
    ``share`` of the alternative's way below the constant guess (True without a level or a
    constant guess to measure from: the other tests decide)."""
    if level is None or constant is None or not math.isfinite(constant) or constant <= 0:
        return True
    best_gain = 1 - best.validation / constant
    return best_gain <= 0 or 1 - level / constant < share * best_gain


def _next_to_no_progress(case, against: Behind | None, user: Replay, best: Replay,
                         constant: float | None) -> bool:
    """The run covered less than NEXT_TO_NO_PROGRESS of the alternative's way in its own
    steps (LAGGING_WITH_SYMPTOM on a run whose curves show the symptom, or at one of Adam's
    usual rates); a run without
    validation passes is judged by the replay of its setup instead (dev plain_sgd 250004:
    plain SGD peaking at 0.02 in a one-cycle schedule, its training loss at the constant
    guess's for 220 steps, was told only to raise its rate to 1.0); a run with passes that
    could not be compared is not judged (False)."""
    lagging = (getattr(case, "curves_show_symptom", None)
               or inside_adams_usual_rates(case.replayer.user_lr or 0.0))
    bar = LAGGING_WITH_SYMPTOM if lagging else NEXT_TO_NO_PROGRESS
    if (against is not None and 1 - against.left >= bar
            and against.steps < case.replayer.sized(own_length(case))):
        against = behind(case, best.result, best.plan, own_steps=True)  # measured in fewer
    if against is not None:
        return 1 - against.left < bar
    if run_validation(case):
        return False
    return _stuck(user.validation, best, constant, bar)


def _adams_rate_kept(lr: float, tried: list[Replay], control: Replay,
                     constant: float | None) -> bool:
    """The user's rate is one of Adam's usual ones below SGD's (1e-4 to 9e-4, ``_sgd_rates``:
    the rate an Adam or RMSprop script keeps when switched to plain SGD; nobody picks it for
    plain SGD), and Adam at that very rate does as well as plain SGD at a higher one (not
    clearly behind it): the switch alone, keeping the rate the user wrote, fixes the run, as
    the rate alone does, and the rate says which setting was changed (issue 11: the test
    part's adam_to_sgd_same_lr case was told lr_too_low alone)."""
    if not (below_usual_sgd_rates("SGD", lr) and inside_adams_usual_rates(lr)):
        return False
    own = next((r for r in tried if r.plan is not None and r.plan.lr == lr
                and r.plan.optimizer_class is torch.optim.Adam), None)
    return own is not None and not _clearly_below(control, own, constant)


def _usual_rate(lr: float, test, control: Replay, adams_rate_kept: bool = False) -> bool:
    """Plain SGD at a usual rate for it (one of SGD's usual rates, ``_sgd_rates``, or less
    than LOW_GAP_DECADES below its range test's lowest point, where the learning-rate check
    does not blame a run that learns), for which only a higher plain SGD rate (the control)
    does as well as momentum or Adam: the run is held back by plain SGD, the usual fix for
    which is momentum or Adam (issue 11: plain SGD at a usual rate, "improving", called
    healthy; dev adam_to_sgd_same_lr 90010, SGD at 1e-3, 1.8 decades below, 322 steps, left
    0.54 of Adam's way in as many, and SGD 0.06 did as well)."""
    usual = (not below_usual_sgd_rates("SGD", lr) or adams_rate_kept
             or decades(lr, test.minimum_lr) < LOW_GAP_DECADES)
    return usual and control.plan is not None and (control.plan.lr or 0.0) > lr


def _clearly_below(best: Replay, control: Replay, constant: float | None) -> bool:
    """The alternative beats the best control by MEANINGFUL_IMPROVEMENT of the constant guess's
    loss: once plain SGD at another lr gets near zero too, the lr was what was wrong, however
    large the relative gap between two near-zero losses (True without a constant guess). On
    the plain SGD dev cases of session 11 (docs/devset.md) the gap, in constant guesses, was
    0.35 and 0.99 where only Adam learned (adam_to_sgd_same_lr 30018, 30004) and -0.03 to 0.03
    where plain SGD at a higher lr did as well (30000, 30001; plain_sgd 30018, 30036): the bar
    of 0.1 sits in the empty stretch between them."""
    if constant is None or not math.isfinite(constant) or not math.isfinite(control.validation):
        return True
    return control.validation - best.validation >= MEANINGFUL_IMPROVEMENT * abs(constant)


def _run_level(trace) -> float | None:
    """Where the run's own validation loss ended (``_same_length.ended_at``), from its loss
    calls: a run that got far with plain SGD was not stuck, whatever a shorter replay shows."""
    return ended_at([p.loss for p in trace.validation_passes()
                     if p.source == "loss calls" and math.isfinite(p.loss)])


def _controls(replayer, lr: float) -> tuple[RangeTest, list[Replay]]:
    """Plain SGD at 10x the user's lr and at the lrs a range test picks (the ones
    :mod:`lossdoctor.checks.learning_rate` would suggest), lower ones included; and the range
    test."""
    test = lr_range_test(replayer, *span_around(lr))
    lrs = sorted({lr * MOMENTUM_STEP, test.minimum_lr, test.suggested_lr})
    return test, [
        Replay(f"SGD(lr={plain_lr(other)})",  # written as the range test's lrs are
               replayer.replay(plan := Plan(lr=other, steps=REPLAY_STEPS)), plan)
        for other in lrs if other != lr
    ]


def _finding(user: Replay, best: Replay, control: Replay, lr_also_fixes: bool,
             lr: float, keeps_rate: bool = False, rate_did_more: bool = False) -> Finding:
    strength = min(improvement(switch(user if lr_also_fixes else control, best)) / 0.5, 1.0)
    return Finding(
        OPTIMIZER_CHOICE,
        confidence=0.6 + 0.35 * strength,
        verdict=_verdict(user, best, control, lr_also_fixes, keeps_rate),
        evidence=_evidence(user, best, control, lr, lr_also_fixes, keeps_rate, rate_did_more),
        fix=f"Switch to {best.label}, the optimizer that moved in the replay.",
        experiment=switch(user, best),
    )


def _verdict(user: Replay, best: Replay, control: Replay, lr_also_fixes: bool,
             keeps_rate: bool = False) -> str:
    control_text = (
        "blows up" if not math.isfinite(control.validation)
        else f"gets it only to {control.validation:.3g}"
    )
    replayed = (
        f"Plain SGD without momentum is stuck on this problem: replayed for "
        f"{best.result.planned_steps} "
        f"steps on your batches, {user.label} leaves the validation loss at "
        f"{user.validation:.3g}, {best.label} brings it to {best.validation:.3g}."
    )
    if lr_also_fixes and keeps_rate:
        return (f"{replayed} Your learning rate is a usual one for Adam, far below plain SGD's "
                f"usual ones: Adam at your own rate does about as well as plain SGD at a higher "
                f"one ({control.label}: {control.validation:.3g}): switching the optimizer "
                f"fixes it while keeping the rate you wrote.")
    if lr_also_fixes:
        reach = ("further, to" if control.validation < best.validation else "to")
        return (f"{replayed} Your learning rate is a usual one for plain SGD; plain SGD at a "
                f"higher one, {control.label}, gets {reach} {control.validation:.3g} too, but "
                f"momentum or an adaptive optimizer is the usual way to train faster.")
    return (f"{replayed} Another learning rate alone is no fix: the best of those tried with "
            f"plain SGD, {control.label}, {control_text}.")


def _evidence(user: Replay, best: Replay, control: Replay, lr: float,
              lr_also_fixes: bool, keeps_rate: bool = False,
              rate_did_more: bool = False) -> dict[str, float]:
    """The replays' figures, and the CHANGED_FIRST mark that ranks this finding against the
    rate's (learning_rate) by the measured effects: MEASURED_FIRST where no plain SGD rate got
    as far as the switch (or Adam at the user's own rate did as well); POSITION_FIRST in a tie
    (neither clearly below the other, at one of SGD's usual rates), where momentum or Adam is
    what one changes first; no mark where the higher plain SGD rate got clearly further
    (``rate_did_more``, by MEANINGFUL_IMPROVEMENT of the guess): the rate's fix did more."""
    evidence = {
        "val_before": user.validation,
        "val_after": best.validation,
        "improvement": improvement(switch(user, best)),
        "val_with_other_lr": control.validation,
        "improvement_over_other_lr": improvement(switch(control, best)),
        "alternative_is_adam": float(best.label.startswith("Adam")),
    }
    if below_every_usual_rate(lr):  # the rate is part of any fix: the rate's mark leads
        if best.plan is not None and best.plan.lr not in (None, lr):
            evidence[FIX_CHANGES_A_SETTING] = 1.0  # Adam's fix raised the rate as well
    elif not lr_also_fixes or keeps_rate:  # measured: no plain SGD rate got there, or Adam
        evidence[CHANGED_FIRST] = MEASURED_FIRST  # at the user's own rate did as well
    elif not below_usual_sgd_rates("SGD", lr) and not rate_did_more:
        evidence[CHANGED_FIRST] = POSITION_FIRST  # a tie: momentum or Adam is changed first
    return {name: value for name, value in evidence.items() if math.isfinite(value)}
