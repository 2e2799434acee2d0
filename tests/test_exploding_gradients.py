import math

import pytest
import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.capture.copies import Copies
from lossdoctor.case import Case
from lossdoctor.checks import learning_rate, nan_inf
from lossdoctor.checks.exploding_gradients import (
    EXPLODING_GRADIENTS,
    GROWTH_DECADES,
    RECURRENT_CONFIDENCE,
    check,
    clipped,
)
from lossdoctor.diagnosis import rank
from lossdoctor.findings import Skip
from lossdoctor.trace import Trace


class IdentityRNN(nn.Module):
    """A ReLU RNN with identity recurrence (the IRNN of Le et al., 2015), read out at the last
    step."""

    def __init__(self, inputs=1, hidden=32, outputs=1):
        super().__init__()
        self.rnn = nn.RNN(inputs, hidden, nonlinearity="relu", batch_first=True)
        nn.init.eye_(self.rnn.weight_hh_l0)
        self.head = nn.Linear(hidden, outputs)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1])


def _sequences(rows, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 30, 1, generator=generator)
    return x, x[:, :10, 0].mean(dim=1, keepdim=True) * 3


def test_an_unclipped_relu_rnn_whose_gradients_spike_is_found_and_clipping_fixes_it():
    torch.manual_seed(0)
    model = IdentityRNN()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    case = record(fit, model, optimizer, nn.MSELoss(), _sequences(800, 0), _sequences(300, 1),
                  epochs=5)
    [finding] = check(case)
    assert finding.cause is EXPLODING_GRADIENTS
    assert finding.evidence["spike_decades"] >= GROWTH_DECADES
    assert finding.experiment.after < 0.7 * finding.experiment.before
    assert "clip_grad_norm_" in finding.verdict


def _vibrations(rows, seed, length=22):
    """Two-channel sines; the label is how fast they shake."""
    generator = torch.Generator().manual_seed(seed)
    time = torch.linspace(0, 1, length).view(1, length, 1)
    speed = torch.randint(0, 2, (rows, 1, 1), generator=generator)
    phase = 6.2832 * torch.rand(rows, 1, 2, generator=generator)
    x = torch.sin(12.566 * (1 + speed) * time + phase)
    return x + 0.3 * torch.randn(rows, length, 2, generator=generator), speed.view(rows)


def _fit_clipped(model, optimizer, loss_fn, train, validation, epochs, batch_size):
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*train),
                                         batch_size=batch_size, shuffle=True)
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        with torch.no_grad():
            loss_fn(model(validation[0]), validation[1])


def _irnn_run(clip):
    torch.manual_seed(1)
    model = IdentityRNN(inputs=2, hidden=16, outputs=2)
    optimizer = torch.optim.SGD(model.parameters(), lr=4e-3, momentum=0.9)
    loop = _fit_clipped if clip else fit
    return record(loop, model, optimizer, nn.CrossEntropyLoss(), _vibrations(800, 1),
                  _vibrations(300, 2), epochs=8, batch_size=64)


def test_an_unclipped_irnn_whose_sampled_norms_barely_spike_is_found_by_its_recurrence():
    """Its first steps blow it to a constant guess, and the sampled norms, 12.7 at most
    against a median of 1.5, spike less than GROWTH_DECADES: an identity recurrence through
    ReLU (spectral radius 1) opens the clip replay, which finds the fix."""
    case = _irnn_run(clip=False)
    [finding] = check(case)
    assert finding.cause is EXPLODING_GRADIENTS
    assert finding.evidence["spike_decades"] < GROWTH_DECADES
    assert finding.evidence["recurrent_spectral_radius"] >= 1.0
    assert finding.experiment.after < 0.7 * finding.experiment.before
    assert "rnn.weight_hh_l0" in finding.verdict


def test_the_same_irnn_clipped_is_quiet():
    assert check(_irnn_run(clip=True)) == []


def test_a_relu_recurrence_that_shrinks_its_state_is_not_read_as_one_that_explodes():
    from lossdoctor.checks._recurrence import unsquashed_recurrences

    torch.manual_seed(0)
    default = nn.RNN(2, 16, nonlinearity="relu")  # uniform +-1/4: radius about 0.58
    identity = IdentityRNN(inputs=2, hidden=16, outputs=2)
    tanh = nn.RNN(2, 16)
    nn.init.eye_(tanh.weight_hh_l0)
    assert unsquashed_recurrences(default, tanh, None) == {}
    assert unsquashed_recurrences(identity) == {"rnn.weight_hh_l0": pytest.approx(1.0)}


