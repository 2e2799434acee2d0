import math
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from conftest import fit, mlp, record
from lossdoctor import budget as budgets
from lossdoctor.capture.copies import Copies
from lossdoctor.case import Case
from lossdoctor.checks._fix import beyond_the_run, helped
from lossdoctor.checks._rebatch import batch_rows, cost_fraction, pooled, pooled_training
from lossdoctor.checks._recomputed_statistics import recomputed_statistics_loss
from lossdoctor.checks.batch_size import (
    BATCH_SIZE,
    COUNTED_CONFIDENCE,
    FEW_STEPS,
    LITTLE_LEARNED_SHARE,
    _beyond_the_run,
    barely_started,
    batch_statistics_experiment,
    check,
    counted_finding,
    fit_its_rows,
    learned_share,
    scaled_lr,
    short_by_its_batch,
    still_learning,
)
from lossdoctor.diagnosis import REPORT_THRESHOLD
from lossdoctor.findings import Skip
from lossdoctor.trace import LossRecord, Trace


def tabular_run(batch_size, epochs, seed=0):
    """An MLP on a nonlinear classification task it can learn."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(1300, 8, generator=generator)
    y = ((x[:, 0] * x[:, 1] + x[:, 2]) > 0).long()
    torch.manual_seed(seed)
    model = mlp(8, 64, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), (x[:1000], y[:1000]),
                  (x[1000:], y[1000:]), epochs=epochs, batch_size=batch_size)


def brightness_run(batch_size, seed=0, reduction="mean"):
    """A BatchNorm CNN that must tell bright 8x8 images from dark ones."""
    generator = torch.Generator().manual_seed(seed)
    brightness = torch.rand(800, generator=generator) * 2 - 1
    x = torch.randn(800, 1, 8, 8, generator=generator) * 0.5 + brightness.view(-1, 1, 1, 1)
    y = (brightness > 0).long()
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(8, 2),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(reduction=reduction),
                  (x[:600], y[:600]), (x[600:], y[600:]), epochs=2, batch_size=batch_size)


def radial_task(rows, seed):
    """Three classes by the distance from the origin in two of 14 features, a deep MLP with
    dropout under Adam (the base of dev case 13007): (features, labels, model, optimizer)."""
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(rows, 14, generator=generator)
    score = z[:, 0] ** 2 + z[:, 1] ** 2 - 1.4 + 0.2 * torch.randn(rows, generator=generator)
    y = torch.bucketize(score, torch.tensor([-0.4, 1.1]))
    torch.manual_seed(seed)
    layers = []
    for inputs in (14, 96, 96):
        layers += [nn.Linear(inputs, 96), nn.LeakyReLU(), nn.Dropout(0.18)]
    model = nn.Sequential(*layers, nn.Linear(96, 3))
    return z, y, model, torch.optim.Adam(model.parameters(), lr=3e-3)


def radial_run(batch_size, epochs, seed=0):
    z, y, model, optimizer = radial_task(1500, seed)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), (z[:1200], y[:1200]),
                  (z[1200:], y[1200:]), epochs=epochs, batch_size=batch_size)


def reported(findings):
    return [f for f in findings if f.confidence >= REPORT_THRESHOLD]


def test_huge_batches_that_leave_too_few_steps_are_found_and_smaller_ones_learn_more():
    [finding] = reported(check(tabular_run(batch_size=500, epochs=10)))
    assert finding.cause is BATCH_SIZE
    evidence = finding.evidence
    assert evidence["suggested_batch_size"] * 4 < evidence["batch_size"] == 500
    assert evidence["rows_replayed"] == 20 * 500
    assert finding.experiment.after < 0.9 * finding.experiment.before
    assert "far larger than the gradient noise" in finding.verdict


@pytest.mark.slow  # a whole diagnosis over 8 s; faster tests check its mechanism
def test_batchnorm_on_two_images_at_a_time_is_found_and_batches_of_32_fix_it():
    [finding] = reported(check(brightness_run(batch_size=2)))
    assert finding.evidence["suggested_batch_size"] == 32
    assert "lr 0.02 " in finding.fix  # 0.001 x 32 / 2 = 0.016: the linear rule, not the noise
    # scale's (0.005 on this run)
    assert finding.experiment.after < 0.9 * finding.experiment.before
    assert "BatchNorm" in finding.verdict


def test_a_smaller_batch_that_only_catches_up_with_the_run_is_not_blamed(monkeypatch):
    """The budget may cut replays short of the run (a Hugging Face run at validation 0.023
    was blamed for a replay going from 0.144 to 0.071): the run already did better."""
    case = tabular_run(batch_size=500, epochs=10)
    [finding] = reported(check(case))
    monkeypatch.setattr(case, "run_best_validation", lambda: 0.5 * finding.experiment.after)
    assert reported(check(case)) == []


def test_a_smaller_batch_that_passes_the_run_by_less_than_a_fix_is_not_blamed(monkeypatch):
    """A short run still learning at its end gets lower with more, smaller steps, and about as
    low with more epochs (dev 21058's twin: batches of 64 for 6 epochs, noise scale 6; batches
    of 8 reached 0.090 against the run's own 0.108, 0.018 lower where a fix must take a
    twentieth of the constant guess's 1.1). Passing the run by less than a fix is no cause."""
    case = tabular_run(batch_size=500, epochs=10)
    [finding] = reported(check(case))
    monkeypatch.setattr(case, "run_best_validation", lambda: 1.05 * finding.experiment.after)
    assert reported(check(case)) == []


@pytest.mark.parametrize("batch_size, epochs", [(32, 10), (500, 60)])
def test_a_batch_size_that_lets_training_finish_is_not_blamed(batch_size, epochs):
    assert reported(check(tabular_run(batch_size, epochs))) == []


def test_the_lr_follows_the_best_lr_of_mccandlish_et_al():
    # eps(B) = eps_max / (1 + B_noise / B): from B = B_noise to B = infinity the lr doubles.
    assert math.isclose(scaled_lr(0.1, 100, 10**9, 100.0), 0.2, rel_tol=1e-6)
    assert math.isclose(scaled_lr(0.1, 64, 8, math.inf), 0.1 / 8)


def test_a_run_still_learning_at_its_end_is_told_from_one_that_levelled_off():
    def trace_of(losses):
        return Trace(losses=[LossRecord(v, 10, "train", step) for step, v in enumerate(losses)])
    assert still_learning(trace_of([1.0 - 0.01 * i for i in range(50)]))
    assert not still_learning(trace_of([1.0 - 0.01 * min(i, 20) for i in range(50)]))


def test_skips_without_an_optimizer_step():
    with pytest.raises(Skip, match="optimizer step"):
        check(Case(Trace(), Copies()))


def _statistics_helped(case):
    return helped(batch_statistics_experiment(case, 32))


def test_running_statistics_that_are_not_the_batches_own_show_in_the_statistics_test():
    case = brightness_run(batch_size=32)
    assert not _statistics_helped(case)
    for layer in case.copies.final_model.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.running_mean += 3.0
    assert _statistics_helped(case)


def test_the_statistics_test_compares_per_element_losses_for_a_summed_loss():
    # The batches' own statistics were scored by the training loss as replayed, a sum over the
    # batch's 32 rows, against running statistics scored per row: broken running statistics
    # never "helped" (fails on 5a5fb0f); the healthy twin stays quiet.
    case = brightness_run(batch_size=32, reduction="sum")
    assert not _statistics_helped(case)
    for layer in case.copies.final_model.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.running_mean += 3.0
    assert _statistics_helped(case)


def _recomputed(case):
    return recomputed_statistics_loss(case.replayer, case.copies.final_model,
                                      pooled_training(case), 32)


def test_recomputed_statistics_read_the_trained_weights_without_their_running_averages():
    case = brightness_run(batch_size=32)
    replayer, model = case.replayer, case.copies.final_model
    running = replayer.evaluate(model, replayer.validation_batches)
    assert _recomputed(case) == pytest.approx(running, rel=0.2)
    for layer in model.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.running_mean += 3.0
    assert replayer.evaluate(model, replayer.validation_batches) > 1.5 * running
    assert _recomputed(case) == pytest.approx(running, rel=0.2)


def test_a_model_without_batchnorm_has_no_recomputed_statistics():
    assert _recomputed(tabular_run(batch_size=500, epochs=2)) is None


def _wobbling(last, low, high, passes=6):
    """Passes like the run's ``last``, alternately at ``high`` and ``low``, as running
    statistics averaged over batches of two rows make them wobble."""
    return [replace(last, epoch=i, loss=low if i % 2 else high) for i in range(passes)]


def _larger_batch_reaching(after):
    """A replay of batches of 32 for a run on batches of 2 that settled at ``after``."""
    return SimpleNamespace(user_batch=2, batch=32, experiment=SimpleNamespace(after=after))


@pytest.fixture(scope="module")
def two_image_batches():
    return brightness_run(batch_size=2)


def test_passes_that_wobble_with_tiny_batches_statistics_do_not_hide_a_larger_batchs_fix(
        two_image_batches, monkeypatch):
    """Dev 414205 (BatchNorm on batches of 2 rows) was called healthy: its passes wobbled by a
    noise of 0.107, and batches of 32 beat its best pass by 0.21, not by three noise widths.
    Its trained weights with recomputed statistics are where it got (fails on a430c50)."""
    case = two_image_batches
    level = _recomputed(case)
    wobbling = _wobbling(case.trace.validation_passes()[-1], level, 2 * level)
    monkeypatch.setattr(case.trace, "validation_passes", lambda: wobbling)
    assert not beyond_the_run(case, 0.7 * level)  # the passes' noise bar
    assert _beyond_the_run(case, _larger_batch_reaching(0.7 * level), pooled_training(case))


def test_a_larger_batch_no_better_than_the_trained_weights_is_not_beyond_the_run(
        two_image_batches, monkeypatch):
    case = two_image_batches
    level = _recomputed(case)
    wobbling = _wobbling(case.trace.validation_passes()[-1], 0.9 * level, 2 * level)
    monkeypatch.setattr(case.trace, "validation_passes", lambda: wobbling)
    assert not _beyond_the_run(case, _larger_batch_reaching(0.95 * level),
                               pooled_training(case))


def test_batches_with_a_tensor_of_another_first_size_are_not_pooled():
    """word_language_model passes an LSTM's hidden state (layers, batch, hidden) with its
    sequence-first inputs: joined on the first size, 117 hidden states became one."""
    from lossdoctor.capture.sample import Batch
    from lossdoctor.checks._rebatch import pooled

    row_major = [Batch((torch.zeros(4, 3),), {}, torch.zeros(4), 4) for _ in range(2)]
    assert pooled(row_major).rows == 8
    hidden = (torch.zeros(1, 4, 5), torch.zeros(1, 4, 5))
    with_state = [Batch((torch.zeros(4, 3), hidden), {}, torch.zeros(4), 4) for _ in range(2)]
    with pytest.raises(Skip, match="one row per example"):
        pooled(with_state)


def test_a_noise_scale_below_one_row_is_no_evidence_against_the_batch(monkeypatch):
    """B_simple < 1: one row's gradient already points where all rows' do, so a smaller batch
    only takes more steps at the same lr (dev case 22030, a hand-written L2 penalty, was blamed
    first on its batch, "far larger than a noise scale below one row": 0.004; 25 steps an
    epoch). Not in a run whose batch is half its training set: there the batch is what keeps
    the steps few (two_batches_per_epoch dev 32003: noise scale 0.8, 24 steps, no candidate)."""
    from lossdoctor.checks import batch_size

    case = tabular_run(batch_size=500, epochs=10)  # two steps an epoch, 20 in all
    negligible = batch_size.NoiseScale(gradient_sq=1.0, trace_sigma=0.4)
    monkeypatch.setattr(batch_size, "run_noise_scale", lambda *args, **kwargs: negligible)
    assert reported(check(case))
    monkeypatch.setattr(batch_size, "FEW_STEPS_PER_EPOCH", 1)  # as if its epochs took more
    assert check(case) == []


def test_smaller_batches_that_do_no_more_than_more_epochs_of_the_users_are_not_blamed(
        monkeypatch):
    """A run still learning at its end gets further with more steps of any batch: debug_subset_
    left_in dev 20114's twin (batches of 64, 91 steps, noise scale 12) was told to use batches
    of 12, which reached 0.149 where its own batch, three times as long, reaches 0.112. Here a
    run taken as one of ordinary batches: its smaller batch beats three times the run, and not
    the user's batch trained as long as the smaller one (MORE_EPOCHS widened)."""
    from lossdoctor.checks import batch_size

    case = tabular_run(batch_size=500, epochs=10)
    monkeypatch.setattr(batch_size, "FEW_STEPS_PER_EPOCH", 1)  # as if its epochs took more
    assert reported(check(case))
    monkeypatch.setattr(batch_size, "MORE_EPOCHS", FEW_STEPS)
    assert check(case) == []


def test_a_whole_training_set_per_step_is_found_though_the_run_ends_on_a_plateau():
    """14 full-batch steps end near the constant guess, where the gradient is all but gone and
    the trained model's noise scale is above the batch: the untrained model's is below it, and
    a run this short of steps gets the steps it lacks (full_batch, dev case 13007)."""
    case = radial_run(batch_size=1200, epochs=14)
    [finding] = reported(check(case))
    evidence = finding.evidence
    assert evidence["gradient_noise_scale"] < evidence["batch_size"] == 1200
    assert evidence["suggested_batch_size"] == 14 * 1200 // FEW_STEPS
    assert finding.experiment.after < 0.9 * finding.experiment.before


def test_a_whole_training_set_per_step_is_found_when_the_budget_cuts_the_replays():
    """A costly step (a GRU on 524 rows, two_batches_per_epoch dev 60003) makes the budget cut
    every replay to a tenth: the smaller batch's replay is cut by what its own steps cost, so
    it still trains on as many rows as the run did, and the batch is found."""
    case = radial_run(batch_size=1200, epochs=14)
    case.replayer.step_fraction = 0.1
    [finding] = reported(check(case))
    assert finding.experiment.steps == FEW_STEPS  # cut to 30 steps, 1,680 rows, before
    assert finding.experiment.after < 0.9 * finding.experiment.before


def test_a_smaller_batch_costs_less_of_the_budget_per_step():
    assert cost_fraction(0.1, 56, 1200) == 1.0
    assert cost_fraction(0.1, 600, 1200) == 0.2
    assert cost_fraction(0.1, 32, 2) == 0.1  # a larger batch: the user's fraction
    assert cost_fraction(1.0, 8, 64) == 1.0


def test_a_short_run_of_small_batches_is_short_of_epochs_not_of_batch_size():
    """The fixed twin of dev case 13685 (132 steps of 64 rows, noise scale 25) learned; more
    steps of smaller batches would still lower its loss, but its batch is not what kept its
    steps few."""
    assert reported(check(tabular_run(batch_size=64, epochs=4))) == []


def memorizing_run():
    """40 rows of a random tanh teacher on 16 features, one batch of them an epoch, 30 Adam
    steps at 1e-2 of a 2x64 ReLU MLP (a debugging subset left in, trained long): the
    training loss goes to ~0, the validation loss stays near the constant guess, then rises."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(240, 16, generator=generator)
    y = torch.tanh(x @ torch.randn(16, 3, generator=generator)).sum(1).gt(0).long()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), (x[:40], y[:40]),
                  (x[40:], y[40:]), epochs=30, batch_size=64)


def test_a_run_that_fit_its_rows_has_started_whatever_its_validation_loss_says():
    """Short by its batch and its best validation loss within a quarter of the guess, but its
    training loss at ~0: its steps got it going, and what it learned does not carry over
    (overfitting's question). On 0c4a7e6 it read as barely started, and its batch was suspect
    at the user's own rate. The run that never got going on either curve still is
    (test_a_run_short_by_its_batch_that_barely_started_replays_the_batch_that_spreads_its_rows)."""
    case = memorizing_run()
    assert short_by_its_batch(case.trace)
    assert learned_share(case) <= LITTLE_LEARNED_SHARE
    assert fit_its_rows(case) and not barely_started(case)
    assert counted_finding(case, 40) is None


def test_too_few_kept_rows_for_a_batch_is_a_skip_not_an_error():
    """A language model's fixed twin crashed here: ValueError: empty range for randrange()."""
    from types import SimpleNamespace

    from lossdoctor.capture.sample import Batch
    from lossdoctor.checks._rebatch import replay_rebatched

    pool = Batch((torch.zeros(5, 2),), {}, torch.zeros(5), 5)
    with pytest.raises(Skip, match="at least 8 kept training rows"):
        replay_rebatched(SimpleNamespace(step_fraction=1.0), pool, 8, 0.1, 80, 10, 8)


def test_the_replays_rows_are_rows_passed_through_not_the_datasets_size():
    """batch_size_full_batch_mlp: 'on the same 60,000 training rows' for a dataset of 3,000
    rows trained 20 epochs read as a dataset twenty times its size."""
    from types import SimpleNamespace

    from lossdoctor.checks.batch_size import _rows_words

    said = _rows_words(SimpleNamespace(rows=60000, user_batch=3000))
    assert said == "through as many rows either way (60,000: 20 of your batches of 3,000)"


def test_a_loss_written_by_hand_still_has_the_batch_size_of_its_captured_batches():
    """A hand-written cross-entropy reports no rows (dev full_batch 80022: 2,156 rows in one
    batch, batch_size skipped): the captured batches still hold them."""
    from types import SimpleNamespace

    from lossdoctor.capture.sample import Batch
    from lossdoctor.checks._rebatch import user_batch_size

    trace = Trace()
    replayer = SimpleNamespace(train_batches=[Batch((torch.zeros(n, 2),), {}, torch.zeros(n), n)
                                              for n in (64, 64, 20)])
    assert user_batch_size(trace, replayer) == 64
    trace.setup.batch_size = 32
    assert user_batch_size(trace, replayer) == 32


def test_a_whole_training_set_per_step_is_found_when_fewer_rows_were_kept_than_one_batch():
    """A full batch of more rows (or bytes) than the capture keeps: the user's side of the
    replay could not be cut into one batch of 1,200 from 800 kept rows, and the check skipped
    (full_batch, "unexplained" on test 710015). The user's steps are replayed on all kept rows."""
    case = radial_run(batch_size=1200, epochs=14)
    replayer = case.replayer
    replayer.train_batches = [batch_rows(pooled(replayer.train_batches), range(800))]
    [finding] = reported(check(case))
    assert finding.evidence["batch_size"] == 1200
    assert finding.experiment.after < 0.9 * finding.experiment.before


def train_only_radial_run(batch_size, epochs, seed=0):
    """radial_run's task and model trained with no validation pass (a script that only prints
    its training loss)."""
    z, y, model, optimizer = radial_task(1200, seed)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(z, y), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))

    def train():
        for _ in range(epochs):
            for x_batch, y_batch in loader:
                optimizer.zero_grad()
                loss_fn(model(x_batch), y_batch).backward()
                optimizer.step()

    return record(train)


