"""A loss on a slice of the model's output (a detection head's p[..., 0] scored apart from
p[..., 1:], as YOLOv5's ComputeLoss does) is not replayed as that loss on the whole output."""

import torch
from torch import nn

from conftest import record
from lossdoctor.capture.loss_program import LossProgram


class Grid(nn.Module):
    """Four outputs per row: an objectness logit and three class logits."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4))

    def forward(self, x):
        return self.body(x)


def _objectness_and_classes(model, optimizer, loss_fn, train, validation, epochs):
    x, y = train
    for _ in range(epochs):
        for rows in torch.arange(len(x)).split(32):
            optimizer.zero_grad()
            p = model(x[rows])
            objectness = loss_fn(p[:, 0], (y[rows] > 0).float())
            classes = loss_fn(p[:, 1:], nn.functional.one_hot(y[rows], 3).float())
            ((objectness + classes) * len(rows)).backward()
            optimizer.step()


def test_a_loss_on_a_slice_of_the_output_is_not_replayed_on_the_whole_output():
    torch.manual_seed(0)
    x = torch.randn(256, 6)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    model = Grid()
    case = record(_objectness_and_classes, model, torch.optim.SGD(model.parameters(), lr=0.1),
                  nn.BCEWithLogitsLoss(), (x, y), (x[:64], y[:64]), epochs=2)
    # the labels indexed twice (y[rows] for each term) are one target: the second is read
    # through the first (capture/target_lookup.py), and each term is replayed on its slice
    assert isinstance(case.copies.replay_loss, LossProgram), case.copies.loss_problem
    for batch in case.copies.train.batches[:3]:
        [inputs] = batch.args
        with torch.no_grad():
            p = case.copies.initial_model(inputs)
            labels = batch.target.long()
            bce = nn.functional.binary_cross_entropy_with_logits
            expected = (bce(p[:, 0], (labels > 0).float())
                        + bce(p[:, 1:], nn.functional.one_hot(labels, 3).float())) * batch.rows
            replayed = case.replayer.loss(case.copies.initial_model, batch)
        assert torch.isclose(replayed, expected, rtol=1e-5)
