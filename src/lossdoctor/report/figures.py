"""The report's figures, drawn with matplotlib from the report document, as SVG text.

Each function takes part of the document (plain data) and returns the SVG of one figure, or None
when the data it needs is absent. Only matplotlib's object API is used (no pyplot), inside an
``rc_context``: the user's own matplotlib state is never touched. The SVG is deterministic (fixed
id salt, no date), so the same document always gives the same bytes.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import io
import itertools
import math
import re
import textwrap

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
    NullLocator,
    ScalarFormatter,
)

from lossdoctor.checks._plain import plain_lr

_STYLE = {
    "svg.hashsalt": "lossdoctor",
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8,
    "legend.frameon": False,
}
WIDTH, HEIGHT = 7.0, 3.0
#: The learning-rate figure sits under the loss curves: shorter, it reads as their companion.
LR_HEIGHT = 2.2
#: The width of the figures a phone shows: a 390 px screen draws a figure about 380 px wide, so
#: a figure of 4 inches (384 px at CSS's 96 px an inch) keeps its 9 pt text at about 12 px,
#: where the 7-inch figure shrank it to about 6 px.
NARROW_WIDTH = 4.0
_width = contextvars.ContextVar("figure_width", default=WIDTH)
#: Longer layer names are cut in the middle on axes (the full name is in the report's text);
#: on a narrow figure, at this share of the figure's width at most.
LABEL_CHARS = 44
LABEL_SHARE = 0.35
#: The training loss is grey and the validation loss blue, drawn over it and over the chance
#: line: a blue-grey running mean beside a navy validation line read as one line where they met
#: (exploding_gradients_rnn, class_imbalance_cnn_defects: the validation points near the
#: constant guess vanished under the mean and the dashed line).
USER, SUGGESTED, BEFORE, AFTER, TRAIN, TRAIN_MEAN, VALIDATION, SETTLED = (
    "#c0392b", "#1e8449", "#7f8c8d", "#1e8449", "#aab7b8", "#707b7c", "#1f6fb4", "#a9dfbf",
)
#: The floor of a loss that cannot reach 0 (a softmax applied twice), dotted: apart from the
#: dashed red constant guess and the lines of the run.
FLOOR = "#6c3483"
#: Lines are drawn at matplotlib's zorder 2: the validation loss above them.
ON_TOP = 3
#: The training loss's running mean covers this share of the run's steps.
SMOOTHING_SHARE = 0.05
#: A fraction of units dead or saturated at least this high reads as the whole layer.
WHOLLY = 0.99
#: Legend entries per row of the band above a figure, at most, the characters a row holds at
#: the legend's font size, and the band's height per row (inches).
LEGEND_COLUMNS = 3
LEGEND_ROW_CHARS = 110
LEGEND_ROW_INCHES = 0.22
#: Epoch labels along a step axis, at most; more epochs are labelled every k-th.
MAX_EPOCH_TICKS = 12
#: Points between the axes' top and the epoch numbers: clear of a y tick label at the very top,
#: which reaches about half the font's height (4.5 points) above it.
EPOCH_LABEL_PAD = 6
#: Room (inches) the epoch labels take above the axes, below the legend.
EPOCH_AXIS_INCHES = 0.32
#: Room below the lowest trend when single steps' losses would go further: a factor on a log
#: axis, a share of the span on a linear one (about what matplotlib's own margins give).
BOTTOM_ROOM_FACTOR = 2.0
BOTTOM_ROOM_SHARE = 0.08
#: Room either side of a step axis, as a share of its length (matplotlib's own margin).
STEP_MARGIN = 0.05
#: A log axis spanning fewer than this factor (two decades) is labelled at 1, 2 and 5 of each
#: decade, else it would show one or two labels; at most 7 labels, which fit side by side.
FEW_DECADES = 100
#: Under this factor (three decades) powers of ten alone give two or three labels, and a value
#: between two of them cannot be read (train_val_shift_sensor_drift: a validation loss rising
#: from 1.9 to 6.8 above the last label, "10^0"); there, 1 and 3 of each decade are labelled
#: too, at most 7 labels, evenly spaced (3 is half a decade, about).
SOME_DECADES = 1000
#: A log scale once the losses span more than this factor (about one and a half decades).
LOG_SPAN = 30
#: Losses from here on get tick labels in 4 significant digits (8e+05), not six-digit numbers or
#: matplotlib's multiplier above the axis (it takes one at 1e6).
LARGE_LOSS = 1e5
#: Room kept between the y axis' title and the figure's left edge when the margin is widened.
LEFT_EDGE_INCHES = 0.05


@contextlib.contextmanager
def narrow():
    """Draw the figures made inside at NARROW_WIDTH, for a phone's screen."""
    token = _width.set(NARROW_WIDTH)
    try:
        yield
    finally:
        _width.reset(token)


def _styled(draw):
    """Draw under the report's style: rcParams are read as a figure is built and saved."""

    @functools.wraps(draw)
    def styled(*args, **kwargs):
        with matplotlib.rc_context(_STYLE):
            return draw(*args, **kwargs)

    return styled


