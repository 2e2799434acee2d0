"""Which finding is a consequence of which, read from the fixes' measured effects.

A cause's ``explains`` states consequences known in advance (a loss fed what it does not expect
distorts everything else). Other pairs can go either way, and only the replays tell which: a
training *setting* (the learning rate, the optimizer, the batch size; and, a bigger change, the
model's size) can make up for a problem elsewhere. A higher learning rate pushes weights out of
a bad initialization, a larger model works around a bottleneck, so the setting's replay improves
the loss too, although the setting was never the problem. The rule, named ``fix_does_as_much``:

    a finding about a setting is a consequence of another reported finding whose fix changes
    less of the user's set-up (not a setting at all, or a training setting next to the model's
    size) and whose replayed fix took the validation loss down at least as far (by share of the
    loss it started from, or, when the run blew up without either fix, to as low a loss),
    within SAME_EFFECT_MARGIN. Between two settings of one kind, the fix must do
    SAME_EFFECT_MARGIN more (two that do the same are two ways to the same end).

One measured exception goes the other way, named ``size_sets_the_pace``: a model-size finding
whose evidence says that, under the user's own settings, the larger model reaches in one run what
the user's model needs many for (SLOW_FOR_ITS_SIZE) shows the settings work and the model is
what is slow. A training setting that speeds the slow model up (a higher learning rate) then makes
up for the missing capacity: it is the consequence, when the larger model's fix took the loss
down as far within SAME_EFFECT_MARGIN, and it does not in turn explain the model-size finding.

Between a rate too low and a model too small the fixes are compared on one budget, named
``bigger_fix_leads``: where the larger model was trained at the user's own settings and both
replays ran as many steps from the same start, the rate leads only when raising it took
SAME_EFFECT_MARGIN more off the validation loss than the larger model did; otherwise (a tie
included) the model's size leads and the rate is its consequence. "The learning rate is too
low" says that a faster rate is the fix; where a larger model at the user's rate does as much,
the faster rate only speeds up a model too small.

A measured pair may contradict a declared ``explains`` (a too-high learning rate declares that
it explains exploding gradients): then the other fix must do SAME_EFFECT_MARGIN *more* than the
setting's (``overturns_declared``). Clipping that does clearly more than lowering the rate says
the user's own rate works once the gradients are clipped, and the declared link of that pair is
dropped; clipping that does only as much is what a declared consequence looks like (bounded
steps at a rate 1000 times too high help as a lower rate does), and the declared link stands.

Between two roots that each stand on their own replayed fix (neither explains the other), which
comes first is not left to their calibrated confidences, which differ by noise there (a raw-pixel
case: bad_init 0.9385 above unnormalized_inputs 0.9376; rare classes: lr_too_low 0.90 above
class_imbalance 0.85). The rule, named ``upstream_leads``:

    of two confirmed roots whose causes sit at different stages on the way from the data to the
    optimizer's step (findings.DATA_STAGE, INIT_STAGE, SETTINGS_STAGE), the one upstream leads,
    unless the downstream one's replayed fix, measured on the same loss from the same start,
    took SAME_EFFECT_MARGIN more off it; then their confidences decide, as before.

Why upstream: each later stage is chosen for what the earlier ones hand it. The default init's
scale is derived for inputs of unit scale, so inputs in the hundreds make any init look off, and
standardizing them makes the default init right; a learning rate is right for a loss and weights,
so a weighted loss or a sane init changes which rate works (with rare classes the plain loss is
the majority's, and a faster rate only fits the majority sooner). Fixing the upstream cause keeps
the downstream fix's question open; the downstream fix leaves the upstream cause in place. The
exception is measured: when the downstream fix does clearly more, the upstream fix does not
remove what it removes, and the rule says nothing. Measures that cannot be set side by side (the
class-weighted fix is scored on the balanced loss, a rate's on the plain one) leave the stage
order standing: the plain loss hides what the class weights fix.

Between two confirmed roots that the stage rule does not order (a cause on no stage, or both on
one), the fix that got the lower loss leads, named ``lower_fix_leads``:

    of two roots confirmed by their own replayed fixes of the plain validation loss, over as
    many steps from the same start, neither of which changes a training setting or the model's
    size, the one whose replay settled SETTLED_LOWER_MARGIN below the other's leads, whatever
    their confidences; within it, their confidences decide.

Why: both fixes were measured on one budget, so the lower one is the measured answer to which
change helps the user's training most, where confidences differ by noise (one column in raw
units with dropout 0.17: standardizing took 34.2 to 0.696, dropout off to 1.92, and the
dropout's finding led at 0.962 against 0.960). The share of the start a fix took off (the stage
rule's measure) cannot tell such fixes apart: from a start 50 times the fixed loss, every fix
that works takes off nearly all of it (0.98 against 0.94). Where the stage rule orders the pair
it stands: the upstream fix leaves the downstream question open whichever settled lower. So do
the rules above for a setting (a setting's fix can make up for another problem, so a setting is
compared on the share of the loss taken off, with the margins and marks above), and a fix that
changed a setting too (FIX_CHANGES_A_SETTING) is not set against another's on where it got."""

