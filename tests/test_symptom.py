"""The symptom: a run that diverged, or ended no better than a constant guess (or than its own
untrained start), is never healthy; a run that learned is."""

import math
import random

import pytest
import torch

from lossdoctor.curves import OSCILLATING, judge_trace
from lossdoctor.symptom import symptom_of
from lossdoctor.trace import LayerGradient, LossRecord, Trace

STEPS_PER_EPOCH = 10


def _trace(train, validation=()):
    """A trace with STEPS_PER_EPOCH training steps per epoch at each ``train`` loss, and one
    validation pass after each epoch at each ``validation`` loss."""
    trace = Trace()
    for epoch, loss in enumerate(train):
        trace.epoch_starts.append(epoch * STEPS_PER_EPOCH)
        for i in range(STEPS_PER_EPOCH):
            trace.add_loss(LossRecord(loss, 32, "train", epoch * STEPS_PER_EPOCH + i))
        if epoch < len(validation):
            trace.add_loss(LossRecord(validation[epoch], 64, "eval", (epoch + 1) * STEPS_PER_EPOCH))
    trace.steps = len(train) * STEPS_PER_EPOCH
    return trace


def _symptom(trace, chance=None):
    return symptom_of(trace, judge_trace(trace, chance), chance)


LEARNING = [1.0 / (1 + epoch) for epoch in range(10)]


def test_a_run_that_learned_well_below_the_constant_guess_has_no_symptom():
    trace = _trace(LEARNING, [loss * 1.1 for loss in LEARNING])
    assert _symptom(trace, chance=1.1) is None


def test_a_converged_run_flat_at_a_good_level_has_no_symptom():
    flat_low = [0.3 + 0.001 * (-1) ** epoch for epoch in range(10)]
    assert _symptom(_trace([1.0, *flat_low[1:]], flat_low), chance=0.69) is None


def test_a_validation_loss_identical_at_every_pass_is_the_symptom_even_if_training_is_flat():
    """Weights that change at all move the validation loss past float32 precision."""
    found = _symptom(_trace([1.0] + [0.3] * 9, [0.3] * 10), chance=0.69)
    assert found is not None and found.kind == "frozen_validation"


def test_a_validation_loss_at_the_constant_guess_is_the_symptom():
    validation = [0.693 + 0.002 * (-1) ** epoch for epoch in range(10)]
    found = _symptom(_trace(LEARNING, validation), chance=0.693)
    assert found is not None and found.kind == "at_chance"


def test_a_short_run_no_better_than_the_constant_guess_is_the_symptom():
    found = _symptom(_trace([0.9, 0.8], [0.75, 0.74]), chance=0.69)
    assert found is not None and found.kind == "at_chance"


def test_a_loss_that_became_nan_is_diverging():
    found = _symptom(_trace([1.0, 2.0, math.nan], [1.0, 3.0, math.nan]), chance=0.69)
    assert found is not None and found.kind == "diverging"


def test_without_a_constant_guess_a_loss_that_barely_moved_from_its_start_is_stalled():
    found = _symptom(_trace([1.0] * 8, [1.02, 0.99, 1.01, 1.0, 0.98, 1.0, 1.01, 0.99]))
    assert found is not None and found.kind == "stalled"


def test_without_a_constant_guess_a_loss_that_blew_up_at_once_and_came_part_way_down_is_stalled():
    """The untrained model is the first step's loss, not the blow-up of the first tenth."""
    trace = _trace([1e5] + [3e4] * 9, [1e5] + [3e4] * 9)
    trace.losses[0].value = 2.7  # the first step, before any update
    found = _symptom(trace)
    assert found is not None and found.kind == "stalled"
    assert "above where the untrained model started (2.7)" in found.message


def test_without_a_constant_guess_a_loss_that_fell_has_no_symptom():
    assert _symptom(_trace(LEARNING, LEARNING)) is None


#: A loss a model computes itself (a detector's focal loss), trained by plain SGD at Adam's
#: lr: 14% below its start after 8 epochs, falling by the same 0.037 every epoch.
SLOW_LINE = [2.10 - 0.037 * epoch for epoch in range(9)]


