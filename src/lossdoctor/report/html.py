"""The report as one self-contained HTML file: the verdict first, then each cause with its
evidence as figures. No script, no external resource: figures are SVG embedded as data URIs, so
the file works offline and nothing in it runs. Every text from the run (layer names, paths,
verdicts) is escaped."""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path

from lossdoctor.checks import catalogue
from lossdoctor.checks._fix import SETTLED_EVALUATIONS
from lossdoctor.checks.lr_schedule import COLLAPSE_SHARE
from lossdoctor.report import figures
from lossdoctor.report._common import (
    NO_TRAINING_REASONS,
    PLAIN_MEASURE,
    cause_heading,
    cause_names,
    chance_level,
    check_problems,
    consequence_text,
    experiment_line,
    fix_text,
    floor_level,
    follows_from,
    headline,
    looks_like,
    measured_through_wrong_loss,
    number,
    run_lines,
    short_of_guess,
    unexplained_lines,
)
from lossdoctor.report._curve_words import settled

#: Screens up to this width (CSS pixels) get the narrow figures: phones, held upright.
PHONE_PIXELS = 600


@dataclass
class Plot:
    """A figure with what it shows, in words."""

    key: str
    title: str
    caption: str
    svg: str
    narrow_svg: str = ""  # the same figure drawn narrower, for a phone's screen


def write(document: dict, path: str) -> None:
    Path(path).write_text(render(document), encoding="utf-8")


def render(document: dict) -> str:
    """The whole page, as text."""
    shown: set[str] = set()
    sections = [_verdict(document), _training(document, shown)]
    for rank, cause in enumerate(document["causes"], start=1):
        sections.append(_cause(document, rank, cause, shown))
    sections.append(_recorded(document, shown))
    sections.append(_checks(document))
    title = f"lossdoctor: {document['script']}"
    return _PAGE.format(title=escape(title), css=_CSS, body="\n".join(s for s in sections if s),
                        footer=_footer(document))


# --- sections ------------------------------------------------------------------------------


#: A number in scientific notation: a browser may break a line after its "e-" ("SGD lr 0.05 ->
#: 6.7e-" above "31" on a phone, lr_schedule_epoch_scheduler_per_batch).
SCIENTIFIC = re.compile(r"\d(?:\.\d+)?e[-+]\d+")


def prose(text: str) -> str:
    """Text for a paragraph, escaped, its numbers in scientific notation kept on one line."""
    return SCIENTIFIC.sub(lambda m: f'<span class="num">{m.group()}</span>', escape(text))


def _verdict(document: dict) -> str:
    status = escape(document["status"])
    parts = [f'<section class="verdict {status}" id="verdict">',
             f"<h1>{escape(headline(document))}</h1>",
             f'<p class="script">{escape(document["script"])}</p>']
    parts += [f'<p class="run">{prose(line)}</p>' for line in run_lines(document)]
    if document["status"] == "no_training":
        parts.append(_list(NO_TRAINING_REASONS))
    if unexplained_lines(document):
        parts.append(_list(unexplained_lines(document)))
    if document["causes"]:
        parts.append('<ol class="ranking">' + "".join(
            _ranked(document, c) for c in document["causes"]) + "</ol>")
    parts += [f'<p class="warning">{prose(line)}</p>' for line in check_problems(document)]
    return "\n".join(parts + ["</section>"])


def _ranked(document: dict, cause: dict) -> str:
    """A cause in the verdict's list; one that follows from others is set in under them and
    names them by number, so a consequence of higher confidence below its root reads as what
    it is, not as a ranking error."""
    link = (f'<a href="#cause-{escape(cause["id"])}">{escape(looks_like(cause))}</a> '
            f'<span class="tag">{escape(cause["id"])}, confidence {cause["confidence"]:.2f}'
            '</span>')
    roots = follows_from(document, cause)
    if not roots:
        return f"<li>{link}</li>"
    return f'<li class="follows"><span class="consequence">follows from {roots}:</span> {link}</li>'


