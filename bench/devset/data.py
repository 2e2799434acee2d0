"""The data part of a script: a generator function for the data kind, the split into training
and validation rows, input and target normalization, and the operators' data edits.

Everything is written with the canonical names x_train, y_train, x_val, y_val; `render.py`
renames them afterwards for scripts written in another naming style."""

from __future__ import annotations

from .program import Program
from .text import number

#: What each kind's generator function is called in the script.
GENERATOR = {"tabular": "make_rows", "image": "make_images", "sequence": "make_traces",
             "token": "make_reviews"}


def constants(p: Program) -> list[str]:
    d = p.data
    sizes = f"N_TRAIN, N_VAL = {d.n_train}, {d.n_val}" if d.has_val else f"N_TRAIN = {d.n_train}"
    shape = {
        "tabular": f"FEATURES = {d.features}",
        "image": f"SIDE = {d.features}",
        "sequence": f"CHANNELS, LENGTH = {d.features}, {d.length}",
        "token": f"VOCAB, LENGTH = {d.features}, {d.length}",
    }[d.kind]
    lines = [sizes, shape]
    if d.task != "regression":
        lines.append(f"CLASSES = {d.classes}")
    if d.kind != "token":
        lines.append(f"NOISE = {number(d.noise)}")
    return lines


def generator(p: Program) -> list[str]:
    """The function that makes ``n`` rows of inputs and targets, and any tensors it uses."""
    body = {"tabular": _tabular, "image": _image, "sequence": _sequence, "token": _token}
    return body[p.data.kind](p)


def loading(p: Program) -> list[str]:
    """Make the rows, split them, normalize, then apply the operators' edits."""
    make = GENERATOR[p.data.kind]
    lines = [f"x_train, y_train = {make}(N_TRAIN)"]
    if p.data.has_val:
        lines.append(f"x_val, y_val = {make}(N_VAL)")
    lines += _normalize_inputs(p) + _normalize_targets(p)
    if p.data.edits:
        lines += ["", *p.data.edits]
    return lines


def both_splits(p: Program, *lines: str) -> tuple[str, ...]:
    """``lines`` written for the training rows, then the same for the validation rows."""
    if not p.data.has_val:
        return lines
    swapped = tuple(line.replace("x_train", "x_val").replace("y_train", "y_val")
                    for line in lines)
    return lines + swapped


def _target(p: Program, labels: str) -> str:
    """Labels in the form the loss expects: class ids, float 0/1, or a column."""
    if p.loss.kind == "bce":
        labels = f"{labels}.float()"
    elif p.data.task == "regression":
        offset, scale = p.data.target_units
        if (offset, scale) != (0.0, 1.0):
            labels = f"{labels} * {number(scale)} + {number(offset)}"
    if (p.loss.kind == "bce" or p.data.task == "regression") and p.loss.target_shape == "column":
        return f"({labels}).unsqueeze(1)" if " " in labels else f"{labels}.unsqueeze(1)"
    return labels


def _raw_units(p: Program) -> tuple[list[str], str]:
    """Module-level unit tensors for tabular columns in their own units, and the return value."""
    if p.data.input_units == "unit":
        return [], "z"
    low, high = (-1, 3) if p.data.input_units == "raw" else (2, 5)
    units = [f"UNITS = 10 ** torch.empty(FEATURES).uniform_({low}, {high})  "
             "# each column in its own unit",
             "OFFSETS = UNITS * (2 + 3 * torch.rand(FEATURES))", ""]
    return units, "z * UNITS + OFFSETS"


TABULAR_STORIES = [
    ("Customer churn from account features (tenure, spend, tickets, ...).",
     "z[:, 0] - 0.8 * z[:, 1] + torch.sin(2 * z[:, 2]) + 0.7 * z[:, 3] * z[:, 4]", (-0.6, 0.6)),
    ("Plant yield from soil measurements; the rule behind it is not linear.",
     "hidden @ TEACHER_OUT", None),
    ("Fault zones from two stress readings and some readings that do not matter.",
     "z[:, 0] ** 2 + z[:, 1] ** 2 - 1.4", (-0.4, 1.1)),
]