def test_without_a_constant_guess_a_loss_still_falling_at_its_first_pace_not_far_down_is_slow():
    found = _symptom(_trace(SLOW_LINE[:-1], SLOW_LINE[1:]))
    assert found is not None and found.kind == "slow" and found.still_learning
    assert "14% below where the untrained model started (2.1)" in found.message


def test_without_a_constant_guess_a_loss_that_levelled_off_not_far_down_has_no_symptom():
    """A floor 20% below the start, closed in on exponentially (a regression whose noise is
    most of the loss): the pace at the end is a fraction of the first, so it is no symptom."""
    levelled = [0.8 + 0.2 * math.exp(-0.6 * epoch) for epoch in range(9)]
    assert _symptom(_trace(levelled[:-1], levelled[1:])) is None


def test_without_a_constant_guess_a_loss_still_falling_steeply_far_down_has_no_symptom():
    """A healthy run cut short: half its start gone, still falling as fast as at first."""
    line = [1.0 - 0.06 * epoch for epoch in range(9)]
    assert _symptom(_trace(line[:-1], line[1:])) is None


def test_with_a_constant_guess_a_slow_line_well_below_it_is_judged_against_the_guess():
    assert _symptom(_trace(SLOW_LINE[:-1], SLOW_LINE[1:]), chance=3.0) is None


def test_without_validation_the_training_loss_is_judged():
    assert _symptom(_trace([1.0] * 10)).kind == "stalled"
    assert _symptom(_trace(LEARNING)) is None


def test_a_guess_known_only_from_the_replays_still_shows_the_symptom():
    validation = [0.69] * 10
    trace = _trace(LEARNING, validation)
    curve = judge_trace(trace, None)
    found = symptom_of(trace, curve, chance_loss=0.69)
    assert found is not None and found.kind == "at_chance"


def test_a_validation_loss_frozen_while_the_training_loss_falls_is_the_symptom():
    """Every pass the same to the fourth digit, below the constant guess: the validation does
    not follow the model (a stale copy, a detached model, the wrong data)."""
    found = _symptom(_trace(LEARNING, [0.4123] * 10), chance=0.69)
    assert found is not None and found.kind == "frozen_validation"
    assert "0.4123" in found.message


def test_a_validation_loss_that_moves_a_little_while_training_falls_is_not_frozen():
    validation = [0.4123 * (1 - 0.01 * epoch) for epoch in range(10)]
    assert _symptom(_trace(LEARNING, validation), chance=0.69) is None


def _with_gradients(trace, later_norm):
    """Two layers' gradients sampled every 5 steps: 1.0 in the first half, then ``later_norm``."""
    for step in range(0, trace.steps, 5):
        norm = 1.0 if step < trace.steps // 2 else later_norm
        for name in ("0.weight", "2.weight"):
            trace.gradients.append(LayerGradient(step, name, norm, 1.0))
    return trace


def test_gradients_exactly_zero_through_the_later_half_are_the_symptom_without_a_guess():
    """A dead network: the loss fell from a huge start, then nothing could train."""
    stuck = [50.0] + [0.5] * 9
    assert _symptom(_trace(stuck)) is None  # the loss alone looks like a fall, then a plateau
    found = _symptom(_with_gradients(_trace(stuck), 0.0))
    assert found is not None and found.kind == "stalled" and "exactly zero" in found.message


def test_small_gradients_near_a_minimum_or_a_perfect_fit_are_not_the_symptom():
    assert _symptom(_with_gradients(_trace([50.0] + [0.5] * 9), 1e-9)) is None
    assert _symptom(_with_gradients(_trace([50.0] + [0.0] * 9), 0.0)) is None


def _with_loss(trace, name):
    trace.setup.loss_name = name
    return trace


def test_a_cross_entropy_that_falls_below_zero_is_the_symptom_however_steeply_it_falls():
    """BCE on targets of 1 and 2 rewards ever larger outputs: the loss falls without end, which
    read as progress (development case 09119, training loss -3.1e6, no validation)."""
    falling = [0.7 - 3e5 * epoch ** 2 for epoch in range(6)]
    trace = _with_loss(_trace(falling), "hand-written loss (like binary_cross_entropy_with_logits)")
    found = _symptom(trace)
    assert found is not None and found.kind == "below_floor"
    assert "below 0" in found.message and "binary_cross_entropy_with_logits" in found.message


