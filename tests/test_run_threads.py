"""Experiments run with the torch thread count the user's run had, restored afterwards."""

import copy

import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.checks import CheckModule
from lossdoctor.diagnosis import diagnose
from lossdoctor.experiments import Plan
from lossdoctor.sandbox import run_threads


class ThreadsSeen(nn.Module):
    """An MLP that notes the torch thread count each forward pass ran with."""

    def __init__(self):
        super().__init__()
        self.net = mlp(4, 8, 2)
        self.seen: list[int] = []

    def forward(self, x):
        self.seen.append(torch.get_num_threads())
        return self.net(x)


def _case_run_with(threads: int):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(120, 4, generator=generator)
    y = (x[:, 0] > 0).long()
    model = ThreadsSeen()

    def script():
        torch.set_num_threads(threads)  # what a user's script may set
        fit(model, torch.optim.Adam(model.parameters()), nn.CrossEntropyLoss(),
            (x[:100], y[:100]), (x[100:], y[100:]), epochs=1)

    return record(script)


def test_the_run_records_the_thread_count_the_script_left():
    assert _case_run_with(2).copies.threads == 2


def test_experiments_train_with_the_runs_thread_count_and_restore_the_count_before():
    case = _case_run_with(2)
    torch.set_num_threads(1)  # lossdoctor's own count when the diagnosis starts
    seen = []

    def replays(c):
        model = copy.deepcopy(c.copies.initial_model)
        model.seen.clear()
        c.replayer.replay(Plan(model=model, steps=3, evaluations=1))
        seen.extend(model.seen)
        return []

    outcome = diagnose(case, (CheckModule("replays", replays, ()),)).outcomes[0]
    assert outcome.status == "ran", outcome.reason
    assert seen and set(seen) == {2}
    assert torch.get_num_threads() == 1


def test_the_count_before_is_restored_when_an_experiment_raises_or_changes_it():
    torch.set_num_threads(1)
    try:
        with run_threads(2):
            assert torch.get_num_threads() == 2
            torch.set_num_threads(3)
            raise RuntimeError("experiment failed")
    except RuntimeError:
        pass
    assert torch.get_num_threads() == 1