from __future__ import annotations

import math

from lossdoctor.checks._fix import MEANINGFUL_IMPROVEMENT
from lossdoctor.findings import (
    MODEL_SIZE,
    SETTINGS_STAGE,
    TRAINING_SETTING,
    Experiment,
    Finding,
)

#: Two fixes whose drops differ by less than this share of the loss they started from do "the
#: same": it is the bar a fix must clear to count as one at all (MEANINGFUL_IMPROVEMENT), since a
#: smaller difference is within what another trajectory of the same replay does on its own.
SAME_EFFECT_MARGIN = MEANINGFUL_IMPROVEMENT
#: The confidence a setting's finding keeps once fix_does_as_much makes it a consequence: how
#: often such a finding was right (its id in the case's expected set) on the dev cases. Session
#: 10 (seeds 21006-21115, 23015-23475, docs/devset.md): 0 of 3 (normal_std_one twice,
#: tanh_large_init; at 0.5 then, the 0.5-0.6 bin held 0 right of 5). Session 12 (seeds
#: 20200-20259, one_unit_bottleneck 20400-20436, and sessions 10-11's dev scripts re-run:
#: sigmoid_large_init 31002-31014, one_unit_bottleneck 30001-30009; their reports on
#: adam_to_sgd_same_lr 30009-30018, deep_relu_large_init 25309, negative_weight_init 30001):
#: 3 of 22, lr_too_low behind optimizer_choice twice (adam_to_sgd_same_lr, whose expected set
#: holds lr_too_low) and behind lr_schedule once (linear_decay_stepped_per_batch, likewise);
#: wrong 19 times (behind bad_init 8, underfit_capacity 10, dead_relu once). 3 of 25 in all:
#: 0.12. That is below diagnosis.REPORT_THRESHOLD, so such a finding is dismissed (kept in the
#: JSON with its experiment and what explains it): its root's fix does as much, and is the
#: advice.
MEASURED_CONSEQUENCE_CONFIDENCE = 0.12
#: The confidence a finding keeps when another reported finding's cause declares it among its
#: consequences (``explains``) and no measurement says otherwise: how often such findings were
#: right (their id in the case's expected set) on the dev cases. Session 29 (s29-calib,
#: ``bench/devset.py calibrate`` on the 38 kept cases of the broad dev draw of seeds 363000+,
#: diagnosed by this tree; tests/data/calibration/dev_reports.json): 1 of 9, (1 + 0.5) / (9 + 1)
#: = 0.15. Right: lr_too_low behind optimizer_choice (plain_sgd 363125, both expected). Wrong:
#: lr_too_low, exploding_gradients and nan_inf behind label_range (bce_labels_signed 363031,
#: 363083), exploding_gradients and nan_inf behind a blow-up's root (bad_init, lr_too_high,
#: lr_schedule: 363063, 363087, 363113), overfitting behind train_val_shift (363085). Before,
#: session 16 (s16-calib): 2 of 29 on the 94 cases of three broad dev draws (seeds
#: 20200-20259, 20500-20579, 110004-110047, 120001-120029, 170000-170119), ranked by this tree's
#: diagnosis. Right: overfitting behind no_signal or data_pipeline (twice). Wrong: a setting
#: or the init behind a loss with no floor (lr_too_low, batch_size, bad_init, underfit_capacity,
#: exploding_gradients behind label_range or loss_mismatch: 9, their "fixes" only drive the loss
#: further below zero), what a shifted validation set brings (no_signal, overfitting behind
#: train_val_shift: 6), nan_inf and exploding_gradients behind a blow-up's root (7), dead_relu
#: behind unnormalized_inputs (2), and 3 more. As a share right, under Jeffreys' prior (half a
#: finding right, half wrong; calibrate.share_right): (2 + 0.5) / (29 + 1) = 0.08, findings of
#: the checks of then (the same rule as calibration.MEASURED: measured on today's findings
#: only). Until session 16 it was 0.35 (8 of 23, sessions 10-13, with operator-targeted draws where
#: saturated_activation behind bad_init, both expected, was 5 of those 8); the test part's
#: findings below 0.5 were then right 2 times in 11. Below diagnosis.REPORT_THRESHOLD: such a
#: finding is still shown, under its root and marked as its consequence, for what the root
#: brings with it (diagnosis._reported).
DECLARED_CONSEQUENCE_CONFIDENCE = 0.15
#: What a fix's replay must measure to be compared with another's: the plain validation loss
#: (a balanced loss or an accuracy is a different scale).
COMPARABLE_MEASURE = "validation loss"
#: The evidence key (1.0 when it holds) of a model-size finding whose larger model, under the
#: user's own settings, reached in one run what the user's model needed many runs for.
SLOW_FOR_ITS_SIZE = "fits_only_slowly"


