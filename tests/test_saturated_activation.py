
import math

import pytest
import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.checks.saturated_activation import SATURATED_ACTIVATION, check, saturation_by_layer
from lossdoctor.checks.vanishing_gradients import VANISHING_GRADIENTS
from lossdoctor.findings import Skip


class Logistic(nn.Module):
    """The seed examples' classifier: a linear layer and torch.sigmoid, trained with BCELoss."""

    def __init__(self, features: int = 8) -> None:
        super().__init__()
        self.fc = nn.Linear(features, 1)

    def forward(self, x):
        return torch.sigmoid(self.fc(x)).squeeze(-1)


def _learnable(rows=600, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 8, generator=generator)
    return x, (x[:, 0] - x[:, 1] + 0.5 * x[:, 2] > 0).float()


def _binary_case(x, y, lr, epochs, split=450, batch_size=32):
    torch.manual_seed(0)
    model = Logistic(x.shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    return record(fit, model, optimizer, nn.BCELoss(), (x[:split], y[:split]),
                  (x[split:], y[split:]), epochs=epochs, batch_size=batch_size)


def _output(case):
    return next(s for s in saturation_by_layer(case.trace) if s.kind == "probabilities")


def test_a_sigmoid_output_pinned_from_the_first_step_by_huge_inputs_is_found():
    x, y = _learnable()
    [finding] = check(_binary_case(x * 1000, y, lr=0.01, epochs=8))
    assert finding.cause is SATURATED_ACTIVATION
    assert finding.evidence["saturated_fraction_start"] > 0.9
    assert finding.evidence["saturated_fraction_end"] > 0.9
    assert finding.evidence["train_loss_end"] > finding.evidence["constant_guess_loss"]
    assert finding.evidence["saturated_fraction_after_standardizing"] < 0.1
    assert finding.experiment.after < 0.5 * finding.experiment.before
    assert finding.confidence >= 0.85
    assert finding.verdict.startswith("Your model's sigmoid output is pinned at 0 or 1")
    assert "logits" in finding.fix  # the output's fix: let the loss apply the sigmoid
    assert "Also pinned" not in finding.verdict  # torch.sigmoid's output is that output


def test_a_hidden_tanh_pinned_from_the_first_step_is_found_when_un_pinning_it_helps():
    x, y = _learnable()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 2))
    case = record(fit, model, torch.optim.Adam(model.parameters(), lr=1e-3),
                  nn.CrossEntropyLoss(), (x[:450] * 1000, y[:450].long()),
                  (x[450:] * 1000, y[450:].long()), epochs=8)
    [finding] = check(case)
    assert finding.evidence["train_loss_end"] < finding.evidence["constant_guess_loss"]
    assert finding.evidence["saturated_fraction_start"] > 0.9
    assert finding.evidence["saturated_fraction_after_standardizing"] < 0.5
    assert finding.experiment.after < 0.9 * finding.experiment.before
    assert 0.5 <= finding.confidence <= 0.85
    assert finding.verdict.startswith("The tanh layer '1' is pinned at -1 or 1")
    # a hidden layer's fix is about its inputs, not about logits for the loss
    assert "logits" not in finding.fix and "tanh" in finding.fix
    assert not finding.root  # the inputs' scale pinned it: unnormalized_inputs is the root


def _large_init_tanh_run(std):
    x, y = _learnable()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                          nn.Linear(32, 2))
    with torch.no_grad():
        for layer in model[::2]:
            layer.weight.normal_(0, std)
    return record(fit, model, torch.optim.Adam(model.parameters(), lr=1e-3),
                  nn.CrossEntropyLoss(), (x[:450], y[:450].long()), (x[450:], y[450:].long()),
                  epochs=8)


