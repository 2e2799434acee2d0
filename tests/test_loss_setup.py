import warnings

import pytest
import torch
from torch import nn

from conftest import ScoresDataset, fit, mlp, record
from lossdoctor.capture.copies import Copies
from lossdoctor.case import Case
from lossdoctor.checks.loss_setup import LABEL_RANGE, LOSS_MISMATCH, SHAPE_BROADCAST, check
from lossdoctor.findings import Skip
from lossdoctor.trace import Trace


def _data(rows=400, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 6, generator=generator)
    classes = (x[:, 0] > 0).long() * 2 + (x[:, 1] > 0).long()
    value = x[:, 0] - 2 * x[:, 1] + 0.5 * x[:, 2]
    return x, classes, value


def _run(model, loss_fn, x, y, epochs=3, lr=1e-2):
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    return record(fit, model, optimizer, loss_fn, (x[:300], y[:300]), (x[300:], y[300:]),
                  epochs=epochs)


def _causes(case):
    return {f.cause: f for f in check(case)}


def test_a_softmax_output_fed_to_cross_entropy_is_a_loss_mismatch():
    x, classes, _ = _data()
    torch.manual_seed(0)
    model = nn.Sequential(mlp(6, 16, 4), nn.Softmax(dim=1))
    [finding] = check(_run(model, nn.CrossEntropyLoss(), x, classes))
    assert finding.cause is LOSS_MISMATCH
    assert finding.evidence["rows_summing_to_one"] == 1.0
    assert "softmax" in finding.verdict and finding.confidence >= 0.85
    # the floor the second softmax puts under the loss for these 4 classes, not 'the loss stays
    # near log(classes)' above a loss of 0.887 with log(4) = 1.39; and the fix line says what to
    # do, not 'see the verdict' (loss_mismatch_transformer_softmax_head)
    assert "a loss of 0.744 instead of 0" in finding.verdict
    assert round(finding.evidence["loss_floor"], 3) == 0.744  # the loss figure draws it
    assert finding.fix.startswith("Remove the model's final softmax: CrossEntropyLoss expects")


def _log_softmax_nll(out, y):
    return nn.functional.nll_loss(nn.functional.log_softmax(out, dim=1), y)


def test_log_softmax_over_a_softmax_output_is_a_loss_mismatch():
    """nll_loss(log_softmax(softmax(x))): the loss sees log-probabilities, but of probabilities
    (bolts_logistic_regression_double_softmax)."""
    x, classes, _ = _data()
    model = nn.Sequential(mlp(6, 16, 4), nn.Softmax(dim=1))
    [finding] = check(_run(model, _log_softmax_nll, x, classes, epochs=6))
    assert finding.cause is LOSS_MISMATCH
    assert finding.evidence["rows_log_softmax_of_probabilities"] == 1.0
    assert "log_softmax of its probabilities" in finding.verdict


def test_log_softmax_over_logits_is_quiet():
    x, classes, _ = _data()
    assert check(_run(mlp(6, 16, 4), _log_softmax_nll, x, classes, epochs=6)) == []


def test_one_output_unit_with_cross_entropy_is_a_loss_mismatch():
    x, classes, _ = _data()
    torch.manual_seed(0)
    [finding] = check(_run(mlp(6, 16, 1), nn.CrossEntropyLoss(), x, classes * 0))
    assert finding.cause is LOSS_MISMATCH and finding.evidence["output_units"] == 1.0
    assert "see the verdict" not in finding.fix and "BCEWithLogitsLoss" in finding.fix


def test_a_sigmoid_output_fed_to_bce_with_logits_is_a_loss_mismatch():
    x, classes, _ = _data()
    torch.manual_seed(0)
    model = nn.Sequential(mlp(6, 16, 1), nn.Sigmoid(), nn.Flatten(0))
    [finding] = check(_run(model, nn.BCEWithLogitsLoss(), x, (classes > 1).float()))
    assert finding.cause is LOSS_MISMATCH and "sigmoid" in finding.verdict


