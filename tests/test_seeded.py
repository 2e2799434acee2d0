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