def test_a_loss_of_unknown_kind_may_go_below_zero():
    """A hand-written loss lossdoctor cannot name (a Gaussian log-likelihood) has no known
    floor."""
    falling = [1.0 - 0.5 * epoch for epoch in range(10)]
    assert _symptom(_with_loss(_trace(falling), "hand-written loss")) is None


def test_a_squared_error_at_zero_within_rounding_is_not_below_its_floor():
    learned = [1.0 / (1 + epoch) ** 3 for epoch in range(9)] + [-1e-8]
    assert _symptom(_with_loss(_trace(learned, learned), "MSELoss"), chance=1.0) is None


# --- never healthy on too little progress or evidence (issue 11) -------------------------


def _steps_trace(losses):
    """A trace of one training loss per step, no validation: a short hand-written loop."""
    trace = Trace()
    trace.epoch_starts.append(0)
    for step, loss in enumerate(losses):
        trace.add_loss(LossRecord(loss, 25, "train", step))
    trace.steps = len(losses)
    return trace


@pytest.mark.parametrize("validation, how", [
    # plain SGD at a usual rate (dev seed 30299): 0.6959 -> 0.6882 against a guess of 0.6924
    ([0.6959, 0.6920, 0.6905, 0.6893, 0.6887, 0.6882], "still falling, by less at each pass"),
    ([0.6959, 0.6950, 0.6940, 0.6929, 0.6918, 0.6907], "ended before it converged"),
])
def test_a_validation_loss_barely_below_the_constant_guess_and_still_falling_is_the_symptom(
        validation, how):
    found = _symptom(_trace([0.70, 0.696, 0.693, 0.690, 0.689, 0.688], validation),
                     chance=0.6924)
    assert found is not None and found.kind == "near_chance"
    assert how in found.message


def test_a_short_run_barely_below_the_constant_guess_says_it_has_few_points():
    found = _symptom(_trace([1.33, 1.328], [1.3323, 1.3313]), chance=1.4025)
    assert found is not None and found.kind == "near_chance"
    assert "only 2 points" in found.message


def test_a_twin_a_fifth_below_the_constant_guess_has_no_symptom():
    """The generator keeps a fixed twin only at a gain of 0.2 or more; its least, 0.29 below
    the guess on dev seed 30299, must stay quiet."""
    validation = [0.62, 0.56, 0.52, 0.50, 0.49, 0.4884]
    assert _symptom(_trace([0.66, 0.58, 0.53, 0.50, 0.48, 0.47], validation),
                    chance=0.6924) is None


def test_a_short_run_far_below_the_constant_guess_has_no_symptom():
    """Three validation passes are enough when the loss ended far below the guess."""
    assert _symptom(_trace([1.86, 0.27, 0.09], [0.68, 0.107, 0.128]), chance=3.53) is None


ZIGZAG = [37.8, 3.7, 17.4, 45.9, 20.5, 2.2, 34.9, 39.8, 5.0, 13.9, 45.0, 23.3, 1.55]


def test_a_loss_that_only_swings_is_the_symptom_however_low_its_last_step_landed():
    """Gradients never zeroed in a 13-step hand-written loop (like the corpus's linear
    regression): the loss zigzags, and the last step is one of its low points."""
    found = _symptom(_steps_trace(ZIGZAG))
    assert found is not None and found.kind == "oscillating"


def test_a_noisy_loss_that_fell_far_from_its_start_has_made_progress():
    noisy = [2.0, 1.2, 0.8] + [0.2 + 0.05 * (-1) ** step for step in range(20)]
    assert _symptom(_steps_trace(noisy)) is None


def test_two_validation_points_without_a_constant_guess_are_too_little_evidence():
    found = _symptom(_trace([1.0, 0.8], [0.9, 0.85]))
    assert found is not None and found.kind == "too_short"
    assert "too little evidence" in found.message


def _noisy_steps(start, end, swing, seed, steps=1000, rate=0.995):
    rng = random.Random(seed)
    return [end + (start - end) * rate ** step + rng.gauss(0, swing) for step in range(steps)]


