from types import SimpleNamespace

from lossdoctor.checks._behind_fix import LAGS_FIX_SHARE, gains_at_run_length, lags_its_fix
from lossdoctor.findings import Experiment


def _case(steps, constant=1.1):
    return SimpleNamespace(trace=SimpleNamespace(steps=steps),
                           constant_guess_loss=lambda which: constant)


def _experiment(before, after):
    return Experiment("the fix", before[-1], after[-1], 300, curve_before=before,
                      curve_after=after, curve_steps=[0, 100, 200, 300])


def test_a_run_read_at_its_own_length_lags_a_fix_that_gains_more_than_twice_as_much():
    """Dev 361101: 120 steps, the replay of the setup at 0.80 where the fix's is at 0.30 (a
    constant guess of 1.1): 0.27 of the fix's gain is under LAGS_FIX_SHARE; at the replays'
    end (300 steps) the setup has caught up, which is not what the run saw."""
    experiment = _experiment([1.1, 0.9, 0.5, 0.3], [1.1, 0.35, 0.25, 0.2])
    own, fixed = gains_at_run_length(_case(120), experiment)
    assert own < LAGS_FIX_SHARE * fixed
    assert lags_its_fix(_case(120), experiment)
    assert not lags_its_fix(_case(300), experiment)
    assert not lags_its_fix(_case(5000), experiment)


def test_a_twin_as_fast_as_its_fix_does_not_lag_it():
    experiment = _experiment([1.1, 0.4, 0.3, 0.25], [1.1, 0.35, 0.28, 0.25])
    assert not lags_its_fix(_case(120), experiment)


def test_no_curves_or_no_constant_guess_say_nothing():
    assert not lags_its_fix(_case(120), Experiment("the fix", 0.9, 0.3, 300))
    assert not lags_its_fix(_case(120, None), _experiment([1.1, 0.9, 0.5, 0.3],
                                                           [1.1, 0.3, 0.2, 0.2]))
    assert not lags_its_fix(_case(120), None)
