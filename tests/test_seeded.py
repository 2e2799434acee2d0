"""Whether the run's random numbers were seeded, by the script or by --seed: the report needs it
to say when another run may come out differently."""

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
