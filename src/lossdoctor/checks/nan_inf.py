"""NaN or infinite values: in the data itself, or where they first appear in training.

NaN or inf in the inputs or targets is a root cause: every loss on a batch holding such a row is
NaN, and one NaN gradient turns every weight NaN, whatever the model, loss or learning rate;
unless the training loss grew first (``nan_after_growth``): then what the model was fed turned
non-finite in training (a state carried from step to step), and the growth's cause leads. It
is reported with the rows and columns that hold it, and a replay without those rows shows the
fix working. Without bad data, the first non-finite training loss and gradient are reported
(step and parameters) as a symptom for the user to trace back; a cause that blows training up
(a learning rate too high, exploding gradients, inputs or targets far off scale, gradients never
zeroed, a bad initialization) declares that it explains ``nan_inf``, and is then ranked first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from lossdoctor.blow_up import GROWTH, finite_rows, grew_before
from lossdoctor.capture.sample import Batch
from lossdoctor.capture.tensors import dense_tensors_in
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._carried_gradients import carried_gradients
from lossdoctor.checks._fix import fix_experiment
from lossdoctor.checks._gradient_norms import decades, growth_before, total_norms
from lossdoctor.checks._plain import plain_number
from lossdoctor.experiments import Plan
from lossdoctor.findings import Cause, Experiment, Finding, Skip

NAN_INF = Cause(
    id="nan_inf",
    title="NaN or infinite values",
    fix=(
        "Find where the first NaN or infinity appears (see the verdict) and remove it at its "
        "source."
    ),
    question="Are there NaN or infinite values, and where first?",
    test=(
        "scan of the captured inputs and targets, first non-finite loss and gradient; replay "
        "without the bad rows"
    ),
)

CAUSES = (NAN_INF,)


#: Bad data is the root cause: nothing else need be wrong for the run to fail.
DATA_CONFIDENCE = 0.95
#: Non-finite losses without bad data are real, but usually a symptom of another cause.
SYMPTOM_CONFIDENCE = 0.6
#: Columns named in a verdict at most.
SHOWN_COLUMNS = 8
#: The gradient norm grew "by orders of magnitude" before the first NaN/inf: two decades, the
#: exploding_gradients check's GROWTH_DECADES (a step 100 times the typical size undoes far
#: more than one step of progress). The verdict then names exploding gradients as what made
#: the NaN/inf, and clipping as their fix.
GRADIENT_GROWTH_DECADES = 2.0
@dataclass
class BadValues:
    """Non-finite values in one part (inputs or targets) of the captured batches of one set."""

    where: str  # "training inputs", "validation targets", ...
    rows: int = 0
    total_rows: int = 0
    nans: int = 0
    infs: int = 0
    columns: set[int] = field(default_factory=set)


@dataclass
class Symptoms:
    """Where non-finite numbers first appeared during the run."""

    loss_step: int | None  # first optimizer step with a non-finite training loss
    nonfinite_losses: float  # fraction of steps whose loss is not finite
    gradient_step: int | None  # first sampled step with a non-finite gradient
    gradient_names: list[str]  # the parameters whose gradient was not finite then
    parameters: int  # parameters seen at that step
    grew_first: bool = False  # the finite loss grew GROWTH-fold before the first NaN/inf
    gradient_start: float = math.nan  # the sampled gradient norm at the start
    gradient_peak: float = math.nan  # ... and its largest before the first NaN/inf

    @property
    def gradients_exploded(self) -> bool:
        """The gradient norm grew GRADIENT_GROWTH_DECADES or more before the first NaN/inf."""
        return decades(self.gradient_start, self.gradient_peak) >= GRADIENT_GROWTH_DECADES


def check(case) -> list[Finding]:
    """``nan_inf`` when the data holds NaN/inf, or the run's losses or gradients turn so."""
    bad = bad_data(case.copies)
    symptoms = run_symptoms(case.trace)
    if not bad and not case.trace.losses and not _has_batches(case.copies):
        raise Skip("needs training losses or captured batches: none were seen")
    if bad:
        return [_data_finding(case, bad, symptoms, carried_gradients(case.trace) is not None)]
    if symptoms.loss_step is not None or symptoms.gradient_step is not None:
        return [_symptom_finding(symptoms)]
    return []


# --- the data ------------------------------------------------------------------------------


def bad_data(copies) -> list[BadValues]:
    """Every part of the captured batches that holds NaN or inf."""
    found = []
    for name, sample in (("training", copies.train), ("validation", copies.validation)):
        for part in ("inputs", "targets"):
            values = BadValues(f"{name} {part}")
            for batch in sample.batches:
                _count(values, _part(batch, part), batch.rows)
            if values.rows:
                found.append(values)
    return found


def _part(batch: Batch, part: str) -> list[torch.Tensor]:
    value = (batch.args, batch.kwargs) if part == "inputs" else batch.target
    return [t for t in dense_tensors_in(value) if t.is_floating_point() or t.is_complex()]