@_styled
def loss_curves(curves: dict, curve: dict | None, chance: float | None,
                settled: bool = False, floor: float | None = None) -> str | None:
    """Training loss per step and validation loss per pass; the plateau window (``settled``: a
    converged run's, not a problem), the chance level (the loss of the best constant guess) and
    the ``floor`` (the least the set-up's loss can reach, above 0) when known."""
    train = _points(curves.get("train_steps", []), "step", "loss")
    validation = _points(curves.get("validation", []), "step", "loss")
    if not train and not validation:
        return None
    figure, axes = _figure()
    smooth = _running_mean(train)
    if train:
        axes.plot(*zip(*train, strict=True), color=TRAIN, linewidth=0.6, alpha=0.5,
                  label="training loss per step")
        axes.plot(*zip(*smooth, strict=True), color=TRAIN_MEAN, linewidth=1.2,
                  label="training loss, running mean")
    if validation:
        axes.plot(*zip(*validation, strict=True), color=VALIDATION, marker="o", markersize=3,
                  linewidth=1.5, label="validation loss", zorder=ON_TOP)
    _mark_plateau(axes, curve, train + validation, settled, epoch_starts(curves))
    if chance is not None:
        axes.axhline(chance, color=USER, linestyle="--", linewidth=1,
                     label=f"chance (constant guess) {chance:.3g}")
    if _finite(floor):
        axes.axhline(floor, color=FLOOR, linestyle=":", linewidth=1.5,
                     label=f"lowest loss this set-up can reach {floor:.3g}")
    marks = [v for v in (chance, floor) if _finite(v)]
    _frame_losses(axes, [v for _, v in smooth + validation] + marks, [v for _, v in train])
    _steps_axis(axes)
    axes.set_ylabel("loss")
    _epoch_ticks(axes, epoch_starts(curves), max(x for x, _ in train + validation))
    return _svg(figure, axes)


def _steps_axis(axes, label: str = "optimizer step") -> None:
    """An axis of optimizer steps, in whole steps (a short run would get 2.5), at round
    intervals."""
    axes.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    axes.set_xlabel(label)


def _frame_losses(axes, trends: list[float], single_steps: list[float]) -> None:
    """The y axis spans the trends (running mean, validation, chance) and the steps' highs; a
    single batch's loss far below every trend is cut at the bottom rather than squeezing the
    curves into a corner (on a log axis, a batch at 1e-5 takes five decades)."""
    _log_if_wide(axes, trends + [max(single_steps, default=min(trends))])
    low = min(trends)
    if min(single_steps, default=low) >= low:
        return
    if axes.get_yscale() == "log":
        axes.set_ylim(bottom=low / BOTTOM_ROOM_FACTOR)
    else:
        axes.set_ylim(bottom=low - BOTTOM_ROOM_SHARE * (max(trends + single_steps) - low))


def epoch_starts(curves: dict) -> list[int]:
    """The step each epoch starts at: as recorded, else (a loop without a DataLoader) from the
    validation passes, one at the end of each epoch, when they number the epochs 0, 1, 2..."""
    if curves.get("epoch_starts"):
        return list(curves["epoch_starts"])
    ends: dict[int, int] = {}
    for validation in curves.get("validation") or []:
        if isinstance(validation.get("epoch"), int):
            ends[validation["epoch"]] = validation["step"]
    if list(ends) != list(range(len(ends))) or len(ends) < 2:
        return []
    return [0, *(ends[epoch] for epoch in range(len(ends) - 1))]


def _epoch_ticks(axes, starts: list[int], end: float) -> None:
    """The epochs along the top of a step axis, numbered as the report's text numbers them:
    a tick where each epoch starts and its number in the middle of its span, so that a
    validation pass at an epoch's end sits under its own epoch's number."""
    if len(starts) < 2:
        return
    bounds = [*starts, max(end, starts[-1])]
    every = math.ceil(len(starts) / MAX_EPOCH_TICKS)
    shown = [i for i in range(0, len(starts), every) if bounds[i + 1] > bounds[i]]
    top = axes.secondary_xaxis("top")
    top.set_xticks([starts[i] for i in shown], labels=[])
    top.set_xticks([(bounds[i] + bounds[i + 1]) / 2 for i in shown],
                   labels=[str(i) for i in shown], minor=True)
    top.tick_params(which="major", length=4)
    top.tick_params(which="minor", length=0, labelsize=7, pad=EPOCH_LABEL_PAD)
    axes.annotate("epoch", xy=(0, 1), xycoords="axes fraction", xytext=(-6, EPOCH_LABEL_PAD),
                  textcoords="offset points", ha="right", va="bottom", fontsize=7)


def _mark_plateau(axes, curve: dict | None, points: list[tuple[float, float]],
                  settled: bool, starts: list[int]) -> None:
    since = (curve or {}).get("since_step")
    if not shaded(curve, settled) or not points:
        return
    end = max(x for x, _ in points)
    color = SETTLED if settled else "#f5b041"
    axes.axvspan(since, max(end, since), color=color, alpha=0.25,
                 label=f"{behaviour(curve, settled)} since {_since_words(curve, starts)}")