def test_tanh_layers_pinned_by_a_large_init_are_shown_and_lead_the_initialization():
    """tanh_large_init (dev 60002, 60003): units pinned from the first step to the end are
    what the training shows; bad_init read from the records alone (no replayed fix), true as
    well, follows instead of leading (with a replayed fix it leads: test_evidence_kinds)."""
    from lossdoctor.checks.bad_init import BAD_INIT
    from lossdoctor.diagnosis import rank
    from lossdoctor.findings import Finding

    [finding] = check(_large_init_tanh_run(std=3.0))
    assert finding.root and finding.evidence["saturated_fraction_first_step"] > 0.5
    init = Finding(BAD_INIT, 0.93, "starts far off", {})
    assert [f.cause for f in rank([init, finding])] == [SATURATED_ACTIVATION, BAD_INIT]
    assert not finding.explained_by and not init.explained_by


def test_tanh_layers_with_a_fan_in_init_are_not_flagged():
    assert check(_large_init_tanh_run(std=8 ** -0.5)) == []


def test_confident_correct_outputs_of_a_trained_classifier_are_not_flagged():
    x, y = _learnable()
    case = _binary_case(x * 3, y, lr=0.1, epochs=30)
    assert _output(case).end > 0.5  # most outputs are pinned: p > 0.999 on the right side
    assert check(case) == []


def test_outputs_swinging_to_the_extremes_under_a_huge_learning_rate_are_not_flagged():
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(150, 10, generator=generator)
    y = torch.randint(0, 2, (150,), generator=generator).float()  # as in the seed examples
    case = _binary_case(x, y, lr=1.0, epochs=30, split=100, batch_size=10)
    assert max(a.saturated_fraction for a in case.trace.activations) >= 0.3  # it does swing
    assert check(case) == []


def test_a_model_without_sigmoid_tanh_or_probabilities_is_skipped():
    x, y = _learnable(rows=200)
    torch.manual_seed(0)
    model = mlp(8, 8, 2)
    case = record(fit, model, torch.optim.Adam(model.parameters()), nn.CrossEntropyLoss(),
                  (x[:150], y[:150].long()), (x[150:], y[150:].long()), epochs=1)
    with pytest.raises(Skip, match="sigmoid or tanh"):
        check(case)




def _motif_sequences(rows=900, length=32, seed=0):
    """Standardized noisy sequences; label 1 when a fixed motif is hidden at a random place."""
    generator = torch.Generator().manual_seed(seed)
    x = 0.5 * torch.randn(rows, 1, length, generator=generator)
    y = torch.randint(0, 2, (rows,), generator=generator)
    starts = torch.randint(0, length - 5, (rows,), generator=generator)
    for i in y.nonzero().flatten().tolist():
        x[i, 0, starts[i]:starts[i] + 5] += 1.5 * torch.tensor([1.0, -1.0, 1.0, 1.0, -1.0])
    return x, y


def test_tanh_filters_pinned_by_a_unit_normal_init_on_standardized_sequences_are_found():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(1, 16, 5, padding=2), nn.Tanh(),
                          nn.Conv1d(16, 16, 5, padding=2), nn.Tanh(),
                          nn.AdaptiveMaxPool1d(1), nn.Flatten(), nn.Linear(16, 2))
    for layer in (model[0], model[2]):
        nn.init.normal_(layer.weight, std=1.0)
    x, y = _motif_sequences()
    case = record(fit, model, torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
                  nn.CrossEntropyLoss(), (x[:700], y[:700]), (x[700:], y[700:]), epochs=5)
    [finding] = check(case)
    assert finding.cause is SATURATED_ACTIVATION
    assert finding.evidence["saturated_fraction_start"] > 0.5
    assert finding.evidence["train_loss_end"] >= finding.evidence["constant_guess_loss"]
    # Pinned units pass no gradient: the gradients that vanish below them are a consequence,
    # once un-pinning them was replayed and helped.
    assert VANISHING_GRADIENTS.id in SATURATED_ACTIVATION.explains_if_fixed