def test_logits_that_stay_inside_zero_and_one_by_chance_are_no_sigmoid():
    """Plain SGD too slow to move logits that start between 0 and 1 (dev case 14335, plain SGD
    at Adam's rate: 0.013 to 0.16): no sigmoid, whose outputs start near 0.5."""
    x, classes, _ = _data()
    torch.manual_seed(0)
    model = nn.Sequential(mlp(6, 16, 1), nn.Flatten(0))
    with torch.no_grad():
        model[0][2].weight.mul_(0.05)
        model[0][2].bias.fill_(0.2)
    torch.manual_seed(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    case = record(fit, model, optimizer, nn.BCEWithLogitsLoss(), (x[:300], (classes[:300] > 1)
                  .float()), (x[300:], (classes[300:] > 1).float()), epochs=3)
    assert all(s.prediction_min >= 0 and s.prediction_max <= 1 for s in case.trace.loss_inputs)
    assert check(case) == []


def test_integer_targets_of_a_one_output_regression_are_left_to_data_pipeline():
    """913d42e reported them as a weak loss_mismatch (0.6); the loss is not what the user
    changes, the targets' dtype is: data_pipeline reports them (tests/test_data_pipeline.py)."""
    x, classes, _ = _data()
    torch.manual_seed(0)
    assert check(_run(mlp(6, 16, 1), nn.MSELoss(), x, classes.unsqueeze(1))) == []


def test_a_column_prediction_against_a_flat_target_is_a_broadcast_and_reshaping_fixes_it():
    x, _, value = _data()
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="target size"):
        case = _run(mlp(6, 16, 1), nn.MSELoss(), x, value, epochs=5)
    [finding] = check(case)
    assert finding.cause is SHAPE_BROADCAST
    assert finding.evidence["comparisons_per_row"] == 32
    assert finding.experiment.after < 0.5 * finding.experiment.before
    assert "(32, 1)" in finding.verdict and "(32,)" in finding.verdict


@pytest.mark.parametrize("labels", [(-1.0, 1.0), (1.0, 2.0)])
def test_binary_labels_outside_zero_and_one_are_out_of_range(labels):
    x, classes, _ = _data()
    y = torch.where(classes > 1, labels[1], labels[0])
    torch.manual_seed(0)
    model = nn.Sequential(mlp(6, 16, 1), nn.Flatten(0))
    [finding] = check(_run(model, nn.BCEWithLogitsLoss(), x, y))
    assert finding.cause is LABEL_RANGE
    assert (finding.evidence["target_min"], finding.evidence["target_max"]) == labels


def test_healthy_setups_are_quiet():
    x, classes, value = _data()
    torch.manual_seed(0)
    assert check(_run(mlp(6, 16, 4), nn.CrossEntropyLoss(), x, classes)) == []
    binary = nn.Sequential(mlp(6, 16, 1), nn.Flatten(0))
    assert check(_run(binary, nn.BCEWithLogitsLoss(), x, (classes > 1).float())) == []
    assert check(_run(mlp(6, 16, 1), nn.MSELoss(), x, value.unsqueeze(1))) == []
    log_softmax = nn.Sequential(mlp(6, 16, 4), nn.LogSoftmax(dim=1))
    assert check(_run(log_softmax, nn.NLLLoss(), x, classes)) == []
    one_hot = nn.functional.one_hot(classes, 4).float()  # soft targets are allowed
    assert check(_run(mlp(6, 16, 4), nn.CrossEntropyLoss(), x, one_hot)) == []


def test_a_run_without_sampled_loss_calls_is_skipped():
    with pytest.raises(Skip, match="needs a loss"):
        check(Case(Trace(), Copies()))


def test_a_sigmoid_output_asked_to_reach_70_is_out_of_range():
    x, _, value = _data()
    torch.manual_seed(0)
    model = nn.Sequential(mlp(6, 16, 1), nn.Sigmoid())
    case = _run(model, nn.MSELoss(), x, 70 + 5 * value[:, None], epochs=10)
    finding = _causes(case)[LABEL_RANGE]
    assert finding.evidence["output_high"] == 1.0
    assert finding.evidence["target_max"] > 60
    assert "sigmoid" in finding.verdict


def test_a_sigmoid_output_on_targets_inside_its_range_is_quiet():
    """The twin: the same model on targets squashed into (0, 1)."""
    x, _, value = _data()
    torch.manual_seed(0)
    model = nn.Sequential(mlp(6, 16, 1), nn.Sigmoid())
    assert check(_run(model, nn.MSELoss(), x, torch.sigmoid(value[:, None]), epochs=10)) == []


