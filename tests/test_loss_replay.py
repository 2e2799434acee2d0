"""Experiments replay the user's own loss: a hand-written one (recorded as a program and run
again), and one the model returns itself (taken from the same place in its output).

The patterns are those of one small script, tests/loss_patterns.py, chosen by its first
argument: the loss as people write it. Its second argument injects a bug."""

from __future__ import annotations

import copy
import importlib
import json
import math
import runpy
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from conftest import record
from lossdoctor.capture.loss_program import LossProgram
from lossdoctor.capture.replay_losses import LossFunction, ReturnedLoss
from lossdoctor.diagnosis import REPORT_THRESHOLD, diagnose
from lossdoctor.experiments import Plan
from lossdoctor.findings import Skip

SCRIPT = Path(__file__).with_name("loss_patterns.py")
PROGRAMS = ["mse", "l2", "bce", "module", "indexed", "dict"]  # hand-written: recorded program
RETURNED = ["hf", "nanogpt", "sequence"]  # returned by the model: taken from its output
FLATTENED = ["flat"]  # F.cross_entropy on a sequence flattened outside the model
PATTERNS = PROGRAMS + RETURNED + FLATTENED
KINDS = {**dict.fromkeys(PROGRAMS, LossProgram), **dict.fromkeys(RETURNED, ReturnedLoss),
         **dict.fromkeys(FLATTENED, LossFunction)}


def _recorded(loss: str, bug: str = "healthy", epochs: int = 2, **_):
    saved = sys.argv
    sys.argv = [str(SCRIPT), loss, bug, str(epochs)]
    try:
        return record(runpy.run_path, str(SCRIPT), run_name="__main__")
    finally:
        sys.argv = saved


_CASES: dict = {}


def _case(loss: str):
    """One recorded run per pattern, shared by the tests that only read it."""
    if loss not in _CASES:
        _CASES[loss] = _recorded(loss)
    return _CASES[loss]


# --- the replay is ready and computes the user's loss ---------------------------------------


@pytest.mark.parametrize("loss", PATTERNS)
def test_the_replay_is_ready_with_the_users_own_loss(loss):
    case = _case(loss)
    assert case.replayer.ready, case.copies.loss_problem
    assert isinstance(case.copies.replay_loss, KINDS[loss])
    assert not case.trace.notes  # no internal error


@pytest.mark.parametrize("loss", PATTERNS)
def test_training_and_validation_batches_are_paired_with_their_targets(loss):
    copies = _case(loss).copies
    train, validation = copies.train.batches, copies.validation.batches
    assert len(train) == 38 and len(validation) == 3  # 1200 rows by 32, 300 rows by 100
    assert all(b.target.shape[0] == b.rows for b in train + validation)


@pytest.mark.parametrize("loss", PATTERNS)
def test_the_replay_gives_the_first_training_loss_back(loss):
    """Run on the first captured batch with the model as it was, the replayed loss is the one
    the script trained on at its first step."""
    case = _case(loss)
    first = case.copies.train.batches[0]
    model = case.copies.initial_model
    with torch.no_grad():
        replayed = float(case.replayer.loss(model, first))
    trained = case.trace.train_losses()[0].value
    assert math.isclose(replayed, trained, rel_tol=1e-5)


@pytest.mark.parametrize("loss", PATTERNS)
def test_replaying_the_users_learning_rate_brings_the_loss_down(loss):
    result = _case(loss).replayer.replay(Plan(steps=150, evaluations=5))
    assert not result.diverged
    first, last = result.train_losses[:10], result.train_losses[-10:]
    assert sum(last) < 0.6 * sum(first)
    assert result.validation_losses[-1] < result.validation_losses[0]


@pytest.mark.parametrize("loss", ["mse", "l2", "bce", "module", "nanogpt", "dict"])
def test_the_loss_behaves_like_a_torch_loss_so_the_checks_know_its_kind(loss):
    expected = {"mse": "mse_loss", "l2": "mse_loss", "bce": "binary_cross_entropy",
                "module": "cross_entropy", "nanogpt": "cross_entropy",
                "dict": "cross_entropy"}[loss]
    assert _case(loss).trace.setup.loss_name.endswith(f"(like {expected})") or (
        _case(loss).trace.setup.loss_name == expected)


