"""The training part of a script: batches (DataLoader, dict Dataset or manual slicing), the
optimizer and learning-rate schedule, and the epoch loop that prints its losses."""

from __future__ import annotations

from . import losses
from .manual import manual_step, manual_zero_grad
from .model import head_expr, takes_dict
from .plateau import plateau_scheduler
from .program import Program
from .text import indent, number, variant
from .time_major import COLLATE

OPTIMIZER = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop"}
#: Schedules stepped once per batch; the others once per epoch.
PER_BATCH = ("onecycle", "exp_batch", "warmup", "warmup_uncapped", "linear_batch",
             "steplr_batch", "onecycle_rows")
PRINTS = [
    ('f"epoch {epoch} train_loss {train_loss:.4f}', ' val_loss {val_loss:.4f}"'),
    ('f"epoch {epoch + 1}/{EPOCHS}: train_loss={train_loss:.4f}', ' val_loss={val_loss:.4f}"'),
    ('f"[{epoch:02d}] train_loss {train_loss:.4f}', ' | val_loss {val_loss:.4f}"'),
]
DATASET_CLASS = [
    "class RowDataset(Dataset):",
    "    def __init__(self, inputs, targets):",
    "        self.inputs, self.targets = inputs, targets",
    "",
    "    def __len__(self):",
    "        return len(self.targets)",
    "",
    "    def __getitem__(self, index):",
    '        return {"inputs": self.inputs[index], "target": self.targets[index]}',
]


def constants(p: Program) -> list[str]:
    t = p.train
    lines = [f"EPOCHS, BATCH_SIZE, LR = {t.epochs}, {t.batch_size}, {number(t.lr)}"]
    if t.weight_decay:
        lines.append(f"WEIGHT_DECAY = {number(t.weight_decay)}")
    if t.schedule.startswith("warmup"):
        lines.append(f"WARMUP_STEPS = {t.warmup_steps}")
    if t.schedule.startswith("steplr"):
        lines.append(f"STEP_SIZE, GAMMA = {t.step_size}, {number(t.gamma)}")
    if t.clip:
        lines.append(f"MAX_GRAD_NORM = {number(t.clip)}")
    if t.step_epochs:
        lines.append(f"STEP_EPOCHS = {t.step_epochs}  # epochs whose batches update the weights")
    if p.loss.l2:
        lines.append(f"L2 = {number(p.loss.l2)}")
    return lines


def batches(p: Program) -> list[str]:
    """The loaders (or nothing, for manual slicing)."""
    t, has_val = p.train, p.data.has_val
    if t.batching == "slice":
        return []
    shuffle = "True" if p.data.shuffle else "False"
    wrap = "TensorDataset" if t.batching == "loader" else "RowDataset"
    lines = ([*DATASET_CLASS, "", ""] if t.batching == "dict" else [])
    drop = ", drop_last=True" if _drops_last(p) else ""
    collate = ", collate_fn=time_major" if p.model.time_major else ""
    if p.model.time_major:
        lines += [*COLLATE, "", ""]
    lines.append(f"train_loader = DataLoader({wrap}(x_train, y_train), batch_size=BATCH_SIZE, "
                 f"shuffle={shuffle}{drop}{collate})")
    if has_val:
        lines.append(f"val_loader = DataLoader({wrap}(x_val, y_val), batch_size=256{collate})")
    return lines


def optimizer(p: Program) -> list[str]:
    t = p.train
    if t.update == "manual":
        return []
    args = [_params(p), "lr=LR"]
    if t.optimizer == "sgd" and t.momentum:
        args.append(f"momentum={number(t.momentum)}")
    if t.weight_decay:
        args.append("weight_decay=WEIGHT_DECAY")
    lines = [f"optimizer = torch.optim.{OPTIMIZER[t.optimizer]}({', '.join(args)})"]
    return lines + _scheduler(p)


def training_loop(p: Program) -> list[str]:
    t = p.train
    epoch = [*_mode(p, "train"), *_labels_repaired(p),
             *(_zero_grad(p, per_epoch=True) if t.zero_grad == "epoch" else []),
             *_running_start(p), *_batch_loop(p)]
    if t.schedule not in ("none", "plateau") and t.schedule not in PER_BATCH:
        epoch.append("scheduler.step()")
    epoch += _running_end(p)
    if p.data.has_val:
        epoch += _validation(p)
    if t.schedule == "plateau":
        epoch.append("scheduler.step(val_loss)")
    head, val_part = PRINTS[t.print_style]
    epoch.append(f"print({head}{val_part if p.data.has_val else chr(34)})")
    return ["for epoch in range(EPOCHS):", *indent(epoch)]