def test_a_gru_classifier_that_learns_is_not_flagged():
    """nn.GRU's gates are sigmoid and tanh inside one fused call: nothing to read as pinned."""
    torch.manual_seed(0)

    class TrendGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(1, 16, batch_first=True)
            self.head = nn.Sequential(nn.Linear(16, 1), nn.Sigmoid())

        def forward(self, x):
            return self.head(self.gru(x)[1][-1]).squeeze(-1)

    generator = torch.Generator().manual_seed(0)
    rising = torch.randint(0, 2, (600,), generator=generator)
    x = 0.6 * (2 * rising - 1).float()[:, None] * torch.linspace(-1, 1, 16) + torch.randn(
        600, 16, generator=generator)
    model = TrendGRU()
    case = record(fit, model, torch.optim.Adam(model.parameters(), lr=1e-2), nn.BCELoss(),
                  (x[:450, :, None], rising[:450].float()), (x[450:, :, None],
                                                             rising[450:].float()), epochs=5)
    assert check(case) == []


def test_a_stuck_loss_at_the_guess_is_not_called_confidently_wrong():
    """A loss of 0.694 against a guess of 0.693 is a coin toss, not confident mistakes."""
    from lossdoctor.checks._progress import TrainingProgress
    from lossdoctor.checks.saturated_activation import _describe_loss

    said = _describe_loss(TrainingProgress(start=0.70, end=0.694, constant_guess=0.693))
    assert "no better than the 0.693" in said and "confidently wrong" not in said
    # a classifier's constant guess is the class frequencies, not 'the average target'
    # (saturated_activation_conv1d_tanh_init)
    assert "of always predicting the same answer" in said


def _plain_tanh_training(std, epochs=10):
    """A 2-hidden-layer tanh MLP written as plain tensors, weights drawn N(0, std^2), with a
    hand-written cross-entropy (tanh_large_init's shape). Returns a function that trains it."""
    from torch.utils.data import DataLoader, TensorDataset

    x, y = _learnable()
    sizes = [8, 32, 32, 2]
    weights = [(torch.randn(a, b) * std(a)).requires_grad_()
               for a, b in zip(sizes, sizes[1:], strict=False)]
    biases = [torch.zeros(b, requires_grad=True) for b in sizes[1:]]

    def model(rows):
        for w, b in zip(weights[:-1], biases[:-1], strict=True):
            rows = torch.tanh(rows @ w + b)
        return rows @ weights[-1] + biases[-1]

    def loss_of(rows, labels):
        return -torch.log_softmax(model(rows), 1).gather(1, labels.long()[:, None]).mean()

    def train():
        optimizer = torch.optim.Adam(weights + biases, lr=1e-3)
        loader = DataLoader(TensorDataset(x[:450], y[:450]), batch_size=32, shuffle=True,
                            generator=torch.Generator().manual_seed(0))
        for _ in range(epochs):
            for rows, labels in loader:
                optimizer.zero_grad()
                loss_of(rows, labels).backward()
                optimizer.step()
            with torch.no_grad():
                loss_of(x[450:], y[450:]).item()

    return train


def test_tanh_layers_of_a_model_written_as_plain_tensors_pinned_by_a_large_init_are_found():
    """No module holds the model: its tanh calls are seen on the sampled steps, named after
    the line that called them, the loop's second call numbered."""
    torch.manual_seed(0)
    case = record(_plain_tanh_training(lambda fan_in: 4.0))
    [finding] = check(case)
    assert finding.cause is SATURATED_ACTIVATION
    assert finding.evidence["saturated_fraction_start"] > 0.5
    assert finding.verdict.startswith("The output of torch.tanh at test_saturated_activation.py:")


def test_a_plain_tensor_models_tanh_layers_pinned_from_the_start_are_shown_and_lead():
    """A model written as plain tensors is watched from the optimizer step before each sampled
    pass, never before the first update: dev tanh_large_init 340004 (94% pinned throughout)
    was read "over the first 3 steps", not shown, and bad_init led it. The first pass is
    measured on a copy of the initial model (fails on 6b7f458: no first step)."""
    from lossdoctor.checks.bad_init import BAD_INIT
    from lossdoctor.diagnosis import rank
    from lossdoctor.findings import Finding

    torch.manual_seed(0)
    case = record(_plain_tanh_training(lambda fan_in: 4.0))
    [finding] = check(case)
    assert finding.root and finding.evidence["saturated_fraction_first_step"] > 0.5
    init = Finding(BAD_INIT, 0.93, "starts far off", {})
    assert [f.cause for f in rank([init, finding])] == [SATURATED_ACTIVATION, BAD_INIT]