def test_a_penalty_on_the_parameters_replays_on_the_copys_parameters():
    """The L2 term is computed from the replayed model's weights, not copied as a number."""
    case = _case("l2")
    batch = case.copies.train.batches[0]
    heavier = copy.deepcopy(case.copies.initial_model)
    with torch.no_grad():
        heavier.net[0].weight.mul_(30.0)
        replayed = float(case.replayer.loss(heavier, batch))
        mse = float(((heavier(batch.args[0]) - batch.target) ** 2).mean())
        penalty = 1e-4 * sum(float(p.pow(2).sum()) for p in heavier.parameters())
    assert penalty > 1e-3 * mse  # large enough to be seen
    assert math.isclose(replayed, mse + penalty, rel_tol=1e-6)


def test_a_model_given_a_dict_batch_is_called_with_it_again():
    case = _case("hf")
    batch = case.copies.train.batches[0]
    assert set(batch.kwargs) == {"inputs"}  # the labels are the target, not a feature
    assert batch.target.dtype == torch.int64 and batch.target.shape == (batch.rows,)
    shuffled = batch.target[torch.randperm(batch.rows, generator=torch.Generator())]
    model = case.copies.initial_model
    with torch.no_grad():
        own = float(case.replayer.loss(model, batch))
        other = float(case.replayer.loss(model, _with_target(batch, shuffled)))
    assert own != other  # the replay gives the model the batch's target, changed or not


def test_a_dict_batchs_target_read_by_a_hand_written_loss_is_the_target():
    """``loss(model(batch), batch["target"])``: the target came in the dict the model was
    given, so it was an input to the program and no batch was paired (development case 09119:
    every replay skipped, "needs training batches paired with their targets")."""
    case = _case("dict")
    batch = case.copies.train.batches[0]
    assert set(batch.args[0]) == {"inputs"}  # the labels are the target, not a feature
    assert batch.target.dtype == torch.int64 and batch.target.shape == (batch.rows,)
    shifted = (batch.target + 1) % 3
    model = case.copies.initial_model
    with torch.no_grad():
        own = float(case.replayer.loss(model, batch))
        other = float(case.replayer.loss(model, _with_target(batch, shifted)))
    assert own != other  # the replay reads the batch's target, changed or not


def _with_target(batch, target):
    return replace(batch, target=target)


def test_predictions_are_the_output_beside_the_returned_loss():
    case = _case("sequence")
    batch = case.copies.train.batches[0]
    with torch.no_grad():
        prediction = case.replayer.predict(case.copies.initial_model, batch)
    assert prediction.shape == (batch.rows, 4, 3)  # the logits (rows, positions, classes)
    assert batch.target.shape == (batch.rows, 4)


