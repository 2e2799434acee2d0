"""Training loops as people write them are seen: hand-written losses, losses inside the model,
updates without torch.optim, raw parameter tensors, validation however it is computed or
reported, learning-rate schedules, compiled models and torch.func transforms."""

from __future__ import annotations

import math
import sys
import textwrap
import types
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import record
from lossdoctor.capture import Recorder, watching
from lossdoctor.capture.printed import printed_validation_loss
from lossdoctor.runner import run_script
from lossdoctor.script_run import ScriptRun
from lossdoctor.verdict import training_seen

TRAIN_ROWS, BATCH = 384, 32


def _regression(rows=512, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 4, generator=generator)
    y = x[:, :1] * 2 - x[:, 1:2] + 0.1 * torch.randn(rows, 1, generator=generator)
    return x, y


def _classes(rows=512, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 4, generator=generator)
    return x, (x[:, 0] + x[:, 1] > 0).long()


def _batches(x, y):
    for i in range(0, TRAIN_ROWS, BATCH):
        yield x[i:i + BATCH], y[i:i + BATCH]


def _seen(case) -> bool:
    return training_seen(ScriptRun("test", 0, "", case.trace, case.copies))


def _passes(trace) -> list[float]:
    return [p.loss for p in trace.validation_passes()]


def _close(a, b, tolerance=1e-5) -> bool:
    return len(a) == len(b) and all(math.isclose(u, v, rel_tol=tolerance, abs_tol=1e-9)
                                    for u, v in zip(a, b, strict=True))


# --- the training loss is the tensor backward is called on --------------------------------


def _hand_written_mse(history):
    torch.manual_seed(0)
    x, y = _regression()
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(3):
        for xb, yb in _batches(x, y):
            loss = torch.mean((model(xb) - yb) ** 2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history["train"].append(loss.item())
        with torch.no_grad():
            history["val"].append(torch.mean((model(x[TRAIN_ROWS:]) - y[TRAIN_ROWS:]) ** 2).item())


def test_a_hand_written_loss_is_the_training_loss_and_its_validation_twin_is_seen():
    history = {"train": [], "val": []}
    case = record(_hand_written_mse, history)
    trace = case.trace
    assert _seen(case) and trace.steps == 36
    assert _close([loss for _, loss in trace.step_losses()], history["train"])
    assert trace.setup.loss_name == "hand-written loss (like mse_loss)"
    assert _close(_passes(trace), history["val"])
    assert {p.source for p in trace.validation_passes()} == {"loss calls"}


def _bce(p, t):
    p = p.clamp(1e-6, 1 - 1e-6)
    return -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()


def _custom_bce(history, accuracies):
    torch.manual_seed(0)
    x, y = _classes()
    y = y.float().unsqueeze(1)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(3):
        for xb, yb in _batches(x, y):
            loss = _bce(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        losses = []
        with torch.no_grad():  # two batches of 64 rows
            for i in (384, 448):
                out = model(x[i:i + 64])
                losses.append(_bce(out, y[i:i + 64]).item())
                if accuracies is not None:  # a scalar computed another way is no loss
                    accuracies.append(((out > 0.5).float() == y[i:i + 64]).float().mean())
        history.append(sum(losses) / 2)


@pytest.mark.parametrize("accuracies", [None, []])
def test_a_custom_loss_function_is_seen_in_training_and_in_validation(accuracies):
    history = []
    trace = record(_custom_bce, history, accuracies).trace
    assert trace.steps == 36 and len(trace.train_losses()) == 36
    assert _close(_passes(trace), history)
    assert all(p.rows == 128 and p.batches == 2 for p in trace.validation_passes())


class _ReturnsItsLoss(nn.Module):
    """nanoGPT's shape: ``logits, loss = model(idx, targets)``."""

    def __init__(self, by_hand: bool):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
        self.by_hand = by_hand

    def forward(self, x, targets=None):
        logits = self.body(x)
        if targets is None:
            return logits, None
        if self.by_hand:
            picked = logits.log_softmax(dim=1).gather(1, targets.unsqueeze(1))
            return logits, -picked.mean()
        return logits, F.cross_entropy(logits, targets)


def _model_loss(model, history, accumulate=2):
    x, y = _classes()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(2):
        model.train()
        batches = list(_batches(x, y))
        for step in range(0, len(batches), accumulate):
            for xb, yb in batches[step:step + accumulate]:
                _, loss = model(xb, yb)
                history["train"].append(loss.item())
                (loss / accumulate).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        model.eval()
        with torch.no_grad():
            history["val"].append(model(x[TRAIN_ROWS:], y[TRAIN_ROWS:])[1].item())


@pytest.mark.parametrize("by_hand", [False, True])
def test_a_loss_computed_inside_the_model_and_scaled_for_accumulation_is_seen(by_hand):
    torch.manual_seed(0)
    history = {"train": [], "val": []}
    trace = record(_model_loss, _ReturnsItsLoss(by_hand), history).trace
    assert trace.steps == 12
    train = trace.train_losses()
    assert _close([r.value for r in train], history["train"])  # unscaled, once per micro-batch
    returned = "loss returned by the model (like cross_entropy)"
    assert trace.setup.loss_name == (returned if by_hand else "cross_entropy")
    assert _close(_passes(trace), history["val"])


def test_a_metric_beside_the_trained_loss_is_not_a_training_loss():
    torch.manual_seed(0)
    x, y = _regression()
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)

    def train():
        for xb, yb in _batches(x, y):
            out = model(xb)
            F.l1_loss(out, yb)  # computed with gradients on, never trained on
            loss = F.mse_loss(out, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    trace = record(train).trace
    assert [r.loss_name for r in trace.losses] == ["mse_loss"] * 12
    assert trace.setup.loss_name == "mse_loss"


# --- a training step without torch.optim; raw parameter tensors ----------------------------


def _manual_sgd(lrs, initial, sign=False):
    """pytorch/examples word_language_model: clip, then p.data.add_(p.grad, alpha=-lr)."""
    torch.manual_seed(0)
    x, y = _classes()
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))
    initial.extend(p.detach().clone() for p in model.parameters())
    criterion = nn.CrossEntropyLoss()
    for lr in lrs:
        model.train()
        for xb, yb in _batches(x, y):
            model.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            for p in model.parameters():
                p.data.add_(p.grad.sign() if sign else p.grad, alpha=-lr)
        model.eval()
        with torch.no_grad():
            criterion(model(x[TRAIN_ROWS:]), y[TRAIN_ROWS:])