def _tabular(p: Program) -> list[str]:
    d = p.data
    doc, score, bounds = TABULAR_STORIES[d.story]
    units, returned = _raw_units(p)
    lines = list(units)
    if d.story == 1:
        outs = "CLASSES" if d.task == "multiclass" else "1"
        lines += ["TEACHER_IN = torch.randn(FEATURES, 8)", f"TEACHER_OUT = torch.randn(8, {outs})",
                  ""]
    lines += ["", "def make_rows(n):", f'    """{doc}"""', "    z = torch.randn(n, FEATURES)"]
    if d.story == 1:
        lines.append("    hidden = torch.tanh(z @ TEACHER_IN)")
    if d.task == "multiclass" and d.story == 1:
        lines += ["    logits = hidden @ TEACHER_OUT + NOISE * torch.randn(n, CLASSES)",
                  "    y = logits.argmax(dim=1)"]
    else:
        if d.story == 1:
            score += "[:, 0]"
        lines += [f"    score = {score}", "    score = score + NOISE * torch.randn(n)"]
        lines.append(_label_from_score(p, bounds))
    lines.append(f"    return {returned}, {_target(p, 'y')}")
    return lines


def _label_from_score(p: Program, bounds: tuple[float, float] | None) -> str:
    if p.data.task == "binary" and p.data.positive_share:
        return f"    y = (score > score.quantile({number(1 - p.data.positive_share)})).long()"
    if p.data.task == "binary":
        return "    y = (score > 0).long()"
    if p.data.task == "multiclass":
        low, high = bounds
        return f"    y = torch.bucketize(score, torch.tensor([{low}, {high}]))"
    return "    y = score"


def _image(p: Program) -> list[str]:
    d = p.data
    grid = ["    rows = torch.arange(SIDE).view(SIDE, 1).expand(SIDE, SIDE)",
            "    cols = rows.T"]
    if d.story == 0:
        lines = ["def make_images(n):",
                 '    """Grey photos of a part with one scratch across them, 8-bit."""',
                 "    labels = torch.randint(0, CLASSES, (n,))" if d.task != "regression"
                 else "    labels = torch.zeros(n, dtype=torch.long)",
                 *grid,
                 "    at = torch.randint(3, SIDE - 3, (n, 1, 1))",
                 "    scratches = torch.stack([rows == at, cols == at,",
                 "                             rows - cols == at - SIDE // 2,",
                 "                             rows + cols == at + SIDE // 2], dim=1)",
                 "    scratch = scratches[torch.arange(n), labels].float()",
                 "    pixels = 0.4 + 0.4 * scratch + NOISE * torch.randn(n, SIDE, SIDE)"]
        target = "labels" if d.task != "regression" else "at.view(n).float()"
    else:
        lines = ["def make_images(n):",
                 '    """Microscope frames with one bright cell; which quarter is it in?"""',
                 "    quarter = torch.randint(0, CLASSES, (n,))"
                 if d.task != "regression" else "    quarter = torch.randint(0, 4, (n,))",
                 "    half = SIDE // 2",
                 "    r = torch.randint(1, half - 1, (n,)) + half * (quarter // 2)",
                 "    c = torch.randint(1, half - 1, (n,)) + half * (quarter % 2)",
                 *grid,
                 "    dist = (rows - r.view(n, 1, 1)) ** 2 + (cols - c.view(n, 1, 1)) ** 2",
                 "    pixels = 0.3 + 0.5 * torch.exp(-dist / 2.0)",
                 "    pixels = pixels + NOISE * torch.randn(n, SIDE, SIDE)"]
        target = "quarter" if d.task != "regression" else "r.float()"
    lines.append(f"    return (pixels.clamp(0, 1) * 255).round().unsqueeze(1), "
                 f"{_target(p, target)}")
    return lines