def _since_words(curve: dict, starts: list[int]) -> str:
    """"epoch 3 (step 128)": the epoch the report's text names, and the step the axis shows;
    "the end of epoch 0 (step 32)" when that pass came where the next epoch starts
    (no_signal_cnn_random_labels: a shade from the tick of epoch 1 read "since epoch 0")."""
    epoch, step = curve.get("since_epoch"), curve["since_step"]
    if epoch is None:
        return f"step {step}"
    at_end = isinstance(epoch, int) and 0 <= epoch < len(starts) - 1 and step >= starts[epoch + 1]
    return f"{'the end of ' if at_end else ''}epoch {epoch} (step {step})"


#: Curve verdicts about a single point (the last pass jumped): no window to shade.
POINT_VERDICTS = ("jumped",)


def shaded(curve: dict | None, settled: bool) -> bool:
    """Whether the loss figure marks since when the curve behaves as it does: not for a healthy
    run's wobble, whose start is no moment worth marking, nor for a last point that jumped."""
    since = (curve or {}).get("since_step")
    if (curve or {}).get("verdict") in POINT_VERDICTS:
        return False
    return since is not None and not (settled and curve.get("verdict") != "plateau")


def behaviour(curve: dict, settled: bool) -> str:
    """The shaded window's name, in the words of the report's curve line (the caption uses
    it too). A rise is "rising", as the curve line says, not "overfitting": that is a cause,
    and the diagnosis may find another (data_pipeline_val_labels_shuffled: "overfitting since
    epoch 0" shaded above "Primary: the data pipeline", overfitting a consequence of it)."""
    verdict = curve.get("verdict")
    if settled:
        return "settled"
    words = {"plateau": "flat", "at_chance": "not improving", "overfitting": "rising",
             None: "flat"}
    return words.get(verdict, _plain(str(verdict).replace("_", " ")))


@_styled
def lr_range(test: dict) -> str | None:
    """The learning-rate range test with the user's learning rate and the fix's."""
    points = [(lr, v) for lr, v in zip(test.get("lrs", []), test.get("losses", []), strict=False)
              if _finite(v)]
    if not points:
        return None
    figure, axes = _figure()
    axes.plot(*zip(*points, strict=True), color=VALIDATION, linewidth=1.5,
              label="loss after a step at this lr")
    axes.set_xscale("log")
    _log_labels(axes.xaxis, min(lr for lr, _ in points), max(lr for lr, _ in points))
    _vline(axes, test.get("user_lr"), USER, "-", "your lr", digits=3)
    _vline(axes, test.get("fix_lr", test.get("suggested_lr")), SUGGESTED, "--", "lr of the fix")
    _vline(axes, test.get("divergence_lr"), BEFORE, ":", "blows up")
    axes.set_xlabel("learning rate (log scale)")
    axes.set_ylabel("smoothed training loss")
    # unscaled_targets_house_prices: a "1e10" multiplier sat in the legend's band
    _no_multiplier(axes.yaxis, max(abs(v) for _, v in points))
    return _svg(figure, axes)


@_styled
def learning_rate(schedule: list, last_step: int, starts: list[int],
                  marks: dict[int, str] | None = None) -> str | None:
    """The learning rate the run trained at, step by step (``schedule``: [step, lr] wherever it
    changed, as the report's setup records it), to ``last_step``, with the epochs along the top
    and ``marks`` (step -> what happened there, as a cause's text names it) as dotted lines;
    None when it never changed (the run line gives the one rate). A log axis, as schedules
    decay by factors, unless the rate reached 0 (a log axis cannot show it)."""
    points = [(step, lr) for step, lr in schedule if _finite(lr)]
    if len({lr for _, lr in points}) < 2:
        return None
    end = max(last_step, points[-1][0])
    steps, rates = zip(*points, (end, points[-1][1]), strict=True)
    figure, axes = _figure(LR_HEIGHT)
    axes.step(steps, rates, where="post", color=USER, linewidth=1.5,
              label="learning rate (first parameter group)")
    for step, said in (marks or {}).items():
        axes.axvline(step, color=VALIDATION, linestyle=":", linewidth=1.5, label=said)
    if min(rates) > 0:
        axes.set_yscale("log")
        _log_labels(axes.yaxis, min(rates), max(rates))
        axes.set_ylabel("learning rate (log)")
    else:
        axes.set_ylabel("learning rate")
    axes.set_xlim(-STEP_MARGIN * end, (1 + STEP_MARGIN) * end)
    _steps_axis(axes)
    _epoch_ticks(axes, starts, end)
    return _svg(figure, axes)


def _vline(axes, lr, color: str, style: str, label: str, digits: int = 1) -> None:
    """A learning rate marked and labelled as the report's text writes it (0.07, not 0.065)."""
    if _finite(lr):
        axes.axvline(lr, color=color, linestyle=style, linewidth=1.5,
                     label=f"{label} {plain_lr(lr, digits)}")