def test_parameters_updated_by_hand_are_training_steps_with_their_learning_rate():
    initial = []
    case = record(_manual_sgd, [0.5, 0.125, 0.03125], initial)
    trace = case.trace
    assert _seen(case) and trace.steps == 36 and len(trace.train_losses()) == 36
    assert len(trace.validation_passes()) == 3
    setup = trace.setup
    assert setup.optimizer_class == "manual SGD update" and setup.model_class == "Sequential"
    assert (setup.lr_first, setup.lr_peak, setup.lr_last) == (0.5, 0.5, 0.03125)
    assert [lr for _, lr in setup.lr_schedule] == [0.5, 0.125, 0.03125]
    assert case.copies.optimizer_class is torch.optim.SGD
    untrained = list(case.copies.initial_model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(untrained, initial, strict=True))
    assert trace.gradients and all(g.update_ratio > 0 for g in trace.gradients)


def test_an_update_by_hand_that_is_not_sgd_is_a_step_without_a_learning_rate():
    trace = record(_manual_sgd, [0.01], [], sign=True).trace
    assert trace.steps == 12 and trace.setup.optimizer_class == "manual update"
    assert trace.setup.lr_first is None and "lr" not in trace.setup.optimizer_hparams


def test_raw_parameter_tensors_are_the_model_with_an_optimizer_or_updated_by_hand():
    x, y = _regression()

    def train(by_hand: bool):
        w = torch.zeros(4, 1, requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        optimizer = None if by_hand else torch.optim.SGD([w, b], lr=0.05)
        for xb, yb in _batches(x, y):
            loss = ((xb @ w + b - yb) ** 2).mean()
            loss.backward()
            if by_hand:
                with torch.no_grad():
                    for p in (w, b):
                        p -= 0.05 * p.grad
                        p.grad.zero_()
            else:
                optimizer.step()
                optimizer.zero_grad()

    for by_hand in (False, True):
        trace = record(train, by_hand).trace
        assert trace.steps == 12 and len(trace.train_losses()) == 12, by_hand
        assert trace.setup.model_class == "parameter tensors" and trace.setup.parameter_count == 5
        assert trace.setup.loss_name == "hand-written loss (like mse_loss)"
        assert trace.setup.optimizer_class == ("manual SGD update" if by_hand else "SGD")


# --- validation, however it is computed ----------------------------------------------------


def _validated(reduction: str, functional: bool, history):
    torch.manual_seed(0)
    x, y = _classes()
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    module = nn.CrossEntropyLoss(reduction=reduction)
    for _ in range(3):
        for xb, yb in _batches(x, y):
            optimizer.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            optimizer.step()
        with torch.no_grad():
            for i in (384, 448):
                out, target = model(x[i:i + 64]), y[i:i + 64]
                if functional:
                    F.cross_entropy(out, target, reduction=reduction)
                else:
                    module(out, target)
            out = model(x[384:])  # the mean, by hand (no loss call to see)
            history.append(-out.log_softmax(1).gather(1, y[384:, None]).mean().item())


@pytest.mark.parametrize("functional", [False, True])
@pytest.mark.parametrize("reduction", ["sum", "none"])
def test_validation_losses_are_per_row_whatever_the_reduction(reduction, functional):
    history = []
    trace = record(_validated, reduction, functional, history).trace
    assert _close(_passes(trace), history, 1e-4)


def test_a_summed_loss_over_padded_tokens_is_divided_by_the_counted_tokens():
    logits, target = torch.randn(3, 7, 5), torch.tensor([[1, 2, -100, 0, 6]] * 3)
    with watching(recorder := Recorder()), torch.no_grad():
        F.cross_entropy(logits, target, reduction="sum")
    mean = F.cross_entropy(logits, target).item()
    assert math.isclose(recorder.trace.losses[0].value, mean, rel_tol=1e-6)


def test_a_legacy_size_average_loss_is_read_as_a_sum_without_a_warning_of_ours():
    logits, target = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with watching(recorder := Recorder()), torch.no_grad():
            F.cross_entropy(logits, target, size_average=False)
    assert len(caught) == 1  # torch's own, for the user's call; none from lossdoctor
    mean = F.cross_entropy(logits, target).item()
    assert math.isclose(recorder.trace.losses[0].value, mean, rel_tol=1e-6)


def test_evaluation_without_no_grad_is_validation():
    torch.manual_seed(0)
    x, y = _classes()
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    history = []

    def train():
        for _ in range(3):
            model.train()
            for xb, yb in _batches(x, y):
                optimizer.zero_grad()
                loss_fn(model(xb), yb).backward()
                optimizer.step()
            model.eval()  # and no torch.no_grad()
            history.append(sum(loss_fn(model(x[i:i + 32]), y[i:i + 32]).item()
                               for i in range(384, 512, 32)) / 4)

    trace = record(train).trace  # the last evaluation has no step after it: settled at the end
    assert len(trace.train_losses()) == 36
    assert {r.model_training for r in trace.train_losses()} == {True}
    assert _close(_passes(trace), history)


_PRINTING = """
import numpy as np
import torch
from torch import nn
torch.manual_seed(0)
x = torch.randn(512, 4)
y = x[:, :1] * 2 - x[:, 1:2]
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
for epoch in range(3):
    for i in range(0, 384, 32):
        loss = torch.mean((model(x[i:i + 32]) - y[i:i + 32]) ** 2)
        optimizer.zero_grad(); loss.backward(); optimizer.step()
    with torch.no_grad():
        prediction = model(x[384:]).numpy()
    value = float(np.mean((prediction - y[384:].numpy()) ** 2))
    print(f"epoch {epoch}: train_loss={loss.item():.4f}", end=" ")
    print(f"val_loss={value:.6f}")
    {also}
"""


def _run_printing(tmp_path, also=""):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(_PRINTING.replace("{also}", also)))
    return run_script(str(script), [])


