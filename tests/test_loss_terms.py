"""A multi-task model that adds its loss up inside forward (a binary BCE plus a numeric MSE,
returned in a dict, as Ludwig's models do): the capture sees every term, replays the largest,
and the checks compare like with like (bench/fresh21 s07 and s08)."""

import torch
import torch.nn.functional as F
from torch import nn

from conftest import record
from lossdoctor.checks import unscaled_targets, validation_path
from lossdoctor.checks.unscaled_targets import UNSCALED_TARGETS


def _data(rows, generator, scale):
    x = torch.randn(rows, 6, generator=generator)
    binary = ((x[:, 0] * x[:, 1]) > 0).float()
    price = 0.8 * x[:, 2] + 0.5 * x[:, 3] + 0.1 * torch.randn(rows, generator=generator)
    return x, {"binary": binary, "price": scale[0] + scale[1] * price}


class MultiTask(nn.Module):
    def __init__(self):
        super().__init__()
        self.combiner = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
        self.decoders = nn.ModuleDict({"binary": nn.Linear(32, 1), "price": nn.Linear(32, 1)})

    def forward(self, x, targets):
        hidden = self.combiner(x)
        outputs = {name: head(hidden).squeeze(-1) for name, head in self.decoders.items()}
        losses = {"binary": F.binary_cross_entropy_with_logits(outputs["binary"],
                                                               targets["binary"]),
                  "price": F.mse_loss(outputs["price"], targets["price"])}
        return {"outputs": outputs, "losses": losses, "loss": sum(losses.values())}


def _train(scale, epochs=8):
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    (x, t), (xv, tv) = _data(1200, generator, scale), _data(300, generator, scale)
    model = MultiTask()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(epochs):
        model.train()
        for i in range(0, len(x), 100):
            optimizer.zero_grad()
            model(x[i:i + 100], {k: v[i:i + 100] for k, v in t.items()})["loss"].backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            model(xv, tv)


def _case(scale):
    return record(_train, scale)


def test_every_term_of_a_loss_added_up_in_forward_is_seen_and_the_largest_is_replayed():
    case = _case((5000.0, 2000.0))
    terms = {t["loss_name"]: t for t in case.trace.setup.loss_terms}
    assert set(terms) == {"binary_cross_entropy_with_logits", "mse_loss"}
    assert terms["mse_loss"]["share"] > 0.99 and terms["mse_loss"]["adds_up"]
    assert terms["mse_loss"]["target_mean"] > 3000  # one batch of prices near 5000
    assert case.trace.setup.loss_name == "mse_loss"
    replay = case.copies.loss_replay
    assert replay.prediction_place == (("key", "outputs"), ("key", "price"))


def test_a_raw_regression_term_that_swamps_the_sum_is_unscaled_targets():
    [finding] = unscaled_targets.check(_case((5000.0, 2000.0)))
    assert finding.cause is UNSCALED_TARGETS and finding.confidence >= 0.5
    assert finding.evidence["term_share"] > 0.99


def test_the_standardized_twin_is_left_alone_and_its_validation_matches_its_training():
    case = _case((0.0, 1.0))
    terms = {t["loss_name"]: t["share"] for t in case.trace.setup.loss_terms}
    assert max(terms.values()) < 0.99
    assert unscaled_targets.check(case) == []
    assert validation_path.check(case) == []