def _training(document: dict, shown: set[str]) -> str:
    converged = settled(document)
    curves = document["curves"]
    caption = _loss_caption(document, converged)
    plot = _plot("loss_curves", "Your training", lambda: figures.loss_curves(
        curves, document.get("curve"), chance_level(document), converged,
        floor_level(document)), caption)
    if plot is None:
        return ""
    shown.add(plot.key)
    lr_plot = _learning_rate_plot(document)
    return _section("training", "Your training", [_figure(p) for p in (plot, lr_plot) if p])


def _loss_caption(document: dict, converged: bool) -> str:
    caption = "Training loss per optimizer step and validation loss per pass."
    if figures.shaded(document.get("curve"), converged):
        caption += (" Shaded green: since when the validation loss has settled (converged)."
                    if converged else " Shaded: where the validation loss is "
                    f"{figures.behaviour(document['curve'], converged)}.")
    if chance_level(document) is not None:
        caption += " Dashed: the loss of always predicting the same (best constant) answer."
    if floor_level(document) is not None:
        caption += (" Dotted: the lowest loss this set-up can reach, even for a perfect model "
                    "(the cause below says why).")
    if (document.get("symptom") or {}).get("kind") == "below_floor":
        # label_range_transformer_signed_labels: a loss falling to -12 drawn as a clean descent
        caption += " Below 0 this loss no longer measures the fit: its fall is not learning."
    return caption


def _learning_rate_plot(document: dict) -> Plot | None:
    """The learning rate over the same steps as the loss curves, when it changed during the
    run: a schedule that decays too early or climbs too high shows where, against the loss,
    and the step a cause's text names is marked on it."""
    curves, marks = document["curves"], schedule_marks(document)
    caption = ("The learning rate your optimizer trained at, step by step (a scheduler, warmup "
               "or a change by hand), on the same steps and epochs as the losses above.")
    if marks:
        caption += " Dotted: the step the cause below names."
    return _plot("learning_rate", "Learning rate over steps",
                 lambda: figures.learning_rate(document["setup"].get("lr_schedule") or [],
                                               document.get("steps") or 0,
                                               figures.epoch_starts(curves), marks),
                 caption)


#: The steps an lr_schedule finding names in its evidence, and what its text says of each.
_SCHEDULE_STEPS = {"collapse_step": f"the rate falls below {COLLAPSE_SHARE:.0%} of its peak",
                   "rise_step": "the schedule has raised the rate"}


def schedule_marks(document: dict) -> dict[int, str]:
    """Step -> label for the steps lr_schedule's text names ("at step 44 of 632"): the figure
    without them left the reader to find the collapse on a log axis."""
    marks = {}
    for cause in document["causes"]:
        if cause["id"] != "lr_schedule":
            continue
        for key, said in _SCHEDULE_STEPS.items():
            step = cause["evidence"].get(key)
            if isinstance(step, (int, float)) and step >= 0:
                marks[int(step)] = f"step {int(step)}: {said}"
    return marks


def _cause(document: dict, rank: int, cause: dict, shown: set[str]) -> str:
    parts = [f'<p class="tag">{escape(cause["id"])}, confidence {cause["confidence"]:.2f}</p>']
    if consequence_text(cause):
        parts.append(f'<p class="consequence">{escape(consequence_text(cause))}</p>')
    parts.append(f'<p class="cause-verdict">{prose(cause["verdict"])}</p>')
    fix_shown = _experiment_key(cause) in shown  # a shared experiment: not drawn again
    if measured_through_wrong_loss(cause):
        parts.append(f'<p class="consequence">{escape(WRONG_LOSS_FIGURES)}</p>')
    for plot in _drawn_plots(document, cause, with_fix=not fix_shown):
        if plot.key in shown or plot.svg in shown:  # the same figure
            parts.append(f'<p class="see-above">{escape(plot.title)}: shown above.</p>')
            continue
        shown.update((plot.key, plot.svg))
        if plot.key == f"fix_{cause['id']}":
            shown.add(_experiment_key(cause))
        parts.append(_figure(plot))
    if fix_shown:
        parts.append(f'<p class="see-above">{escape(FIX_TITLE)}: shown above.</p>')
    if cause.get("experiment"):
        chance, experiment = chance_level(document), cause["experiment"]
        doubtful = measured_through_wrong_loss(cause) or short_of_guess(experiment, chance)
        kind = "consequence" if doubtful else "experiment"
        said = experiment_line(document, cause)
        parts.append(f'<p class="{kind}">{prose(said)}</p>')
    parts.append(f'<p class="fix"><strong>Fix:</strong> {prose(fix_text(cause))}</p>')
    parts.append(_evidence(cause["evidence"]))
    return _section(f"cause-{cause['id']}", cause_heading(rank, cause), parts, "cause")


