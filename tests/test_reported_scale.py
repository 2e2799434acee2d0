import pytest

from lossdoctor.checks._reported_scale import reported_scale
from lossdoctor.trace import LossRecord, ReportedLoss, Trace


def _trace(per_row, printed):
    """Validation passes at steps 10, 20, ... with these mean losses per row, and the lines
    the script printed at the same steps."""
    trace = Trace()
    for index, (loss, shown) in enumerate(zip(per_row, printed, strict=True)):
        step = 10 * (index + 1)
        trace.losses.append(LossRecord(loss, 100, "eval", step, "CrossEntropyLoss"))
        trace.add_reported(ReportedLoss(step, shown, "printed", f"val_loss {shown}"))
    return trace


def test_a_sum_over_rows_is_one_steady_factor():
    scale = reported_scale(_trace([0.9, 0.6, 0.5], [90.12, 60.05, 49.98]))
    assert scale.factor == pytest.approx(100, rel=0.01) and scale.passes == 3


def test_another_quantity_reported_moves_against_the_loss():
    assert reported_scale(_trace([0.9, 0.6, 0.5], [1.9, 1.2, 0.6])) is None


def test_a_loss_rounded_to_its_last_digit_says_nothing_of_its_scale():
    assert reported_scale(_trace([6e-5, 6.2e-5, 5.9e-5], [0.0001, 0.0001, 0.0001])) is None
