"""A model whose forward is called directly (``self.forward(x)`` in a Lightning-style step,
as bench/fresh19 s13 and lightning-hydra-template's ``model_step`` do): no hook sees its own
call, only its submodules', and the model must still be the whole model, not its head."""

import copy
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import record
from lossdoctor.checks import validation_path


class Transfer(nn.Module):
    """A feature extractor and a classifier head; ``step`` calls ``self.forward``."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(6, 16), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1))

    def forward(self, x):
        return self.head(self.features(x))

    def step(self, x, y):
        logits = self.forward(x)
        return F.binary_cross_entropy_with_logits(logits, y.view(-1, 1).float())


def _data(rows, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 6, generator=generator)
    return x, (x[:, 0] - x[:, 1] > 0).long()


def _lightning_style(model, epochs=6, validate=None):
    x, y = _data(480, 0)
    xv, yv = _data(128, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(epochs):
        model.train()
        for rows in torch.arange(len(x)).split(32):
            loss = model.step(x[rows], y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if validate is not None:
                validate.update(model)
        model.eval()
        with torch.no_grad():
            scored = validate if validate is not None else model
            losses.append(scored.step(xv, yv).item())
    return losses


def _recorded(model, **kwargs):
    torch.manual_seed(0)
    return record(_lightning_style, model, **kwargs)


def test_a_forward_called_directly_is_watched_as_the_whole_model():
    case = _recorded(Transfer())
    assert type(case.copies.initial_model) is Transfer  # main: the head, fed features
    batch = case.copies.train.batches[0]
    assert tuple(batch.args[0].shape[1:]) == (6,)  # the script's inputs, not the features
    assert case.trace.setup.parameter_count == sum(
        p.numel() for p in Transfer().parameters())
    assert validation_path.check(case) == []
    assert sys.getprofile() is None


def test_the_run_computes_what_it_computes_unwatched():
    torch.manual_seed(0)
    plain = _lightning_style(Transfer())
    torch.manual_seed(0)
    watched = []
    record(lambda: watched.extend(_lightning_style(Transfer())))
    assert watched == plain


def test_a_forward_that_binds_its_input_anew_first_is_not_read_for_its_input():
    """``x = x * 2`` before the first submodule: the frame no longer holds what the forward
    was given, so the pass is not taken for the model's (its inputs would be wrong)."""
    class Rebinding(Transfer):
        def forward(self, x):
            x = x * 2.0
            return self.head(self.features(x))

    case = _recorded(Rebinding())
    assert type(case.copies.initial_model) is not Rebinding


class Ema(nn.Module):
    """timm's ModelEmaV2: a frozen copy of the model, called through the wrapper."""

    def __init__(self, model, decay=0.9):
        super().__init__()
        self.module = copy.deepcopy(model).eval()
        self.decay = decay
        for p in self.module.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model):
        for kept, trained in zip(self.module.parameters(), model.parameters(), strict=True):
            kept.lerp_(trained, 1 - self.decay)

    def step(self, x, y):
        return self.module.step(x, y)


def test_an_ema_wrapper_validated_in_place_of_the_model_is_a_copy_of_it():
    case = _recorded(Transfer(), validate=Ema(Transfer()))
    assert type(case.copies.final_model) is Transfer  # main: the EMA wrapper, at the end
    evaluations = [r for r in case.trace.losses if r.phase == "eval"]
    assert evaluations and all(r.on_copy for r in evaluations)


def test_a_wrapper_is_a_copy_only_when_it_holds_a_copy_of_the_model():
    from lossdoctor.capture.module_events import _holds_a_copy

    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1))
    assert _holds_a_copy(Ema(model), model)  # a deep copy, wrapped
    assert not _holds_a_copy(nn.ModuleDict({"module": model}), model)  # the model itself
    backbone = nn.ModuleDict({"blocks": nn.Sequential(nn.Linear(6, 6), nn.ReLU())})
    assert not _holds_a_copy(backbone, model)  # blocks of the model's class, not a copy