#: What stands in for the figures of a cause measured through a loss that no longer measures the
#: fit (label_range_bce_labels: an lr 'fix' drove a loss of -3 to -7e+08, drawn as a green line
#: plunging, and a range test falling to -2e+05 read as a rate that works). Not 'where lower is
#: not better': under a double softmax (loss_mismatch_double_softmax) lower still is, but the
#: loss cannot go below 1.04 while a correct setup's can, so the two do not compare.
WRONG_LOSS_FIGURES = ("Its figures are left out: they were measured through a loss that does "
                      "not measure the fit as a correct setup's would, so their values do not "
                      "compare with those of the fix.")


def _drawn_plots(document: dict, cause: dict, with_fix: bool) -> list[Plot]:
    """The cause's figures, none when they were measured through a wrong loss."""
    if measured_through_wrong_loss(cause):
        return []
    return cause_plots(document, cause, with_fix=with_fix)


def _recorded(document: dict, shown: set[str]) -> str:
    """The per-layer figures no cause has shown yet, for the curious, each with what the checks
    that read it concluded: a panel that looks alarming is not left for the reader to judge."""
    plots = _layer_plots(document, shown)
    if not plots:
        return ""
    for plot in plots:
        plot.caption = " ".join(filter(None, [plot.caption, judged_text(document, plot.key)]))
    return _section("recorded", "Recorded during training", [_figure(p) for p in plots])


#: Figures whose size a cause sets without causing what the figure's own checks test for (so not
#: in its ``explains``, which would change the ranking): unscaled targets in the hundreds of
#: thousands give an MSE loss, and so gradients, in the same proportion
#: (unscaled_targets_house_prices: gradient norms up to 1e7 beside 'Gradients explode: reported
#: nothing', with no word on why); a weight decay strong enough to hold the model back shrinks
#: weights, and the gradients through them, towards 0 (over_regularized_weight_decay_mlp:
#: gradient norms down to 1e-15, unexplained).
SCALES_FIGURE = {"unscaled_targets": ("gradient_norms",),
                 "over_regularized": ("gradient_norms",)}


def judged_text(document: dict, figure: str) -> str:
    """What the checks for the causes this figure shows concluded from it, in a sentence or
    two; "" when no such check ran. A cause found that can explain the panel is named as what
    anything unusual in it can come from ("What it shows can come from" read as if the panel
    showed a problem where its own check had just reported nothing)."""
    ids = [c.id for c in catalogue().values() if figure in c.figures]
    found = {c["id"] for c in document["causes"]}
    dismissed = {d["id"] for d in document.get("dismissed", [])}
    outcomes = {cause: check for check in document["checks"] for cause in check.get("causes", [])}
    judged = [i for i in ids if i in outcomes and i not in found]
    quiet = [i for i in judged if outcomes[i]["status"] == "ran" and i not in dismissed]
    noun = "check" if len(quiet) == 1 else "checks"
    said = [f"The {noun} for {cause_names(quiet)} read this and reported nothing."] * bool(quiet)
    said += [f"{cause_names([i])}: looked into, too weak to report."
             for i in judged if i in dismissed]
    said += [f"{cause_names([i])}: not tested ({outcomes[i]['reason'] or outcomes[i]['status']})."
             for i in judged if outcomes[i]["status"] != "ran"]
    causes = catalogue()
    roots = [i for i in found if i in causes and causes[i].explains & set(ids)
             or figure in SCALES_FIGURE.get(i, ())]
    if roots:
        said.append(f"Anything unusual in it can come from {cause_names(sorted(roots))}, found "
                    "above.")
    return " ".join(said)


