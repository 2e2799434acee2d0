"""Shared helpers: record a small seeded training run in-process and turn it into a Case."""

from __future__ import annotations

import os

# One thread per test process, set before torch is imported here or in any process the tests
# start: xdist runs a worker per core, and torch's default of a thread per core in each worker
# oversubscribed CI's 2 cores (635 s with it, against 387 s with one thread on the same suite).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import signal  # noqa: E402
import sys  # noqa: E402
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
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


def fit_on_dicts(model, loss_of, x, y, rows, train_batches, epochs, lr=0.01):
    """A training loop over batches of dicts {"inputs", "target"}, the model given each batch
    whole and ``loss_of(model, batch)`` its loss; the batches after ``train_batches`` are
    validated."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    batches = [{"inputs": x[i:i + rows], "target": y[i:i + rows]} for i in range(0, len(x), rows)]
    train, validation = batches[:train_batches], batches[train_batches:]
    for _ in range(epochs):
        for batch in train:
            optimizer.zero_grad()
            loss_of(model, batch).backward()
            optimizer.step()
        with torch.no_grad():
            for batch in validation:
                loss_of(model, batch)


def module_loss(model, batch):
    """Cross-entropy by a loss module on a (inputs, labels) batch."""
    return nn.CrossEntropyLoss()(model(batch[0]), batch[1])


def hand_written_loss(model, batch):
    """The same cross-entropy written by hand."""
    return -F.log_softmax(model(batch[0]), dim=1).gather(1, batch[1][:, None]).mean()


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


#: The signals lossdoctor handles (stopping.py). A handler or a blocked signal left in an xdist
#: worker is inherited by every process a later test starts there (session 6: a script's own
#: os.kill(SIGINT) was not delivered, and the SIGINT test of test_exact_run.py waited in vain).
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)


def _signal_state() -> tuple[dict, set]:
    return ({number: signal.getsignal(number) for number in HANDLED_SIGNALS},
            signal.pthread_sigmask(signal.SIG_BLOCK, []))


@pytest.fixture(autouse=True)
def signals_as_they_were(request):
    """Each test leaves the handlers and the signal mask as it found them: they are put back,
    and a warning names the test that changed them."""
    handlers, blocked = _signal_state()
    yield
    if _signal_state() == (handlers, blocked):
        return
    warnings.warn(f"{request.node.nodeid} left the signal handlers or mask changed "
                  f"({_signal_state()}, was {(handlers, blocked)}); put back", stacklevel=1)
    signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    for number, handler in handlers.items():
        if handler is not None:  # None: set outside python, cannot be put back from here
            signal.signal(number, handler)


#: The test file whose tests of one scenario share one run of it (tests/test_scenarios.py).
SCENARIO_TESTS = "test_scenarios.py"
SCENARIO_UNIT = "scenario "
#: Test files whose tests each diagnose or start whole scripts, slowest first: in a full run with
#: -n 2 (session 6) each took 140-400 worker-seconds, the next one under 125. xdist hands them out
#: right after the scenarios, so that the last tests handed out are short ones.
SLOW_FILES = ("test_seed_examples.py", "test_underfit_capacity.py", "test_run.py",
              "test_exact_run.py", "test_loss_replay.py")


def scenario_of(nodeid: str) -> str | None:
    """The scenario a test of ``SCENARIO_TESTS`` is parametrized with, from its node id."""
    path, _, name = nodeid.partition("::")
    if not path.endswith(SCENARIO_TESTS) or not name.endswith("]"):
        return None
    return name[name.index("[") + 1:-1]


def handed_out_order(unit: str) -> int:
    """Scenarios first, then the tests of ``SLOW_FILES`` in that order, then the rest: the
    rank of a unit of work (a scenario, or a test's node id) of the scheduler below."""
    if unit.startswith(SCENARIO_UNIT):
        return 0
    path = unit.partition("::")[0]
    slow = [index for index, name in enumerate(SLOW_FILES) if path.endswith(name)]
    return 1 + slow[0] if slow else 1 + len(SLOW_FILES)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Under xdist's default `--dist load`, the tests of one scenario go to one worker as one
    unit, and the long tests are handed out first (``handed_out_order``): otherwise a worker
    waits for the run another worker is making of the same scenario, and a long test handed out
    last keeps one worker busy while the other is idle. (xdist's own `loadgroup` groups by
    marks, but no longer under pytest 9.2, whose node ids ignore what it sets.)"""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ScenarioScheduling(LoadScopeScheduling):
        """Each test a unit of its own, but a scenario's tests one unit."""

        def _split_scope(self, nodeid: str) -> str:
            scenario = scenario_of(nodeid)
            return nodeid if scenario is None else SCENARIO_UNIT + scenario

        def _assign_work_unit(self, node) -> None:
            first = min(self.workqueue, key=handed_out_order)  # the earliest of those first
            self.workqueue.move_to_end(first, last=False)
            super()._assign_work_unit(node)

    return ScenarioScheduling(config, log)


def stroke_digits(rows, generator, classes=10, features=196):
    """Noisy copies of ten fixed stroke patterns in [0, 1], with one-hot targets."""
    strokes = (torch.rand(classes, features, generator=torch.Generator().manual_seed(1)) > 0.6)
    labels = torch.randint(0, classes, (rows,), generator=generator)
    x = (strokes[labels].float() + 0.3 * torch.randn(rows, features, generator=generator))
    return x.clamp(0, 1), nn.functional.one_hot(labels, classes).float()


def nielsen_network(clamped: bool) -> nn.Module:
    """Nielsen's [n, 30, 10] network with every sigmoid made a ReLU, the output's too when
    ``clamped``; weights and biases drawn from N(0, 0.1**2)."""
    torch.manual_seed(0)
    ending = [nn.ReLU()] if clamped else []
    model = nn.Sequential(nn.Linear(196, 30), nn.ReLU(), nn.Linear(30, 10), *ending)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, 0.1)
    return model


def quadratic_cost(output, target):
    return 0.5 * ((output - target) ** 2).sum(dim=1).mean()


def recorded_nielsen(clamped: bool):
    """nielsen_network trained as Nielsen does (SGD at 0.01, batches of 10, quadratic cost) on
    stroke digits, recorded."""
    return record_nielsen_run(nielsen_network(clamped))


def record_nielsen_run(model: nn.Module):
    """``model`` trained and recorded as recorded_nielsen's network is."""
    generator = torch.Generator().manual_seed(0)
    train, validation = stroke_digits(1500, generator), stroke_digits(300, generator)
    return record(fit, model, torch.optim.SGD(model.parameters(), lr=0.01), quadratic_cost,
                  train, validation, epochs=4, batch_size=10)


def calls_in_lossdoctor(run, where: str = "lossdoctor") -> int:
    """Python functions of lossdoctor (of any file whose path contains ``where``) entered while
    ``run()`` runs."""
    count = [0]

    def profile(frame, event, arg):
        if event == "call" and where in frame.f_code.co_filename:
            count[0] += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return count[0]


class ScoresDataset(torch.utils.data.Dataset):
    """Features and scores kept as ``dtype``: ktrain's TransformerDataset kept its regression
    scores as int64, which truncates 3.9 to 3 (checks/_cast_targets.py)."""

    def __init__(self, x, scores, dtype):
        self.x, self.y = x, torch.from_numpy(scores.numpy().astype(dtype))

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]