def _labels_repaired(p: Program) -> list[str]:
    """The training labels shuffled on their own at the epoch's start (the inputs keep their
    order), as a generator that calls ``shuffle`` on x and on y separately does."""
    if not p.train.repair_labels:
        return []
    if p.train.batching == "slice":
        return ["y_train = y_train[torch.randperm(len(y_train))]  # reshuffle the labels"]
    if p.train.batching == "dict":
        return ["train_loader.dataset.targets = train_loader.dataset.targets["
                "torch.randperm(len(train_loader.dataset))]  # reshuffle the labels"]
    return ["inputs, targets = train_loader.dataset.tensors",
            "train_loader.dataset.tensors = (inputs, targets[torch.randperm(len(targets))])"]


def _zero_grad(p: Program, per_epoch: bool = False) -> list[str]:
    if p.train.update == "manual":
        return manual_zero_grad(p)
    if p.model.style != "raw" and not per_epoch and variant(p.seed, "zero", 3) == 0:
        return ["model.zero_grad()"]
    return ["optimizer.zero_grad()"]


def _params(p: Program) -> str:
    if p.model.style == "raw":
        return "[weights[-1], biases[-1]]" if p.model.trainable == "head_only" else "params"
    if p.model.trainable == "head_only":
        return f"{head_expr(p)}.parameters()"
    return "model.parameters()"


def _drops_last(p: Program) -> bool:
    """BatchNorm cannot train on a last batch of one row, so such a script drops it."""
    return p.model.batchnorm and p.data.n_train % p.train.batch_size == 1


def _slice_starts(p: Program) -> str:
    stop = "len(x_train) - 1" if _drops_last(p) else "len(x_train)"
    return f"for start in range(0, {stop}, BATCH_SIZE):"


def _steps_per_epoch(p: Program) -> str:
    if p.train.batching == "slice":
        return "(len(x_train) + BATCH_SIZE - 1) // BATCH_SIZE"
    return "len(train_loader)"


def _scheduler(p: Program) -> list[str]:
    schedule, epochs = p.train.schedule, p.train.epochs
    made = {
        "none": None,
        "step": f"torch.optim.lr_scheduler.StepLR(optimizer, step_size={max(1, epochs // 3)}, "
                "gamma=0.5)",
        "cosine": "torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS)",
        "onecycle": "torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LR, "
                    f"total_steps=EPOCHS * {_steps_per_epoch(p)}{_momentum_kept(p)})",
        "onecycle_rows": "torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LR, "
                         f"epochs=EPOCHS, steps_per_epoch=len(x_train){_momentum_kept(p)})",
        "exp_epoch": "torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.8)",
        "exp_batch": "torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.8)",
        "warmup": "torch.optim.lr_scheduler.LambdaLR(optimizer, "
                  "lambda step: min((step + 1) / WARMUP_STEPS, 1.0))",
        "warmup_uncapped": "torch.optim.lr_scheduler.LambdaLR(optimizer, "
                           "lambda step: (step + 1) / WARMUP_STEPS)",
        "linear_epoch": "torch.optim.lr_scheduler.LambdaLR(optimizer, "
                        "lambda step: max(1.0 - step / EPOCHS, 0.0))",
        "linear_batch": "torch.optim.lr_scheduler.LambdaLR(optimizer, "
                        "lambda step: max(1.0 - step / EPOCHS, 0.0))",
        "step_up": f"torch.optim.lr_scheduler.StepLR(optimizer, step_size={max(1, epochs // 3)}, "
                   "gamma=10.0)",
        "plateau": plateau_scheduler(p),
        "steplr_epoch": "torch.optim.lr_scheduler.StepLR(optimizer, step_size=STEP_SIZE, "
                        "gamma=GAMMA)",
        "steplr_batch": "torch.optim.lr_scheduler.StepLR(optimizer, step_size=STEP_SIZE, "
                        "gamma=GAMMA)",
    }[schedule]
    return [f"scheduler = {made}"] if made else []


def _momentum_kept(p: Program) -> str:
    """OneCycleLR cycles momentum by default (cycle_momentum=True sets SGD's momentum to
    0.85-0.95 whatever it was made with): plain SGD turns it off to stay plain."""
    plain = p.train.optimizer == "sgd" and not p.train.momentum
    return ", cycle_momentum=False" if plain else ""


def _mode(p: Program, phase: str) -> list[str]:
    modes = p.train.modes
    if p.model.style == "raw" or modes == "never":
        return []
    proper = "train" if phase == "train" else "eval"
    swapped = "eval" if phase == "train" else "train"
    return [f"model.{proper if modes == 'proper' else swapped}()"]


def _running_start(p: Program) -> list[str]:
    if variant(p.seed, "running", 2):
        return ["batch_losses = []"]
    return ["running, seen = 0.0, 0"]