def _checks(document: dict) -> str:
    if not document["checks"]:
        return ""
    rows = "".join(
        f"<tr><td>{_identifier(c['name'])}</td><td class=\"status\">{escape(c['status'])}</td>"
        f"<td>{escape(c['reason'])}</td></tr>" for c in document["checks"])
    dismissed = "".join(
        f"<li>{escape(d['id'])} ({d['confidence']:.2f}): {escape(d['verdict'])}</li>"
        for d in document.get("dismissed", []))
    body = f"<table><tr><th>check</th><th>status</th><th>reason</th></tr>{rows}</table>"
    if dismissed:
        body += f"<p>Looked into and dismissed (confidence below 0.5):</p><ul>{dismissed}</ul>"
    return _section("checks", "Checks", [f"<details><summary>What ran</summary>{body}</details>"])


# --- figures for a cause -------------------------------------------------------------------


def cause_plots(document: dict, cause: dict, with_fix: bool = True) -> list[Plot]:
    """The figures the cause declares as its evidence, then the fix's experiment unless not
    ``with_fix``."""
    draw = _evidence_plots(document, cause.get("details") or {})
    plots = [draw[name]() for name in cause.get("figures") or [] if name in draw]
    if cause.get("experiment") and with_fix:
        plots.append(_fix_plot(cause, chance_level(document)))
    return [p for p in plots if p is not None and p.svg]


def _evidence_plots(document: dict, details: dict) -> dict[str, Callable[[], Plot | None]]:
    """How to draw each figure a cause may declare (lossdoctor.findings.FIGURES)."""
    return {
        "lr_range": lambda: _lr_plot(details["range_test"]) if "range_test" in details else None,
        "feature_scales": lambda: _features_plot(details.get("features") or [],
                                                 details.get("unit") or "feature"),
        "saturation": lambda: _activation_plot(document, dead=False),
        "dead_units": lambda: _activation_plot(document, dead=True),
        "gradient_norms": lambda: _gradient_plot(document),
    }


def _lr_plot(test: dict) -> Plot | None:
    return _plot("lr_range", "Learning-rate range test", lambda: figures.lr_range(test),
                 "Loss of a copy of your model trained while the learning rate grows step by "
                 "step; your learning rate and the one the fix replayed are marked.")


def _features_plot(features: list[dict], unit: str) -> Plot | None:
    """``unit``: what one entry is, as the verdict names it (column, channel or feature)."""
    return _plot("feature_scales", f"Input {unit} scales",
                 lambda: figures.feature_scales(features, unit),
                 f"Size of each input {unit}, in the units the model sees; a standardized "
                 f"input sits near 1.")


def _activation_plot(document: dict, dead: bool) -> Plot | None:
    layers = [a for a in document.get("activations") or [] if (a["kind"] == "relu") == dead]
    if any(a["kind"] == "sigmoid" for a in layers):  # the output's probabilities come from it
        layers = [a for a in layers if a["kind"] != "probabilities"]
    blew_up = first_non_finite_step(document)
    layers = [_before(layer, blew_up) for layer in layers]
    run = {"epoch_starts": figures.epoch_starts(document.get("curves") or {}),
           "last_step": document.get("steps") if blew_up is None else blew_up}
    after = ("" if blew_up is None else
             f" The training loss became NaN or infinite at step {blew_up}: the activations "
             "from then on are not drawn (a NaN or infinite activation is neither dead nor "
             "saturated, it is the blow-up).") or _sampling_end(layers, run["last_step"])
    after += _hidden_text(figures.hidden_layers(layers, "dead" if dead else "saturated"))
    if dead:
        return _plot("dead_units", "Dead ReLU units",
                     lambda: figures.activation_fractions(layers, "dead",
                                                          "fraction of units dead", **run),
                     "Fraction of each ReLU layer's units that output zero for a whole batch, "
                     "at sampled steps."
                     + after)
    return _plot("saturation", "Activation saturation",
                 lambda: figures.activation_fractions(layers, "saturated",
                                                      "fraction saturated", **run),
                 "Fraction of each activation's outputs pinned at its limits (a sigmoid at 0 "
                 "or 1, a tanh at -1 or 1), at sampled steps." + after)


