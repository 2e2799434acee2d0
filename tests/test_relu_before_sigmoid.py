"""A ReLU before the output's sigmoid, under BCELoss (Keras' Dense(1, activation='relu') then
a sigmoid, and binary_crossentropy): every probability is at least sigmoid(0) = 0.5 and each
batch's smallest is exactly 0.5, so the negative class cannot be predicted. On d056fab only the
ReLU before BCEWithLogitsLoss was read (this test fails there: check() found nothing); the
sigmoid alone stays quiet (test_loss_setup.test_a_sigmoid_output_fed_to_bce_is_quiet)."""

from torch import nn

from lossdoctor.checks.loss_setup import LOSS_MISMATCH, check
from test_loss_setup import _binary_probabilities_run


def test_a_relu_before_the_sigmoid_fed_to_bce_is_a_loss_mismatch():
    [finding] = check(_binary_probabilities_run(nn.Sequential(nn.ReLU(), nn.Sigmoid())))
    assert finding.cause is LOSS_MISMATCH and "exactly 0.5" in finding.verdict
    assert finding.evidence["prediction_min"] == 0.5
    assert 0.4 < finding.evidence["unreachable_share"] < 0.6
