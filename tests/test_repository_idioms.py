"""Training written in the idiom of well-known repositories (bench/projects4, issue 11), each
shrunk to one function here: mmengine's ``model(inputs, data_samples, mode='loss')`` returning
a dict of losses the loop adds up, mmengine's ``lr_mult=0`` parameter groups, and fairseq's
criterion called ``criterion(model, sample)`` around the model. Each test failed at c2b819a.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.loss import _Loss

from conftest import record
from lossdoctor.capture.replay_losses import ReturnedLoss
from lossdoctor.checks import training_loop
from lossdoctor.diagnosis import REPORT_THRESHOLD


def _data(rows: int = 640, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 8, generator=generator)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    return x, y


# --- mmengine: the target passed as data_samples ----------------------------------------------


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 3)

    def loss(self, feats, data_samples):
        return {"loss_cls": F.cross_entropy(self.fc(feats), data_samples)}


class MMModel(nn.Module):
    """mmengine's BaseModel: forward(inputs, data_samples, mode) returns a dict of losses."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.head = Head()

    def forward(self, inputs, data_samples=None, mode="tensor"):
        feats = self.backbone(inputs)
        if mode == "loss":
            return self.head.loss(feats, data_samples)
        return self.head.fc(feats)


def _mmengine_style(groups=None, lr: float = 0.05, epochs: int = 3) -> None:
    torch.manual_seed(0)
    x, y = _data()
    model = MMModel()
    params = groups(model) if groups is not None else model.parameters()
    optimizer = torch.optim.SGD(params, lr=lr, momentum=0.9)
    for _ in range(epochs):
        model.train()
        for start in range(0, 512, 32):
            data = {"inputs": x[start:start + 32], "data_samples": y[start:start + 32]}
            losses = model(**data, mode="loss")
            loss = sum(value.mean() for key, value in losses.items() if "loss" in key)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            model(inputs=x[512:], data_samples=y[512:], mode="loss")


def test_a_target_given_as_data_samples_is_followed_to_the_loss_inside_forward():
    """No keyword name says which input is the target: the input whose data reached the
    torch loss's target inside forward is; every batch is paired with it and the replay
    gives the first training loss back (c2b819a: no batch paired, every replay skipped)."""
    case = record(_mmengine_style)
    assert case.replayer.ready, case.copies.loss_problem
    replay = case.copies.replay_loss
    assert isinstance(replay, ReturnedLoss)
    assert replay.target_path == (("kwarg", "data_samples"),)
    assert replay.training_settings == {"mode": "loss"}
    train = case.copies.train.batches
    assert train and all("data_samples" not in b.kwargs for b in train)
    assert all(b.target.dtype == torch.int64 and b.target.shape == (b.rows,) for b in train)
    with torch.no_grad():
        replayed = float(case.replayer.loss(case.copies.initial_model, train[0]))
    assert math.isclose(replayed, case.trace.train_losses()[0].value, rel_tol=1e-5)


# --- mmengine: a parameter group at lr 0 --------------------------------------------------------


def _backbone_groups(backbone_lr: float | None):
    def groups(model):
        backbone = {"params": list(model.backbone.parameters())}
        if backbone_lr is not None:
            backbone["lr"] = backbone_lr
        return [backbone, {"params": list(model.head.parameters())}]
    return groups


def _frozen(case):
    return [f for f in training_loop.check(case) if f.cause.id == "frozen_params"]


def test_parameters_in_groups_at_lr_0_are_never_trained():
    """``paramwise_cfg.custom_keys={'backbone': {'lr_mult': 0}}``: the backbone gets gradients
    and a step of lr 0, and replays train at the rate of the group that trains (c2b819a:
    nothing reported, and replays at the first group's lr of 0)."""
    case = record(_mmengine_style, _backbone_groups(0.0))
    assert case.copies.optimizer_hparams["lr"] == 0.05
    found = _frozen(case)
    assert len(found) == 1 and found[0].confidence >= REPORT_THRESHOLD
    untrained = found[0].details["untrained_parameters"]
    assert set(untrained) == {"backbone.0.weight", "backbone.0.bias"}
    assert found[0].evidence["never_moved_by_optimizer"] == 8 * 16 + 16


def test_groups_that_all_train_leave_nothing_frozen():
    case = record(_mmengine_style, _backbone_groups(0.01))
    assert not _frozen(case)


def test_a_warmup_from_zero_is_no_frozen_group():
    """Every group at lr 0 on the first step only (a linear warmup from zero)."""

    def warmed_up() -> None:
        torch.manual_seed(0)
        x, y = _data()
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(step / 20, 1.0))
        for _ in range(3):
            for start in range(0, 512, 32):
                loss = F.cross_entropy(model(x[start:start + 32]), y[start:start + 32])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                warmup.step()

    assert not _frozen(record(warmed_up))


# --- fairseq: a criterion around the model ----------------------------------------------------


class Criterion(_Loss):
    """fairseq's FairseqCriterion: forward(model, sample) runs the model and a torch loss,
    returning (loss summed over the rows, sample_size, logging_output)."""

    def forward(self, model, sample):
        output = model(**sample["net_input"])
        loss = F.nll_loss(F.log_softmax(output, dim=-1), sample["target"], reduction="sum")
        return loss, sample["target"].numel(), {"loss": loss.data}


def _fairseq_style(epochs: int = 3) -> None:
    torch.manual_seed(0)
    x, y = _data()
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    criterion = Criterion()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        model.train()
        for start in range(0, 512, 32):
            sample = {"net_input": {"input": x[start:start + 32]}, "target": y[start:start + 32]}
            loss, sample_size, _ = criterion(model, sample)
            optimizer.zero_grad()
            (loss / sample_size).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            criterion(model, {"net_input": {"input": x[512:]}, "target": y[512:]})


def test_a_criterion_called_with_the_model_is_not_the_loss_the_torch_loss_inside_is():
    """c2b819a took ``criterion(model, sample)`` for a loss on (prediction, target): no torch
    loss was seen, the model's pass inside it was hidden, and nothing could be replayed."""
    case = record(_fairseq_style)
    assert "nll_loss" in case.trace.setup.loss_name
    assert case.replayer.ready, case.copies.loss_problem
    train = case.copies.train.batches
    assert train and all(b.target.shape == (b.rows,) for b in train)
    losses = case.trace.train_losses()
    assert len(losses) == 3 * 16
    assert losses[-1].value < losses[0].value
    assert any(r.phase == "eval" for r in case.trace.losses)
    assert case.copies.validation.batches


def test_a_loss_module_called_on_a_prediction_is_still_the_loss():
    """The twin: a ``_Loss`` given the model's output is watched as before."""

    def plain() -> None:
        torch.manual_seed(0)
        x, y = _data()
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
        criterion = nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        for start in range(0, 512, 32):
            loss = criterion(model(x[start:start + 32]), y[start:start + 32])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    case = record(plain)
    assert case.trace.setup.loss_name == "CrossEntropyLoss"
    assert case.replayer.ready
    assert _Loss.__dict__.get("__call__") is None  # nothing of lossdoctor is left on torch