def _hidden_text(hidden: list[str]) -> str:
    """Names the layers whose lines lie under another's with the same values: eight sigmoid
    layers never saturated (vanishing_gradients_conv1d_deep_sigmoid) showed as one line at 0
    under a legend of eight."""
    if not hidden:
        return ""
    verb = "lies" if len(hidden) == 1 else "lie"
    return (f" The line{'s' if len(hidden) > 1 else ''} of {_and(hidden)} {verb} under a later "
            "layer's line with the same values.")


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


#: The samples of a panel "end early" when the last one is further from the run's last step than
#: this share of the run: the axis runs to the end, and an empty stretch of it reads as no change.
SAMPLING_END_SHARE = 0.1


def _sampling_end(layers: list[dict], last_step: int | None) -> str:
    """Says where the activation samples end when that is well before the run does
    (train_eval_mode_transformer_no_eval: sampled up to step 150 of 192, axis to 192)."""
    sampled = max((step for layer in layers for step in layer["steps"]), default=None)
    if sampled is None or not last_step or last_step - sampled <= SAMPLING_END_SHARE * last_step:
        return ""
    return (f" The last sample is from step {sampled:,} of {last_step:,}: activations are "
            "sampled at spaced steps (every step at first, then every 50 or more), so the lines "
            "end there.")


def first_non_finite_step(document: dict) -> int | None:
    """The first training step whose loss was NaN or infinite, if the run blew up."""
    steps = (document.get("curves") or {}).get("train_steps") or []
    return next((p["step"] for p in steps if not figures.finite(p.get("loss"))), None)


def _before(layer: dict, step: int | None) -> dict:
    """The layer's samples taken before ``step`` (all of them when it is None)."""
    if step is None:
        return layer
    kept = [i for i, s in enumerate(layer["steps"]) if s < step]
    return {**layer, **{key: [layer[key][i] for i in kept]
                        for key in ("steps", "saturated", "dead") if key in layer}}


def _gradient_plot(document: dict) -> Plot | None:
    return _plot("gradient_norms", "Per-layer gradient norms",
                 lambda: figures.gradient_norms(document.get("gradients") or []),
                 "Gradient norm of each parameter, first layer on top, over the sampled steps."
                 + _zero_gradients_text(document) + _batchnorm_bias_text(document)
                 + _untrained_rows_text(document))


def _untrained_rows_text(document: dict) -> str:
    """The parameters a cause found never trained, which have no row (frozen_params_head_only:
    'each parameter' over fc2's two rows alone, with no word on where fc1 went)."""
    drawn = {g["name"] for g in document.get("gradients") or []}
    missing = [name for cause in document["causes"]
               for name in (cause.get("details") or {}).get("untrained_parameters") or []
               if name not in drawn]
    if not drawn or not missing:
        return ""
    shown = (_and(missing) if len(missing) <= 3
             else f"{', '.join(missing[:3])} and {len(missing) - 3} more")
    # a sentence opened by a parameter's own name read as a stray lower-case word
    # (frozen_params_transformer_head_only: '... sampled steps. position, embed.weight ...')
    return f" No row for {shown}: never trained (found above)."


#: Causes found that leave parameters with no gradient at all, and how: the panel's rows at 0
#: are theirs to explain (dead_relu_bias: every row but the last at 0 under "the checks for
#: exploding and vanishing gradients reported nothing", with no word on why).
ZEROING_CAUSES = {"dead_relu": "a dead ReLU layer passes no gradient back to the layers "
                               "before it"}


