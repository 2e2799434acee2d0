"""Dropout that ran in validation passes (capture/dropout_events.py), and train_eval_mode read
from it: a graph network whose dropout is the functional ``F.dropout(x, p,
training=self.training)`` (tkipf/pygcn's GCN) has no Dropout layer to count, so a validation
without model.eval() showed nothing; ``F.dropout(x, p)`` without training= drops in eval mode
too. Each has a twin that validates in eval mode with the flag passed, which must stay quiet."""

import torch
import torch.nn.functional as F
from torch import nn

from conftest import record
from lossdoctor.capture import Recorder, watching
from lossdoctor.checks.training_loop import TRAIN_EVAL_MODE, check


def _graph(nodes=160, classes=3, seed=0):
    """A random graph whose nodes link mostly within their class, its features noisy class
    signatures; the adjacency with self-loops, row-normalized as pygcn's is."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(classes, (nodes,), generator=generator)
    same = labels[:, None] == labels[None, :]
    links = torch.rand(nodes, nodes, generator=generator) < torch.where(same, 0.08, 0.01)
    adjacency = (links | links.T | torch.eye(nodes, dtype=torch.bool)).float()
    signature = torch.randn(classes, 16, generator=generator)
    features = signature[labels] + 2.0 * torch.randn(nodes, 16, generator=generator)
    return features, adjacency / adjacency.sum(1, keepdim=True), labels


class _GCN(nn.Module):
    """pygcn's two-layer GCN: its dropout a call in the forward, not a layer."""

    def __init__(self, flag=True):
        super().__init__()
        self.flag = flag
        self.first, self.second = nn.Linear(16, 32), nn.Linear(32, 3)

    def forward(self, x, adjacency):
        h = F.relu(adjacency @ self.first(x))
        h = F.dropout(h, 0.5, training=self.training) if self.flag else F.dropout(h, 0.5)
        return F.log_softmax(adjacency @ self.second(h), dim=1)


def _train_gcn(model, evaluates, epochs=40):
    """pygcn's train.py: one full-graph step per epoch on the training nodes, then a second
    forward scored on the validation nodes (with gradients on, as pygcn's is)."""
    features, adjacency, labels = _graph()
    train, validation = torch.arange(0, 60), torch.arange(60, 120)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    for _ in range(epochs):
        model.train()
        optimizer.zero_grad()
        output = model(features, adjacency)
        F.nll_loss(output[train], labels[train]).backward()
        optimizer.step()
        if evaluates:
            model.eval()
        output = model(features, adjacency)
        F.nll_loss(output[validation], labels[validation])


def _recorded(flag, evaluates):
    torch.manual_seed(0)
    return record(_train_gcn, _GCN(flag), evaluates)


def _mode_findings(case):
    return [f for f in check(case) if f.cause is TRAIN_EVAL_MODE and f.confidence >= 0.5]


def test_functional_dropout_in_validation_passes_is_counted_with_the_models_mode():
    validated_in_train_mode = _recorded(flag=True, evaluates=False).trace
    assert validated_in_train_mode.validation_losses_dropped == 40
    assert validated_in_train_mode.validation_losses_dropped_in_eval_mode == 0
    assert validated_in_train_mode.validation_dropout_rates == [0.5]
    assert validated_in_train_mode.setup.mode_sensitive_layers == 0
    left_on_in_eval_mode = _recorded(flag=False, evaluates=True).trace
    assert left_on_in_eval_mode.validation_losses_dropped_in_eval_mode == 40
    assert _recorded(flag=True, evaluates=True).trace.validation_losses_dropped == 0


def test_a_graph_network_validated_without_eval_is_found():
    [finding] = _mode_findings(_recorded(flag=True, evaluates=False))
    assert "F.dropout, at rate 0.5" in finding.verdict
    assert finding.evidence["validation_losses_with_dropout"] == 40
    assert finding.experiment.after < finding.experiment.before


def test_dropout_without_the_flag_and_without_eval_is_scored_with_both_fixed():
    [finding] = _mode_findings(_recorded(flag=False, evaluates=False))
    assert "training=self.training" in finding.fix
    assert "model.eval()" in finding.fix
    assert finding.experiment.after < finding.experiment.before


def test_a_graph_network_validated_in_eval_mode_is_quiet():
    assert not _mode_findings(_recorded(flag=True, evaluates=True))


def test_watching_changes_no_dropout_draw():
    """The wrapper calls torch's dropout as the script would: the same mask, the same state of
    the generator after it."""

    def draws():
        torch.manual_seed(3)
        x = torch.ones(64, 8)
        masks = [F.dropout(x, 0.4), F.dropout1d(x[None], 0.3), F.alpha_dropout(x, 0.2, True)]
        return masks, torch.rand(4)

    plain = draws()
    with watching(Recorder()):
        watched = draws()
    for a, b in zip(plain[0] + [plain[1]], watched[0] + [watched[1]], strict=True):
        assert torch.equal(a, b)


def test_a_model_with_dropout_still_scripts_under_watching():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.2))
    with watching(Recorder()):
        scripted = torch.jit.script(model)
    assert scripted.eval()(torch.ones(1, 4)).shape == (1, 4)
