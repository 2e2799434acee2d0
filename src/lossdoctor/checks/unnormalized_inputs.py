"""Inputs far from unit scale: values in the hundreds or thousands, or features whose scales
differ by orders of magnitude. Tested by replaying the training with standardized inputs."""

from __future__ import annotations

from lossdoctor.checks._features import (
    SCALE_SPREAD,
    SMALL_SCALE,
    FeatureStats,
    feature_stats,
    replay_standardized,
)
from lossdoctor.checks._fix import beyond_the_run, fix_experiment, helped, improvement
from lossdoctor.checks._plain import plain_number
from lossdoctor.checks._targets import off_scale_targets, with_both, with_only
from lossdoctor.findings import DATA_STAGE, Cause, Experiment, Finding, Skip

UNNORMALIZED_INPUTS = Cause(
    id="unnormalized_inputs",
    title="The inputs are not normalized",
    fix=(
        "Standardize the inputs: subtract each feature's training mean and divide by its training "
        "standard deviation (e.g. sklearn StandardScaler or a Normalize transform)."
    ),
    question="Are the inputs on a bad scale?",
    test="per-feature statistics; replay your training on standardized inputs",
    # Raw inputs force a small lr (their gradients are as large as they are): what a replay at
    # another lr shows follows from them. batch_size's replay scales the lr with the batch
    # (raw pixels, dev cases of issue 11: batch_size 0.93 ahead of this cause at 0.92), and
    # Adam's per-parameter steps make up for inputs of unequal scales where plain SGD cannot.
    # Not unscaled_targets: with both off scale, each check measures its fix with the other's
    # applied in both runs (checks._targets), so a targets' fix that helps is a root of its own
    # (s15-rank, dev raw_inputs_and_targets: neither fix alone helped, each helped on top).
    explains={"batch_size", "exploding_gradients", "lr_too_high", "lr_too_low",
              "optimizer_choice", "saturated_activation", "nan_inf"},
    # Inputs in the thousands push ReLU pre-activations far below zero and sigmoid layers to
    # their limits, so units die and gradients fade: once standardizing is replayed and helps,
    # those findings are its consequences (s15-fresh's dev script s12: vanishing gradients 0.77
    # and dead ReLUs 0.55 were reported as causes beside the inputs').
    explains_if_fixed={"dead_relu", "vanishing_gradients"},
    figures=("feature_scales",),
    stage=DATA_STAGE,
)

CAUSES = (UNNORMALIZED_INPUTS,)


#: Per-feature statistics kept in the finding's details, for the report.
DETAILED_FEATURES = 64


def check(case) -> list[Finding]:
    stats = feature_stats(case)
    if not stats.off_scale:
        return []
    targets = off_scale_targets(case)
    experiment = _standardizing_experiment(case, stats, targets)
    beaten = targets is not None and _run_beat_the_fix(case, experiment)
    return [
        Finding(
            UNNORMALIZED_INPUTS,
            _confidence(stats, experiment, beaten),
            verdict=_verdict(stats, experiment, targets is not None,
                             _describe_beaten(experiment, case) if beaten else None),
            evidence=_evidence(stats, experiment),
            fix=_fix(stats.unit),
            experiment=experiment,
            details={"features": _feature_table(stats), "unit": stats.unit},
        )
    ]


def _fix(unit: str) -> str:
    """The cause's fix, naming what the statistics were taken over (unnormalized_cnn_raw_pixels:
    'channel 0' in the verdict, then 'subtract each feature's training mean' in the fix)."""
    return UNNORMALIZED_INPUTS.fix.replace("each feature's", f"each {unit}'s")


def _standardizing_experiment(case, stats: FeatureStats, targets) -> Experiment | None:
    """The user's setup with standardized inputs against the same setup as it is; None when
    the training cannot be replayed (the scale evidence then stands alone). When the regression
    targets are off scale too, both runs have them standardized (checks._targets: neither fix
    alone helps)."""
    try:
        baseline = case.baseline
    except Skip:
        return None
    if targets is not None:
        return fix_experiment(
            "standardize inputs, with the targets standardized in both runs (loss in original "
            "units)", with_only(case, targets, None), with_both(case, targets, stats)[0])
    standardized = replay_standardized(case, stats)
    return fix_experiment("standardize inputs", baseline, standardized)


def _run_beat_the_fix(case, experiment: Experiment | None) -> bool:
    """With the targets standardized in both replays, the one without the fix is no replay of
    the run (raw inputs against standardized targets: a setup the script never ran, fresh31
    s04); the run itself is then what the fix must beat (``beyond_the_run``), and a run that
    already got lower than the fix's replay was not held back by its inputs' scale."""
    return experiment is not None and helped(experiment) and not beyond_the_run(
        case, experiment.after)