def _zero_gradients_text(document: dict) -> str:
    """Which parameters had a gradient of exactly 0 at every sampled step, and the cause found
    that zeroes them, if any."""
    layers = document.get("gradients") or []
    zero = [g["name"] for g in layers
            if g["norms"] and all(figures.finite(v) and v == 0 for v in g["norms"])]
    if not zero or len(zero) == len(layers):  # all at 0: the figure says it on its face
        return ""
    shown = _and(zero) if len(zero) <= 3 else f"{', '.join(zero[:3])} and {len(zero) - 3} more"
    said = (f" {len(zero)} of {len(layers)} parameters ({shown}) had a gradient of exactly 0 "
            "at every sampled step: nothing trains them.")
    found = [ZEROING_CAUSES[c["id"]] for c in document["causes"] if c["id"] in ZEROING_CAUSES]
    return said + "".join(f" Found above: {how}." for how in found)


def _batchnorm_bias_text(document: dict) -> str:
    """The biases of layers just before a BatchNorm layer: it subtracts the batch's mean, and
    with it the bias, so their gradients sit near 0 by design (batch_size_batchnorm_two_images:
    two rows at 1e-8 among rows at 0.01-1, under 'the checks read this and reported nothing')."""
    layers = (document.get("setup") or {}).get("layers") or []
    before = {f"{layer['name']}.bias" for layer, after in itertools.pairwise(layers)
              if str(after.get("type", "")).startswith("BatchNorm")}
    cancelled = [g["name"] for g in document.get("gradients") or [] if g["name"] in before]
    if not cancelled:
        return ""
    verb = "comes" if len(cancelled) == 1 else "come"
    return (f" {_and(cancelled)} {verb} just before a BatchNorm layer, which subtracts the "
            "batch's mean and the bias with it: a gradient near 0 there is expected, not a "
            "problem.")


FIX_TITLE = "Validation loss before and after the fix"


def _experiment_key(cause: dict) -> str:
    """What identifies the fix figure before it is drawn: two causes that share an experiment
    share it (drawing it again for the second, at two widths, was a fifth of a page's build
    time for vanishing_deep_sigmoid)."""
    experiment = cause.get("experiment")
    return "experiment " + json.dumps(experiment, sort_keys=True) if experiment else ""


def _fix_plot(cause: dict, chance: float | None) -> Plot | None:
    experiment = cause["experiment"]
    if experiment.get("measure", PLAIN_MEASURE) != PLAIN_MEASURE:
        chance = None  # the constant guess's loss is in other units
    caption = (f"Your training replayed on copies, as it is and with the fix "
               f"({experiment['description']}).")
    caption += (f" The numbers in the text average each replay's last {SETTLED_EVALUATIONS} "
                "evaluations.")
    apart = figures.start_apart(experiment, chance)
    if apart:
        caption += (f" The two replays start apart at step 0 ({number(apart[0])} and "
                    f"{number(apart[1])}): the fix changes what is measured before any training "
                    "(another model or initialization, other data, or a loss computed another "
                    "way), so compare where they end, not where they start.")
    if not figures.replays_aligned(experiment):
        caption += (" Each replay is drawn over its own length, its evaluations evenly spaced "
                    "(they did not come at the same steps).")
    if chance is not None:
        caption += " Dashed: the loss of always predicting the same (best constant) answer."
    return _plot(f"fix_{cause['id']}", FIX_TITLE,
                 lambda: figures.fix_curves(experiment, chance), caption)


def _layer_plots(document: dict, shown: set[str]) -> list[Plot]:
    draw = _evidence_plots(document, {})
    plots = [draw[key]() for key in ("gradient_norms", "saturation", "dead_units")
             if key not in shown]
    return [p for p in plots if p is not None]


def _plot(key: str, title: str, draw: Callable[[], str | None], caption: str) -> Plot | None:
    """The figure ``draw`` makes, at the report's width and at a phone's; None without data."""
    svg = draw()
    if not svg:
        return None
    with figures.narrow():
        return Plot(key, title, caption, svg, draw() or "")


# --- markup --------------------------------------------------------------------------------