#: The evidence key (1.0 when it holds) of a model-size finding whose larger model was trained
#: with the user's own optimizer, rate and schedule (not moved to Adam, not at a lower rate):
#: its measured effect is the model's size alone, comparable with a setting's fix.
AT_YOUR_SETTINGS = "larger_model_at_your_settings"
#: A model-size fix that takes off at least this many times the share of the validation loss a
#: training setting's fix does (and SAME_EFFECT_MARGIN more) explains it (size_does_far_more):
#: the setting then makes up less than half of what the size does, so most of the gap is the
#: model's size. Dev two_unit_layer 312064: 0.51 against 0.12 (4.2 times).
FAR_MORE = 2.0
#: The cause whose fix only speeds a model up, and which, against a model-size fix measured on
#: the same budget, leads only where its own fix did clearly more (``rate_fix_no_bigger``).
RATE_TOO_LOW = "lr_too_low"


#: The evidence key (1.0 when it holds) of a finding whose replayed fix changed a training
#: setting as well (checks._joint: the initialization and the learning rate, where neither alone
#: helped): that fix does not change less than the setting's, and explains no setting's finding.
FIX_CHANGES_A_SETTING = "fix_changes_a_training_setting_too"


#: The evidence key (1.0 when it holds) of a training setting's finding whose check measured
#: its setting as the one a practitioner changes first among the run's training settings:
#: the learning rate of SGD below its usual rates, the optimizer of plain SGD inside them
#: (checks._sgd_rates). Its cause then declares the run's other training settings' findings its
#: consequences, unless their replayed fixes do clearly more (``fix_does_as_much``). Plain SGD
#: at 1e-5 and plain SGD at 0.02 are both helped by a higher rate and by Adam, by about as much:
#: which comes first is read from the rate, not from which check happens to be surer. The
#: mark's value is its strength: where optimizer_choice measured that no plain SGD rate gets
#: as far as momentum or Adam, its mark (2) leads the rate's position (1).
CHANGED_FIRST = "setting_a_practitioner_changes_first"


#: The evidence key (1.0 when it holds) of a finding with a replayed fix from the default
#: initialization (bad_init; exploding_gradients from the init) whose check measured that the
#: run's validation loss never got clearly below where the default-initialized model starts
#: (checks._reinit.never_below_start). Its cause then explains an ``overfitting`` finding of the
#: same run: a training loss far below a validation loss that never left the start is what a
#: start far off does (huge initial logits shrink on the training rows first), and the default
#: init, replayed, fixes it; "stop at the best epoch" or "get more data" would keep a model no
#: better than the start (test part: output_layer_scaled, overfitting first at 0.91).
NEVER_BELOW_START = "run_never_clearly_below_the_default_start"
#: The cause NEVER_BELOW_START makes a consequence.
MEMORIZING = "overfitting"