def test_a_healthy_mlp_is_quiet_and_costs_no_replay():
    """No growth from the init, no norms that blow up: the check replays nothing, the user's
    setup included (issue 12: that replay was 91 s of a 50M-parameter model's diagnosis)."""
    torch.manual_seed(0)
    x = torch.randn(1000, 6)
    y = (x[:, 0] - x[:, 1] > 0).long()
    model = mlp(6, 16, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    case = record(fit, model, optimizer, nn.CrossEntropyLoss(), (x[:800], y[:800]),
                  (x[800:], y[800:]), epochs=5)
    assert check(case) == []
    assert "baseline" not in case.__dict__  # the cached replay of the user's setup


def test_the_clipped_optimizer_clips_before_it_steps():
    weight = nn.Parameter(torch.zeros(2))
    optimizer = clipped(torch.optim.SGD, 1.0)([weight], lr=1.0)
    weight.grad = torch.tensor([30.0, 40.0])
    optimizer.step()
    assert torch.allclose(weight.detach(), torch.tensor([-0.6, -0.8]))


def test_skips_without_gradients():
    with pytest.raises(Skip, match="gradient norms"):
        check(Case(Trace(), Copies()))


def test_a_replay_that_blew_up_is_said_in_words_not_as_inf():
    from lossdoctor.checks.exploding_gradients import _loss_words

    assert _loss_words(float("inf")) == "a loss that blew up (inf or NaN)"
    assert _loss_words(0.984) == "0.984"


def test_gradient_norms_in_the_verdict_are_written_as_the_report_writes_numbers():
    """exploding_gradients_rnn: 'their norm reached 1.36e+04, against 275 at the start'."""
    from lossdoctor.checks.exploding_gradients import _norm_words

    assert [_norm_words(v) for v in (13612.4, 275.2, 1.03, 3.2e7)] == [
        "13,612", "275", "1.03", "3.2e+07"]


class TutorialCell(nn.Module):
    """The character-level RNN cell of the PyTorch name-classification tutorial: called once
    per letter by the training loop, a linear recurrence (nothing squashes the state)."""

    def __init__(self, letters=8, hidden=32, classes=3):
        super().__init__()
        self.hidden = hidden
        self.i2h = nn.Linear(letters + hidden, hidden)
        self.i2o = nn.Linear(letters + hidden, classes)

    def forward(self, letter, state):
        both = torch.cat((letter, state), 1)
        return self.i2o(both), self.i2h(both)


def _names(rows, seed, letters=8, classes=3):
    """One-hot 'names' of 4-11 letters, one per sample; each class favours three letters."""
    generator = torch.Generator().manual_seed(seed)
    names = []
    for _ in range(rows):
        label = int(torch.randint(classes, (1,), generator=generator))
        length = int(torch.randint(4, 12, (1,), generator=generator))
        codes = (torch.randint(3, (length,), generator=generator) + 2 * label) % letters
        names.append((nn.functional.one_hot(codes, letters).float().unsqueeze(1),
                      torch.tensor([label])))
    return names


def _loop_over_letters(model, line):
    state = torch.zeros(1, model.hidden)
    for i in range(line.shape[0]):
        output, state = model(line[i], state)
    return output


def _train_one_name_per_step(model, optimizer, clip):
    loss_fn = nn.CrossEntropyLoss()
    for line, label in _names(200, 0):
        optimizer.zero_grad()
        loss_fn(_loop_over_letters(model, line), label).backward()
        if clip:
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    with torch.no_grad():
        for line, label in _names(60, 1):
            loss_fn(_loop_over_letters(model, line), label)


def _letter_loop_run(clip):
    torch.manual_seed(0)
    model = TutorialCell()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return record(_train_one_name_per_step, model, optimizer, clip)


@pytest.fixture(scope="module")
def blown_up_letter_loop():
    return _letter_loop_run(clip=False)


def test_a_blow_up_through_a_loop_over_letters_in_the_training_script_is_found(
        blown_up_letter_loop):
    """The replays see one call of the cell per step, with the state the run gave it: the
    clip replay cannot follow the loop, so only nan_inf was found before."""
    case = blown_up_letter_loop
    [finding] = check(case)
    assert finding.cause is EXPLODING_GRADIENTS
    assert finding.confidence == RECURRENT_CONFIDENCE
    assert finding.evidence["loss_growth_before_nonfinite"] > 100
    assert "loop over time steps" in finding.verdict
    assert "clip_grad_norm_" in finding.fix
    [symptom] = nan_inf.check(case)
    ranked = rank([symptom, finding])
    assert [f.cause.id for f in ranked] == ["exploding_gradients", "nan_inf"]
    assert ranked[1].explained_by == ["exploding_gradients"]


def test_the_same_letter_loop_with_clipped_gradients_is_quiet():
    case = _letter_loop_run(clip=True)
    assert all(math.isfinite(loss) for _, loss in case.trace.step_losses())
    assert check(case) == []
    assert nan_inf.check(case) == []


def test_a_learning_rate_too_low_is_not_claimed_on_a_run_that_blew_up(blown_up_letter_loop):
    """A replay at a higher rate did better before a blow-up it did not reach: one call per
    step cannot follow the loop, so the rate is not replayed at all (a run that blew up took
    steps too large, not too small)."""
    assert learning_rate.blew_up(blown_up_letter_loop)
    assert not learning_rate.blew_up(_letter_loop_run(clip=True))
    with pytest.raises(Skip, match="loop over time steps"):
        learning_rate.check(blown_up_letter_loop)


def _deep_relu_case(std=None, depth=7, seed=0):
    """A deep ReLU MLP on a plain tabular task, its weights drawn N(0, std) when given."""
    torch.manual_seed(seed)
    x = torch.randn(1000, 8)
    y = (x[:, 0] + 0.8 * x[:, 1] - 0.5 * x[:, 2] * x[:, 3] > 0.3).long()
    sizes = [8] + [48] * depth
    layers = []
    for a, b in zip(sizes, sizes[1:], strict=False):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(48, 2))
    if std is not None:
        for layer in model:
            if isinstance(layer, nn.Linear):
                nn.init.normal_(layer.weight, std=std)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), (x[:800], y[:800]),
                  (x[800:], y[800:]), epochs=4)


