"""The three seed scripts, unmodified: random labels, so `no_signal` leads in every one.

The scripts draw new data on every run (they are unseeded). To keep the tests deterministic,
each runs under `lossdoctor run --seed N` for a few fixed N; bench/seed_timing.py measures how
often each cause is found over unseeded runs.
"""

from __future__ import annotations

import pytest

from conftest import SEED_DIR
from test_scenarios import diagnose

EXPECTED = {
    "example_1_capacity.py": ["no_signal"],
    "example_2_unnormalized.py": ["no_signal", "unnormalized_inputs", "saturated_activation"],
    "example_3_learning_rate.py": ["no_signal", "lr_too_high"],
}

pytestmark = pytest.mark.skipif(
    not SEED_DIR.is_dir(), reason=f"the seed scripts' folder {SEED_DIR} is absent"
)


@pytest.mark.parametrize("seed", ["0", pytest.param("1", marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_script_gets_the_required_diagnosis(name, seed, tmp_path):
    report = tmp_path / "report.json"
    expected, result = EXPECTED[name], diagnose(SEED_DIR / name, report, "--seed", seed)
    assert result.exit_code == 0, result.explain()
    assert result.causes and result.causes[0] == expected[0], result.explain()
    assert set(expected) <= set(result.causes), result.explain()