def test_two_batches_an_epoch_with_no_validation_pass_are_found():
    """28 steps of half the training set and no validation pass (two_batches_per_epoch dev
    344006, called healthy): the run's level is its batch replayed on its rows, not the
    baseline replay of its setup, which takes REPLAY_STEPS steps, ten times the run's."""
    [finding] = reported(check(train_only_radial_run(batch_size=601, epochs=14)))
    assert finding.evidence["batch_size"] == 601
    assert finding.experiment.after < 0.9 * finding.experiment.before


def test_small_batches_with_no_validation_pass_are_not_blamed():
    assert reported(check(train_only_radial_run(batch_size=64, epochs=4))) == []


def test_a_whole_training_set_per_step_is_read_from_its_counts_when_no_replay_may_run():
    """fresh25 s10 (batches of 1,024 on 1,000 clips, 25 steps in 25 epochs): at 4 s a step the
    budget refused every replay and the check was stopped with nothing. 14 full-batch steps
    that end near the constant guess, still falling, say it from the counts alone."""
    case = radial_run(batch_size=1200, epochs=14)
    case.replayer.refusal = "not run: out of time"
    [finding] = reported(check(case))
    assert finding.confidence == COUNTED_CONFIDENCE
    assert finding.experiment is None
    assert finding.evidence["optimizer_steps"] == 14
    assert finding.evidence["learned_share_of_guess"] <= LITTLE_LEARNED_SHARE
    assert "Read from the run's counts" in finding.verdict