def _figure(plot: Plot) -> str:
    """The figure, with its narrow drawing for screens up to PHONE_PIXELS wide: the wide one
    shrunk to a phone's width had its labels at about 6 px."""
    narrow = (f'<source media="(max-width: {PHONE_PIXELS}px)" '
              f'srcset="{_data_uri(plot.narrow_svg)}">'
              if plot.narrow_svg else "")
    return (
        f'<figure class="plot" data-figure="{escape(plot.key)}">'
        f"<figcaption><strong>{escape(plot.title)}.</strong> {escape(plot.caption)}"
        f"</figcaption>"
        f'<picture>{narrow}<img alt="{escape(plot.title)}" src="{_data_uri(plot.svg)}">'
        "</picture></figure>"
    )


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _evidence(evidence: dict) -> str:
    if not evidence:
        return ""
    rows = "".join(f'<tr><td>{_identifier(name)}</td><td class="value">{escape(number(value))}'
                   "</td></tr>"
                   for name, value in evidence.items())
    return f"<details><summary>Evidence</summary><table>{rows}</table></details>"


def _identifier(name: str) -> str:
    """A check's or an evidence's name, breakable after its underscores only: a phone's
    checks table broke "ran" into "ra / n" and "class_imbalance" into "class_im / balance",
    letters wherever the column ended."""
    return escape(name).replace("_", "_<wbr>")


def _section(anchor: str, title: str, parts: list[str], kind: str = "") -> str:
    return (f'<section id="{escape(anchor)}" class="{kind}">'
            f"<h2>{escape(title)}</h2>\n" + "\n".join(parts) + "\n</section>")


def _list(items) -> str:
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"


def _footer(document: dict) -> str:
    return escape(f"lossdoctor {document.get('lossdoctor_version', '')}, report schema "
                  f"version {document.get('version', '')}")


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<main>
{body}
</main>
<footer>{footer}</footer>
</body>
</html>
"""

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
  background: #fafafa; margin: 0; line-height: 1.45; }
main, footer { max-width: 760px; margin: 0 auto; padding: 0 20px; }
section { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: 14px 20px;
  margin: 16px 0; }
.verdict { border-left: 6px solid #c0392b; }
.verdict.healthy { border-left-color: #1e8449; }
.verdict.no_training { border-left-color: #7f8c8d; }
.verdict.unexplained, .verdict.incomplete { border-left-color: #b9770e; }
h1 { font-size: 1.35em; margin: 0.2em 0; }
h2 { font-size: 1.15em; margin: 0.2em 0 0.5em; }
.script { font-family: ui-monospace, monospace; color: #555; margin: 0; word-break: break-all; }
.run { color: #555; margin: 0.3em 0; }
.tag { color: #777; font-size: 0.9em; }
.consequence, .warning { color: #9a6700; }
.ranking li.follows { margin-left: 1.5em; }
.experiment { color: #1e8449; }
.fix { background: #eef6f0; padding: 6px 10px; border-radius: 4px; }
figure { margin: 12px 0; }
figure img { width: 100%; height: auto; display: block; }
@media (max-width: 600px) {  /* PHONE_PIXELS */
  main, footer { padding: 0 8px; }
  section { padding: 10px 12px; }
  figure.plot img { margin-left: -12px; width: calc(100% + 24px); max-width: none; }
}
figcaption { font-size: 0.9em; color: #444; margin-bottom: 4px; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border-bottom: 1px solid #eee; padding: 2px 10px 2px 0; text-align: left;
  vertical-align: top; overflow-wrap: break-word; }
td:last-child { overflow-wrap: anywhere; }  /* a reason or a value: a long path still fits */
td.status, .num { white-space: nowrap; }
@media (min-width: 601px) {  /* room for a check's name whole: "class_ / imbalance" beside a
  wide empty column read as two names */
  #checks td:first-child { white-space: nowrap; }
  #checks wbr { display: none; }  /* Chromium breaks at a <wbr> even where nowrap is set */
}
td.value { overflow-wrap: break-word; }  /* a number whole: "0.0016 / 3" read as two */
footer { color: #888; font-size: 0.85em; padding-bottom: 20px; }
"""