def _count(values: BadValues, tensors: list[torch.Tensor], rows: int) -> None:
    values.total_rows += rows
    bad_rows = torch.zeros(rows, dtype=torch.bool)
    for tensor in tensors:
        finite = torch.isfinite(tensor)
        values.nans += int(torch.isnan(tensor).sum())
        values.infs += int((~finite).sum()) - int(torch.isnan(tensor).sum())
        if tensor.dim() == 0 or tensor.shape[0] != rows:
            continue
        flat = (~finite).reshape(rows, -1)
        bad_rows |= flat.any(dim=1)
        if tensor.dim() == 2:
            values.columns.update(int(c) for c in flat.any(dim=0).nonzero().flatten())
    values.rows += int(bad_rows.sum())


def _has_batches(copies) -> bool:
    return bool(copies.train.batches or copies.validation.batches)


# --- the run -------------------------------------------------------------------------------


def run_symptoms(trace) -> Symptoms:
    losses = trace.step_losses()
    bad_steps = [step for step, loss in losses if not math.isfinite(loss)]
    step, names, seen = _first_bad_gradient(trace.gradients)
    fraction = len(bad_steps) / len(losses) if losses else 0.0
    first = bad_steps[0] if bad_steps else None
    firsts = [s for s in (first, step) if s is not None]
    start, peak = growth_before(total_norms(trace), min(firsts)) if firsts else (math.nan,) * 2
    return Symptoms(first, fraction, step, names, seen,
                    first is not None and grew_before(losses, first), start, peak)


def _first_bad_gradient(gradients) -> tuple[int | None, list[str], int]:
    steps = sorted({g.step for g in gradients if not math.isfinite(g.grad_norm)})
    if not steps:
        return None, [], 0
    at_step = [g for g in gradients if g.step == steps[0]]
    names = [g.name for g in at_step if not math.isfinite(g.grad_norm)]
    return steps[0], names, len(at_step)


# --- findings ------------------------------------------------------------------------------


def _data_finding(case, bad: list[BadValues], symptoms: Symptoms, carried: bool) -> Finding:
    """Shown in the data, and so a root, unless the loss grew first (the growth's cause leads)
    or the NaN gradient of the bad rows was carried, never cleared, through every later pass
    (checks/_carried_gradients.py: the missing zero_grad on the skipped update leads)."""
    # after a blow-up the replays leave those rows out already (lossdoctor.blow_up)
    experiment = None if symptoms.grew_first else _without_bad_rows(case)
    return Finding(
        NAN_INF,
        DATA_CONFIDENCE,
        verdict=" ".join([*(_describe_bad(b) for b in bad), _data_consequence(symptoms),
                          _describe_experiment(experiment)]).strip(),
        evidence=_data_evidence(bad, symptoms, experiment),
        fix=GREW_FIRST_FIX if symptoms.grew_first else _data_fix(bad),
        experiment=experiment,
        details={"bad_data": [_plain_bad(b) for b in bad]},
        root=not symptoms.grew_first and not carried,
    )


def _describe_bad(bad: BadValues) -> str:
    kinds = " and ".join(k for k, n in (("NaN", bad.nans), ("infinite values", bad.infs)) if n)
    text = f"Your {bad.where} hold {kinds} in {bad.rows:,} of {bad.total_rows:,} captured rows"
    if bad.columns:
        shown = sorted(bad.columns)[:SHOWN_COLUMNS]
        more = ", ..." if len(bad.columns) > SHOWN_COLUMNS else ""
        label = "column" if len(shown) == 1 else "columns"
        text += f" ({label} {', '.join(map(str, shown))}{more})"
    return text + "."


DATA_FIX = ("Remove or impute the NaN/inf values in your data before training (e.g. drop the "
            "rows, or fill each column with its training mean), and check the step that "
            "produced them (missing values in a file, a log of 0, a division by 0).")
#: When only targets hold them: a mean put in a target's place teaches the model a made-up
#: answer (nan_inf_transformer_log_count_targets was told to fill each column with its mean).
TARGET_FIX = ("Drop the rows whose target is NaN or infinite before training (filling a target "
              "in would teach the model an answer nobody gave), and check the step that "
              "produced them (missing labels, a log of 0, a division by 0).")
GREW_FIRST_FIX = ("Fix what made the training loss grow before the NaN (a learning rate too "
                  "high, gradients that explode: see the cause it points to); the NaN/inf in "
                  "what the model was fed follows from it.")


def _data_fix(bad: list[BadValues]) -> str:
    return TARGET_FIX if all(b.where.endswith("targets") for b in bad) else DATA_FIX