def test_tanh_layers_of_a_plain_tensor_model_with_a_fan_in_init_are_not_flagged():
    torch.manual_seed(0)
    case = record(_plain_tanh_training(lambda fan_in: (1 / fan_in) ** 0.5))
    assert len(saturation_by_layer(case.trace)) == 2
    assert check(case) == []


class _SigmoidRegressor(nn.Module):
    """A regression net ending in a sigmoid, its last layer large enough to pin it at once."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
        with torch.no_grad():
            self.body[2].weight.mul_(60)

    def forward(self, x):
        return torch.sigmoid(self.body(x)).squeeze(-1)


def test_a_sigmoid_output_pinned_by_targets_outside_its_range_is_not_shown_as_the_root():
    """Targets around 70 hold the output at 1 whatever the init: pinned from the first step,
    it does not show what pinned it (issue 11: "a sigmoid output asked to reach 70")."""
    x, _ = _learnable()
    y = 70 + 5 * x[:, 0]
    torch.manual_seed(0)
    model = _SigmoidRegressor()
    case = record(fit, model, torch.optim.Adam(model.parameters(), lr=1e-3), nn.MSELoss(),
                  (x[:450], y[:450]), (x[450:], y[450:]), epochs=6, batch_size=32)
    [finding] = check(case)
    assert finding.evidence["saturated_fraction_start"] > 0.5
    assert not finding.root


class _TanhRNN(nn.Module):
    """A tanh nn.RNN read out at its last step (tanh_large_init's recurrent base)."""

    def __init__(self, std=None):
        super().__init__()
        self.rnn = nn.RNN(1, 24, batch_first=True)
        self.head = nn.Linear(24, 1)
        if std is not None:
            for param in self.parameters():
                if param.dim() > 1:
                    nn.init.normal_(param, std=std)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1]).squeeze(-1)


def _tanh_rnn_case(std=None):
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    rising = torch.randint(0, 2, (600,), generator=generator)
    x = 0.6 * (2 * rising - 1).float()[:, None] * torch.linspace(-1, 1, 12) + torch.randn(
        600, 12, generator=generator)
    model = _TanhRNN(std)
    return record(fit, model, torch.optim.Adam(model.parameters(), lr=1e-3),
                  nn.BCEWithLogitsLoss(), (x[:450, :, None], rising[:450].float()),
                  (x[450:, :, None], rising[450:].float()), epochs=3)


def test_a_tanh_rnn_pinned_by_a_large_init_is_shown_from_the_first_step():
    """nn.RNN computes its tanh inside one recurrent kernel: its hidden states are recorded as
    that tanh (capture.activation_events), so a large init's pinned units are seen at step 0."""
    case = _tanh_rnn_case(std=3.0)
    [layer] = [s for s in saturation_by_layer(case.trace) if s.layer == "rnn"]
    assert layer.kind == "tanh" and layer.units == 24 and layer.first > 0.5
    [finding] = check(case)
    assert finding.root and "initial weights" in finding.verdict


def test_a_tanh_rnn_with_its_default_init_is_not_flagged():
    case = _tanh_rnn_case()
    [layer] = [s for s in saturation_by_layer(case.trace) if s.layer == "rnn"]
    assert layer.first < 0.5
    assert check(case) == []



class NewGELU(nn.Module):
    """minGPT's GELU: the tanh approximation written out, a tanh gate on its own input."""

    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi)
                                           * (x + 0.044715 * torch.pow(x, 3.0))))


class SiLU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


