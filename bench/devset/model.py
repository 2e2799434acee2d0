"""The model part of a script: an `nn.Sequential`, an `nn.Module` class, or raw tensors, for
MLPs, CNNs, RNNs and transformers, with the operators' changes to width, depth, activations,
dropout, BatchNorm, initialization and which parameters train."""

from __future__ import annotations

from . import losses
from .program import Program
from .text import indent, number, variant
from .time_major import cell_line
from .two_modules import part_methods

ACTIVATION = {"relu": "nn.ReLU()", "gelu": "nn.GELU()", "tanh": "nn.Tanh()",
              "sigmoid": "nn.Sigmoid()", "leaky_relu": "nn.LeakyReLU(0.1)"}
FUNCTION = {"relu": "torch.relu", "gelu": "F.gelu", "tanh": "torch.tanh",
            "sigmoid": "torch.sigmoid", "leaky_relu": "F.leaky_relu"}
#: Heads that clamp the output at zero in a forward, as a function call.
FUNCTIONAL_CLAMPS = {"relu": "torch.relu({})", "relu_f": "F.relu({})", "clamp": "{}.clamp(min=0)"}
CELL = {"gru": "nn.GRU({i}, HIDDEN, num_layers=LAYERS, batch_first=True)",
        "lstm": "nn.LSTM({i}, HIDDEN, num_layers=LAYERS, batch_first=True)",
        "rnn_tanh": "nn.RNN({i}, HIDDEN, num_layers=LAYERS, batch_first=True)",
        "rnn_relu": "nn.RNN({i}, HIDDEN, num_layers=LAYERS, nonlinearity=\"relu\", "
                    "batch_first=True)"}
#: Side of the grid a CNN pools its last feature map to: coarse positions survive (which
#: quarter of the image, the start or end of a trace), which a global pool would erase.
POOLED = 4
#: Attribute names for the layers before the output layer, and the output layer.
PART_NAMES = [("body", "head"), ("features", "classifier"), ("backbone", "out")]
CLASS_NAMES = {"tabular": ["TabularNet", "RiskModel"], "image": ["SmallCNN", "FrameNet"],
               "sequence": ["TraceNet", "SensorModel"], "token": ["ReviewNet", "TextModel"]}


def constants(p: Program) -> list[str]:
    m = p.model
    lines = [f"HIDDEN, LAYERS = {m.width}, {m.depth}"]
    if m.dropout:
        lines.append(f"DROPOUT = {number(m.dropout)}")
    if m.family == "transformer":
        lines.append(f"HEADS = {heads(m.width)}")
    return lines


def heads(width: int) -> int:
    return next(h for h in (4, 2, 1) if width % h == 0)


def outputs(p: Program) -> str:
    return "1" if p.output_units == 1 else "CLASSES"


def head_expr(p: Program) -> str:
    """The output layer, as the script names it."""
    m = p.model
    if m.style == "sequential":
        return f"model[{_head_index(p)}]"
    if m.style == "module_list":
        return "model.out"
    if m.family in ("rnn", "transformer"):
        return "model.head"
    return f"model.{_parts(p)[1]}"


def body_expr(p: Program) -> str:
    """The layers before the output layer, as one module."""
    m = p.model
    if m.style == "sequential":
        return f"model[:{_head_index(p)}]"
    if m.style == "module_list":
        return "model.hidden"
    return {"rnn": "model.rnn", "transformer": "model.encoder"}.get(m.family,
                                                                     f"model.{_parts(p)[0]}")


def takes_dict(p: Program) -> bool:
    """Dict batches go to the model whole when the model is a class of the user's own."""
    return p.train.batching == "dict" and p.model.style in ("module", "module_list")


def definition(p: Program) -> list[str]:
    """Lines that build ``model`` (and ``params`` for raw tensors), then the model edits."""
    style = p.model.style
    if style == "raw":
        return _raw(p)
    if style == "two_modules":
        return _two_modules(p) + _edits(p)
    lines = _sequential(p) if style == "sequential" else _module_class(p)
    return lines + _edits(p)


def _parts(p: Program) -> tuple[str, str]:
    return PART_NAMES[variant(p.seed, "parts", len(PART_NAMES))]