@_styled
def gradient_norms(layers: list[dict]) -> str | None:
    """Each parameter's gradient norm over the sampled steps: a dot at the median and a line
    from the smallest to the largest. Positions, not lengths, carry the values, so a log axis
    reads right; a linear one when some norm is exactly zero (a log axis cannot show it)."""
    rows = [(layer["name"], [v for v in layer["norms"] if _finite(v)]) for layer in layers]
    rows = [(name, sorted(norms)) for name, norms in rows if norms]
    if not rows:
        return None
    labels = _short_labels([name for name, _ in rows])
    figure, axes = _figure(_bar_height(len(rows)), _label_width(labels))
    positions = range(len(rows))
    axes.hlines(positions, [n[0] for _, n in rows], [n[-1] for _, n in rows], color=BEFORE,
                linewidth=1.2, label="smallest to largest")
    axes.plot([n[len(n) // 2] for _, n in rows], positions, "o", color=VALIDATION,
              markersize=5, label="median over sampled steps")
    _layer_axis(axes, labels)
    log = min(n[0] for _, n in rows) > 0
    if log:
        axes.set_xscale("log")
        _log_labels(axes.xaxis, min(n[0] for _, n in rows),
                    max(n[-1] for _, n in rows))
    else:
        _no_multiplier(axes.xaxis, max(n[-1] for _, n in rows))
    if max(n[-1] for _, n in rows) == 0:
        axes.text(0.5, 0.5, "every sampled gradient is exactly 0", transform=axes.transAxes,
                  ha="center", va="center", color=USER, fontsize=11)
    axes.set_xlabel(f"gradient norm ({'log' if log else 'linear'} scale)")
    return _svg(figure, axes)


@_styled
def feature_scales(features: list[dict], unit: str = "feature") -> str | None:
    """Each input feature's standard deviation and largest absolute value (markers: on a log
    axis a bar's length would mean nothing), against unit scale."""
    if not features:
        return None
    figure, axes = _figure()
    positions = list(range(len(features)))
    largest = [max(f.get("max_abs") or 0.0, 1e-12) for f in features]
    spread = [max(f.get("std") or 0.0, 1e-12) for f in features]
    axes.vlines(positions, spread, largest, color=BEFORE, linewidth=1.0)
    axes.plot(positions, largest, "^", color=BEFORE, markersize=6, label="largest |value|")
    axes.plot(positions, spread, "o", color=VALIDATION, markersize=6,
              label="standard deviation")
    axes.axhline(1.0, color=SUGGESTED, linestyle="--", linewidth=1.2, label="unit scale (1)")
    axes.set_yscale("log")
    _log_labels(axes.yaxis, min(spread + [1.0]), max(largest + [1.0]))
    # whole feature numbers only: one feature sat at 0 between ticks at -0.045 ... 0.045
    axes.set_xlim(-0.5, len(features) - 0.5)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    axes.set_xlabel(f"input {unit}")  # as the verdict names them: 'channel 0' on images
    axes.set_ylabel("size (log scale)")
    return _svg(figure, axes)


#: Layers whose lines coincide (dead_relu_bias: two ReLU layers wholly dead from the first step,
#: the first hidden under the second) show as nested lines, each drawn wider than the next; so
#: many widths at most, beyond which the caption names the hidden layers (hidden_layers).
NESTED_LINES = 3
#: Two layers' fractions closer than this at every sample draw as one line (a marker's width
#: on the 0-1 axis, about).
SAME_FRACTION = 0.01


def hidden_layers(layers: list[dict], key: str) -> list[str]:
    """The layers activation_fractions draws exactly under a later layer's line (the same
    samples, the same values), by their legend names: the caption must say they are there."""
    series = [layer for layer in layers if any(_finite(v) for v in layer.get(key, []))]
    widths = [_lines_over(series, index, key) for index in range(len(series))]
    return [activation_name(layer) for index, layer in enumerate(series)
            if any(widths[later] == widths[index] and _same_line(layer, series[later], key)
                   for later in range(index + 1, len(series)))]


def activation_name(layer: dict) -> str:
    """An activation's legend name: a module inside an nn.Sequential is named by its index
    alone, which read as a bare number ('1 (relu)'); it is called a layer."""
    name = str(layer["layer"])
    if re.fullmatch(r"[\d.]+", name):
        name = f"layer {name}"
    return f"{name} ({layer['kind']})"


def _lines_over(series: list[dict], index: int, key: str) -> int:
    """How many nested lines are drawn over line ``index`` (0 for one no later line covers):
    it is drawn that many steps wider than the last. Only coinciding lines are widened: a
    wider line for a layer that crosses no other read as the one that matters
    (train_val_shift_cnn_exposure: '1 (relu)' thick at 0 beside '4 (relu)' thin at 0.25)."""
    over = sum(_same_line(series[index], later, key) for later in series[index + 1:])
    return min(over, NESTED_LINES - 1)


def _same_line(one: dict, other: dict, key: str) -> bool:
    return one["steps"] == other["steps"] and all(
        _finite(a) and _finite(b) and abs(a - b) <= SAME_FRACTION
        for a, b in zip(one[key], other[key], strict=True))


@_styled
def activation_fractions(layers: list[dict], key: str, label: str,
                         epoch_starts: list[int] | None = None,
                         last_step: int | None = None) -> str | None:
    """One line per activation: the fraction of outputs saturated (or units dead) per step. A
    layer that ends wholly saturated or dead says so in its legend entry. The step axis spans
    the whole run (``last_step``) with its epochs, though steps are sampled less often later."""
    series = [layer for layer in layers if any(_finite(v) for v in layer.get(key, []))]
    if not series:
        return None
    figure, axes = _figure()
    for index, layer in enumerate(series):
        points = [(s, v) for s, v in zip(layer["steps"], layer[key], strict=True) if _finite(v)]
        name = _plain(activation_name(layer))
        if points[-1][1] >= WHOLLY:
            name += f": {'every unit dead' if key == 'dead' else 'all saturated'} at the end"
        under = _lines_over(series, index, key)
        axes.plot(*zip(*points, strict=True), marker="o", markersize=3 + 2 * under,
                  linewidth=1.2 + 1.5 * under, label=name)
    axes.set_ylim(-0.03, 1.03)
    end = max([last_step or 0] + [max(layer["steps"]) for layer in series])
    axes.set_xlim(-STEP_MARGIN * end, (1 + STEP_MARGIN) * end)
    _steps_axis(axes)
    axes.set_ylabel(label)
    _epoch_ticks(axes, epoch_starts or [], end)
    return _svg(figure, axes)


@_styled
def fix_curves(experiment: dict, chance: float | None = None) -> str | None:
    """Validation loss in the replay of the user's setup and in the replay with the fix, with
    the constant guess's loss: a fix still worse than guessing must read as one."""
    drawn = _fix_axes(experiment, chance)
    return _svg(*drawn) if drawn else None


#: The replays' markers and lines (points): two start points closer than a marker's width
#: and a line's overlap into one dot on the figure.
REPLAY_MARKER_POINTS, REPLAY_LINE_POINTS = 3.0, 1.5


def _fix_axes(experiment: dict, chance: float | None):
    """fix_curves' figure and axes, drawn but not saved; None with no finite loss to draw."""
    before, after = experiment.get("curve_before") or [], experiment.get("curve_after") or []
    if not any(_finite(v) for v in before + after):
        return None
    figure, axes = _figure()
    aligned = replays_aligned(experiment)
    for values, color, label in ((before, BEFORE, "your setup"), (after, AFTER, "with the fix")):
        points = _replay_points(values, experiment.get("curve_steps") or [], aligned)
        if points:
            axes.plot(*zip(*points, strict=True), color=color, marker="o",
                      markersize=REPLAY_MARKER_POINTS, linewidth=REPLAY_LINE_POINTS,
                      label=label + _blew_up_words(values, experiment, aligned))
        elif values:  # a replay that blew up has no point to draw, but must not go unsaid
            axes.plot([], [], color=color, marker="x", linestyle="none",
                      label=f"{label}: NaN or infinite throughout")
    shown = [v for v in before + after if _finite(v)]
    if _finite(chance):
        axes.axhline(chance, color=USER, linestyle="--", linewidth=1,
                     label=f"chance (constant guess) {chance:.3g}")
        shown.append(chance)
    axes.set_xlim(left=0)
    _log_if_wide(axes, shown)
    _steps_axis(axes, "replayed optimizer step" if aligned else "share of each replay done (%)")
    axes.set_ylabel((experiment.get("measure") or "validation loss").split(" (")[0])
    return figure, axes


def _blew_up_words(values: list, experiment: dict, aligned: bool) -> str:
    """Where a replay that started finite blew up: exploding_gradients_token_rnn's "your setup"
    was one point at step 0 under the fix's, a legend entry with no line to be seen."""
    first = next((i for i, v in enumerate(values) if not _finite(v)), None)
    if first is None:
        return ""
    steps = experiment.get("curve_steps") or []
    where = (f"step {steps[first]}" if aligned else
             f"{(first + 1) * 100 / len(values):.0f}% of the replay")
    return f" (NaN or infinite from {where})"


#: Replays whose first validation losses lie closer than this on the figure (points, 1/72 inch:
#: the axes keep their height at both widths, so the same on a phone) show one start: a marker's
#: width and a line's, where the two start dots stop overlapping. The share of the loss used
#: before (1%) ignored the axis: on a replay falling from 0.77 to 0.02, 1.5% of the loss is
#: under 3 points, and the caption named a gap nobody could see.
START_APART_POINTS = REPLAY_MARKER_POINTS + REPLAY_LINE_POINTS


def start_apart(experiment: dict, chance: float | None = None) -> tuple[float, float] | None:
    """The two replays' validation losses at step 0 when they are drawn visibly apart
    (vanishing_deep_sigmoid: 0.77 with your sigmoid model, 0.72 with the ReLU one that
    replaces it), else None: curves that start apart read as if the fix had already helped
    before training. ``chance`` as fix_curves draws it (it sets the axis' span too)."""
    steps = experiment.get("curve_steps") or []
    before, after = experiment.get("curve_before") or [], experiment.get("curve_after") or []
    if not (replays_aligned(experiment) and steps[0] == 0):
        return None
    first, other = before[0], after[0]
    if not (_finite(first) and _finite(other)) or first == other:
        return None
    return (first, other) if start_gap_points(experiment, chance) > START_APART_POINTS else None


@_styled
def start_gap_points(experiment: dict, chance: float | None = None) -> float:
    """How far apart (points, vertically) fix_curves draws the two replays' first losses, on
    its own axis: linear or log, over the span of everything it shows."""
    figure, axes = _fix_axes(experiment, chance)
    axes.get_ylim()  # settles the autoscaled limits before they are read
    first = experiment["curve_before"][0]
    other = experiment["curve_after"][0]
    pixels = axes.transData.transform([(0, first), (0, other)])[:, 1]
    return abs(float(pixels[0] - pixels[1])) * 72 / figure.dpi


def replays_aligned(experiment: dict) -> bool:
    """Whether both replays' validation passes came at the same, known steps; else (e.g.
    another batch size over the same rows takes other steps) a shared step axis would be false,
    and each is drawn over its own length."""
    at = experiment.get("curve_steps") or []
    values = (experiment.get("curve_before") or [], experiment.get("curve_after") or [])
    return bool(at) and all(len(v) == len(at) for v in values)


def _replay_points(values: list, at: list[int], aligned: bool) -> list[tuple[float, float]]:
    """Validation passes at their replay steps (from step 0), else spread evenly over the
    replay's length in percent."""
    if aligned:
        return [(x, v) for x, v in zip(at, values, strict=True) if _finite(v)]
    count = len(values)
    return [((i + 1) * 100 / count, v) for i, v in enumerate(values) if _finite(v)]


# --- shared --------------------------------------------------------------------------------


def _figure(height: float = HEIGHT, left: float = 0.75):
    """A figure with fixed margins in inches (an automatic layout costs a second drawing);
    ``left`` leaves room for the y tick labels."""
    width = _width.get()
    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(left=left / width, right=1 - 0.15 / width,
                           bottom=0.55 / height, top=1 - 0.15 / height)
    return figure, figure.add_subplot()


def _svg(figure: Figure, axes) -> str:
    _legend_above(figure, axes)
    _fit_left(figure, axes)
    _thin_x_labels(figure, axes)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _renderer(figure: Figure):
    """A renderer to measure text with, the same for every measure of one figure: text sizes
    are cached per renderer, and a new one for each measure laid out every label again."""
    canvas = figure.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        canvas = FigureCanvasAgg(figure)
    return canvas.get_renderer()


def _fit_left(figure: Figure, axes) -> None:
    """Widen the left margin when the y tick labels and the axis title stick out of it: the
    lr range test of label_range_bce_labels, ticks down to -200000, pushed "smoothed training
    loss" off the figure. Likewise the right margin, when the last x tick label, centred on the
    axes' right end, sticks out of it: the lr range test of unscaled_targets_cnn_brightness,
    lr up to 10, lost half its "10^1". Measures the text once, without drawing the figure."""
    renderer = _renderer(figure)
    width = figure.get_size_inches()[0]
    left_out = -axes.yaxis.get_tightbbox(renderer).x0 / figure.dpi  # inches left of 0
    right_out = axes.xaxis.get_tightbbox(renderer).x1 / figure.dpi - width  # right of the edge
    if left_out > 0:
        figure.subplots_adjust(
            left=(figure.subplotpars.left * width + left_out + LEFT_EDGE_INCHES) / width)
    if right_out > 0:
        figure.subplots_adjust(
            right=(figure.subplotpars.right * width - right_out - LEFT_EDGE_INCHES) / width)


#: Room (points) between two x tick labels, below which they run into one row of digits: about
#: half a character of the 9-point tick labels, the space a reader needs to tell them apart.
MIN_LABEL_GAP_POINTS = 4.0


def _thin_x_labels(figure: Figure, axes, rounds: int = 3) -> None:
    """Fewer ticks on a linear x axis whose labels touch: the phone's gradient figure of
    exploding_gradients_token_rnn read "0 5000 10000 15000 20000 25000" as one row of digits.
    Halves the locator's bins until the labels clear MIN_LABEL_GAP_POINTS."""
    locator = axes.xaxis.get_major_locator()
    if axes.get_xscale() == "log" and _x_labels_touch(figure, axes):
        axes.xaxis.set_major_locator(LogLocator(base=10))  # powers of ten alone
        axes.xaxis.set_major_formatter(FuncFormatter(_power_of_ten))
    if axes.get_xscale() != "linear" or not isinstance(locator, MaxNLocator):
        return
    for _ in range(rounds):
        if not _x_labels_touch(figure, axes):
            return
        locator.set_params(nbins=max(1, len(_x_label_boxes(figure, axes)) // 2))


def _x_labels_touch(figure: Figure, axes) -> bool:
    """Whether two neighbouring x tick labels come closer than MIN_LABEL_GAP_POINTS: also on a
    log axis labelled at 1 and 3 of each decade on a phone ("0.001 0.003 0.01 0.03 0.1 0.3 1"
    fills 3 inches)."""
    boxes = _x_label_boxes(figure, axes)
    gaps = [b.x0 - a.x1 for a, b in itertools.pairwise(boxes)]
    return bool(gaps) and min(gaps) * 72 / figure.dpi < MIN_LABEL_GAP_POINTS


def _x_label_boxes(figure: Figure, axes) -> list:
    """The x tick labels drawn (inside the view), left to right, in display units."""
    renderer = _renderer(figure)
    low, high = sorted(axes.get_xlim())
    axes.xaxis.get_tightbbox(renderer)  # places the ticks for the current limits
    labels = [tick.label1 for tick in axes.xaxis.get_major_ticks()
              if low <= tick.get_loc() <= high and tick.label1.get_text()]
    return sorted((label.get_window_extent(renderer) for label in labels), key=lambda b: b.x0)


#: ... LEGEND_ROW_CHARS fill the axes of a figure WIDTH wide with the default margins: a
#: legend starts at the axes' left edge, so a narrower figure or a wider margin (the layer
#: names of the gradient figure) holds fewer (a phone's gradient legend ran off the figure).
_AXES_INCHES = WIDTH - 0.75 - 0.15


def _legend_above(figure: Figure, axes) -> None:
    """The legend in a band above the axes, never on the data: the figure grows by the band's
    height so the axes keep their size."""
    handles, labels = axes.get_legend_handles_labels()
    if not labels:
        return
    axes_inches = axes.get_position().width * figure.get_size_inches()[0]
    row_chars = LEGEND_ROW_CHARS * axes_inches / _AXES_INCHES
    labels = [_wrapped(label, int(row_chars) - LEGEND_HANDLE_CHARS) for label in labels]
    widest = max(len(line) for label in labels for line in label.split("\n"))
    columns = max(1, min(len(labels), LEGEND_COLUMNS,
                         int(row_chars // (widest + LEGEND_HANDLE_CHARS))))
    above = EPOCH_AXIS_INCHES if axes.child_axes else 0.0  # a secondary axis along the top
    band = LEGEND_ROW_INCHES * _legend_lines(labels, columns) + above
    width, height = figure.get_size_inches()
    top = figure.subplotpars.top * height
    figure.set_size_inches(width, height + band)
    figure.subplots_adjust(top=top / (height + band),
                           bottom=figure.subplotpars.bottom * height / (height + band))
    axes_inches = (figure.subplotpars.top - figure.subplotpars.bottom) * (height + band)
    axes.legend(handles, labels, loc="lower left",
                bbox_to_anchor=(0.0, 1.02 + above / axes_inches), ncol=columns,
                borderaxespad=0.0, handlelength=1.8, columnspacing=1.2)


#: Characters a legend entry's handle and the gap after it take.
LEGEND_HANDLE_CHARS = 6


def _wrapped(label: str, room: int) -> str:
    """A legend entry longer than a row, on as many lines as it needs (broken between words):
    a phone's saturation legend, "torch.sigmoid in SimpleClassifier.forward (sigmoid): all
    saturated at the end", ran off the figure (example_2_unnormalized)."""
    if len(label) <= room:
        return label
    return "\n".join(textwrap.wrap(label, max(room, 1), break_on_hyphens=False))


def _legend_lines(labels: list[str], columns: int) -> int:
    """The legend's height in lines: matplotlib fills it column by column, each row as tall as
    its tallest entry."""
    per_column = math.ceil(len(labels) / columns)
    heights = [label.count("\n") + 1 for label in labels]
    return sum(max(heights[row::per_column]) for row in range(per_column))


def _points(rows: list[dict], x: str, y: str) -> list[tuple[float, float]]:
    return [(row[x], row[y]) for row in rows if _finite(row.get(y))]


def _running_mean(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Trailing mean over a window of SMOOTHING_SHARE of the points: the trend under the noise
    of single batches."""
    window = max(1, round(len(points) * SMOOTHING_SHARE))
    values = [v for _, v in points]
    sums = [0.0, *itertools.accumulate(values)]
    return [(x, (sums[i + 1] - sums[max(0, i + 1 - window)]) / min(i + 1, window))
            for i, (x, _) in enumerate(points)]


def _log_if_wide(axes, values: list[float]) -> None:
    """A log scale when the losses span more than LOG_SPAN times; when some are exactly 0 (a log
    axis cannot show them), a scale linear from 0 to the smallest positive loss and logarithmic
    above: on a linear axis from 42, bad_init_cnn_uniform's replay without the change (0.476),
    its fix (0) and the constant guess (0.695) lay on one line at the bottom."""
    positive = [v for v in values if _finite(v) and v > 0]
    zeros = sum(1 for v in values if v == 0)
    wide = bool(positive) and max(positive) / min(positive) > LOG_SPAN
    if wide and len(positive) == len(values):
        axes.set_yscale("log")
        _log_labels(axes.yaxis, min(positive), max(positive))
    elif wide and len(positive) + zeros == len(values):
        low, high = min(positive), max(positive)
        axes.set_yscale("symlog", linthresh=low, linscale=1.0)  # 0 a decade below the lowest
        decades = range(math.ceil(math.log10(low)), math.ceil(math.log10(high)) + 1)
        axes.yaxis.set_major_locator(FixedLocator([0.0, *(10.0 ** d for d in decades)]))
        axes.yaxis.set_minor_locator(NullLocator())
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axes.set_ylim(bottom=0)
    else:
        _no_multiplier(axes.yaxis, max((abs(v) for v in values if _finite(v)), default=0.0))


def _no_multiplier(axis, largest: float) -> None:
    """Every tick label carries its whole value: matplotlib's '1e6' multiplier (or '+1.39'
    offset) sits above the axis, where it reads as part of the epoch row and leaves '0.8' to
    mean 800,000 (unscaled_targets_cnn_brightness)."""
    if largest >= LARGE_LOSS:
        axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.4g}"))
    else:
        axis.set_major_formatter(ScalarFormatter(useOffset=False))


def _log_labels(axis, low: float, high: float) -> None:
    """Labels on a log axis that never run into each other: matplotlib labels every minor tick
    of a range under a decade or two (2e-2, 3e-2, 4e-2 ... touching); there, 1, 2 and 5 of each
    decade are labelled instead, and elsewhere the powers of ten alone."""
    axis.set_minor_formatter(NullFormatter())
    axis.set_major_formatter(FuncFormatter(_power_of_ten))
    if high / low < SOME_DECADES:
        subs = (1.0, 2.0, 5.0) if high / low < FEW_DECADES else (1.0, 3.0)
        axis.set_major_locator(LogLocator(base=10, subs=subs))
        axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))


_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076"
                                             "\u2077\u2078\u2079")


def _power_of_ten(value: float, _position=None) -> str:
    """A log axis' label as matplotlib writes it (10 with the exponent raised), in plain text:
    matplotlib's own labels go through its math-text parser, which took a tenth of the HTML
    report's build time. Other values in plain numbers."""
    if not (_finite(value) and value > 0):
        return ""
    exponent = round(math.log10(value))
    if not math.isclose(value, 10.0 ** exponent, rel_tol=1e-9):
        return f"{value:g}"
    return "10" + str(exponent).translate(_SUPERSCRIPT)


#: Inches a character of a tick label takes at the report's font size (9 pt), about.
CHAR_INCHES = 0.065


def _bar_height(rows: int) -> float:
    return min(max(1.2 + 0.28 * rows, 2.0), 9.0)


def _label_width(labels: list[str]) -> float:
    """Inches for the longest tick label at the report's font size, plus the axis' own room."""
    return 0.3 + CHAR_INCHES * max(len(label) for label in labels)


def _layer_axis(axes, labels: list[str]) -> None:
    axes.set_yticks(range(len(labels)), labels)
    axes.invert_yaxis()  # the first layer on top


def _short(name: str) -> str:
    """A parameter name that fits the room: its leading module names cut to their first letter
    (layer numbers kept, 'denselayer16' as 'd16') before its middle is left out, so that two
    layers' names stay apart (optimizer_choice_sgd_transformer on a phone: encoder.layers.0
    and encoder.layers.1's in_proj_weight both read 'encoder.l...oj_weight')."""
    return _short_labels([name])[0]


def _short_labels(names: list[str]) -> list[str]:
    """Names shortened as _short says, alike down the column: a module name cut in one label is
    cut in every label it leads (healthy_transformer_majority: 'e.layers.0.self_attn...' above
    'encoder.layers.0.linear1.weight' read as two modules, 'e' and 'encoder')."""
    room = min(LABEL_CHARS, int(_width.get() * LABEL_SHARE / CHAR_INCHES))
    split = [_plain(name).split(".") for name in names]
    cut = set().union(*(_cuts(parts, room) for parts in split))
    labels = [".".join(_cut_word(part) if (i, tuple(parts[:i + 1])) in cut else part
                       for i, part in enumerate(parts)) for parts in split]
    half = room // 2 - 1
    return [label if len(label) <= room else f"{label[:half]}...{label[-half:]}"
            for label in labels]


def _cuts(parts: list[str], room: int) -> set[tuple[int, tuple[str, ...]]]:
    """The leading module names (position, and the path to it) this name must cut to fit."""
    shown, cut = list(parts), set()
    for i in range(len(parts) - 1):
        if len(".".join(shown)) <= room:
            break
        if not parts[i].isdigit():
            cut.add((i, tuple(parts[:i + 1])))
            shown[i] = _cut_word(parts[i])
    return cut


def _cut_word(word: str) -> str:
    """'denselayer16' -> 'd16', 'encoder' -> 'e'; a layer number stays whole."""
    return word if word.isdigit() else word[0] + word[len(word.rstrip("0123456789")):]


def _plain(text: str) -> str:
    """Text from the user's code, shown literally: a '$' would start matplotlib's math mode."""
    return str(text).replace("$", r"\$")


def finite(value) -> bool:
    """A number that is neither NaN nor infinite (None, as JSON writes NaN, is not one)."""
    return _finite(value)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