def _large_init_gated_run(activation, std=3.0):
    """_large_init_tanh_run with a gated activation in place of each nn.Tanh: its tanh or
    sigmoid is pinned from the first step to the last, as a tanh unit's would be."""
    x, y = _learnable()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), activation(), nn.Linear(32, 32), activation(),
                          nn.Linear(32, 2))
    with torch.no_grad():
        for layer in model[::2]:
            layer.weight.normal_(0, std)
    return record(fit, model, torch.optim.Adam(model.parameters(), lr=1e-3),
                  nn.CrossEntropyLoss(), (x[:450], y[:450].long()), (x[450:], y[450:].long()),
                  epochs=8)


@pytest.mark.parametrize("activation", [NewGELU, SiLU], ids=["gelu_tanh", "silu"])
def test_the_tanh_or_sigmoid_gate_inside_gelu_or_silu_is_not_a_saturated_layer(activation):
    """projects6 mingpt_adder: NewGELU's tanh read as a saturated layer. Pinned, a gate still
    passes the gradient of the input it multiplies (failed on d056fab: a finding)."""
    case = _large_init_gated_run(activation)
    layers = saturation_by_layer(case.trace)
    assert layers and all(s.end > 0.5 and s.layer.startswith("torch.") for s in layers)
    assert check(case) == []


def test_a_tanh_unit_beside_a_gelu_gate_is_still_found():
    """The gate is dropped, the tanh unit whose output is the layer's output is not."""
    x, y = _learnable()
    torch.manual_seed(0)

    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.first, self.second = nn.Linear(8, 32), nn.Linear(32, 32)
            self.out, self.gelu = nn.Linear(32, 2), NewGELU()

        def forward(self, x):
            return self.out(torch.tanh(self.second(self.gelu(self.first(x)))))

    model = Mixed()
    with torch.no_grad():
        for layer in (model.first, model.second, model.out):
            layer.weight.normal_(0, 3.0)
    case = record(fit, model, torch.optim.Adam(model.parameters(), lr=1e-3),
                  nn.CrossEntropyLoss(), (x[:450], y[:450].long()), (x[450:], y[450:].long()),
                  epochs=8)
    [finding] = check(case)
    assert [s["layer"] for s in finding.details["layers"]] == ["torch.tanh after second"]


def test_a_tanh_times_a_learned_scale_is_still_a_tanh_layer():
    """Multiplied by a learned scale smaller than it, a tanh is no gate: pinned, its input
    gets no gradient."""
    from lossdoctor.checks._gates import GateSpy

    scale = torch.ones(16, requires_grad=True)
    x = torch.randn(4, 16, requires_grad=True)
    with GateSpy() as spy:
        scale * torch.tanh(x)
        x * torch.sigmoid(x)
    assert [(c.kind, c.gate) for c in spy.calls] == [("tanh", False), ("sigmoid", True)]


def test_probabilities_pinned_where_their_targets_are_count_as_fitted():
    """bench/fresh30 s05: onset probabilities near 0 where 99% of the onset labels are 0 read as
    "pinned at 0 or 1 for 74%"; outputs at their own target's limit are right, not stuck."""
    from lossdoctor.capture.loss_events import pinned_on_target

    targets = torch.zeros(200, 4)
    targets[:2] = 1.0
    fitted = torch.full((200, 4), 1e-5)
    fitted[:2] = 0.4  # the rare positives not learned yet: not pinned either way
    assert pinned_on_target(fitted, targets) == 1.0
    stuck = torch.where(torch.arange(200)[:, None] % 2 == 0, 1.0, 0.0).expand(200, 4)
    assert pinned_on_target(stuck, targets) < 0.6  # half pinned at 1 against 0 targets


