"""What run_script keeps of the run's world: whether its random numbers were seeded (by the
script or by --seed; the report says when another run may come out differently), and which
threads it waits for."""

import pytest

from lossdoctor.runner import run_script


@pytest.mark.parametrize("code, seed, seeded", [
    ("import torch\ntorch.manual_seed(123)\nprint(torch.rand(1))\n", None, True),
    ("import torch\nprint(torch.rand(1))\n", None, False),
    ("import torch\nprint(torch.rand(1))\n", 5, True),
])
def test_a_run_knows_whether_its_random_numbers_were_seeded(tmp_path, code, seed, seeded):
    script = tmp_path / "draw.py"
    script.write_text(code)
    assert run_script(str(script), [], seed=seed).seeded is seeded


def test_a_script_seeding_with_the_callers_seed_counts_as_seeded(tmp_path):
    """The caller (a test, a notebook) may have seeded torch with the same number already."""
    import torch

    torch.manual_seed(123)
    script = tmp_path / "draw.py"
    script.write_text("import torch\ntorch.manual_seed(123)\nprint(torch.rand(1))\n")
    assert run_script(str(script), []).seeded


def test_threads_alive_before_the_script_are_not_waited_for(tmp_path):
    """In-process callers (a notebook, a test runner) may hold non-daemon threads of their own;
    only the script's threads are waited for, as python waits for them at exit."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    release = threading.Event()
    caller_thread = threading.Thread(target=release.wait, args=(20,))
    caller_thread.start()
    pool = ThreadPoolExecutor(1)
    pool.submit(int).result()  # an idle worker, as any earlier executor leaves
    script = tmp_path / "threads.py"
    script.write_text("import threading, time\n"
                      "threading.Thread(target=lambda: (time.sleep(0.3), print('late'))).start()\n")
    start = time.monotonic()
    try:
        run_script(str(script), [])
        took = time.monotonic() - start
    finally:
        release.set()
        caller_thread.join()
        pool.shutdown()
    assert 0.3 <= took < 10  # the script's own thread was waited for, the others were not


UNSEEDED_TRAINING = """
import torch
from torch import nn

x = torch.randn(240, 5) * torch.tensor([1.0, 1.0, 40.0, 1.0, 1.0])
y = (x[:, 0] + torch.randn(240) > 0).float()
model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
loss_fn = nn.BCEWithLogitsLoss()
for epoch in range(6):
    model.train()
    for i in range(0, 160, 20):
        optimizer.zero_grad()
        loss_fn(model(x[i:i + 20]).squeeze(1), y[i:i + 20]).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        loss_fn(model(x[160:]).squeeze(1), y[160:])
"""


def _report_files(tmp_path, run: str, seed: str, *options: str) -> tuple[dict, str]:
    """`lossdoctor run --seed` on the unseeded script: its JSON (without wall times) and
    Markdown."""
    import json
    import subprocess
    import sys

    folder = tmp_path / run
    folder.mkdir()
    (folder / "train.py").write_text(UNSEEDED_TRAINING)
    subprocess.run([sys.executable, "-m", "lossdoctor", "run", "--seed", seed, "--json", "r.json",
                    "--md", "r.md", *options, "train.py"], cwd=folder, check=True,
                   capture_output=True, timeout=600)
    report = json.loads((folder / "r.json").read_text())
    for check in report["checks"]:
        check.pop("seconds")
    return report, (folder / "r.md").read_text()


@pytest.mark.slow  # a whole diagnosis over 8 s; faster tests check its mechanism
def test_with_the_same_seed_two_runs_of_an_unseeded_script_give_the_same_report(tmp_path):
    first, again = (_report_files(tmp_path, run, "3") for run in ("a", "b"))
    assert first[0]["seeded"] is True and first[0]["causes"][0]["experiment"]
    assert first == again
    other = _report_files(tmp_path, "c", "4", "--budget", "0")  # only its curves are compared
    assert first[0]["curves"] != other[0]["curves"]  # the seed does reach the script's draws