def test_a_mini_batch_loss_that_fell_under_step_noise_has_made_progress():
    """Per-step losses of mini-batches of 10 falling from 0.48 to 0.17 under swings of 0.06
    (curves calls them swinging): the means of the first and last tenth of steps are far apart,
    however close single steps come."""
    losses = _noisy_steps(0.48, 0.17, 0.06, seed=2)
    assert judge_trace(_steps_trace(losses), None).kind == OSCILLATING
    assert _symptom(_steps_trace(losses)) is None


def test_a_short_loss_that_fell_less_than_its_swings_is_the_symptom():
    """40 steps whose mean falls from 0.5 to 0.42 under swings of 0.15: the first and last
    tenth's means (4 steps each) are no further apart than their own noise."""
    losses = _noisy_steps(0.5, 0.42, 0.15, seed=0, steps=40, rate=0.9)
    found = _symptom(_steps_trace(losses))
    assert found is not None and found.kind == "oscillating"


def test_a_falling_validation_loss_is_judged_where_it_ended_and_a_mean_says_it_is_one():
    """unnormalized_cnn_raw_pixels: 'no better than a constant guess (1.391)' beside 'best 1.31':
    a mean of the last passes lags a falling curve, and a bare mean matched no number shown."""
    train = [4.0, 1.9, 1.7, 1.5, 1.45, 1.4]
    found = _symptom(_trace(train, [1.879, 1.704, 1.471, 1.422, 1.351, 1.310]), chance=1.391)
    assert found is not None and found.kind == "near_chance", found
    assert found.message.startswith("validation loss 1.31, only 5.8% below a constant guess")
    assert "still falling" in found.message
    wobbling = _symptom(_trace(train, [1.879, 1.704, 1.471, 1.351, 1.422, 1.310]), chance=1.391)
    assert wobbling is not None and wobbling.kind == "near_chance", wobbling
    assert "validation loss averaging 1.361 over the last 3 passes, only 2.2% below" \
        in wobbling.message


def test_a_loss_near_the_guess_that_fell_at_each_of_its_last_passes_is_still_learning():
    """nanoGPT's 200 iterations: validation 9% below the guess and falling at every pass, a
    run too short to judge, not one that learned next to nothing."""
    train = [4.0, 3.9, 3.8, 3.7, 3.6, 3.5]
    falling = _symptom(_trace(train, [3.40, 3.35, 3.30, 3.25, 3.20, 3.10]), chance=3.34)
    assert falling is not None and falling.kind == "near_chance" and falling.still_learning
    wobbling = _symptom(_trace(train, [3.40, 3.35, 3.20, 3.25, 3.22, 3.10]), chance=3.34)
    assert wobbling is not None and wobbling.kind == "near_chance"
    assert not wobbling.still_learning