class _LossOnly(torch.nn.Module):
    """Returns its loss, written by hand, and nothing beside it, as a contrastive model (CLIP)
    does."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 1)

    def forward(self, x, y):
        return ((self.linear(x).squeeze(1) - y) ** 2).mean()


def _train_loss_only(model, steps=8):
    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 3, generator=generator), torch.randn(64, generator=generator)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for rows in torch.arange(64).split(64 // steps):
        optimizer.zero_grad()
        model(x[rows], y[rows]).backward()
        optimizer.step()


def test_a_model_that_returns_only_its_loss_is_watched_to_the_end():
    """Nothing beside the returned loss to compare it with: its kind is unknown, and the run is
    still watched (clip_small_dataset_val_loss_rising: an internal error had ended the capture
    at the first backward pass, and the run was seen as no training)."""
    case = record(_train_loss_only, _LossOnly())
    assert case.trace.steps == 8
    assert case.trace.setup.loss_name == "loss returned by the model"


@pytest.mark.parametrize("loss", ["l2", "bce", "sequence", "indexed"])
def test_recording_the_loss_changes_nothing_in_the_users_run(loss, capsys):
    """The script prints the same losses, and leaves torch's random state the same, watched
    or not."""
    outputs, states = [], []
    for watched in (False, True):
        sys.argv = [str(SCRIPT), loss, "healthy", "2"]
        try:
            if watched:
                _recorded(loss)
            else:
                runpy.run_path(str(SCRIPT), run_name="__main__")
        finally:
            sys.argv = _ARGV
        outputs.append(capsys.readouterr().out)
        states.append(torch.get_rng_state())
    assert outputs[0] == outputs[1] and "epoch 1" in outputs[0]
    assert torch.equal(states[0], states[1])


_ARGV = list(sys.argv)


# --- what cannot be replayed is said, and skips ---------------------------------------------


@pytest.mark.parametrize("loss, words", [
    ("dropout", "random numbers"),
    ("item", "read in Python"),
])
def test_a_loss_that_cannot_be_replayed_skips_with_what_was_in_the_way(loss, words):
    case = _recorded(loss)
    assert not case.replayer.ready
    assert "could not replay" in case.copies.loss_problem and words in case.copies.loss_problem
    with pytest.raises(Skip, match=words):
        case.require_replay()
    assert not [note for note in case.trace.notes if "internal error" in note]


def test_no_check_fails_inside_lossdoctor_on_the_replayed_patterns():
    errors = {}
    for loss in ("l2", "sequence", "flat"):
        outcomes = diagnose(_case(loss)).outcomes
        errors[loss] = [(o.name, o.reason) for o in outcomes if o.status == "error"]
    assert errors == {"l2": [], "sequence": [], "flat": []}


def test_the_plain_torch_loss_is_still_replayed_as_a_torch_loss():
    case = _recorded("plain_ce")
    assert isinstance(case.copies.replay_loss, LossFunction)
    assert case.copies.loss_replay is None


# --- lossdoctor run: the script's own output, and the bug it has ------------------------------


def _run(tmp_path, loss, bug, epochs=8):
    report = tmp_path / f"{loss}_{bug}.json"
    args = [str(SCRIPT), loss, bug, str(epochs)]
    watched = subprocess.run(
        [sys.executable, "-m", "lossdoctor", "run", "--json", str(report), *args],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    return watched, json.loads(report.read_text())


@pytest.mark.zoo
@pytest.mark.zoo_only
def test_a_hand_written_loss_run_keeps_the_scripts_output_and_replays(tmp_path):
    plain = subprocess.run([sys.executable, str(SCRIPT), "bce", "healthy", "3"],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
    watched, report = _run(tmp_path, "bce", "healthy", epochs=3)
    assert watched.stdout == plain.stdout and watched.returncode == plain.returncode == 0
    failed = [c for c in report["checks"] if c["status"] == "error"]
    skipped = {c["name"]: c["reason"] for c in report["checks"] if c["status"] == "skipped"}
    assert failed == []
    assert not any("replay" in reason for reason in skipped.values()), skipped


EXPECTED = {"lr": "lr_too_high", "inputs": "unnormalized_inputs", "labels": "no_signal"}
CLASSIFIERS = ["plain_ce", "plain_bce", "bce", "module", "hf", "nanogpt"]
REGRESSORS = ["plain_mse", "mse", "l2", "indexed"]
# Adam at lr 1 still fits the regression, with nn.MSELoss too: no lr bug there.
MATRIX = [(loss, bug) for loss in CLASSIFIERS for bug in ("healthy", *EXPECTED)] + [
    (loss, bug) for loss in REGRESSORS for bug in ("healthy", "inputs", "labels")]


@pytest.mark.zoo
@pytest.mark.zoo_only
@pytest.mark.parametrize("loss, bug", MATRIX)
def test_an_injected_bug_is_found_first_whatever_the_loss(tmp_path, loss, bug):
    _, report = _run(tmp_path, loss, bug)
    causes = [c["id"] for c in report["causes"]]
    assert [c["name"] for c in report["checks"] if c["status"] == "error"] == []
    if bug == "healthy":
        assert causes == []
    else:
        assert causes and causes[0] == EXPECTED[bug]


@pytest.mark.parametrize("loss", ["hf", "nanogpt", "l2"])
@pytest.mark.parametrize("bug, check", [("labels", "no_signal"), ("inputs", "unnormalized_inputs")])
def test_the_check_for_an_injected_bug_finds_it_whatever_the_loss(loss, bug, check):
    """The labels are the target, not a feature, even when the model is given them."""
    module = importlib.import_module(f"lossdoctor.checks.{check}")
    found = module.check(_recorded(loss, bug, epochs=3))
    assert [f.cause.id for f in found if f.confidence >= REPORT_THRESHOLD] == [check]


def test_labels_a_dict_batch_brings_to_a_hand_written_loss_are_no_feature():
    """Shuffled labels carry no signal, though the model was given them in its dict."""
    no_signal = importlib.import_module("lossdoctor.checks.no_signal")
    found = no_signal.check(_recorded("dict", "labels", epochs=3))
    assert [f.cause.id for f in found if f.confidence >= REPORT_THRESHOLD] == ["no_signal"]
