"""A loss of several torch.nn loss calls added up outside the model, as Tacotron 2's criterion
writes it (``MSELoss()(mel, mel_t) + BCEWithLogitsLoss()(gate, gate_t)``, bench/fresh24 s06):
the step's loss is the sum backward was called on, and so is each validation batch's (the
records were the calls' mean, half what the script prints); replays compute every term on its
own prediction and target, or, when they cannot (the sum written in the loop, its targets none
of the model's inputs), the largest term alone with its own target, and say so (s06's replays
paired the gate's logits with the mel target: "Target size (16, 12, 16) must be the same as
input size (16, 12)")."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from conftest import record
from lossdoctor.checks import validation_path

ROWS, FRAMES, BANDS = 16, 5, 3


class MelAndGate(nn.Module):
    """Frames and a stop-gate logit per frame, from a text code; with ``mels``, teacher-forced
    (Tacotron 2's ``model(text, mels)``: the mel target is also an input)."""

    def __init__(self, forced: bool) -> None:
        super().__init__()
        self.forced = forced
        self.body = nn.Sequential(nn.Linear(4 + (FRAMES * BANDS if forced else 0), 32),
                                  nn.Tanh())
        self.mel, self.gate = nn.Linear(32, FRAMES * BANDS), nn.Linear(32, FRAMES)

    def forward(self, text, mels=None):
        inputs = [text, mels.flatten(1)] if self.forced else [text]
        hidden = self.body(torch.cat(inputs, 1))
        return self.mel(hidden).view(-1, FRAMES, BANDS), self.gate(hidden)


class Tacotron2Loss(nn.Module):
    def forward(self, model_output, targets):
        mel_out, gate_out = model_output
        mel_target, gate_target = targets
        return nn.MSELoss()(mel_out, mel_target) + nn.BCEWithLogitsLoss()(gate_out, gate_target)


def _data(rows: int, seed: int, mel_scale: float):
    generator = torch.Generator().manual_seed(seed)
    text = torch.randn(rows, 4, generator=generator)
    mels = mel_scale * torch.tanh(text[:, :3]).unsqueeze(1).expand(rows, FRAMES, BANDS)
    gate = torch.zeros(rows, FRAMES)
    gate[:, -1] = 1.0
    return text, mels.contiguous(), gate


def _criterion(model, text, mels, gate):
    output = model(text, mels) if model.forced else model(text)
    return Tacotron2Loss()(output, (mels, gate))


def _in_the_loop(model, text, mels, gate):
    mel_out, gate_out = model(text)
    return nn.MSELoss()(mel_out, mels) + nn.BCEWithLogitsLoss()(gate_out, gate)


def _train(loss_of, forced: bool, printed: dict, mel_scale: float = 1.0, epochs: int = 3):
    torch.manual_seed(0)
    model = MelAndGate(forced)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    train, validation = _data(6 * ROWS, 0, mel_scale), _data(2 * ROWS, 1, mel_scale)
    for _ in range(epochs):
        model.train()
        for start in range(0, 6 * ROWS, ROWS):
            optimizer.zero_grad()
            loss = loss_of(model, *(t[start:start + ROWS] for t in train))
            loss.backward()
            printed.setdefault("train", loss.item())
            optimizer.step()
        model.eval()
        with torch.no_grad():
            losses = [loss_of(model, *(t[start:start + ROWS] for t in validation)).item()
                      for start in range(0, 2 * ROWS, ROWS)]
        printed["validation"] = sum(losses) / len(losses)


def _case(loss_of, forced: bool, mel_scale: float = 1.0):
    printed: dict = {}
    case = record(_train, loss_of, forced, printed, mel_scale)
    return case, printed


def _replayed(case) -> tuple[float, float]:
    """The untrained model's loss on the first kept batch, evaluated and in a training step."""
    batch = case.copies.train.batches[0]
    model = copy.deepcopy(case.copies.initial_model)
    evaluated = case.replayer.evaluate(model, [batch])
    trained = case.replayer.train_step(model, torch.optim.SGD(model.parameters(), lr=0.0), batch)
    return evaluated, trained


@pytest.mark.parametrize("forced", [False, True], ids=["criterion", "mel_target_also_input"])
def test_a_criterion_adding_two_losses_is_recorded_and_replayed_as_their_sum(forced):
    # Fails on 5a5fb0f: the step was recorded as the calls' mean (0.5 of the printed sum) and,
    # teacher-forced, the replay paired the gate's logits with the mel target.
    case, printed = _case(_criterion, forced)
    assert case.trace.train_losses()[0].value == pytest.approx(printed["train"], rel=1e-5)
    assert case.trace.validation_passes()[-1].loss == pytest.approx(printed["validation"],
                                                                    rel=1e-5)
    for replayed in _replayed(case):
        assert replayed == pytest.approx(printed["train"], rel=0.05)


def test_a_criterion_adding_two_losses_leaves_validation_path_quiet():
    case, _ = _case(_criterion, True)
    assert validation_path.check(case) == []


def test_a_sum_written_in_the_loop_replays_its_largest_term_with_that_terms_target():
    # The gate's BCE is the larger term (mel targets at 0.1 the scale): on 5a5fb0f the replay
    # was the first call's MSE; now the BCE, on the gate logits and the gate targets, and the
    # curves follow it (a note says which).
    case, _ = _case(_in_the_loop, False, mel_scale=0.1)
    replay = case.copies.replay_loss
    assert isinstance(replay.loss_fn, nn.BCEWithLogitsLoss)
    assert tuple(case.copies.train.batches[0].target.shape) == (ROWS, FRAMES)
    first = case.trace.train_losses()[0].value
    for replayed in _replayed(case):
        assert replayed == pytest.approx(first, rel=0.05)
    assert any("BCEWithLogitsLoss, alone" in note for note in case.trace.notes)


def test_a_weighted_sum_is_not_taken_for_a_sum_of_its_calls():
    # Twin: mse + 0.1 * bce does not add up to its calls; each call keeps its own record.
    def weighted(model, text, mels, gate):
        mel_out, gate_out = model(text)
        return nn.MSELoss()(mel_out, mels) + 0.1 * nn.BCEWithLogitsLoss()(gate_out, gate)

    case, printed = _case(weighted, False)
    names = {r.loss_name for r in case.trace.train_losses() if r.step == 0}
    assert names == {"MSELoss", "BCEWithLogitsLoss"}
    assert not case.trace.setup.loss_terms


def test_no_constant_guess_of_one_term_stands_for_the_sum():
    # s06: MSELoss's closed form on the stop-gate targets (the batch's target) gave 0, and the
    # healthy run was "at chance" (no_signal 0.9). On 5a5fb0f this case's guess was MSELoss on
    # the mel targets, one term's; now there is none rather than a wrong one.
    case, _ = _case(_criterion, True)
    assert case.constant_guess_loss("validation") is None
    assert case.loss_floor() is None