def _hidden_blocks(p: Program, first_in: str) -> tuple[list[list[str]], str]:
    """The layers of each hidden block, and the width that comes out."""
    m, d = p.model, p.data
    blocks, width_in = [], first_in
    for index in range(m.depth):
        if m.family == "cnn":
            dims = "2d" if d.kind == "image" else "1d"
            kernel = "3, padding=1" if d.kind == "image" else "5, padding=2"
            layer = [f"nn.Conv{dims}({width_in}, HIDDEN, {kernel})"]
            norm = f"nn.BatchNorm{dims}(HIDDEN)"
            pool = [f"nn.MaxPool{dims}(2)"] if index < 2 else []
        else:
            layer, norm, pool = [f"nn.Linear({width_in}, HIDDEN)"], "nn.BatchNorm1d(HIDDEN)", []
        layer += [norm] if m.batchnorm else []
        layer += [ACTIVATION[m.activation], *pool]
        layer += ["nn.Dropout(DROPOUT)"] if m.dropout and not m.dropout_call else []
        blocks.append(layer)
        width_in = "HIDDEN"
    if m.family == "cnn":
        dims, cells = ("2d", POOLED * POOLED) if d.kind == "image" else ("1d", POOLED)
        blocks.append([f"nn.AdaptiveAvgPool{dims}({POOLED})", "nn.Flatten()"])
        width_in = f"{width_in} * {cells}"
    return blocks, width_in


def _first_in(p: Program) -> tuple[list[list[str]], str]:
    """Layers that bring the inputs to a flat vector (for MLPs) and its width."""
    d = p.data
    if p.model.family == "cnn":
        return [], "1" if d.kind == "image" else "CHANNELS"
    if d.kind == "image":
        return [["nn.Flatten()"]], "SIDE * SIDE"
    if d.kind == "sequence":
        return [["nn.Flatten()"]], "LENGTH * CHANNELS"
    return [], "FEATURES"


def _output_tail(p: Program) -> list[str]:
    tail = []
    if p.model.head == "softmax":
        tail.append("nn.Softmax(dim=1)")
    if p.model.head == "sigmoid":
        tail.append("nn.Sigmoid()")
    if p.model.head == "relu":
        tail.append("nn.ReLU()")
    if p.output_units == 1 and p.loss.output_shape == "flat":
        tail.append("nn.Flatten(0)")
    return tail


def _sequential_blocks(p: Program) -> tuple[list[list[str]], list[list[str]]]:
    """The Sequential's blocks before its output layer, and from the output layer on."""
    first, width_in = _first_in(p)
    blocks, width_out = _hidden_blocks(p, width_in)
    tail = _output_tail(p)
    return first + blocks, [[f"nn.Linear({width_out}, {outputs(p)})"]] + ([tail] if tail else [])


def _head_index(p: Program) -> int:
    return sum(len(block) for block in _sequential_blocks(p)[0])


def _sequential(p: Program) -> list[str]:
    before, after = _sequential_blocks(p)
    return ["model = nn.Sequential(", *indent(_lines(before + after)), ")"]


def _lines(blocks: list[list[str]]) -> list[str]:
    return [", ".join(block) + "," for block in blocks]


def _module_class(p: Program) -> list[str]:
    name = CLASS_NAMES[p.data.kind][variant(p.seed, "class", 2)]
    init_lines, forward = _module_parts(p)
    signature, unpack, result = _forward_frame(p)
    lines = [f"class {name}(nn.Module):", "    def __init__(self):",
             "        super().__init__()", *indent(init_lines, 2), "",
             f"    def forward(self, {signature}):", *indent(unpack + forward, 2),
             *indent(result, 2), "", "", f"model = {name}()"]
    return lines


def _two_modules(p: Program) -> list[str]:
    """A plain class holding the two parts as modules of their own (two_modules.py)."""
    name = CLASS_NAMES[p.data.kind][variant(p.seed, "class", 2)]
    init_lines, forward = _module_parts(p)
    signature, unpack, result = _forward_frame(p)
    return [f"class {name}:", "    def __init__(self):", *indent(init_lines, 2), "",
            f"    def __call__(self, {signature}):", *indent(unpack + forward, 2),
            *indent(result, 2), "", *part_methods(*_parts(p)), "", "",
            f"model = {name}()"]