def test_a_deep_relu_stack_with_a_large_init_explodes_from_the_first_step():
    """deep_relu_large_init's shape: each layer's output larger than the one before, the
    gradient orders of magnitude above the default init's; the default init is the fix."""
    from lossdoctor.checks.exploding_gradients import MIN_GROWING_STEPS
    from lossdoctor.findings import INIT_IS_SOURCE

    [finding] = check(_deep_relu_case(std=0.5))
    assert finding.cause is EXPLODING_GRADIENTS
    assert finding.evidence[INIT_IS_SOURCE] == 1.0
    assert finding.evidence["layers_growing_in_a_row"] > MIN_GROWING_STEPS
    assert "initialization" in finding.verdict and "default" in finding.experiment.description
    assert finding.experiment.after < 0.9 * finding.experiment.before


def test_the_same_deep_relu_stack_with_the_default_init_is_quiet():
    assert check(_deep_relu_case()) == []


def test_a_shallow_model_with_a_large_init_is_not_read_as_exploding():
    """Two hidden layers at N(0, 1) (normal_std_one): a large start, but no growth over depth:
    bad_init's, not this check's."""
    assert not any(f.evidence.get("initialization_is_the_source")
                   for f in check(_deep_relu_case(std=1.0, depth=2)))


def test_bad_init_and_the_growth_from_the_init_share_one_default_init_replay(monkeypatch):
    """Both compare the run's start with the same model re-initialized the default way: the
    300-step replay from it runs once per case."""
    from lossdoctor.checks import bad_init

    case = _deep_relu_case(std=0.5)
    replays = []
    replay = case.replayer.replay
    monkeypatch.setattr(case.replayer, "replay",
                        lambda plan: replays.append(plan) or replay(plan))
    [grown] = check(case)
    found = bad_init.check(case)
    assert found and found[0].experiment.after == grown.experiment.after
    from_a_model_at_your_rate = [p for p in replays if p.model is not None and p.lr is None]
    assert len(from_a_model_at_your_rate) == 1