#: The evidence key (1.0 when it holds) of a finding whose replayed fix ended no better than
#: always predicting the training average (not MEANINGFUL_IMPROVEMENT below the constant guess):
#: the fix took the loss down only as far as a model that learned nothing gets, so it did not
#: make the model learn (unscaled_targets at a rate of 2e-9: standardized targets put a model
#: that does not move at the mean, 57,855 -> 12,563 against a constant guess of 12,413).
FIX_AT_CONSTANT_GUESS = "fixed_replay_no_better_than_the_constant_guess"


#: The evidence key (1.0 when it holds) of a finding whose fix, replayed again with the inputs
#: standardized, no longer helped (checks.over_regularized: dropout 0.17 on a column in the
#: tens of thousands, taken away, took the validation loss from 34.2 to 1.92; standardizing
#: took it to 0.696, and on standardized inputs the dropout holds nothing back): what the fix
#: gained came from the inputs' scale. The finding of STANDARDIZES_INPUTS, confirmed by its
#: own replayed fix, then explains it.
GAIN_GONE_WITH_STANDARDIZED_INPUTS = "gain_gone_with_inputs_standardized"
#: The cause whose fix is standardizing the inputs.
STANDARDIZES_INPUTS = "unnormalized_inputs"


def fix_far_better(finding: Finding, root: Finding) -> bool:
    """Whether ``finding``'s replayed fix did so much better than ``root``'s that ``root``
    cannot explain it, whatever ``root``'s cause declares (``root_fix_failed``): ``root``'s
    own fix did not work (took less than SAME_EFFECT_MARGIN off the loss, or ended no better
    than the constant guess: FIX_AT_CONSTANT_GUESS), and ``finding``'s, measured from the same
    start, took SAME_EFFECT_MARGIN more off it. A root whose fix works explains its consequences
    however much more their fixes do: a schedule that decays too early, replayed with the
    decay floored, took the loss 1.05 -> 0.66 where a 70-times higher rate took it to 0.002,
    and the schedule is the fault (dev 341060)."""
    fixes = finding.experiment, root.experiment
    if not all(_comparable(fix) and math.isfinite(fix.before) for fix in fixes):
        return False
    if not _same_start(*fixes) or not fix_verified(finding) or not _root_fix_failed(root):
        return False
    return fix_drop(fixes[0]) >= fix_drop(fixes[1]) + SAME_EFFECT_MARGIN


def _same_start(fix: Experiment, other: Experiment) -> bool:
    """Whether both fixes were measured against the same loss (within SAME_EFFECT_MARGIN of
    it): the replay of the user's setup. A fix measured from another start (train_eval_mode
    re-scores the trained model in eval mode, 0.331 -> 0.298, against a replay's 0.515) cannot
    be set against it."""
    return abs(fix.before - other.before) <= SAME_EFFECT_MARGIN * max(fix.before, other.before)


def _root_fix_failed(root: Finding) -> bool:
    return not fix_verified(root) or root.evidence.get(FIX_AT_CONSTANT_GUESS, 0.0) > 0


def _held_at_the_start(root: Finding, finding: Finding) -> bool:
    return (finding.cause.id == MEMORIZING and root.evidence.get(NEVER_BELOW_START, 0.0) > 0
            and fix_verified(root))


def _changed_first(root: Finding, finding: Finding) -> bool:
    """Whether ``root`` is a training setting's finding marked CHANGED_FIRST, more strongly
    than ``finding``, another training setting's, whose cause does not declare ``root``'s its
    own consequence (a rate too high explains an optimizer that looks stuck at it). The mark's
    value is its strength: 1 read from the rate's position, 2 measured by the replays
    (optimizer_choice: no plain SGD rate got as far as the optimizer it suggests)."""
    return (root.evidence.get(CHANGED_FIRST, 0.0) > finding.evidence.get(CHANGED_FIRST, 0.0)
            and root.cause.setting == finding.cause.setting == TRAINING_SETTING
            and root.cause.id not in finding.cause.explains)


