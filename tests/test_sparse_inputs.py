"""A graph network trained full-batch, given its adjacency as a sparse tensor beside the node
features (pygcn's form, bench/projects8): the capture and the checks that read the batches row
by row leave the sparse tensor out instead of failing on it."""

import torch
import torch.nn.functional as F
from torch import nn

from conftest import record
from lossdoctor.checks import check_modules
from lossdoctor.diagnosis import diagnose

NODES, FEATURES, CLASSES = 60, 8, 3
READ_ROW_BY_ROW = ("data_pipeline", "nan_inf", "no_signal", "train_val_shift")


class GraphConvolution(nn.Module):
    def __init__(self, fan_in, fan_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(fan_in, fan_out).uniform_(-0.3, 0.3))

    def forward(self, x, adj):
        return torch.spmm(adj, x @ self.weight)


class GCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.first, self.second = GraphConvolution(FEATURES, 16), GraphConvolution(16, CLASSES)

    def forward(self, x, adj):
        return F.log_softmax(self.second(F.relu(self.first(x, adj)), adj), dim=1)


def _graph():
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, CLASSES, (NODES,), generator=generator)
    centres = torch.randn(CLASSES, FEATURES, generator=generator)
    features = centres[labels] + 0.5 * torch.randn(NODES, FEATURES, generator=generator)
    loops = torch.arange(NODES).repeat(2, 1)
    adj = torch.sparse_coo_tensor(loops, torch.ones(NODES), (NODES, NODES)).coalesce()
    return features, adj, labels


def _train(model, features, adj, labels, epochs=30):
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    train, validation = torch.arange(0, 40), torch.arange(40, NODES)
    for _ in range(epochs):
        model.train()
        optimizer.zero_grad()
        F.nll_loss(model(features, adj)[train], labels[train]).backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            F.nll_loss(model(features, adj)[validation], labels[validation])


def test_a_sparse_adjacency_neither_stops_the_capture_nor_breaks_a_check():
    torch.manual_seed(0)
    case = record(_train, GCN(), *_graph())
    assert not [note for note in case.trace.notes if "internal error" in note]
    assert case.copies.train.batches
    modules = tuple(m for m in check_modules() if m.name in READ_ROW_BY_ROW)
    outcomes = diagnose(case, modules, budget=None).outcomes
    assert [o.name for o in outcomes if o.status == "error"] == []