def _sequence(p: Program) -> list[str]:
    d = p.data
    lines = ["def make_traces(n):"]
    if d.story == 0:
        lines += ['    """Readings from CHANNELS sensors over LENGTH minutes; is the level up?"""',
                  "    t = torch.linspace(0, 1, LENGTH).view(1, LENGTH, 1)",
                  "    slope = torch.randn(n, 1, 1)",
                  "    level = 0.3 * torch.randn(n, 1, CHANNELS)",
                  "    traces = slope * t + level + NOISE * torch.randn(n, LENGTH, CHANNELS)"]
        label = {"binary": "(slope.view(n) > 0).long()",
                 "multiclass": "torch.bucketize(slope.view(n), torch.tensor([-0.4, 0.4]))",
                 "regression": "slope.view(n)"}[d.task]
    else:
        classes = "CLASSES" if d.task != "regression" else "3"
        lines += ['    """Vibration traces; the label is how fast the machine shakes."""',
                  "    t = torch.linspace(0, 1, LENGTH).view(1, LENGTH, 1)",
                  f"    speed = torch.randint(0, {classes}, (n, 1, 1))",
                  "    phase = 6.2832 * torch.rand(n, 1, CHANNELS)",
                  "    amplitude = 0.5 + torch.rand(n, 1, 1)",
                  "    traces = amplitude * torch.sin(12.566 * (1 + speed) * t + phase)",
                  "    traces = traces + NOISE * torch.randn(n, LENGTH, CHANNELS)"]
        label = "speed.view(n)" if d.task != "regression" else "amplitude.view(n)"
    if d.input_units != "unit":
        scale, offset = (25, 1013) if d.input_units == "raw" else (800, 20_000)
        lines.append(f"    traces = traces * {scale} + {offset}  # sensor units")
    layout = ".transpose(1, 2)" if p.model.family == "cnn" else ""
    lines.append(f"    return traces{layout}, {_target(p, label)}")
    return lines


def _token(p: Program) -> list[str]:
    d = p.data
    if d.story == 1:
        return ["def make_reviews(n):",
                '    """Token ids with one word A (id 1) and one B (id 2): does A come first?"""',
                "    tokens = torch.randint(3, VOCAB, (n, LENGTH))",
                "    places = torch.rand(n, LENGTH).argsort(dim=1)[:, :2]",
                "    rows = torch.arange(n)",
                "    tokens[rows, places[:, 0]] = 1",
                "    tokens[rows, places[:, 1]] = 2",
                f"    return tokens, {_target(p, '(places[:, 0] < places[:, 1]).long()')}"]
    topics = "CLASSES" if d.task != "regression" else "2"
    label = "counts.argmax(dim=1)" if d.task != "regression" else "counts[:, 0].float()"
    return ["def make_reviews(n):",
            '    """Reviews as token ids; which topic word (ids 1, 2, ...) is mentioned most?"""',
            f"    tokens = torch.randint({topics} + 1, VOCAB, (n, LENGTH))",
            f"    mentions = torch.randint(1, {topics} + 1, (n, LENGTH // 2))",
            "    places = torch.rand(n, LENGTH).argsort(dim=1)[:, :LENGTH // 2]",
            "    tokens.scatter_(1, places, mentions)",
            f"    counts = (tokens.unsqueeze(2) == torch.arange(1, {topics} + 1)).sum(dim=1)",
            f"    return tokens, {_target(p, label)}"]


def _normalize_inputs(p: Program) -> list[str]:
    d = p.data
    if d.kind == "token" or d.input_norm == "none":
        return []
    if d.kind == "image":
        lines = ["x_train = x_train / 255"]
    else:
        axis = "dim=0" if d.kind == "tabular" else ""
        lines = [f"mean, std = x_train.mean({axis}), x_train.std({axis})",
                 "x_train = (x_train - mean) / std"]
    if d.input_norm == "standardize" and d.has_val:
        lines += [line.replace("x_train", "x_val") for line in lines if line.startswith("x_")]
    return ["", *lines]


def _normalize_targets(p: Program) -> list[str]:
    d = p.data
    if d.task != "regression" or d.target_norm == "none":
        return []
    lines = ["y_mean, y_std = y_train.mean(), y_train.std()",
             "y_train = (y_train - y_mean) / y_std"]
    if d.has_val:
        lines.append("y_val = (y_val - y_mean) / y_std")
    return ["", *lines]