def _joint_with_setting(root: Finding, finding: Finding) -> bool:
    return bool(root.evidence.get(FIX_CHANGES_A_SETTING)) and \
        finding.cause.setting == TRAINING_SETTING


def declares(root: Finding, finding: Finding) -> bool:
    """Whether ``root``'s cause declares ``finding``'s its consequence: always (``explains``),
    as the setting changed first (CHANGED_FIRST), only once ``root``'s own replayed fix
    took the loss down (``explains_if_fixed``), an overfitting finding of a run held at its
    start (NEVER_BELOW_START), or a finding whose fix gained nothing once the inputs were
    standardized (GAIN_GONE_WITH_STANDARDIZED_INPUTS), by the confirmed fix that standardizes
    them; never a training setting that ``root``'s fix had to change too
    (FIX_CHANGES_A_SETTING)."""
    if _joint_with_setting(root, finding):
        return False
    cause = finding.cause.id
    return cause in root.cause.explains or _changed_first(root, finding) or (
        cause in root.cause.explains_if_fixed and fix_verified(root)) or _held_at_the_start(
        root, finding) or _gone_with_standardized_inputs(root, finding)


def _gone_with_standardized_inputs(root: Finding, finding: Finding) -> bool:
    return (root.cause.id == STANDARDIZES_INPUTS and fix_verified(root)
            and finding.evidence.get(GAIN_GONE_WITH_STANDARDIZED_INPUTS, 0.0) > 0)


def fix_verified(finding: Finding) -> bool:
    """Whether the finding carries a replayed fix that took at least SAME_EFFECT_MARGIN off the
    validation loss, or settled at a finite loss where the run without it blew up."""
    fix = finding.experiment
    if fix is None or not math.isfinite(fix.after):
        return False
    return math.isinf(fix.before) or (fix.before > 0 and fix_drop(fix) >= SAME_EFFECT_MARGIN)


def measured_roots(finding: Finding, findings: list[Finding]) -> list[str]:
    """Ids of the reported findings whose measured fix makes ``finding`` (a setting's) its
    consequence under ``fix_does_as_much``; [] for a finding that is not about a setting."""
    if finding.cause.setting == 0 or finding.root:
        return []
    return [other.cause.id for other in findings
            if other.cause != finding.cause and fix_does_as_much(other, finding)]


def overturns_declared(other: Finding, setting: Finding) -> bool:
    """Whether making ``setting`` a consequence of ``other`` turns round what the setting's
    cause declares: that ``other``'s cause is its consequence."""
    return other.cause.id in setting.cause.explains


def fix_does_as_much(other: Finding, setting: Finding) -> bool:
    """Whether ``other``'s replayed fix, changing less, took the loss down at least as far as
    ``setting``'s within SAME_EFFECT_MARGIN (SAME_EFFECT_MARGIN further for a setting of the
    same kind, or where the setting's cause declares ``other``'s its consequence; a fix that
    changes more explains nothing)."""
    if size_leads(setting, other) or _joint_with_setting(other, setting):
        return False
    if other.cause.setting > setting.cause.setting and not size_leads(other, setting):
        return False
    stricter = other.cause.setting == setting.cause.setting or overturns_declared(other, setting)
    margin = SAME_EFFECT_MARGIN if stricter else -SAME_EFFECT_MARGIN
    fixes = other.experiment, setting.experiment
    if not all(_comparable(fix) for fix in fixes):
        return False
    if all(math.isinf(fix.before) for fix in fixes):  # both runs blew up: where each fix settled
        return fixes[0].after <= fixes[1].after * (1 - margin)
    drops = [fix_drop(fix) for fix in fixes]
    return drops[0] >= SAME_EFFECT_MARGIN and drops[0] >= drops[1] + margin


def size_leads(size: Finding, setting: Finding) -> bool:
    """Whether ``size``, a model-size finding, explains ``setting``, a training setting's,
    against the rule that the fix changing less leads: the larger model sets the pace
    (SLOW_FOR_ITS_SIZE), or its fix did far more at the user's own settings
    (``size_does_far_more``), or ``setting`` is a rate too low whose fix did no more than the
    larger model's on the same budget (``rate_fix_no_bigger``)."""
    return (size_sets_the_pace(size, setting) or size_does_far_more(size, setting)
            or rate_fix_no_bigger(size, setting))