def _forward_frame(p: Program) -> tuple[str, list[str], list[str]]:
    """The forward signature, how it reads its inputs, and what it returns."""
    out = _format_output(p, "out")
    loss = losses.call_name(p)
    if takes_dict(p):
        unpack = ["x = batch[\"inputs\"]"]
        if p.loss.style == "in_forward":
            return "batch", unpack, [f"return {out}, {loss}({out}, batch[\"target\"])"]
        return "batch", unpack, [f"return {out}"]
    if p.loss.style == "in_forward":
        return "x, target=None", [], ["if target is None:", f"    return {out}",
                                      f"return {out}, {loss}({out}, target)"]
    return "x", [], [f"return {out}"]


def _format_output(p: Program, name: str) -> str:
    if " " in name:
        name = f"({name})"
    if p.model.head == "softmax":
        name = f"torch.softmax({name}, dim=1)"
    elif p.model.head == "sigmoid":
        name = f"torch.sigmoid({name})"
    elif p.model.head in FUNCTIONAL_CLAMPS:
        name = FUNCTIONAL_CLAMPS[p.model.head].format(name)
    if p.output_units == 1 and p.loss.output_shape == "flat":
        name = f"{name}.squeeze(1)"
    return name


def _module_parts(p: Program) -> tuple[list[str], list[str]]:
    """__init__ lines and forward lines (ending with ``out`` set)."""
    family, m = p.model.family, p.model
    if p.model.style == "module_list":
        return _module_list_parts(p)
    if family == "rnn":
        embed = ["self.embed = nn.Embedding(VOCAB, HIDDEN)"] if p.data.kind == "token" else []
        cell = cell_line(CELL[m.cell].format(i="HIDDEN" if embed else "CHANNELS"), p)
        drop = ["self.dropout = nn.Dropout(DROPOUT)"] if m.dropout else []
        final = "states[-1]" if m.time_major else "states[:, -1]"
        last = f"self.dropout({final})" if m.dropout else final
        inputs = "self.embed(x)" if embed else "x"
        head = f"self.head = nn.Linear(HIDDEN, {outputs(p)})"
        return ([*embed, f"self.rnn = {cell}", *drop, head],
                [f"states, _ = self.rnn({inputs})", f"out = self.head({last})"])
    if family == "transformer":
        act = "gelu" if m.activation == "gelu" else "relu"
        position = "[:, None]" if m.time_major else ""
        dropout = "DROPOUT" if m.dropout else "0.0"
        return (["self.embed = nn.Embedding(VOCAB, HIDDEN)",
                 "self.position = nn.Parameter(0.02 * torch.randn(LENGTH, HIDDEN))",
                 "layer = nn.TransformerEncoderLayer(HIDDEN, HEADS, dim_feedforward=2 * HIDDEN,",
                 f"                                   dropout={dropout}, activation=\"{act}\""
                 + (")" if m.time_major else ","),
                 *([] if m.time_major else [" " * 35 + "batch_first=True)"]),
                 "self.encoder = nn.TransformerEncoder(layer, num_layers=LAYERS)",
                 f"self.head = nn.Linear(HIDDEN, {outputs(p)})"],
                [f"hidden = self.encoder(self.embed(x) + self.position{position})",
                 f"out = self.head(hidden.mean(dim={0 if m.time_major else 1}))"])
    body, head = _parts(p)
    if p.data.kind == "token":
        first, width_in, inputs = [], "HIDDEN", "self.embed(x).mean(dim=1)"
        embed = ["self.embed = nn.Embedding(VOCAB, HIDDEN)"]
    else:
        first, width_in = _first_in(p)
        inputs, embed = "x", []
    blocks, width_out = _hidden_blocks(p, width_in)
    layers = _lines(first + blocks)
    body_line = ([f"self.{body} = nn.Sequential(", *indent(layers), ")"] if layers
                 else [f"self.{body} = nn.Sequential()"])
    features = f"self.{body}({inputs})"
    if m.dropout_call:
        flag = ", training=self.training" if m.dropout_call == "flag" else ""
        features = f"F.dropout({features}, DROPOUT{flag})"
    return ([*embed, *body_line, f"self.{head} = nn.Linear({width_out}, {outputs(p)})"],
            [f"out = self.{head}({features})"])


