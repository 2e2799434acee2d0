"""The kinds of evidence a finding rests on, and the ranking's rule between them (issue 11).

Three kinds, from what the check measured:

- ``REPLAYED_FIX``: a replay of the user's training on copies, with the cause's fix, took the
  validation loss down (``measured_consequences.fix_verified``): the fix is measured to work.
- ``SHOWN``: the check saw the cause itself in the run's own records (``Finding.root``): NaN
  in the data as given, hidden units pinned in the first forward pass, before any update. No
  fix was measured, but nothing is inferred either.
- ``READING``: inferred from how training went (curves, statistics), no fix measured (or a
  replay that did not confirm one).

A finding can be both shown and replayed (NaN rows, and a replay without them that helped).
:mod:`lossdoctor.calibration` measures its rates per REPLAYED_FIX and READING; a shown finding
is calibrated by whether its fix was replayed, as before.

The rule between kinds, applied by :func:`lossdoctor.diagnosis.rank`:

1. **A replayed fix leads what it removes** (``replay_explains_shown``). A shown finding about
   how the model trains (its cause in ``findings.TRAINING_DYNAMICS``: units pinned) is
   ranked as the consequence of another reported finding whose fix was replayed and measured
   (REPLAYED_FIX) and whose cause declares the shown one among its consequences (``explains``,
   ``explains_if_fixed``: its fix is expected to remove the shown symptom), unless that replay
   measured the symptom still there (``SYMPTOM_LEFT``). It is then shown under its root, at
   the confidence of a declared consequence. Why: a shown symptom can itself be made by
   another cause (discuss_scaling_target_variables: targets around -2700 drive the hidden tanh
   units to their limits within two updates; "pinned" was shown, yet scaling the targets, the
   replayed fix, is what the user must do, and the saturation's own advice, a smaller init or
   normalized inputs, fixes nothing there). A shown finding about the data as given (NaN in
   the inputs) is never so explained: no other cause's fix changes the data.
2. **What is shown leads what is read** (``SHOWN_LEADS``): a shown finding that no replayed fix
   removes ranks ahead of the findings that are not shown, whatever their confidence: NaN in the
   data explains a loss that turned NaN better than a learning rate read from the curve does,
   and a finding whose replayed fix does not reach the symptom (a higher learning rate does not
   un-pin units pinned at initialization) is not its root.
3. Otherwise, by confidence (calibrated: how often such findings were right on dev).

One rule between what a finding is about, applied after these (``follows_training``): **the
training's causes lead a finding about the validation code alone when the training itself fails.**
A validation-path finding (its cause in ``VALIDATION_ONLY``) says the training computation is
fine and only the validation one differs; its cause's precedence (a misreported validation loss
distorts what the other checks read from the curve) holds only then. It follows a finding about
training:

- whose replayed fix took the validation loss down (REPLAYED_FIX), unless the validation-only
  cause declares that finding among its consequences (``explains``: the readings a misreported
  curve brings, such as lr_too_low): a replay scores the validation rows with the training
  computation, which the validation code does not touch, so a measured fix there shows the
  training falls short on its own (bench/peer23 s03: missing_zero_grad, 0.929 -> 0.564 with
  zero_grad, ranked below a true validation_path finding, a loss printed 1/30 of its size, by
  confidence alone);
- of any kind, when the validation-path check measured the trained model at chance on its own
  training rows (``TRAINING_AT_CHANCE``): no validation code makes a training learn nothing.
  Such a finding then explains none of the others either.

A replayed fix that does not remove the shown symptom: a check whose replay can tell, cheaply,
that the shown symptom is still there after the fix (units still pinned in the copy trained
with the fix) says so with ``evidence[SYMPTOM_LEFT] = 1.0``; its finding then does not explain
the shown one, and rule 2 ranks the shown one first. A check that cannot tell says nothing, and
its replayed fix is taken to remove the symptoms its cause declares.
"""

from __future__ import annotations

from lossdoctor.findings import TRAINING_DYNAMICS, Finding
from lossdoctor.measured_consequences import declares, fix_verified

#: The finding carries a replayed fix that took the validation loss down (fix_verified).
REPLAYED_FIX = "replayed fix"
#: The finding shows its cause in the run's own records (Finding.root).
SHOWN = "shown"
#: The finding reads the run's records (curves, activations, data), or its replay did not
#: confirm the fix.
READING = "reading"

#: The evidence key (1.0 when it holds) of a replayed finding whose replay measured a shown
#: symptom still there with its fix applied (the units still pinned): its fix does not remove
#: that symptom, so it is not the shown finding's root.
SYMPTOM_LEFT = "shown_symptom_left_after_fix"

#: Causes about the validation code alone: the training computation is fine, only the
#: validation one differs.
VALIDATION_ONLY = frozenset({"validation_path"})
#: The evidence key (1.0 when it holds) of a validation-only finding whose check measured the
#: trained model at chance on its own training rows: the training itself failed.
TRAINING_AT_CHANCE = "training_at_chance"

#: Rule 2: shown findings rank ahead of the others that are not their roots (a sort key's sign:
#: the kinds in this set come first).
SHOWN_LEADS = frozenset({SHOWN})


def kinds(finding: Finding) -> frozenset[str]:
    """The kinds of evidence ``finding`` rests on: REPLAYED_FIX, SHOWN, both, or READING."""
    found = {kind for kind, holds in ((REPLAYED_FIX, fix_verified(finding)),
                                      (SHOWN, finding.root)) if holds}
    return frozenset(found or {READING})


def leads(finding: Finding) -> bool:
    """Rule 2: whether ``finding`` is of a kind that leads the others (SHOWN_LEADS)."""
    return bool(kinds(finding) & SHOWN_LEADS)


def replay_explains_shown(root: Finding, shown: Finding) -> bool:
    """Rule 1: whether ``root``'s replayed fix makes the shown finding ``shown`` its
    consequence: ``root`` is REPLAYED_FIX, its cause declares ``shown``'s, and its replay did not
    measure the shown symptom still there (SYMPTOM_LEFT); ``shown`` is about how the model
    trains (TRAINING_DYNAMICS), not about the data as given."""
    return (root.cause != shown.cause and shown.cause.id in TRAINING_DYNAMICS
            and REPLAYED_FIX in kinds(root)
            and declares(root, shown) and root.evidence.get(SYMPTOM_LEFT, 0.0) <= 0)


def training_fails(finding: Finding) -> bool:
    """Whether ``finding``, about the validation code alone, measured the training itself at
    chance (TRAINING_AT_CHANCE): it then explains no finding about training."""
    return (finding.cause.id in VALIDATION_ONLY
            and finding.evidence.get(TRAINING_AT_CHANCE, 0.0) > 0)


def follows_training(finding: Finding, other: Finding) -> bool:
    """Whether ``finding``, about the validation code alone (VALIDATION_ONLY), comes after
    ``other``, about training: the training was measured at chance, or ``other``'s replayed
    fix took the validation loss down and ``finding``'s cause does not declare it."""
    if finding.cause.id not in VALIDATION_ONLY or other.cause.id in VALIDATION_ONLY:
        return False
    return training_fails(finding) or (REPLAYED_FIX in kinds(other)
                                       and not declares(finding, other))
