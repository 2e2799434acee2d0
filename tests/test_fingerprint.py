"""The update fingerprint reads a few values of each parameter, whatever its size."""

import torch

from lossdoctor.capture.update_events import FINGERPRINT_VALUES, _fingerprint


def test_a_parameter_of_more_than_2_to_the_24_values_is_read_within_its_bounds():
    # float32 rounds 16,777,219 (the last index) up to 16,777,220: past the end.
    values = torch.zeros(16_777_220, dtype=torch.int8)
    values[-1] = 7
    fingerprint = _fingerprint([values])
    assert fingerprint.shape == (FINGERPRINT_VALUES,) and fingerprint[-1] == 7