class OwnLossDetector(torch.nn.Module):
    """A CenterNet-style detector fed dict batches that computes its own loss in ``forward``
    (a focal loss on a heatmap of object centres plus an L1 loss on their sizes), so that no
    constant guess can be had: the target is not an argument lossdoctor can tell apart."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(),
                                        torch.nn.MaxPool2d(2), torch.nn.Conv2d(8, 8, 3, padding=1),
                                        torch.nn.ReLU())
        self.heat, self.size = torch.nn.Conv2d(8, 1, 1), torch.nn.Conv2d(8, 2, 1)
        torch.nn.init.constant_(self.heat.bias, -2.19)  # CenterNet's prior of 0.1

    def forward(self, batch):
        features = self.body(batch["image"])
        mask = batch["centre"]
        size = (torch.abs(self.size(features) - batch["wh"]) * mask).sum() / mask.sum()
        return _focal(self.heat(features), batch["centre"]) + 0.1 * size


def _focal(logits, centres):
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    positive = -(torch.log(p) * (1 - p) ** 2 * centres).sum()
    negative = -(torch.log(1 - p) * p ** 2 * (1 - centres)).sum()
    return (positive + negative) / centres.sum()


def _boxes(rows, generator):
    """16x16 images with one bright box each; its centre and size on the 8x8 output grid."""
    images = torch.rand(rows, 1, 16, 16, generator=generator) * 0.2
    centre, wh = torch.zeros(rows, 1, 8, 8), torch.zeros(rows, 2, 8, 8)
    for i in range(rows):
        w, h, x, y = (int(v) for v in torch.randint(2, 7, (4,), generator=generator))
        images[i, 0, y:y + h, x:x + w] += 0.8
        cy, cx = min((y + h // 2) // 2, 7), min((x + w // 2) // 2, 7)
        centre[i, 0, cy, cx], wh[i, :, cy, cx] = 1.0, torch.tensor([w / 4, h / 4])
    return {"image": images, "centre": centre, "wh": wh}


def _detector_run(optimizer_class, epochs=16):
    from conftest import record
    generator = torch.Generator().manual_seed(0)
    train, val = _boxes(256, generator), _boxes(64, generator)
    torch.manual_seed(0)
    model = OwnLossDetector()
    optimizer = optimizer_class(model.parameters(), lr=1e-3)

    def loop():
        for _ in range(epochs):
            for rows in torch.randperm(256).split(32):
                optimizer.zero_grad()
                model({k: v[rows] for k, v in train.items()}).backward()
                optimizer.step()
            with torch.no_grad():
                model(val)

    return record(loop)


def test_an_own_loss_detector_trained_by_plain_sgd_at_adams_rate_is_slow_not_healthy():
    """No constant guess, a loss that fell only a little from its start and falls as fast at
    the end: slow (before: healthy). The same detector trained by Adam has no symptom."""
    slow = _detector_run(torch.optim.SGD)
    assert slow.constant_guess_loss("validation") is None
    found = symptom_of(slow.trace, None, None)
    assert found is not None and found.kind == "slow"
    assert symptom_of(_detector_run(torch.optim.Adam).trace, None, None) is None


def test_without_a_constant_guess_single_steps_give_no_pace():
    """A run too short for three epochs is judged step by step: a levelled-off loss whose last
    batch happened to score low is no pace kept, so the run is not called slow."""
    rng = random.Random(0)
    steps = [0.8 + 0.2 * math.exp(-i / 20) + rng.gauss(0, 0.01) for i in range(200)]
    steps[-1] = 0.7  # a lucky last batch
    assert _symptom(_steps_trace(steps)) is None


def test_a_validation_loss_still_rising_at_the_end_while_training_falls_is_the_symptom():
    """fresh17 s16: the validation loss rose at each of its last 7 passes (2.58 -> 2.91) while
    the training loss fell, 10% below the constant guess (3.25) at its end: called healthy."""
    validation = [3.330, 2.777, 2.587, 2.576, 2.584, 2.615, 2.688, 2.715, 2.757, 2.835, 2.907]
    train = [3.331, 2.700, 2.426, 2.341, 2.252, 2.172, 2.106, 2.051, 1.994, 1.942, 1.841]
    symptom = _symptom(_trace(train, validation), 3.246)
    assert symptom is not None and symptom.kind == "rising"
    assert _symptom(_trace(train, validation[:5] + [2.57, 2.56, 2.55, 2.55, 2.54, 2.54]),
                    3.246) is None


# --- a run of a few steps still falling steeply has not finished learning (issue 11) --------


def _full_batch_trace(train, validation):
    """One step an epoch (the whole training set as one batch), a validation pass after each."""
    trace = Trace()
    for step, (loss, val) in enumerate(zip(train, validation, strict=True)):
        trace.epoch_starts.append(step)
        trace.add_loss(LossRecord(loss, 1000, "train", step))
        trace.add_loss(LossRecord(val, 250, "eval", step + 1))
    trace.steps = len(train)
    return trace


#: The test part's full_batch case: 8 steps, the validation loss 13% below the guess and falling.
FULL_BATCH_VALIDATION = [1.090, 1.075, 1.060, 1.045, 1.029, 1.013, 0.99, 0.955]


def test_a_run_of_eight_steps_still_falling_steeply_is_slow_not_healthy():
    trace = _full_batch_trace([1.10, 1.09, 1.075, 1.06, 1.045, 1.03, 1.01, 0.99],
                              FULL_BATCH_VALIDATION)
    found = _symptom(trace, chance=1.098)
    assert found is not None and found.kind == "slow" and found.still_learning
    assert "after only 8 optimizer steps" in found.message


def test_a_run_of_eight_steps_is_slow_though_its_validation_starts_above_its_training():
    """The validation set scores above the training loss's start (1.044 against 0.996): the
    validation curve's pace is its own, not measured from the training start."""
    validation = [1.044, 1.020, 1.003, 0.981, 0.964, 0.943, 0.927, 0.905]
    trace = _full_batch_trace([0.996, 0.969, 0.947, 0.927, 0.908, 0.889, 0.870, 0.852],
                              validation)
    found = _symptom(trace, chance=1.043)
    assert found is not None and found.kind == "slow"


