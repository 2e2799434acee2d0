"""A training loss computed by the script's own Python function from targets it builds per
image (a list of boxes per image, whose rows are not the batch's rows): replays call that
function again (capture/loss_callable.py), so the checks that train copies can run."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import record
from lossdoctor.capture.loss_callable import CalledLoss, LossArguments
from lossdoctor.checks.learning_rate import LR_TOO_LOW, check
from lossdoctor.diagnosis import REPORT_THRESHOLD
from lossdoctor.experiments import validation_loss

CELLS, CLASSES = 6, 2


class CellLoss:
    """Which cells hold an object, and its class there; targets built in Python per image."""

    def __init__(self, class_weight: float) -> None:
        self.class_weight = class_weight  # read only: nothing is kept from one call to the next

    def __call__(self, out, boxes_per_image):
        present = torch.zeros(out.shape[0], CELLS)
        picked, labels = [], []
        for image, boxes in enumerate(boxes_per_image):
            cells, classes = boxes[:, 0], boxes[:, 1]
            present[image, cells] = 1.0
            picked.append(out[image, cells, 1:])
            labels += classes.tolist()
        objectness = F.binary_cross_entropy_with_logits(out[..., 0], present)
        kinds = F.cross_entropy(torch.cat(picked), torch.tensor(labels))
        return objectness + self.class_weight * kinds


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(CELLS, 32), nn.ReLU(),
                                  nn.Linear(32, CELLS * (1 + CLASSES)))

    def forward(self, x):
        return self.body(x).view(-1, CELLS, 1 + CLASSES)


def _images(count: int, generator: torch.Generator):
    """Each image: one or two objects, in the cells its strongest features point at, of the
    class their sign says."""
    x = torch.randn(count, CELLS, generator=generator)
    boxes = []
    for row in x:
        order = row.abs().argsort(descending=True)[:1 + int(row[0] > 0.5)]
        boxes.append(torch.stack([order, (row[order] > 0).long()], dim=1))
    return x, boxes


def _train(model, optimizer, loss_fn, train, validation, epochs):
    (x, boxes), (vx, vboxes) = train, validation
    for _ in range(epochs):
        for rows in torch.arange(len(x)).split(32):
            optimizer.zero_grad()
            loss = loss_fn(model(x[rows]), [boxes[i] for i in rows])
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            for rows in torch.arange(len(vx)).split(64):
                loss_fn(model(vx[rows]), [vboxes[i] for i in rows])


def _run(lr: float):
    generator = torch.Generator().manual_seed(0)
    train, validation = _images(512, generator), _images(128, generator)
    torch.manual_seed(0)
    model = Detector()
    return record(_train, model, torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9),
                  CellLoss(0.5), train, validation, epochs=8)


def test_the_scripts_loss_function_is_replayed_on_batches_kept_whole():
    case = _run(0.05)
    replay = case.copies.replay_loss
    assert isinstance(replay, CalledLoss)
    assert all(isinstance(b.target, LossArguments) for b in case.copies.train.batches)
    assert case.copies.validation.batches
    batch = case.copies.train.batches[0]
    value = replay.loss(case.copies.initial_model, batch)
    assert value.requires_grad and value.dim() == 0
    assert replay._checked  # called again on the first step's output, it gave its loss
    # the run's curves were its BCE calls: validations are scored by the first of them, which
    # is no penalty left out (over_regularized must not take the other terms for one)
    assert validation_loss(replay).first_loss_call
    assert getattr(replay, "data_term", None) is None


@pytest.mark.slow  # two runs and their learning-rate checks: about 12 s idle
def test_a_learning_rate_of_1e_6_is_found_too_low_only_with_the_replay_and_its_twin_is_not():
    found = {f.cause for f in check(_run(1e-6)) if f.confidence >= REPORT_THRESHOLD}
    assert found == {LR_TOO_LOW}
    assert not [f for f in check(_run(0.05)) if f.confidence >= REPORT_THRESHOLD]


class CenterNet(nn.Module):
    """A detector whose own method scores its dict of outputs against a dict of targets it
    builds from the centres of each image's objects (never paired by a torch.nn loss)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(CELLS, 32)
        self.heads = nn.ModuleDict({"heatmap": nn.Linear(32, CELLS), "size": nn.Linear(32, CELLS)})

    def forward(self, x):
        features = torch.relu(self.body(x))
        return {name: head(features) for name, head in self.heads.items()}

    def loss(self, outputs, targets):
        heatmap = torch.zeros_like(outputs["heatmap"])
        size = torch.zeros_like(outputs["size"])
        pairs = zip(targets["centres"], targets["sizes"], strict=True)
        for image, (centres, sizes) in enumerate(pairs):
            heatmap[image, centres] = 1.0
            size[image, centres] = sizes
        found = F.binary_cross_entropy_with_logits(outputs["heatmap"], heatmap)
        shaped = (outputs["size"] - size).abs().mul(heatmap).sum() / heatmap.sum()
        return {"loss": found + 0.1 * shaped}


def _centernet_train(model, optimizer, x, boxes):
    for _ in range(2):
        for rows in torch.arange(len(x)).split(32):
            targets = {"centres": [boxes[i][:, 0] for i in rows],
                       "sizes": [boxes[i][:, 1].float() + 1 for i in rows]}
            optimizer.zero_grad()
            model.loss(model(x[rows]), targets)["loss"].backward()
            optimizer.step()


def test_a_detectors_own_loss_method_on_a_dict_of_targets_is_replayed_on_the_copy():
    generator = torch.Generator().manual_seed(0)
    x, boxes = _images(256, generator)
    torch.manual_seed(0)
    model = CenterNet()
    case = record(_centernet_train, model, torch.optim.SGD(model.parameters(), lr=0.1), x, boxes)
    replay = case.copies.replay_loss
    assert isinstance(replay, CalledLoss) and replay.call.of_model
    copy = case.copies.initial_model
    first = case.copies.train.batches[0]
    assert isinstance(first.target, LossArguments)
    assert torch.isfinite(replay.loss(copy, first))
    assert replay._checked  # called again on the first step's output, it gave its loss