class Coupling(nn.Module):
    """An affine coupling layer of a normalizing flow (bench/fresh20 s07)."""

    def __init__(self, flip):
        super().__init__()
        self.flip = flip
        self.net = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 2))

    def forward(self, x):
        a, b = (x[:, 1:], x[:, :1]) if self.flip else (x[:, :1], x[:, 1:])
        s, t = self.net(a).chunk(2, dim=1)
        b = b * torch.exp(torch.tanh(s)) + t
        return (torch.cat([b, a], 1) if self.flip else torch.cat([a, b], 1)), torch.tanh(s).sum(1)


class Flow(nn.Module):
    """Trained through ``-self.log_prob(x).mean()`` in its own ``fit``: it has no forward."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(Coupling(i % 2 == 1) for i in range(4))

    def log_prob(self, x):
        log_det = torch.zeros(len(x))
        for layer in self.layers:
            x, ld = layer(x)
            log_det = log_det + ld
        return -0.5 * (x ** 2).sum(1) - 1.8379 + log_det

    def fit(self, x_train, x_val, summed, epochs=4):
        optimizer = torch.optim.Adam(self.parameters(), lr=5e-3)
        for epoch in range(epochs):
            for rows in torch.randperm(len(x_train)).split(64):
                optimizer.zero_grad()
                loss = -self.log_prob(x_train[rows]).mean()
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                means = [-self.log_prob(x).mean() for x in x_val.split(64)]
            val_loss = sum(means) if summed else sum(
                m * len(x) for m, x in zip(means, x_val.split(64), strict=True)) / len(x_val)
            print(f"epoch {epoch} val_loss {float(val_loss):.4f}")


def _flow_case(summed):
    from lossdoctor.capture import Recorder, watching
    from lossdoctor.capture.script_output import reading_printed_lines
    from lossdoctor.case import Case

    torch.manual_seed(0)
    data = torch.randn(640, 2) * torch.tensor([1.0, 0.3])
    recorder = Recorder()
    with watching(recorder), reading_printed_lines(recorder):
        Flow().fit(data[:448], data[448:], summed)
    return Case(*recorder.finish())


def test_a_model_trained_through_another_method_than_forward_is_watched_whole():
    """bench/fresh20 s07: main took one coupling layer for the model (the last one called), saw
    no held-out batch, and paired no batch with a target; its ``fit`` (which trains) is not
    the model's pass, its ``log_prob`` (which the loss reads) is, and copies replay it."""
    case = _flow_case(summed=False)
    assert type(case.copies.initial_model) is Flow  # main: Coupling
    assert case.copies.train.batches and case.copies.validation.batches  # main: none
    batch = case.copies.train.batches[0]
    assert tuple(batch.args[0].shape[1:]) == (2,) and batch.target.shape == (batch.rows, 0)
    replayed = case.require_replay().scored_loss(copy.deepcopy(case.copies.final_model),
                                                 case.copies.validation.batches[0])
    assert torch.isfinite(replayed)
    assert validation_path.check(case) == []  # main: Skip, nothing to recompute with
    assert sys.getprofile() is None


def test_a_validation_loss_summed_over_batches_of_a_hand_written_mean_is_found():
    """s07's bug: the printed validation loss is the sum of the batches' means (3 batches).
    Main skipped every hand-written loss here (a fairseq criterion's sums are its own)."""
    [finding] = validation_path.check(_flow_case(summed=True))
    assert finding.cause.id == "validation_path"
    assert finding.evidence["scale_factor"] == pytest.approx(3, rel=0.1)


class _StepModule(nn.Module):
    """A Lightning-style module whose step calls its network directly and scores it: the step
    trains (it computes the loss), so the network, not the step, is the model's pass."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1))

    def training_step(self, x, y):
        return F.binary_cross_entropy_with_logits(self.net(x), y.view(-1, 1).float())


def test_a_method_that_scores_the_output_is_not_the_models_pass():
    x, y = _data(256, 0)
    module = _StepModule()
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-2)

    def train():
        for rows in torch.arange(len(x)).split(32):
            optimizer.zero_grad()
            module.training_step(x[rows], y[rows]).backward()
            optimizer.step()
    case = record(train)
    assert type(case.copies.initial_model) is nn.Sequential
    assert case.trace.setup.loss_name == "binary_cross_entropy_with_logits"