def test_two_steps_an_epoch_that_learned_are_not_read_from_the_counts():
    """The healthy side: two batches an epoch at a rate that learns in them (80 steps), its
    validation loss far below the constant guess; with the replays refused, nothing."""
    z, y, model, _ = radial_task(1500, 0)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    case = record(fit, model, optimizer, nn.CrossEntropyLoss(), (z[:1200], y[:1200]),
                  (z[1200:], y[1200:]), epochs=40, batch_size=601)
    assert counted_finding(case, 601) is None
    case.replayer.refusal = "not run: out of time"
    with pytest.raises(budgets.OutOfTime):
        check(case)


def teacher_sgd_run(batch_size, epochs, lr=0.005):
    """Three classes from a random tanh teacher on six features, a GELU MLP of three layers
    of 96 under SGD with momentum, its rate halved every four epochs (dev full_batch 362005's
    setup): batches of 32 learn at this rate, one full-batch step an epoch does next to
    nothing."""
    generator = torch.Generator().manual_seed(0)
    teacher_in, teacher_out = (torch.randn(6, 8, generator=generator),
                               torch.randn(8, 3, generator=generator))
    x = torch.randn(1300, 6, generator=generator)
    y = (torch.tanh(x @ teacher_in) @ teacher_out).argmax(dim=1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 96), nn.GELU(), nn.Linear(96, 96), nn.GELU(),
                          nn.Linear(96, 96), nn.GELU(), nn.Linear(96, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)

    def train():
        for _ in range(epochs):
            fit(model, optimizer, nn.CrossEntropyLoss(), (x[:1000], y[:1000]),
                (x[1000:], y[1000:]), epochs=1, batch_size=batch_size)
            scheduler.step()

    return record(train)