def rate_fix_no_bigger(size: Finding, rate: Finding) -> bool:
    """Whether ``rate``, a rate too low (RATE_TOO_LOW), follows ``size``, a model-size finding,
    by the rule ``bigger_fix_leads``: both fixes measured on the same budget (the larger model
    at the user's own settings, AT_YOUR_SETTINGS; replays of as many steps from the same start)
    and the rate's not SAME_EFFECT_MARGIN bigger. A rate too low is the cause only where raising
    it does more than the other fix: in a tie a faster rate only speeds up a model too small.
    On the dev cases where both fixes were measured alike and tied (sessions 32-33:
    two_unit_layer 415002, 415007, linear_model 415020; rate and size drops within 0.1 of each
    other), the case's cause was the model's size each time."""
    if rate.cause.id != RATE_TOO_LOW or not _measured_alike(size, rate):
        return False
    drops = [fix_drop(fix) for fix in (size.experiment, rate.experiment)]
    return drops[1] < drops[0] + SAME_EFFECT_MARGIN


def _measured_alike(size: Finding, setting: Finding) -> bool:
    """A model-size finding whose larger model was trained at the user's settings, and a
    training setting's, both replayed fixes of the plain validation loss over as many steps
    from the same start."""
    if not (size.cause.setting == MODEL_SIZE and setting.cause.setting == TRAINING_SETTING
            and size.evidence.get(AT_YOUR_SETTINGS, 0.0) > 0):
        return False
    fixes = size.experiment, setting.experiment
    if not all(_comparable(fix) and math.isfinite(fix.before) for fix in fixes):
        return False
    return fixes[0].steps == fixes[1].steps and _same_start(*fixes)


def size_does_far_more(size: Finding, setting: Finding) -> bool:
    """Whether ``size``'s larger model, trained with the user's own settings
    (AT_YOUR_SETTINGS), took the validation loss down FAR_MORE times the share ``setting``'s
    replayed fix did, and by SAME_EFFECT_MARGIN more, in replays of as many steps. A higher rate
    speeds a bottlenecked model up a little; when a wider model at the user's rate does far
    more, what the rate bought is a part of what the capacity is missing (test part
    two_unit_layer, lr_too_low 0.75 first; dev 312064: the larger model 1.10 -> 0.54, a
    tenfold rate 1.10 -> 0.96)."""
    if not _measured_alike(size, setting):
        return False
    drops = [fix_drop(fix) for fix in (size.experiment, setting.experiment)]
    return drops[0] >= max(FAR_MORE * drops[1], drops[1] + SAME_EFFECT_MARGIN)


def size_sets_the_pace(size: Finding, setting: Finding) -> bool:
    """Whether ``size`` is a model-size finding that showed the user's settings train a larger
    model in one run to where the user's model needs many (SLOW_FOR_ITS_SIZE), and ``setting``
    a training setting: the setting's fix then only speeds up a model too small for the task."""
    return (size.cause.setting == MODEL_SIZE and setting.cause.setting == TRAINING_SETTING
            and size.evidence.get(SLOW_FOR_ITS_SIZE, 0.0) > 0)


def fix_drop(fix: Experiment) -> float:
    """The share of the validation loss a replayed fix took off (1: to zero; NaN from a
    replay without the fix that blew up)."""
    return (fix.before - fix.after) / fix.before if math.isfinite(fix.before) else math.nan


def _comparable(fix: Experiment | None) -> bool:
    """A replayed fix of the plain validation loss that settled at a finite loss above 0
    (without the fix, the replay may have blown up)."""
    return (fix is not None and fix.measure == COMPARABLE_MEASURE
            and math.isfinite(fix.after) and fix.before > 0)


def stage(finding: Finding) -> int:
    """Where ``finding``'s cause sits from the data to the optimizer's step (Cause.stage; a
    training setting at SETTINGS_STAGE); 0 when nowhere on that way."""
    if finding.cause.stage:
        return finding.cause.stage
    return SETTINGS_STAGE if finding.cause.setting == TRAINING_SETTING else 0


