"""Shared helpers: record a small seeded training run in-process and turn it into a Case."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lossdoctor.capture import Recorder, watching
from lossdoctor.case import Case

REPO = Path(__file__).resolve().parents[1]
SEED_DIR = REPO.parent / "shared" / "seed"
EXAMPLES = REPO / "examples"


def fit(model, optimizer, loss_fn, train, validation, epochs=20, batch_size=32, seed=0):
    """A plain PyTorch training loop, as a user would write it."""
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(TensorDataset(*train), batch_size=batch_size, shuffle=True,
                              generator=generator)
    val_loader = DataLoader(TensorDataset(*validation), batch_size=batch_size)
    history = []
    for _ in range(epochs):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            history.append(sum(loss_fn(model(x), y).item() for x, y in val_loader))
    return history


def record(train, *args, **kwargs) -> Case:
    """Run ``train(*args, **kwargs)`` under lossdoctor's hooks and return the Case it yields."""
    recorder = Recorder()
    with watching(recorder):
        train(*args, **kwargs)
    trace, copies = recorder.finish()
    return Case(trace, copies)


class DictModel(nn.Module):
    """A model fed a dict of two feature tensors, as multi-input models often are."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(2, 1), nn.Linear(3, 1)

    def forward(self, batch):
        return self.a(batch["left"]) + self.b(batch["right"])


def mlp(inputs: int, hidden: int, outputs: int) -> nn.Module:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, outputs))


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The tests train tiny models; on a 2-core machine a second thread only contends."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


#: The test file whose tests of one scenario share one run of it (tests/test_scenarios.py).
SCENARIO_TESTS = "test_scenarios.py"


def scenario_of(nodeid: str) -> str | None:
    """The scenario a test of ``SCENARIO_TESTS`` is parametrized with, from its node id."""
    path, _, name = nodeid.partition("::")
    if not path.endswith(SCENARIO_TESTS) or not name.endswith("]"):
        return None
    return name[name.index("[") + 1:-1]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Under xdist's default `--dist load`, the tests of one scenario go to one worker as one
    unit, scenarios first: otherwise a worker waits for the run another worker is making of the
    same scenario, and a scenario handed out last keeps one worker busy while the other is idle.
    (xdist's own `loadgroup` does the grouping with marks, but no longer under pytest 9.2.)"""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ScenarioScheduling(LoadScopeScheduling):
        """Each test a unit of its own, but a scenario's tests one unit. xdist hands out the
        units with most tests first (`--loadscope-reorder`, its default): the scenarios."""

        def _split_scope(self, nodeid: str) -> str:
            scenario = scenario_of(nodeid)
            return nodeid if scenario is None else f"scenario {scenario}"

    return ScenarioScheduling(config, log)