def test_a_whole_training_set_per_step_that_never_got_going_is_found_by_replay():
    """14 full-batch SGD steps move the validation loss by a fraction of a percent, too little
    for the trend test to call it falling, and it stays near the constant guess (dev 362005):
    the run barely started, its batch is suspect, and the smaller batch replayed at the user's
    own rate shows it (at the rate scaled down for its noise, 300 steps of it do not)."""
    case = teacher_sgd_run(batch_size=1000, epochs=14)
    assert not still_learning(case.trace) and barely_started(case)
    [finding] = reported(check(case))
    assert finding.cause is BATCH_SIZE
    assert finding.evidence["replayed_lr"] == finding.evidence["user_lr"] == 0.005
    assert finding.experiment.after < 0.9 * finding.experiment.before


def test_a_run_short_by_its_batch_that_learned_has_not_barely_started():
    """The healthy side: two batches an epoch at a rate that learns in them, far below the
    constant guess: not barely started, so its trial keeps the rate scaled for the noise."""
    z, y, model, _ = radial_task(1500, 0)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    case = record(fit, model, optimizer, nn.CrossEntropyLoss(), (z[:1200], y[:1200]),
                  (z[1200:], y[1200:]), epochs=40, batch_size=601)
    assert short_by_its_batch(case.trace) and not barely_started(case)