def test_printed_validation_losses_are_read_when_no_loss_call_is_seen(tmp_path, capsys):
    run = _run_printing(tmp_path)
    printed = capsys.readouterr().out
    values = [float(line.rsplit("=", 1)[1]) for line in printed.splitlines()]
    passes = run.trace.validation_passes()
    assert [p.loss for p in passes] == values and {p.source for p in passes} == {"printed"}
    assert [p.step for p in passes] == [12, 24, 36]


#: A logger of the script's own, whose handler writes to stderr (StreamHandler's default).
LOGGER = """import logging
import numpy as np
log = logging.getLogger("train")
log.addHandler(logging.StreamHandler())
log.propagate = False"""


def test_validation_losses_logged_to_stderr_are_read(tmp_path, capsys):
    """Projects report through logging, whose default handler writes to stderr."""
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(_PRINTING.replace("{also}", "").replace(
        'print(f"val_loss={value:.6f}")', 'log.warning(f"val_loss={value:.6f}")').replace(
        "import numpy as np", LOGGER)))
    passes = run_script(str(script), []).trace.validation_passes()
    logged = [float(line.rsplit("=", 1)[1]) for line in capsys.readouterr().err.splitlines()
              if "val_loss=" in line]
    assert len(logged) == 3 and [p.loss for p in passes] == logged
    assert {p.source for p in passes} == {"printed"}