def _confidence(stats: FeatureStats, experiment: Experiment | None,
                beaten: bool = False) -> float:
    """Scale evidence alone is suggestive (0.5 to 0.6); the replay confirms it (up to 0.95) or
    refutes it (below the reporting threshold), as does a run that did better than the fix."""
    scale_weight = min(stats.orders_off_unit / 3, 1.0)
    if experiment is None:
        return 0.5 + 0.1 * scale_weight
    gain = improvement(experiment)
    if beaten:
        return 0.3 + 0.1 * scale_weight
    if helped(experiment):
        return 0.6 + 0.25 * min(gain / 0.5, 1.0) + 0.1 * scale_weight
    return 0.3 + 0.1 * scale_weight + max(gain, 0.0)


def _verdict(stats: FeatureStats, experiment: Experiment | None, raw_targets: bool,
             beaten: str | None = None) -> str:
    """The scale, then what the replay showed (``beaten``: what the run itself did better)."""
    tried = beaten or _describe_experiment(experiment, raw_targets)
    return f"{_describe_scale(stats)} {tried}".strip()


def _describe_scale(stats: FeatureStats) -> str:
    j = stats.largest
    name = f"{stats.unit} {j}"
    largest = (
        f"({name}: mean {plain_number(float(stats.mean[j]))}, "
        f"std {plain_number(float(stats.std[j]))})"
    )
    if float(stats.scale.max()) <= SMALL_SCALE:
        text = (f"Your inputs are tiny: no value is larger than "
                f"{plain_number(float(stats.max_abs.max()))} in size {largest}.")
    elif stats.nearly_constant:
        text = _describe_flat(stats)
    else:
        text = (f"Your inputs have values up to {plain_number(float(stats.max_abs.max()))} "
                f"{largest}, far from the scale around 1 that the model's initialization assumes.")
    if stats.spread >= SCALE_SPREAD:
        text += (f" The scales of your {stats.unit}s differ by a factor of "
                 f"{plain_number(stats.spread)}, so no single learning rate suits them all.")
    return text


def _describe_flat(stats: FeatureStats) -> str:
    """Inputs of unit size that barely vary: an offset the first layer's bias takes away, and
    differences between rows hundreds of times below unit scale."""
    j = stats.most_varying
    return (f"Your inputs barely vary: no {stats.unit} has a standard deviation above "
            f"{plain_number(stats.variation)} ({stats.unit} {j}: mean "
            f"{plain_number(float(stats.mean[j]))}, std {plain_number(float(stats.std[j]))}), so "
            f"the differences between your examples, which the model learns from, are "
            f"{plain_number(1 / stats.variation)} times smaller than the scale around 1 that "
            f"its initialization assumes (were they normalized with statistics in other "
            f"units, such as 0-255 pixels?).")


#: Said of a replay whose runs both had the regression targets standardized (checks._targets).
BOTH_STANDARDIZED = "your regression targets are off scale too, so both runs had them standardized"


def _describe_experiment(experiment: Experiment | None, raw_targets: bool = False) -> str:
    if experiment is None:
        return "Your training could not be replayed, so the fix was not tried."
    before, after = plain_number(experiment.before), plain_number(experiment.after)
    if helped(experiment):
        both = f" ({BOTH_STANDARDIZED})" if raw_targets else ""
        return (f"Standardizing them with the training mean and std took the validation loss "
                f"from {before} to {after} in a {experiment.steps}-step replay of your "
                f"training{both}.")
    both = f"; {BOTH_STANDARDIZED}" if raw_targets else ""
    return (f"Yet standardizing them did not help in a {experiment.steps}-step replay of your "
            f"training (validation loss {before} before, {after} after{both}), so the scale "
            f"is not what holds it back.")


def _describe_beaten(experiment: Experiment, case) -> str:
    run, constant = case.run_best_validation(), case.constant_guess_loss("validation")
    guess = f" (a constant guess scores {plain_number(constant)})" if constant else ""
    return (f"Standardizing them (with your regression targets, which are off scale too) got "
            f"the validation loss to {plain_number(experiment.after)} in a "
            f"{experiment.steps}-step replay of your training; your run itself got to "
            f"{plain_number(run)}, no clear distance from that{guess}: the scale is not what "
            f"holds it back.")


def _evidence(stats: FeatureStats, experiment: Experiment | None) -> dict[str, float]:
    j = stats.largest
    evidence = {
        "features": float(stats.mean.numel()),
        "largest_feature_scale": float(stats.scale[j]),
        "largest_feature_abs_mean": float(stats.mean[j].abs()),
        "largest_feature_std": float(stats.std[j]),
        "largest_abs_value": float(stats.max_abs.max()),
        "scale_ratio": stats.spread,
    }
    if experiment is not None:
        evidence["val_loss_before"] = experiment.before
        evidence["val_loss_after"] = experiment.after
    return evidence


def _feature_table(stats: FeatureStats) -> list[dict]:
    columns = (stats.mean, stats.std, stats.max_abs)
    rows = zip(*(c[:DETAILED_FEATURES].tolist() for c in columns), strict=True)
    return [{"mean": m, "std": s, "max_abs": a} for m, s, a in rows]