def test_a_linear_output_still_far_from_large_targets_is_not_out_of_range():
    """Outputs still small but not pinned to a bound: that is unscaled targets, not this."""
    x, _, value = _data()
    torch.manual_seed(0)
    case = _run(mlp(6, 16, 1), nn.MSELoss(), x, 70 + 5 * value[:, None], epochs=10, lr=1e-4)
    assert LABEL_RANGE not in _causes(case)


def _standardized(value):
    return ((value - value.mean()) / value.std())[:, None]


def test_a_relu_after_the_output_layer_cannot_reach_negative_targets():
    x, _, value = _data()
    torch.manual_seed(0)
    model = nn.Sequential(mlp(6, 16, 1), nn.ReLU())
    finding = _causes(_run(model, nn.MSELoss(), x, _standardized(value), epochs=10))[LABEL_RANGE]
    assert 0.3 < finding.evidence["unreachable_share"] < 0.7  # about half, below the mean
    assert finding.evidence["prediction_min"] == 0 and "ReLU" in finding.fix


def test_a_relu_output_under_a_hand_written_squared_error_is_found_too():
    x, _, value = _data()
    torch.manual_seed(0)
    model = nn.Sequential(mlp(6, 16, 1), nn.ReLU())
    finding = _causes(_run(model, _hand_mse, x, _standardized(value), epochs=10))[LABEL_RANGE]
    assert finding.evidence["unreachable_share"] > 0.3


@pytest.mark.parametrize("twin", ["no_relu", "nonnegative_targets"])
def test_an_unclamped_output_or_targets_it_can_reach_are_quiet(twin):
    x, _, value = _data()
    torch.manual_seed(0)
    if twin == "no_relu":
        model, target = mlp(6, 16, 1), _standardized(value)
    else:
        model, target = nn.Sequential(mlp(6, 16, 1), nn.ReLU()), value.abs()[:, None]
    assert LABEL_RANGE not in _causes(_run(model, nn.MSELoss(), x, target, epochs=10))


def _hand_bce(logit, target):
    return -(target * nn.functional.logsigmoid(logit)
             + (1 - target) * nn.functional.logsigmoid(-logit)).mean()


@pytest.mark.parametrize("labels", [(1.0, 2.0), (0.0, 1.0)])
def test_binary_labels_of_a_hand_written_bce_are_held_against_its_range(labels):
    """A BCE written by hand calls no torch.nn loss: no call was sampled and the check skipped,
    while labels 1 and 2 drove the loss to -3e6 (development case 09119)."""
    x, classes, _ = _data()
    y = torch.where(classes > 1, labels[1], labels[0])
    torch.manual_seed(0)
    model = nn.Sequential(mlp(6, 16, 1), nn.Flatten(0))
    case = _run(model, _hand_bce, x, y)
    assert case.trace.setup.loss_name.endswith("(like binary_cross_entropy_with_logits)")
    found = check(case)
    if labels == (0.0, 1.0):
        assert found == []
        return
    [finding] = found
    assert finding.cause is LABEL_RANGE and finding.confidence >= 0.9
    assert (finding.evidence["target_min"], finding.evidence["target_max"]) == labels
    assert "hand-written loss (like binary_cross_entropy_with_logits)" in finding.verdict


def _hand_mse(prediction, target):
    return ((prediction - target) ** 2).mean()


def _hand_mse_squeezed(prediction, target):
    return ((prediction.squeeze(-1) - target) ** 2).mean()


def test_a_hand_written_squared_error_that_broadcasts_is_a_shape_broadcast():
    """((out - y) ** 2).mean() of (N, 1) against (N,): the same N x N comparison as
    nn.MSELoss on those shapes, which no torch.nn loss call showed."""
    x, _, value = _data()
    case = _run(mlp(6, 16, 1), _hand_mse, x, value, epochs=5)
    assert case.trace.setup.loss_name.endswith("(like mse_loss)")
    [finding] = check(case)
    assert finding.cause is SHAPE_BROADCAST and finding.confidence >= 0.9
    assert "(32, 1)" in finding.verdict and "(32,)" in finding.verdict
    assert finding.experiment.after < 0.5 * finding.experiment.before


