import math

import torch
from torch import nn

from lossdoctor.checks._suited_init import hidden_activation, suited_init, suited_squashing
from lossdoctor.trace import ActivationStat, Trace


def _trace(*kinds_and_units):
    return Trace(activations=[ActivationStat(0, f"layer {i}", kind, 0.0, 0.0, units)
                              for i, (kind, units) in enumerate(kinds_and_units)])


def test_the_hidden_activation_is_the_one_kind_seen_on_more_than_one_unit():
    assert hidden_activation(_trace(("tanh", 32), ("tanh", 32))) == "tanh"
    assert hidden_activation(_trace(("relu", 32), ("sigmoid", 1))) == "relu"  # a binary output
    assert hidden_activation(_trace(("relu", 32), ("tanh", 32))) is None  # a mix
    assert hidden_activation(_trace()) is None
    assert suited_squashing(_trace(("relu", 32))) is None
    assert suited_squashing(_trace(("sigmoid", 16))) == "sigmoid"


def test_the_suited_init_draws_xavier_with_the_activations_gain_and_leaves_the_model_alone():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(200, 300), nn.Tanh(), nn.Linear(300, 300), nn.Tanh())
    for layer in model[::2]:
        nn.init.normal_(layer.weight, std=0.05)
    fresh = suited_init(model, "tanh")
    expected = 5 / 3 * math.sqrt(2 / (300 + 300))
    assert abs(float(fresh[2].weight.detach().std()) - expected) < 0.05 * expected
    assert not fresh[2].bias.any()
    assert abs(float(model[2].weight.detach().std()) - 0.05) < 0.005  # the original is left
    sigmoid = suited_init(model, "sigmoid")
    assert abs(float(sigmoid[2].weight.detach().std()) - 3 / 5 * expected) < 0.05 * expected