def test_a_loss_call_seen_comes_before_what_the_script_prints(tmp_path, capsys):
    also = "torch.nn.functional.mse_loss(model(x[384:]), y[384:])"
    passes = _run_printing(tmp_path, also).trace.validation_passes()
    assert len(passes) == 3 and {p.source for p in passes} == {"loss calls"}
    assert "val_loss" in capsys.readouterr().out


@pytest.mark.parametrize(("line", "value"), [
    ("val_loss 0.693", 0.693),
    ("epoch 3 val loss: 0.61", 0.61),
    ("step 250: train loss 1.9012, val loss 2.0377", 2.0377),
    ("| end of epoch   1 | time:  5.1s | valid loss  5.50 | valid ppl   244.69", 5.5),
    ("Test set: Average loss: 0.0521, Accuracy: 9836/10000 (98%)", 0.0521),
    ("{'eval_loss': 0.69, 'eval_runtime': 1.2}", 0.69),
    ("Epoch 1: val_loss=1e-3 val_acc=0.8", 0.001),
    ("val_acc 0.9", None),
    ("interval_loss 0.3", None),
    ("train loss 0.4", None),
    ("val loss: nan", None),
])
def test_printed_lines_give_their_validation_loss(line, value):
    assert printed_validation_loss(line) == value


class _FakeSummaryWriter:
    def __init__(self):
        self.written = []

    def add_scalar(self, tag, scalar_value, global_step=None):
        self.written.append((tag, scalar_value))

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None):
        self.written.append((main_tag, dict(tag_scalar_dict)))


def _tensorboard_run(writer_class):
    torch.manual_seed(0)
    x, y = _classes()
    model = nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    writer = writer_class()
    for epoch in range(3):
        for xb, yb in _batches(x, y):
            optimizer.zero_grad()
            torch.mean(-model(xb).log_softmax(1).gather(1, yb[:, None])).backward()
            optimizer.step()
        writer.add_scalar("Loss/val", 0.5 - 0.1 * epoch, epoch)
        writer.add_scalar("Accuracy/val", 0.9, epoch)
        writer.add_scalars("loss", {"train": 0.7, "test": torch.tensor(0.6 - 0.1 * epoch)}, epoch)
    return writer


def test_validation_losses_written_to_tensorboard_are_read(monkeypatch):
    module = types.ModuleType("torch.utils.tensorboard.writer")
    module.SummaryWriter = _FakeSummaryWriter  # the hook finds the class by its module's name
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard.writer", module)
    writers = []
    trace = record(lambda: writers.append(_tensorboard_run(_FakeSummaryWriter))).trace
    reported = [(r.name, round(r.value, 6)) for r in trace.reported]
    assert reported == [("Loss/val", 0.5), ("loss/test", 0.6), ("Loss/val", 0.4),
                        ("loss/test", 0.5), ("Loss/val", 0.3), ("loss/test", 0.4)]
    assert [p.source for p in trace.validation_passes()] == ["tensorboard"] * 3
    assert len(writers[0].written) == 9  # every call reached the writer
    restored = _FakeSummaryWriter.add_scalar.__qualname__
    assert restored == "_FakeSummaryWriter.add_scalar"


def test_the_real_tensorboard_writer_is_read(tmp_path):
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    trace = record(_tensorboard_run, lambda: SummaryWriter(log_dir=str(tmp_path))).trace
    assert [p.source for p in trace.validation_passes()] == ["tensorboard"] * 3


# --- the learning rate as it evolves -------------------------------------------------------