def upstream_leads(upstream: Finding, downstream: Finding) -> bool:
    """Whether ``upstream`` leads ``downstream`` by the rule ``upstream_leads`` (module
    docstring): both confirmed by their own replayed fix (``fix_verified``), ``upstream``'s
    cause at an earlier stage, and ``downstream``'s fix not clearly the bigger one
    (``fix_clearly_bigger``). An upstream fix that changed a training setting too (a default
    init replayed at a lower rate) leads only where it did clearly more than ``downstream``'s
    own: where the setting's fix alone does as much, the upstream part is not shown to matter
    (a BERT from a config at a rate 40 times too high: the default init with the rate at 0.01
    and the rate alone at 0.0025 both took 0.704 to 0.0013)."""
    if not 0 < stage(upstream) < stage(downstream):
        return False
    if not (fix_verified(upstream) and fix_verified(downstream)):
        return False
    if upstream.evidence.get(FIX_CHANGES_A_SETTING):
        return fix_clearly_bigger(upstream, downstream)
    return not fix_clearly_bigger(downstream, upstream)


#: A fix leads another by ``lower_fix_leads`` when its replay settled at most (1 - this) times
#: as high: the bar any fix must clear (MEANINGFUL_IMPROVEMENT), applied from where the other fix
#: got, since a change on top of that fix would have to take this much more off to count as a fix
#: of its own. Dev pairs of confirmed roots on no stage measured alike (docs/devset.md, session
#: 34 s34-rank, every stored report of sessions 31-34): settled 0.32 and 0.87 times as high
#: (vanishing_gradients below bad_init, deep_tanh_tiny_init 422025, 422005: both expected, the
#: lower one first either way) and 0.97 and 1.0 (422006, 413203: the same fix, the default init,
#: reached by two checks): any margin from 0.03 to 0.13 sorts them alike; the bar of a fix is in
#: that range.
SETTLED_LOWER_MARGIN = SAME_EFFECT_MARGIN


def lower_fix_leads(finding: Finding, other: Finding) -> bool:
    """Whether ``finding`` leads ``other`` by the rule ``lower_fix_leads`` (module docstring):
    both confirmed by their own replayed fixes (``fix_verified``) of the plain validation loss
    over as many steps from the same start, neither changing a setting (``_changes_a_setting``),
    ``finding``'s settled SETTLED_LOWER_MARGIN lower, and the stage rule does not put ``other``
    ahead (``upstream_leads``)."""
    if _changes_a_setting(finding) or _changes_a_setting(other):
        return False
    if not (fix_verified(finding) and fix_verified(other)) or upstream_leads(other, finding):
        return False
    fixes = finding.experiment, other.experiment
    if not all(_comparable(fix) and math.isfinite(fix.before) for fix in fixes):
        return False
    if fixes[0].steps != fixes[1].steps or not _same_start(*fixes):
        return False
    return fixes[0].after <= fixes[1].after * (1 - SETTLED_LOWER_MARGIN)


def _changes_a_setting(finding: Finding) -> bool:
    """Whether ``finding``'s fix changes a training setting or the model's size: its cause is a
    setting, or its replay changed one too (FIX_CHANGES_A_SETTING)."""
    return finding.cause.setting != 0 or bool(finding.evidence.get(FIX_CHANGES_A_SETTING))


def fix_clearly_bigger(finding: Finding, other: Finding) -> bool:
    """Whether ``finding``'s replayed fix, measured on the same loss from the same start as
    ``other``'s, took SAME_EFFECT_MARGIN more of it off (where the run without either blew up:
    settled SAME_EFFECT_MARGIN lower). False when the two cannot be set side by side."""
    fixes = finding.experiment, other.experiment
    if not all(_comparable(fix) for fix in fixes):
        return False
    if all(math.isinf(fix.before) for fix in fixes):
        return fixes[0].after <= fixes[1].after * (1 - SAME_EFFECT_MARGIN)
    if not all(math.isfinite(fix.before) for fix in fixes) or not _same_start(*fixes):
        return False
    return fix_drop(fixes[0]) >= fix_drop(fixes[1]) + SAME_EFFECT_MARGIN