@pytest.mark.parametrize("loss_fn, target", [
    (_hand_mse, "column"),  # the twin: both (N, 1)
    (_hand_mse_squeezed, "flat"),  # shapes differ, but the loss matches them itself
])
def test_a_hand_written_squared_error_on_matched_shapes_is_quiet(loss_fn, target):
    x, _, value = _data()
    y = value.unsqueeze(1) if target == "column" else value
    case = _run(mlp(6, 16, 1), loss_fn, x, y, epochs=5)
    assert case.trace.setup.loss_name.endswith("(like mse_loss)")
    assert check(case) == []


class _OneRowForTheBatch(nn.Module):
    """Folds the batch into one row before the output, as x.view(-1, batch * features) does."""

    def __init__(self):
        super().__init__()
        self.head = mlp(6, 16, 4)

    def forward(self, x):
        return self.head(x.mean(dim=0, keepdim=True))


def _multi_hot(classes):
    return nn.functional.one_hot(classes, 4).float()


def test_one_prediction_row_for_a_batch_of_targets_is_a_broadcast():
    """(1, C) predictions against (B, C) targets (weka511/hpa-scc#38): the broadcast grows
    neither side beyond the target's size, but one prediction stands for the whole batch."""
    x, classes, _ = _data()
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="target size"):
        case = _run(_OneRowForTheBatch(), nn.MSELoss(), x, _multi_hot(classes))
    [finding] = check(case)
    assert finding.cause is SHAPE_BROADCAST
    assert "(1, 4)" in finding.verdict
    assert "each prediction stands for 32 targets" in finding.verdict
    assert finding.experiment is None  # no reshape turns 4 values into 128


def _last_row_target(out, y):
    return nn.functional.mse_loss(out, y[-1:])


def test_one_target_against_several_rows_of_predictions_is_a_broadcast():
    """(T, 1) predictions against one (1, 1) target (andrewgcodes/xlstm#4: a prediction per
    step of the sequence, the one next value as the target)."""
    x, _, value = _data()
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="target size"):
        case = _run(mlp(6, 16, 1), _last_row_target, x, value.unsqueeze(1))
    [finding] = check(case)
    assert finding.cause is SHAPE_BROADCAST
    assert "each target is compared with 32 predictions" in finding.verdict


def _penalized(out, y):
    return nn.functional.mse_loss(out, y) + 0.01 * nn.functional.mse_loss(out, torch.zeros(1))


def test_a_penalty_against_one_constant_is_no_broadcast():
    """A penalty pulling every output to 0 repeats its one target on purpose."""
    x, _, value = _data()
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        case = _run(mlp(6, 16, 1), _penalized, x, value.unsqueeze(1))
    assert SHAPE_BROADCAST not in _causes(case)


def test_heads_against_one_column_of_targets_are_no_broadcast():
    """(B, K) against (B, 1): K heads of an ensemble fitting one value can be meant."""
    x, _, value = _data()
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        case = _run(mlp(6, 16, 3), nn.MSELoss(), x, value.unsqueeze(1))
    assert SHAPE_BROADCAST not in _causes(case)


def test_a_relu_after_the_output_layer_fed_to_bce_with_logits_is_a_loss_mismatch():
    """mengcius/Surface-Defect-Detection#3: logits clamped at 0 never give a probability below
    0.5, so the negative class cannot be predicted."""
    x, classes, _ = _data()
    torch.manual_seed(0)
    model = nn.Sequential(mlp(6, 16, 1), nn.ReLU(), nn.Flatten(0))
    [finding] = check(_run(model, nn.BCEWithLogitsLoss(), x, (classes > 1).float()))
    assert finding.cause is LOSS_MISMATCH and "below 0.5" in finding.verdict
    assert finding.evidence["prediction_min"] == 0.0
    assert 0.4 < finding.evidence["unreachable_share"] < 0.6  # half negatives: log 2 / 2 of log 2



def _binary_probabilities_run(last):
    x, classes, _ = _data()
    torch.manual_seed(0)
    model = nn.Sequential(mlp(6, 16, 1), last)
    return _run(model, nn.BCELoss(), x, (classes > 1).float().unsqueeze(1))


def test_a_softmax_over_one_output_unit_fed_to_bce_is_a_loss_mismatch():
    """Keras' Dense(1, activation='softmax') ported (stackoverflow.com/questions/46620813):
    every prediction is exactly 1, and nothing is learned."""
    [finding] = check(_binary_probabilities_run(nn.Softmax(dim=1)))
    assert finding.cause is LOSS_MISMATCH and finding.evidence["output_units"] == 1.0
    assert "softmax over a single output unit" in finding.verdict and "sigmoid" in finding.fix