def _data_consequence(symptoms: Symptoms) -> str:
    if symptoms.loss_step is None:
        return ""
    if symptoms.grew_first:
        return (f"Your training loss grew at least {GROWTH:g}-fold before it turned NaN or "
                f"infinite at step {symptoms.loss_step}: these values appeared after training "
                f"blew up (for example a state or output fed back into the model), so they are "
                f"a consequence of the blow-up, not bad data to clean."
                + _exploded_text(symptoms))
    return (f"Your training loss is NaN or infinite from step {symptoms.loss_step} on "
            f"({symptoms.nonfinite_losses:.0%} of steps): one such row makes its batch's loss "
            f"NaN, and its gradient then turns every weight NaN, whatever the learning rate.")


def _describe_experiment(experiment: Experiment | None) -> str:
    if experiment is None:
        return ""
    before = "NaN/inf" if not math.isfinite(experiment.before) else f"{experiment.before:.3g}"
    return (f"Replaying {experiment.steps} steps of your training without those rows, the "
            f"validation loss is {experiment.after:.3g} instead of {before}.")


def _data_evidence(bad, symptoms: Symptoms, experiment) -> dict[str, float]:
    evidence: dict[str, float] = {}
    for b in bad:
        key = b.where.replace(" ", "_")
        evidence[f"nonfinite_rows_in_{key}"] = float(b.rows)
        evidence[f"nonfinite_row_fraction_in_{key}"] = b.rows / max(b.total_rows, 1)
    evidence.update(_symptom_evidence(symptoms))
    if experiment is not None and math.isfinite(experiment.after):
        evidence["val_loss_without_bad_rows"] = experiment.after
    return evidence


def _without_bad_rows(case) -> Experiment | None:
    """Replay the user's training on the captured batches with the bad rows dropped."""
    try:
        replayer = case.require_replay()
        baseline = case.baseline
    except Skip:
        return None
    fixed = replayer.replay(Plan(transform=finite_rows, steps=REPLAY_STEPS))
    experiment = fix_experiment("drop the rows holding NaN or inf", baseline, fixed)
    return experiment if math.isfinite(experiment.after) else None


def _symptom_finding(symptoms: Symptoms) -> Finding:
    return Finding(
        NAN_INF,
        SYMPTOM_CONFIDENCE,
        verdict=_symptom_verdict(symptoms),
        evidence=_symptom_evidence(symptoms),
    )


def _symptom_verdict(s: Symptoms) -> str:
    parts = []
    if s.loss_step is not None:
        parts.append(f"Your training loss first became NaN or infinite at step {s.loss_step} "
                     f"({s.nonfinite_losses:.0%} of steps are).")
    if s.gradient_step is not None:
        parts.append(f"The first non-finite gradient seen was at step {s.gradient_step}, in "
                     f"{_parameters_text(s)}.")
    if s.gradients_exploded:
        parts.append("Your data holds no NaN or inf." + _exploded_text(s))
    else:
        parts.append("Your data holds no NaN or inf, so they arise in training: look at that "
                     "step for a log or division of 0, or a learning rate or gradient that "
                     "blows up.")
    return " ".join(parts)


def _exploded_text(s: Symptoms) -> str:
    """What made the NaN/inf, when the gradient norm grew by orders of magnitude first."""
    if not s.gradients_exploded:
        return ""
    return (f" Your gradient norm grew from {plain_number(s.gradient_start)} to "
            f"{plain_number(s.gradient_peak)} before them: exploding gradients produced them "
            f"(clipping the gradient norm with torch.nn.utils.clip_grad_norm_ stops the "
            f"blow-up, and what made the gradients grow is the cause to fix).")


def _parameters_text(s: Symptoms) -> str:
    if len(s.gradient_names) == s.parameters and s.parameters > 1:
        return f"all {s.parameters} parameters at once"
    shown = ", ".join(repr(n) for n in s.gradient_names[:SHOWN_COLUMNS])
    return shown + (", ..." if len(s.gradient_names) > SHOWN_COLUMNS else "")


def _symptom_evidence(s: Symptoms) -> dict[str, float]:
    evidence = {"nonfinite_loss_fraction": s.nonfinite_losses}
    if s.loss_step is not None:
        evidence["first_nonfinite_loss_step"] = float(s.loss_step)
        evidence["loss_grew_before_nonfinite"] = float(s.grew_first)
    if s.gradient_step is not None:
        evidence["first_nonfinite_gradient_step"] = float(s.gradient_step)
        evidence["nonfinite_gradient_parameters"] = float(len(s.gradient_names))
    if s.gradients_exploded:
        evidence["gradient_growth_decades_before_nonfinite"] = decades(s.gradient_start,
                                                                        s.gradient_peak)
    return evidence


def _plain_bad(bad: BadValues) -> dict:
    return {"where": bad.where, "rows": bad.rows, "total_rows": bad.total_rows,
            "nans": bad.nans, "infs": bad.infs, "columns": sorted(bad.columns)}
