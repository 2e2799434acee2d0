"""Shared helpers: record a small seeded training run in-process and turn it into a Case."""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future
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



class Background:
    """``jobs`` ({key: (function, args)}) run in order on worker threads: one while the other tests
    keep the second core busy, up to ``workers`` once a test waits for a result."""

    def __init__(self, jobs: dict, workers: int):
        self.futures = {key: Future() for key in jobs}
        self._queue = deque((self.futures[key], *job) for key, job in jobs.items())
        self._lock = threading.Lock()
        self._workers, self._threads = workers, []
        self._add_worker()

    def result(self, key):
        while len(self._threads) < self._workers:
            self._add_worker()
        return self.futures[key].result()

    def close(self):
        """Cancel the jobs not started (after -x or an interrupt); wait for the running ones."""
        with self._lock:
            for future, *_ in self._queue:
                future.cancel()
            self._queue.clear()
        for thread in self._threads:
            thread.join()

    def _add_worker(self):
        thread = threading.Thread(target=self._work, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _work(self):
        while True:
            with self._lock:
                if not self._queue:
                    return
                future, function, args = self._queue.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function(*args))
            except BaseException as error:  # handed to the test that waits for it
                future.set_exception(error)


@pytest.fixture(scope="session", autouse=True)
def scenario_runs(request, tmp_path_factory):
    """The runs of examples/ that the selected tests of test_scenarios.py need, started with the
    session: they use the second core while the in-process tests run on the first."""
    from test_scenarios import PARALLEL, scenario_jobs

    runs = Background(scenario_jobs(request.session, tmp_path_factory), workers=PARALLEL)
    yield runs
    runs.close()
