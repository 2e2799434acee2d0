"""A training loss that adds torch.nn loss calls and a term written by hand (a transcriber's
``sum(losses.values())`` over BCE calls and an onset-masked squared error, bench/fresh30 s05):
its autograd graph shows it as the calls' sum plus the rest, so the run's loss is learned as
terms (Setup.loss_terms, the rest named "hand-written term") and no one call's constant guess
stands for it."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from conftest import record
from lossdoctor.capture.loss_remainder import HAND_WRITTEN_TERM, hand_written_remainder
from lossdoctor.capture.loss_terms import summed_run

ROWS, STEPS, PITCHES = 16, 6, 4


def _calls():
    torch.manual_seed(0)
    logits = torch.randn(8, 3, requires_grad=True)
    labels = (torch.rand(8, 3) < 0.3).float()
    first = F.binary_cross_entropy(torch.sigmoid(logits), labels)
    second = F.binary_cross_entropy_with_logits(logits * 2, labels)
    hand = ((logits - labels) ** 2 * labels).sum() / labels.sum().clamp(min=1)
    return first, second, hand


def test_the_rest_of_a_sum_of_loss_calls_is_the_hand_written_term():
    first, second, hand = _calls()
    root = sum({"a": first, "b": second, "c": hand}.values())
    nodes = [first.grad_fn, second.grad_fn]
    remainder = hand_written_remainder(root, nodes, [first.item(), second.item()])
    assert remainder is not None and abs(remainder - hand.item()) < 1e-5


def test_a_scaled_call_or_nothing_else_added_is_no_such_sum():
    first, second, hand = _calls()
    values, nodes = [first.item(), second.item()], [first.grad_fn, second.grad_fn]
    assert hand_written_remainder(0.5 * first + second + hand, nodes, values) is None
    assert hand_written_remainder(first + second, nodes, values) is None
    assert hand_written_remainder((first + second + hand) / 3, nodes, values) is None


class Heads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(5, 16), nn.Tanh())
        self.onset, self.frame = nn.Linear(16, PITCHES), nn.Linear(16, PITCHES)
        self.velocity = nn.Linear(16, PITCHES)

    def forward(self, audio):
        hidden = self.body(audio)
        return (torch.sigmoid(self.onset(hidden)), torch.sigmoid(self.frame(hidden)),
                self.velocity(hidden))


def _losses(model, batch, hand_written: bool):
    onset, frame, velocity = model(batch["audio"])
    losses = {"onset": F.binary_cross_entropy(onset, batch["onset"]),
              "frame": F.binary_cross_entropy(frame, batch["frame"])}
    if hand_written:
        mask = batch["onset"]
        losses["velocity"] = (mask * (velocity - batch["velocity"]) ** 2).sum() / mask.sum()
    return losses


def _batches(rows: int, seed: int):
    generator = torch.Generator().manual_seed(seed)
    audio = torch.randn(rows, 5, generator=generator)
    frame = (audio[:, :PITCHES] > 0.3).float()
    onset = frame * (audio[:, 1:PITCHES + 1] > 0.8).float()
    onset[0] = 1.0  # every batch holds an onset to score the velocity on
    velocity = torch.rand(rows, PITCHES, generator=generator) * frame
    return {"audio": audio, "onset": onset, "frame": frame, "velocity": velocity}


def _train(hand_written: bool) -> None:
    torch.manual_seed(0)
    model = Heads()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    batches = [_batches(ROWS, seed) for seed in range(STEPS)]
    validation = _batches(2 * ROWS, 99)
    for _ in range(3):
        model.train()
        for batch in batches:
            loss = sum(_losses(model, batch, hand_written).values())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            sum(_losses(model, validation, hand_written).values()).item()


def test_loss_calls_and_a_hand_written_term_added_up_are_the_run_s_terms():
    case = record(_train, True)
    terms = case.trace.setup.loss_terms
    assert [t["loss_name"] for t in terms] == ["binary_cross_entropy"] * 2 + [HAND_WRITTEN_TERM]
    assert summed_run(case.trace.setup)
    assert case.constant_guess_loss("validation") is None  # no one call's guess is the sum's


def test_loss_calls_added_up_alone_have_no_hand_written_term():
    terms = record(_train, False).trace.setup.loss_terms
    assert [t["loss_name"] for t in terms] == ["binary_cross_entropy"] * 2
