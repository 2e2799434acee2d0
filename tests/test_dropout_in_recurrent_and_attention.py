"""Dropout that is not an nn.Dropout layer: between the layers of a stacked LSTM/GRU (its
``dropout`` argument) and inside attention (``F.scaled_dot_product_attention(dropout_p=...)``).
over_regularized must see it and its replay "without dropout" must drop nothing (projects7
word_language_model large_model_dropout_0.65: the LSTM's own dropout 0.65 stayed on in the
replay without dropout)."""

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import fit, record
from lossdoctor.checks._dropout import DropoutCalls
from lossdoctor.checks._eval_dropout import eval_dropout
from lossdoctor.checks.over_regularized import (
    OVER_REGULARIZED,
    check,
    dropout_rates,
    without_dropout,
)
from lossdoctor.diagnosis import REPORT_THRESHOLD


def test_dropout_between_the_layers_of_a_stacked_rnn_is_read_and_turned_off_on_a_copy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch warns that one layer has nothing between
        model = nn.ModuleDict({"lstm": nn.LSTM(3, 8, num_layers=2, dropout=0.6),
                               "gru": nn.GRU(3, 8, num_layers=3, dropout=0.3),
                               "single": nn.GRU(3, 8, num_layers=1, dropout=0.5)})
    assert dropout_rates(model) == {"lstm": 0.6, "gru": 0.3}
    quiet = without_dropout(model).train()
    assert dropout_rates(quiet) == {}
    x = torch.randn(5, 2, 3)
    assert torch.equal(quiet["lstm"](x)[0], quiet["lstm"](x)[0])
    assert dropout_rates(model) == {"lstm": 0.6, "gru": 0.3}


class Attention(nn.Module):
    """Self-attention by F.scaled_dot_product_attention, its dropout given as nanoGPT's is."""

    def __init__(self, rate, only_in_training=True):
        super().__init__()
        self.rate, self.only_in_training = rate, only_in_training
        self.qkv = nn.Linear(8, 24)

    def forward(self, x):
        q, k, v = self.qkv(x).split(8, dim=-1)
        rate = self.rate if self.training or not self.only_in_training else 0.0
        return F.scaled_dot_product_attention(q, k, v, dropout_p=rate, is_causal=True)


def test_attention_dropout_of_scaled_dot_product_attention_is_read_and_turned_off():
    model = Attention(0.7)
    forward = lambda m: m(torch.ones(2, 5, 8))  # noqa: E731
    assert dropout_rates(model, forward) == {"dropout call 1 in forward": 0.7}
    quiet = without_dropout(model).train()
    assert dropout_rates(quiet, forward) == {}
    x = torch.randn(2, 5, 8)
    assert torch.equal(quiet(x), quiet.eval()(x))
    assert dropout_rates(Attention(0.7), forward) == {"dropout call 1 in forward": 0.7}


def test_attention_dropout_left_on_in_eval_mode_is_seen_and_its_absence_too():
    x = torch.randn(2, 5, 8)
    calls = DropoutCalls()
    with calls:
        Attention(0.4, only_in_training=False).eval()(x)
        Attention(0.4).eval()(x)
    assert calls.rates == [0.4]


class StackedGRU(nn.Module):
    """A two-layer GRU classifier whose only dropout is the GRU's own, between its layers."""

    def __init__(self, dropout):
        super().__init__()
        self.rnn = nn.GRU(3, 16, num_layers=2, dropout=dropout, batch_first=True)
        self.head = nn.Linear(16, 2)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1])


def stacked_gru_run(dropout):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(600, 5, 3, generator=generator)
    y = ((x[:, :, 0].sum(1) * x[:, :, 1].sum(1)) > 0).long()
    torch.manual_seed(0)
    model = StackedGRU(dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), (x[:500], y[:500]),
                  (x[500:], y[500:]), epochs=6)


@pytest.mark.slow
@pytest.mark.parametrize("dropout, found", [(0.9, True), (0.2, False)])
def test_heavy_dropout_inside_a_stacked_gru_is_found_and_light_dropout_is_not(dropout, found):
    """Dropout 0.9 between the GRU's layers (no nn.Dropout anywhere) was not seen: nothing to
    take away, nothing reported (on 875746c)."""
    reported = [f for f in check(stacked_gru_run(dropout)) if f.confidence >= REPORT_THRESHOLD]
    assert [f.cause for f in reported] == ([OVER_REGULARIZED] if found else [])
    if found:
        assert reported[0].experiment.after < 0.8 * reported[0].experiment.before


def test_the_eval_dropout_probe_reads_attention_dropout_left_on():
    class Batches:
        validation_batches = [(torch.randn(2, 5, 8), None)]

        @staticmethod
        def evaluate(model, batches):
            return float(sum(model(x).square().mean() for x, _ in batches))

    found = eval_dropout(Batches(), Attention(0.4, only_in_training=False))
    assert found is not None and found.rates == (0.4,)
    assert eval_dropout(Batches(), Attention(0.4)) is None


def test_every_dropout_of_a_transformer_layer_is_read_and_a_copy_drops_none():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.3, batch_first=True)
    assert dropout_rates(layer) == {"self_attn": 0.3, "dropout": 0.3, "dropout1": 0.3,
                                    "dropout2": 0.3}
    quiet = without_dropout(layer).train()
    x = torch.randn(2, 5, 8)
    assert torch.equal(quiet(x), quiet(x))
