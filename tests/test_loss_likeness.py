import torch

from lossdoctor.capture.loss_likeness import alike_loss


def _regression(seed=0):
    generator = torch.Generator().manual_seed(seed)
    prediction = 2 * torch.randn(64, 1, generator=generator)
    return prediction, prediction + 1.5 * torch.randn(64, 1, generator=generator)


def test_a_huber_loss_written_by_hand_is_alike_smooth_l1():
    prediction, target = _regression()
    error = (prediction - target).abs()
    huber = torch.where(error < 1, 0.5 * error ** 2, error - 0.5).mean()
    assert alike_loss(float(huber), prediction, target) == "smooth_l1_loss"


def test_a_mean_squared_error_written_by_hand_stays_alike_mse():
    prediction, target = _regression()
    assert alike_loss(float(((prediction - target) ** 2).mean()), prediction, target) == "mse_loss"