def test_the_learning_rate_is_followed_through_warmup_schedules_and_changes_by_hand():
    torch.manual_seed(0)
    x, y = _classes()
    model = nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / 5, 0.9 ** max(step - 5, 0)))
    used = []

    def train():
        for epoch in range(3):
            if epoch == 2:
                for group in optimizer.param_groups:
                    group["lr"] = 0.2
            for xb, yb in _batches(x, y):
                used.append(optimizer.param_groups[0]["lr"])
                optimizer.zero_grad()
                F.cross_entropy(model(xb), yb).backward()
                optimizer.step()
                if epoch < 2:
                    scheduler.step()

    setup = record(train).trace.setup
    assert (setup.lr_first, setup.lr_peak, setup.lr_last) == (used[0], max(used), used[-1])
    changes = [used[0]] + [b for a, b in zip(used, used[1:], strict=False) if a != b]
    assert [lr for _, lr in setup.lr_schedule] == changes
    assert setup.lr_schedule[-1] == [24, 0.2] and setup.optimizer_hparams["lr"] == used[0]


# --- compiled and transformed code ---------------------------------------------------------


def _compiled_training(how: str, watched: bool):
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    torch.manual_seed(0)
    x, y = _classes()
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    recorder = Recorder()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with watching(recorder) if watched else _nothing():
            if how == "method":
                model.compile(backend="eager")
                net = model
            else:
                net = torch.compile(model, backend=how)
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
            losses = []
            for _ in range(2):
                for xb, yb in _batches(x, y):
                    loss = F.cross_entropy(net(xb), yb)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    losses.append(loss.item())
                with torch.no_grad():
                    losses.append(F.cross_entropy(net(x[384:]), y[384:]).item())
    graphs = dict(torch._dynamo.utils.counters["stats"])
    trace, _ = recorder.finish()
    return losses, [str(w.message) for w in caught], graphs, trace


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize(
    "how", ["eager", pytest.param("aot_eager", marks=pytest.mark.slow), "method", "inductor"])
def test_a_compiled_model_trains_exactly_as_unwatched_and_is_seen(how):
    _compiled_training(how, watched=False)  # warnings that importing the compiler gives once
    bare_losses, bare_warnings, bare_graphs, _ = _compiled_training(how, watched=False)
    losses, caught, graphs, trace = _compiled_training(how, watched=True)
    assert losses == bare_losses and caught == bare_warnings and graphs == bare_graphs
    assert trace.steps == 24 and len(trace.train_losses()) == 24
    assert len(trace.validation_passes()) == 2
    assert trace.setup.model_class == "Sequential" and trace.setup.loss_name == "cross_entropy"
    assert not trace.notes


def _compiled_after_eager_steps(watched: bool):
    """Eager steps first (lossdoctor narrows to the model by wrapping nn.Module.__call__, which
    compiled code then traces), then a compiled training step and an export of the model."""
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    torch.manual_seed(0)
    x, y = _classes()
    model = nn.Sequential(nn.Sequential(nn.Linear(4, 16), nn.ReLU()), nn.Linear(16, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def loss_of(xb, yb):
        return F.cross_entropy(model(xb), yb)

    compiled = torch.compile(loss_of, backend="eager", fullgraph=True)  # a graph break raises
    losses = []
    with watching(Recorder()) if watched else _nothing():
        for step, (xb, yb) in enumerate(_batches(x, y)):
            loss = (loss_of if step < 4 else compiled)(xb, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        exported = torch.export.export(model, (x[:8],)).module()(x[:8])
    return losses, dict(torch._dynamo.utils.counters["stats"]), exported


def test_code_compiled_after_the_model_was_narrowed_to_compiles_as_unwatched():
    bare_losses, bare_graphs, bare_exported = _compiled_after_eager_steps(watched=False)
    losses, graphs, exported = _compiled_after_eager_steps(watched=True)
    assert losses == bare_losses and graphs == bare_graphs
    assert torch.equal(exported, bare_exported)


def test_a_loss_inside_vmap_does_not_switch_capture_off():
    from torch.func import functional_call, grad, vmap

    torch.manual_seed(0)
    x, y = _classes()
    model = nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def sample_loss(params, xi, yi):
        return F.cross_entropy(functional_call(model, params, (xi[None],)), yi[None])

    def train():
        params = {k: v.detach() for k, v in model.named_parameters()}
        vmap(grad(sample_loss), in_dims=(None, 0, 0))(params, x[:8], y[:8])
        for xb, yb in _batches(x, y):
            optimizer.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            optimizer.step()

    recorder = Recorder()
    with watching(recorder):
        train()
    assert not recorder.broken and not recorder.internal_errors
    assert recorder.trace.steps == 12 and len(recorder.trace.train_losses()) == 12