def test_a_fitted_output_is_left_out_and_a_stuck_one_kept():
    from lossdoctor.checks.saturated_activation import (
        FITTED_SHARE,
        LayerSaturation,
        without_fitted_outputs,
    )

    fitted = LayerSaturation("model output", "probabilities", 0.1, 0.8, 16, on_target=0.99)
    as_a_call = LayerSaturation("torch.sigmoid after onset", "sigmoid", 0.1, 0.8, 16)
    hidden = LayerSaturation("encoder.1", "tanh", 0.9, 0.9, 16)
    assert without_fitted_outputs([fitted, as_a_call, hidden]) == [hidden]
    stuck = LayerSaturation("model output", "probabilities", 0.9, 0.99, 16,
                            on_target=FITTED_SHARE - 0.2)
    assert without_fitted_outputs([stuck, as_a_call]) == [stuck, as_a_call]


def _stack_records(bias_fall: float, pinned: list[float], layers: int = 5):
    """A stub run of a ``layers``-deep tanh stack over six sampled steps: every weight's
    gradient the same size relative to it (tiny weights hide the fall there), the biases'
    gradients falling ``bias_fall`` decades per layer towards the input, and each tanh layer
    ``pinned[step]`` pinned."""
    from types import SimpleNamespace

    from lossdoctor.trace import ActivationStat, LayerGradient

    gradients, activations = [], []
    for step, share in enumerate(pinned):
        for layer in range(layers):
            name = f"{2 * layer}"
            gradients.append(LayerGradient(step, f"{name}.weight", 1e-6, 1e-3, dims=2))
            gradients.append(LayerGradient(
                step, f"{name}.bias", 10 ** (-1 - bias_fall * (layers - 1 - layer)), 0.1, dims=1))
            if layer < layers - 1:
                activations.append(ActivationStat(step, f"{2 * layer + 1}", "tanh", share, 0.0, 32))
    model = nn.Sequential(*[m for _ in range(layers - 1) for m in (nn.Linear(32, 32), nn.Tanh())],
                          nn.Linear(32, 1))
    return SimpleNamespace(trace=SimpleNamespace(gradients=gradients, activations=activations),
                           copies=SimpleNamespace(initial_model=model))


def test_units_pinned_only_after_the_error_had_vanished_are_not_the_saturation_cause():
    """dev deep_tanh_tiny_init 422005: no tanh unit pinned at the start, the error (the biases'
    gradients) already 6.6 decades smaller at the first layer than at the last; pinned later by
    training. The same stack pinned from the first step is still this cause, and so is one
    pinned later while its error reached every layer."""
    from lossdoctor.checks.saturated_activation import LayerSaturation, _pinned_after_vanishing

    late = LayerSaturation("5", "tanh", 0.0, 0.9, 32, first=0.0)
    vanished_first = _stack_records(bias_fall=1.5, pinned=[0, 0, 0, 0.9, 0.9, 0.9])
    assert _pinned_after_vanishing(vanished_first, late)
    reached = _stack_records(bias_fall=0.2, pinned=[0, 0, 0, 0.9, 0.9, 0.9])
    assert not _pinned_after_vanishing(reached, late)
    from_the_start = LayerSaturation("5", "tanh", 0.9, 0.9, 32, first=0.9)
    pinned_first = _stack_records(bias_fall=1.5, pinned=[0.9] * 6)
    assert not _pinned_after_vanishing(pinned_first, from_the_start)


def test_the_pinning_bound_is_what_pinned_units_can_take_off_the_error():
    from lossdoctor.checks._vanished_first import gap_before_pinning, pinning_bound

    trace = _stack_records(bias_fall=1.5, pinned=[0.9] * 6).trace
    assert pinning_bound(trace, {0, 1, 2}) == pytest.approx(4.0)  # four layers passing 1/10
    assert pinning_bound(_stack_records(1.5, [1.0] * 6).trace, {0}) == math.inf
    assert pinning_bound(_stack_records(1.5, [0.0] * 6).trace, {0, 1, 2}) == 0.0
    assert gap_before_pinning(_stack_records(1.5, [0.0] * 6), 3) == pytest.approx(6.0)
    assert gap_before_pinning(_stack_records(1.5, [0.9] * 6), 3) == pytest.approx(2.0)