class ClippedAsKerasDoes(nn.Module):
    """Keras' binary_crossentropy on the torch backend: the probabilities clipped to
    [1e-7, 1 - 1e-7] before torch's BCE, so a pinned softmax is given 0.99999988."""

    def forward(self, probabilities):
        return probabilities.clamp(1e-7, 1 - 1e-7)


def test_a_softmax_over_one_unit_clipped_as_keras_does_is_a_loss_mismatch():
    [finding] = check(_binary_probabilities_run(nn.Sequential(nn.Softmax(dim=1),
                                                               ClippedAsKerasDoes())))
    assert finding.cause is LOSS_MISMATCH and finding.evidence["output_units"] == 1.0


def test_a_sigmoid_output_clipped_as_keras_does_is_quiet():
    assert check(_binary_probabilities_run(nn.Sequential(nn.Sigmoid(), ClippedAsKerasDoes()))) \
        == []


def test_a_sigmoid_output_fed_to_bce_is_quiet():
    assert check(_binary_probabilities_run(nn.Sigmoid())) == []


class _Similarity(nn.Module):
    """A siamese similarity, exp(-L1) of two encodings (bench/fresh20 s10's MaLSTM): in (0, 1]."""

    def __init__(self):
        super().__init__()
        self.encode = mlp(3, 16, 8)

    def forward(self, x):
        return torch.exp(-torch.abs(self.encode(x[:, :3]) - self.encode(x[:, 3:])).sum(1))


def _relatedness(scaled):
    """Scores 1 to 5 (how alike the two halves of each row are), or the same scaled to [0, 1]."""
    x, _, _ = _data()
    score = 1 + torch.bucketize(torch.abs(x[:, :3] - x[:, 3:]).sum(1),
                                torch.tensor([1.5, 2.5, 3.5, 4.5]))
    return x, (score.float() - 1) / 4 if scaled else score.float()


def test_targets_beyond_an_exp_of_a_negative_distance_are_out_of_reach():
    """fresh20 s10: exp(-L1) cannot pass 1, the scores go to 5; no sampled prediction is
    pressed against 1 yet, so main's bounded-output rule (sigmoid or tanh, pinned) was quiet."""
    x, y = _relatedness(scaled=False)
    torch.manual_seed(0)
    finding = _causes(_run(_Similarity(), nn.MSELoss(), x, y, epochs=4))[LABEL_RANGE]
    assert finding.evidence["output_low"] == 0 and finding.evidence["output_high"] == 1
    assert finding.evidence["unreachable_share"] > 1
    assert finding.experiment.after < finding.experiment.before / 2  # scaled into [0, 1]


def test_the_same_targets_scaled_into_the_outputs_range_are_quiet():
    x, y = _relatedness(scaled=True)
    torch.manual_seed(0)
    assert LABEL_RANGE not in _causes(_run(_Similarity(), nn.MSELoss(), x, y, epochs=4))


def test_the_reach_of_an_output_is_read_from_its_last_operations():
    from lossdoctor.checks._reachable import UNBOUNDED, reachable

    layer, x = nn.Linear(3, 4), torch.randn(5, 3)
    assert reachable(torch.exp(-torch.abs(layer(x) - layer(-x)).sum(1))) == (0, 1)
    assert reachable(5 * torch.sigmoid(layer(x)).squeeze(-1)) == (0, 5)
    assert reachable(torch.tanh(layer(x))[:, 0]) == (-1, 1)
    assert reachable(torch.relu(layer(x)).view(-1)) == (0, float("inf"))
    assert reachable(torch.exp(layer(x))) == (0, float("inf"))
    assert reachable(layer(x)) == UNBOUNDED
    assert reachable(torch.sigmoid(layer(x)) + 1) == UNBOUNDED  # a number added: not read


def _hand_bce(logit, target):
    return -(target * torch.nn.functional.logsigmoid(logit)
             + (1 - target) * torch.nn.functional.logsigmoid(-logit)).mean()