def test_a_run_of_eight_steps_that_levelled_off_has_no_symptom():
    validation = [0.80, 0.55, 0.42, 0.36, 0.335, 0.33, 0.329, 0.328]
    trace = _full_batch_trace([1.10, 0.80, 0.55, 0.42, 0.36, 0.34, 0.333, 0.33], validation)
    assert _symptom(trace, chance=1.098) is None


def test_the_same_curve_over_ten_steps_an_epoch_is_judged_by_its_level():
    """The fixed twin's length (the fewest steps of a dev twin: 66): the same falling curve
    15% below the guess is no symptom of a short run."""
    trace = _trace([1.10, 1.09, 1.075, 1.06, 1.045, 1.03, 1.01, 0.99], FULL_BATCH_VALIDATION)
    assert _symptom(trace, chance=1.098) is None


def _halved_rate_run(curve_of_spent):
    """Twenty steps, two an epoch, a validation pass after each epoch; the rate halved every
    three epochs (StepLR(step_size=3, gamma=0.5) stepped per epoch). Each loss is
    ``curve_of_spent`` of the rate summed over the steps before it."""
    rates = [0.5 ** (step // 6) for step in range(20)]
    spent = [sum(rates[:step]) for step in range(21)]
    trace = Trace()
    for step in range(20):
        if step % 2 == 0:
            trace.epoch_starts.append(step)
        trace.add_loss(LossRecord(curve_of_spent(spent[step]), 288, "train", step))
        if step % 2 == 1:
            trace.add_loss(LossRecord(curve_of_spent(spent[step + 1]), 200, "eval", step + 1))
    trace.steps = 20
    trace.setup.lr_schedule = [[step, 0.1 * rates[step]] for step in (0, 6, 12, 18)]
    return trace


def test_a_short_run_whose_schedule_halved_its_rate_is_slow_while_it_falls_as_fast_per_rate():
    """The loss falls by the same amount for each unit of rate it was given: by steps, the
    last third's fall is a quarter of the first's, all of it the schedule's cuts (a dev
    two_batches_per_epoch run with StepLR was called healthy so)."""
    found = _symptom(_halved_rate_run(lambda spent: 0.85 - 0.02 * spent), chance=0.961)
    assert found is not None and found.kind == "slow" and found.still_learning
    assert "100% of its first pace for the learning rate your schedule gave it" in found.message


def test_a_short_run_whose_schedule_halved_its_rate_and_that_levelled_off_has_no_symptom():
    levelled = _halved_rate_run(lambda spent: 0.6 + 0.25 * math.exp(-spent / 2))
    assert _symptom(levelled, chance=0.961) is None


def test_a_loss_that_fell_back_to_the_constant_guess_after_progress_is_not_still_falling():
    """bench/projects8's LeNet at SGD 0.1 with momentum: validation 1.692 at the third pass,
    then ln 10 to the end, its last passes drifting down by a hair at the guess; the symptom
    said "still falling: the run ended before it converged". It learned and lost it."""
    validation = [2.205, 2.227, 1.692, 2.355, 2.305, 2.301, 2.302, 2.3025, 2.3024, 2.3023]
    training = [2.291, 2.255, 2.116, 2.353, 2.316, 2.302, 2.302, 2.302, 2.301, 2.301]
    found = _symptom(_trace(training, validation), chance=2.3049)
    assert found is not None and found.kind == "near_chance"
    assert "still falling" not in found.message and not found.still_learning
    assert "after reaching 1.692 at validation pass 3 of 10" in found.message
    assert "lost what it had learned" in found.message