def _module_list_parts(p: Program) -> tuple[list[str], list[str]]:
    m = p.model
    first, width_in = _first_in(p)
    container = "[{}]" if m.trainable == "plain_list" else "nn.ModuleList([{}])"
    layers = container.format("nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])")
    width_out = "HIDDEN" if m.depth else width_in
    hidden = f"{FUNCTION[m.activation]}(layer(x))"
    if m.dropout:
        flag = "" if m.dropout_always else ", self.training"
        hidden = f"F.dropout({hidden}, DROPOUT{flag})"
    flatten = ["x = x.flatten(1)"] if first else []
    return ([f"sizes = [{width_in}] + [HIDDEN] * LAYERS", f"self.hidden = {layers}",
             f"self.out = nn.Linear({width_out}, {outputs(p)})"],
            [*flatten, "for layer in self.hidden:", f"    x = {hidden}", "out = self.out(x)"])


def _raw(p: Program) -> list[str]:
    m = p.model
    init = {(): "torch.randn(a, b) * (2 / a) ** 0.5"}
    scale = _raw_init(m.init) if m.init else init[()]
    if m.bias_init is None:
        biases = ["biases = [torch.zeros(b, requires_grad=True) for b in sizes[1:]]"]
    else:
        biases = [f"biases = [torch.full((b,), {number(m.bias_init)}, requires_grad=True) "
                  "for b in sizes[1:-1]]",
                  f"biases.append(torch.zeros({outputs(p)}, requires_grad=True))"]
    out = _format_output(p, "x @ weights[-1] + biases[-1]")
    lines = [f"sizes = [FEATURES] + [HIDDEN] * LAYERS + [{outputs(p)}]",
             f"weights = [({scale}).requires_grad_() for a, b in zip(sizes, sizes[1:])]",
             *biases, "params = weights + biases", "", "",
             "def model(x):", "    for w, b in zip(weights[:-1], biases[:-1]):",
             f"        x = {FUNCTION[m.activation]}(x @ w + b)", f"    return {out}"]
    if m.head_scale != 1.0:
        lines += ["", "with torch.no_grad():", f"    weights[-1].mul_({number(m.head_scale)})"]
    return lines


def _raw_init(init: tuple) -> str:
    kind, value = init
    if kind == "normal":
        return f"torch.randn(a, b) * {number(value)}"
    if kind == "uniform":
        return f"(torch.rand(a, b) * 2 - 1) * {number(value)}"
    if kind == "negative_uniform":
        return f"-torch.rand(a, b) * {number(value)}"
    return f"torch.full((a, b), {number(value)})"


def _edits(p: Program) -> list[str]:
    """Initialization and freezing written after the model is built."""
    m = p.model
    lines = []
    if m.init:
        lines += _init_lines(p)
    if m.bias_init is not None:
        lines += [f"for layer in {body_expr(p)}.modules():",
                  "    if isinstance(layer, (nn.Linear, nn.Conv1d, nn.Conv2d)):",
                  f"        nn.init.constant_(layer.bias, {number(m.bias_init)})"]
    if m.recurrent_identity:
        lines.append("nn.init.eye_(model.rnn.weight_hh_l0)  # identity recurrence (IRNN)")
    if m.head_scale != 1.0:
        scale = number(m.head_scale)
        lines += ["with torch.no_grad():", f"    {head_expr(p)}.weight.mul_({scale})"]
    if m.trainable == "freeze_body":
        lines += [f"for param in {body_expr(p)}.parameters():", "    param.requires_grad = False"]
    return ["", *lines] if lines else []


def _init_lines(p: Program) -> list[str]:
    kind, value = p.model.init
    call = {"normal": f"nn.init.normal_({{}}, std={number(value)})",
            "uniform": f"nn.init.uniform_({{}}, -{number(value)}, {number(value)})",
            "negative_uniform": f"nn.init.uniform_({{}}, -{number(value)}, 0.0)",
            "constant": f"nn.init.constant_({{}}, {number(value)})"}[kind]
    loops_modules = p.model.family in ("mlp", "cnn") and variant(p.seed, "init", 2) == 1
    if not loops_modules:
        return ["for name, param in model.named_parameters():",
                "    if param.dim() > 1:", f"        {call.format('param')}"]
    return ["for layer in model.modules():",
            "    if isinstance(layer, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Embedding)):",
            f"        {call.format('layer.weight')}"]