def _plain_tensor_run(labels):
    """A model written as plain tensors (three hidden layers), a hand-written BCE, SGD with
    momentum: with 0/100 labels the loss is NaN within a few steps, before any step after the
    first update that lossdoctor records is finite."""
    x, classes, _ = _data()
    y = (classes % 2).float() * labels
    torch.manual_seed(0)
    sizes = (6, 32, 32, 32, 1)
    weights = [(torch.randn(a, b) * (2 / a) ** 0.5).requires_grad_()
               for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [torch.zeros(b, requires_grad=True) for b in sizes[1:]]

    def model(inputs):
        for w, b in zip(weights[:-1], biases[:-1], strict=True):
            inputs = torch.relu(inputs @ w + b)
        return (inputs @ weights[-1] + biases[-1]).squeeze(1)

    def train():
        optimizer = torch.optim.SGD(weights + biases, lr=0.05, momentum=0.9)
        for _ in range(3):
            for rows in torch.arange(300).split(32):
                optimizer.zero_grad()
                _hand_bce(model(x[rows]), y[rows]).backward()
                optimizer.step()
            with torch.no_grad():
                _hand_bce(model(x[300:]), y[300:])
    return record(train)


def test_percent_labels_under_a_hand_written_bce_on_plain_tensors_are_out_of_range():
    """Main: the recorded step was NaN, so the model's program was refused ("running the
    model's computation again gave another output"), the loss had no likeness, no batch was
    kept, and loss_setup skipped: nan_inf alone was reported."""
    case = _plain_tensor_run(labels=100)
    assert "like binary_cross_entropy_with_logits" in case.trace.setup.loss_name
    assert LABEL_RANGE in _causes(case)


def test_zero_one_labels_under_a_hand_written_bce_on_plain_tensors_are_quiet():
    assert check(_plain_tensor_run(labels=1)) == []


def _xor_run(targets):
    """genann's XOR example in PyTorch: a 2-2-1 network with a sigmoid on its output, half the
    squared error written by hand (``0.5 * ((out - y) ** 2).sum()``), one row a step, four
    rows and no validation set."""
    x = torch.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    y = torch.tensor(targets).reshape(4, 1)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())
    for parameter in net.parameters():
        nn.init.uniform_(parameter, -0.5, 0.5)

    def train():
        optimizer = torch.optim.SGD(net.parameters(), lr=3.0)
        for _ in range(100):
            for i in range(4):
                optimizer.zero_grad()
                (0.5 * ((net(x[i:i + 1]) - y[i:i + 1]) ** 2).sum()).backward()
                optimizer.step()
    return record(train)


def test_a_sigmoid_output_asked_for_three_to_six_without_validation_is_out_of_range():
    """929abff: half the squared error matched no torch loss, so loss_setup skipped; and the
    output's bound was read only through a replay with held-out rows, which four rows and no
    validation set do not give."""
    finding = _causes(_xor_run([3., 4., 5., 6.]))[LABEL_RANGE]
    assert finding.evidence["output_high"] == 1 and finding.evidence["target_min"] == 3
    assert finding.confidence >= 0.7


def test_the_same_network_on_targets_it_can_reach_is_quiet():
    assert check(_xor_run([0., 1., 1., 0.])) == []


def _scores_run(dtype):
    """A one-output regression (MSELoss on the output squeezed to the targets' shape)."""
    x, _, value = _data()
    scores = torch.sigmoid(value)
    torch.manual_seed(0)
    model = mlp(6, 16, 1)

    def train():
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        loader = torch.utils.data.DataLoader(ScoresDataset(x[:300], scores[:300], dtype),
                                             batch_size=32, shuffle=True)
        validation = torch.utils.data.DataLoader(ScoresDataset(x[300:], scores[300:], dtype),
                                                 batch_size=50)
        for _ in range(3):
            for inputs, targets in loader:
                optimizer.zero_grad()
                nn.MSELoss()(model(inputs).squeeze(-1), targets).backward()
                optimizer.step()
            with torch.no_grad():
                for inputs, targets in validation:
                    nn.MSELoss()(model(inputs).squeeze(-1), targets)
    return record(train)


def test_scores_cast_to_integers_for_a_one_output_regression_are_no_loss_mismatch():
    """913d42e said "cast to integers" as a loss_mismatch; data_pipeline now says it (fresh27
    s09 expects it there), and loss_setup is quiet."""
    assert check(_scores_run("int64")) == []


def test_the_same_scores_kept_as_floats_are_quiet():
    assert check(_scores_run("float32")) == []