def _running_add(p: Program) -> str:
    if variant(p.seed, "running", 2):
        return "batch_losses.append(loss.item())"
    rows = 'len(batch["target"])' if p.train.batching == "dict" else "len(yb)"
    return f"running, seen = running + loss.item() * {rows}, seen + {rows}"


def _running_end(p: Program) -> list[str]:
    if variant(p.seed, "running", 2):
        return ["train_loss = sum(batch_losses) / len(batch_losses)"]
    return ["train_loss = running / seen"]


def _batch_loop(p: Program) -> list[str]:
    t = p.train
    header, fetch = _batch_source(p)
    step = _augmented(p)
    if t.zero_grad == "step":
        step += _zero_grad(p)
    step += _loss_lines(p, training=True)
    step.append("loss.backward()")
    if t.clip:
        params = "params" if p.model.style == "raw" else "model.parameters()"
        step.append(f"torch.nn.utils.clip_grad_norm_({params}, MAX_GRAD_NORM)")
    update = manual_step(p, _params(p)) if t.update == "manual" else ["optimizer.step()"]
    step += ["if epoch < STEP_EPOCHS:", *indent(update)] if t.step_epochs else update
    if t.schedule in PER_BATCH:
        step.append("scheduler.step()")
    step.append(_running_add(p))
    before = header[:-1]
    return [*before, header[-1], *indent(fetch + step)]


def _augmented(p: Program) -> list[str]:
    """Noise added to the training batch's inputs, in units of their own spread."""
    if not p.train.augment:
        return []
    noise = number(p.train.augment)
    if takes_dict(p):
        inputs = 'batch["inputs"]'
        return [f"batch = {{**batch, \"inputs\": {inputs} + {noise} * {inputs}.std() * "
                f"torch.randn_like({inputs})}}"]
    return [f"xb = xb + {noise} * xb.std() * torch.randn_like(xb)"]


def _batch_source(p: Program) -> tuple[list[str], list[str]]:
    """Lines before and at the loop header, and lines that fetch ``xb, yb`` (or ``batch``)."""
    t = p.train
    if t.batching == "slice":
        if t.same_batch:
            return ([_slice_starts(p)], ["xb, yb = x_train[:BATCH_SIZE], y_train[:BATCH_SIZE]"])
        if not p.data.shuffle:
            return ([_slice_starts(p)],
                    ["xb = x_train[start:start + BATCH_SIZE]",
                     "yb = y_train[start:start + BATCH_SIZE]"])
        return (["order = torch.randperm(len(x_train))", _slice_starts(p)],
                ["rows = order[start:start + BATCH_SIZE]", "xb, yb = x_train[rows], y_train[rows]"])
    if t.batching == "dict":
        fetch = [] if takes_dict(p) else ['xb, yb = batch["inputs"], batch["target"]']
        if t.same_batch:
            return ["for _ in range(len(train_loader)):"], ["batch = next(iter(train_loader))",
                                                             *fetch]
        return ["for batch in train_loader:"], fetch
    if t.same_batch:
        return ["for _ in range(len(train_loader)):"], ["xb, yb = next(iter(train_loader))"]
    return ["for xb, yb in train_loader:"], []


def _loss_lines(p: Program, training: bool) -> list[str]:
    call = losses.call_name(p)
    if takes_dict(p):
        if p.loss.style == "in_forward":
            lines = ["_, loss = model(batch)"]
        else:
            lines = [f'loss = {call}({losses.scored(p, "model(batch)")}, batch["target"])']
    elif p.loss.style == "in_forward":
        lines = ["_, loss = model(xb, yb)"]
    else:
        lines = [f"loss = {call}({losses.scored(p, 'model(xb)')}, yb)"]
    if training:
        lines += losses.penalty(p, "params" if p.model.style == "raw" else "model.parameters()")
    return lines


def _validation(p: Program) -> list[str]:
    mode = _mode(p, "eval")
    if p.train.batching == "slice":
        if p.loss.style == "in_forward":
            value = "model(x_val, y_val)[1].item()"
        else:
            value = f"{losses.call_name(p)}({losses.scored(p, 'model(x_val)')}, y_val).item()"
        return [*mode, "with torch.no_grad():", f"    val_loss = {value}"]
    if p.train.batching == "dict":
        header = "for batch in val_loader:"
        fetch = [] if takes_dict(p) else ['xb, yb = batch["inputs"], batch["target"]']
        rows = 'len(batch["target"])'
    else:
        header, fetch, rows = "for xb, yb in val_loader:", [], "len(yb)"
    loss = _loss_lines(p, training=False)
    return [*mode, "val_total = 0.0", "with torch.no_grad():", f"    {header}",
            *indent(fetch + loss, 2), f"        val_total += loss.item() * {rows}",
            "val_loss = val_total / len(val_loader.dataset)"]
