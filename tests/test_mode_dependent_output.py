"""A model whose evaluation call asks for scores instead of losses (mmcv's
``model(img, return_loss=False)``), trained through the losses its forward returns: replays
call it with the training call's settings, so that validation batches are scored with the
training loss too, and with each batch's own data (a list of its rows' names)."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from conftest import record


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))

    def forward(self, img, gt_label=None, return_loss=True, names=None):
        if len(names) != len(img):  # a list of the batch's own rows: data, not a setting
            raise ValueError("one name a row")
        scores = self.net(img)
        if return_loss:
            return {"loss": F.cross_entropy(scores, gt_label)}
        return scores


def _run():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(600, 6, generator=generator)
    y = (x[:, :3] + 0.3 * torch.randn(600, 3, generator=generator)).argmax(1)
    torch.manual_seed(0)
    model = Classifier()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def train():
        for _ in range(4):
            model.train()
            for start in range(0, 480, 32):
                losses = model(img=x[start:start + 32], gt_label=y[start:start + 32],
                               names=[f"row {i}" for i in range(start, start + 32)])
                optimizer.zero_grad()
                losses["loss"].backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                for start in range(480, 600, 40):
                    scores = model(img=x[start:start + 40], return_loss=False,
                                   names=[f"row {i}" for i in range(start, start + 40)])
                    F.cross_entropy(scores, y[start:start + 40], reduction="sum")

    return record(train)


def test_validation_batches_are_scored_as_the_model_trains():
    case = _run()
    replayer = case.replayer
    assert replayer.validation_batches
    loss = replayer.evaluate(case.copies.initial_model, replayer.validation_batches)
    assert math.isfinite(loss) and 0.5 < loss < 2.0  # a mean cross-entropy over 3 classes
    assert case.baseline.validation_losses  # a replay evaluates without failing