def barely_started_run():
    """34 RMSprop steps at 3e-4 of two batches an epoch on the radial task (dev
    two_batches_per_epoch 365004's setup): the validation loss ends 12% below the guess."""
    z, y, model, _ = radial_task(1500, 0)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=3e-4)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), (z[:1200], y[:1200]),
                  (z[1200:], y[1200:]), epochs=17, batch_size=601)


def test_a_run_short_by_its_batch_that_barely_started_replays_the_batch_that_spreads_its_rows():
    """The replay has the run's rows and REPLAY_STEPS steps: the batch that passes them all in
    those steps (34 x 601 / 300 = 68) does the most, not the smaller noise scale, whose replay
    passed a third of the rows (365004: not beyond the run), nor nothing when the noise scale
    of a model near the constant guess reads infinite (365009: unexplained). Both fail on
    929abff (20 and None)."""
    from lossdoctor.checks.batch_size import NoiseScale, _candidate

    case = barely_started_run()
    assert barely_started(case)
    assert _candidate(case, 601, NoiseScale(gradient_sq=1.0, trace_sigma=20.0)) == 68
    assert _candidate(case, 601, NoiseScale(gradient_sq=0.0, trace_sigma=1.0)) == 68
    [finding] = reported(check(case))
    assert finding.evidence["suggested_batch_size"] == 68
    assert "2 steps an epoch, so the whole run made only 34 optimizer steps" in finding.verdict


def _fit_without_validation(model, optimizer, loss_fn, train, epochs, batch_size):
    loader = DataLoader(TensorDataset(*train), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()


def test_a_run_short_by_its_batch_without_validation_that_barely_started_is_replayed():
    """No validation pass (dev two_batches_per_epoch 365021: 16 steps of 436 rows, the
    training loss 0.9% below the guess, unexplained): its last epoch's training loss against
    the constant guess on the training rows says it barely started, and the replay decides.
    On 929abff nothing is found (no validation loss to measure what it learned)."""
    z, y, model, _ = radial_task(1500, 0)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=3e-4)
    case = record(_fit_without_validation, model, optimizer, nn.CrossEntropyLoss(),
                  (z[:1200], y[:1200]), epochs=17, batch_size=601)
    assert not case.trace.validation_passes()
    assert barely_started(case)
    [finding] = reported(check(case))
    assert finding.evidence["suggested_batch_size"] == 68

    from lossdoctor.checks.batch_size import training_learned_share

    assert training_learned_share(case) <= LITTLE_LEARNED_SHARE
