import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import fit, mlp, record
from lossdoctor import curves
from lossdoctor.checks import overfitting
from lossdoctor.checks.overfitting import OVERFITTING, check
from lossdoctor.curves import judge_trace
from lossdoctor.findings import Skip
from lossdoctor.trace import LossRecord, Trace


def _noisy_linear(rows, seed, flip=0.2, features=10):
    """A linear rule with a fifth of the labels flipped: learnable, but easy to memorize."""
    generator = torch.Generator().manual_seed(seed)
    direction = torch.randn(features, generator=torch.Generator().manual_seed(99))
    x = torch.randn(rows, features, generator=generator)
    y = (x @ direction > 0).long()
    flipped = torch.rand(rows, generator=generator) < flip
    return x, torch.where(flipped, 1 - y, y)


def _case(model, train_rows, epochs, lr=1e-3):
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), _noisy_linear(train_rows, 1),
                  _noisy_linear(400, 2), epochs=epochs, batch_size=20)


def test_a_wide_mlp_memorizing_a_small_noisy_training_set_is_found():
    torch.manual_seed(0)
    case = _case(mlp(10, 256, 2), train_rows=120, epochs=40)
    [finding] = check(case)
    assert finding.cause is OVERFITTING
    evidence = finding.evidence
    assert evidence["final_val_loss"] > 1.2 * evidence["best_val_loss"]
    assert evidence["train_loss_final"] < 0.5 * evidence["train_loss_at_best"]
    assert evidence["val_rise_p_value"] < 0.001
    assert evidence["best_epoch"] < 20
    assert f"Stop at epoch {int(evidence['best_epoch'])}" in finding.fix
    assert finding.confidence >= 0.7


def test_a_model_still_improving_on_plenty_of_data_is_not_flagged():
    torch.manual_seed(0)
    case = _case(mlp(10, 16, 2), train_rows=2000, epochs=8, lr=3e-3)
    assert check(case) == []


def _synthetic_trace(validation, train):
    """A trace with one training step and one validation pass per epoch."""
    trace = Trace()
    for step, (train_loss, val_loss) in enumerate(zip(train, validation, strict=True)):
        trace.losses.append(LossRecord(train_loss, 32, "train", step))
        trace.losses.append(LossRecord(val_loss, 100, "eval", step + 1))
    return trace


class _Case:
    def __init__(self, trace, guess=None):
        self.trace, self.guess = trace, guess

    def constant_guess_loss(self, part):
        return self.guess


def test_a_late_uptick_within_the_noise_is_not_flagged():
    generator = torch.Generator().manual_seed(0)
    noise = 0.02 * torch.randn(30, generator=generator)
    validation = [0.5 + float(n) for n in noise]
    validation[-1] = min(validation) + 0.03  # the last epoch ticks up, about the noise's size
    train = [1.0 / (1 + e) for e in range(30)]
    assert check(_Case(_synthetic_trace(validation, train))) == []


def test_a_steady_rise_from_the_best_epoch_is_flagged_on_the_same_noise():
    generator = torch.Generator().manual_seed(0)
    noise = 0.02 * torch.randn(30, generator=generator)
    validation = [0.5 + 0.01 * max(e - 10, 0) + float(n) for e, n in enumerate(noise)]
    train = [1.0 / (1 + e) for e in range(30)]
    [finding] = check(_Case(_synthetic_trace(validation, train)))
    assert 5 <= finding.evidence["best_epoch"] <= 15


def test_a_rising_validation_loss_while_training_loss_also_rises_is_not_overfitting():
    validation = [0.5 + 0.02 * e for e in range(20)]
    train = [0.4 + 0.02 * e for e in range(20)]
    assert check(_Case(_synthetic_trace(validation, train))) == []


def test_a_late_rise_that_the_live_line_once_called_flat_is_overfitting_for_both():
    """One rule judges overfitting. On this curve the live line used to say "flat" (its rule
    left the best epoch out of the trend test) while the check said overfitting."""
    validation = [1.017, 0.957, 0.884, 0.85, 0.794, 0.751, 0.684, 0.652, 0.602, 0.566, 0.503,
                  0.523, 0.521, 0.576, 0.552, 0.6]
    trace = _synthetic_trace(validation, [1.0 / (1 + e) for e in range(len(validation))])
    [finding] = check(_Case(trace))
    assert judge_trace(trace).kind == curves.OVERFITTING
    assert judge_trace(trace).since_epoch == finding.evidence["best_epoch"] == 10


def test_a_validation_loss_that_rose_and_is_falling_again_at_the_end_is_not_overfitting():
    """A bump, not a rise that stayed: the validation loss rose from epoch 3 to 10 (a rate a
    schedule raised, a noisy stretch) and has fallen for three epochs since, by five times its
    noise; the run ends still learning, and "stop at epoch 3" would throw that away. The trend
    test from the best epoch alone still counts it a rise (p = 0.02). The same curve with its
    last three epochs still rising is overfitting, for the check and the live line alike."""
    rising = [1.001, 0.699, 0.553, 0.48, 0.498, 0.531, 0.565, 0.594, 0.617, 0.635, 0.648]
    train = [1.0 / (1 + e) for e in range(14)]
    bump = _synthetic_trace(rising + [0.62, 0.581, 0.559], train)
    assert check(_Case(bump)) == []
    assert judge_trace(bump).kind != curves.OVERFITTING
    stayed = _synthetic_trace(rising + [0.652, 0.661, 0.668], train)
    [finding] = check(_Case(stayed))
    assert finding.evidence["best_epoch"] == 3
    assert judge_trace(stayed).kind == curves.OVERFITTING


def test_a_noisy_validation_loss_whose_last_passes_fall_steadily_is_not_overfitting():
    """Its rise clears three noise widths (0.185 against 0.182) and the trend test (p = 0.005),
    and its last pass is within the noise of its peak: but its last five passes fall, one
    after another; the run ends learning again."""
    validation = [1.0, 0.72, 0.5, 0.56, 0.53, 0.6, 0.57, 0.64, 0.61, 0.72, 0.70, 0.695, 0.69,
                  0.685, 0.68]
    trace = _synthetic_trace(validation, [1.0 / (1 + e) for e in range(len(validation))])
    assert check(_Case(trace)) == []
    assert judge_trace(trace).kind != curves.OVERFITTING


def test_the_live_line_says_overfitting_exactly_when_the_check_does():
    rng = np.random.default_rng(0)
    agreed = []
    for _ in range(60):
        epochs, turn = int(rng.integers(8, 20)), int(rng.integers(2, 6))
        slope, noise = rng.uniform(-0.01, 0.03), rng.uniform(0.0, 0.03)
        validation = [0.5 + 0.5 * max(turn - e, 0) / turn + slope * max(e - turn, 0)
                      + noise * rng.standard_normal() for e in range(epochs)]
        trace = _synthetic_trace(validation, [1.0 / (1 + e) for e in range(epochs)])
        found = bool(check(_Case(trace)))
        assert found == (judge_trace(trace).kind == curves.OVERFITTING)
        agreed.append(found)
    assert 10 < sum(agreed) < 50  # both kinds of curve were tried


def test_a_run_without_enough_validation_passes_is_skipped():
    trace = _synthetic_trace([0.5, 0.6, 0.7], [0.4, 0.3, 0.2])
    with pytest.raises(Skip, match="validation passes"):
        check(_Case(trace))


def test_a_rise_over_a_near_zero_noise_is_far_above_it_not_thousands_of_times():
    from lossdoctor.checks.overfitting import _noise_ratio
    from lossdoctor.curve_stats import Rise

    def rise(noise):
        return Rise(best_x=4, best_loss=0.698, end_loss=0.82, peak_loss=0.82, p_value=1e-4,
                    noise=noise, train_at_best=0.68, train_end=0.62, train_p_value=1e-4)

    assert _noise_ratio(rise(0.122 / 12765)) == "far above"
    assert _noise_ratio(rise(0.122 / 25)) == "25 times"


@pytest.mark.parametrize("guess", [0.47, 0.3, 0.6])
def test_a_best_epoch_barely_below_the_constant_guess_is_not_the_fix(guess):
    """Best 1.37 against a constant guess of 1.39 (overfitting_cnn_few_images): 'stop at the
    best epoch' keeps a model that learned next to nothing, and the report says so. (The
    guess well beaten is 0.6: against 1.0 the rise, 0.5 -> 0.7, gives back less than half of
    what the model learned, GIVEN_BACK_SHARE.)"""
    generator = torch.Generator().manual_seed(0)
    noise = 0.02 * torch.randn(30, generator=generator)
    validation = [0.5 + 0.01 * max(e - 10, 0) + float(n) for e, n in enumerate(noise)]
    train = [1.0 / (1 + e) for e in range(30)]
    [finding] = check(_Case(_synthetic_trace(validation, train), guess))
    barely = guess < 0.5
    said = {0.47: "is barely below that of always predicting the same answer",
            0.3: "is still above that of always predicting the same answer (0.3): the model "
                 "has learned nothing"}
    assert (said.get(guess, "always predicting") in finding.verdict) is barely
    kept = {0.47: "hardly better than a constant guess", 0.3: "no better than a constant guess"}
    assert (kept.get(guess, "constant guess") in finding.fix) is barely
    assert finding.fix.startswith("Get more data") is barely
    assert finding.fix.startswith("Stop at epoch") is not barely


def test_a_model_that_fits_its_training_rows_far_better_than_new_ones_overfits():
    """No rise to test (dev 12164: 37 training rows, both curves flat at the end, training
    0.62 and validation 0.93 against a constant guess of 1.09, called healthy)."""
    epochs = range(30)
    train = [0.62 + 0.47 * math.exp(-e / 6) for e in epochs]
    validation = [0.926 + 0.16 * math.exp(-e / 6) for e in epochs]
    [finding] = check(_Case(_synthetic_trace(validation, train), guess=1.09))
    assert finding.cause.id == "overfitting" and 0.6 <= finding.confidence < 0.8
    assert 0.3 < finding.evidence["carried_over_share"] < 0.4
    assert "more training data" in finding.fix


@pytest.mark.parametrize("val_end, guess", [(0.45, 1.09), (1.07, 1.09)])
def test_a_gap_that_carries_over_or_a_model_at_the_guess_is_not_overfitting(val_end, guess):
    """A validation loss most of the way down to the training loss is a model that learned;
    one at the constant guess learned nothing for overfitting to explain."""
    epochs = range(30)
    train = [0.3 + 0.8 * math.exp(-e / 6) for e in epochs]
    validation = [val_end + 0.05 * math.exp(-e / 6) for e in epochs]
    assert check(_Case(_synthetic_trace(validation, train), guess=guess)) == []


def test_a_gap_whose_validation_loss_is_still_closing_it_is_not_overfitting():
    """A healthy run mid-course: its validation loss trails the training loss (as in every run
    that learns) but still falls steadily, over its last half by more than what is left to the
    half-way mark (the fixed twins of the held-out set: a validation loss still falling). The
    same end, reached by a curve that has flattened, is overfitting."""
    epochs = range(30)
    train = [0.3 + 0.8 * math.exp(-e / 6) for e in epochs]
    still_falling = [0.72 + 0.5 * math.exp(-e / 14) for e in epochs]  # ends at 0.785
    assert check(_Case(_synthetic_trace(still_falling, train), guess=1.09)) == []
    flattened = [0.785 + 0.3 * math.exp(-e / 3) for e in epochs]
    [finding] = check(_Case(_synthetic_trace(flattened, train), guess=1.09))
    assert finding.evidence["carried_over_share"] < 0.5


def test_a_gap_within_the_noise_of_the_curves_is_not_overfitting():
    """A training loss that ends 0.23 below a flattened validation loss, on curves whose passes
    swing by 0.05 either way: a gap within three noise widths is as likely a draw of noisy
    passes as a model that memorizes. The same curves without the swings are overfitting."""
    epochs = range(30)
    train = [0.75 + 0.35 * math.exp(-e / 6) for e in epochs]
    validation = [0.98 + 0.1 * math.exp(-e / 3) for e in epochs]
    noisy = [v + 0.05 * (-1) ** e for e, v in enumerate(validation)]
    assert check(_Case(_synthetic_trace(noisy, train), guess=1.09)) == []
    [finding] = check(_Case(_synthetic_trace(validation, train), guess=1.09))
    assert finding.evidence["carried_over_share"] < 0.5


def _late_rise(to: float) -> tuple[list[float], list[float]]:
    """Validation from 1.0 down to 0.38 at epoch 4, then a steady rise to ``to`` by epoch 15,
    the training loss falling throughout (dev 20205's fixed twin: 0.382 -> 0.424 against a
    constant guess of 1.09)."""
    down = [1.0, 0.7, 0.5, 0.42, 0.38]
    up = [0.38 + (to - 0.38) * (e + 1) / 11 for e in range(11)]
    return down + up, [1.0 / (1 + 0.3 * e) for e in range(16)]


def test_a_late_rise_that_keeps_most_of_what_the_model_learned_is_not_overfitting():
    """The rise (0.38 -> 0.43, 13% of the best loss, a steady trend far above the noise) gives
    back 7% of the way the model came from the constant guess (1.09): stopping at the best
    epoch is all it asks, a run early stopping serves, not a fault. Without a guess to measure
    that against, the rise is judged as before; and the live line agrees with the check (no
    "overfitting", no "rising" either)."""
    validation, train = _late_rise(0.43)
    trace = _synthetic_trace(validation, train)
    assert check(_Case(trace, guess=1.09)) == []
    assert judge_trace(trace, 1.09).kind not in (curves.OVERFITTING, curves.DIVERGING)
    [finding] = check(_Case(trace))
    assert finding.evidence["best_epoch"] == 4
    assert judge_trace(trace).kind == curves.OVERFITTING


def test_a_rise_that_gives_back_most_of_what_the_model_learned_is_overfitting():
    """0.38 -> 0.9 gives back 73% of the way from the guess (1.09) to the best epoch: a model
    short of data, losing what it learned (dev 22018's broken run gave back 69%)."""
    validation, train = _late_rise(0.9)
    trace = _synthetic_trace(validation, train)
    [finding] = check(_Case(trace, guess=1.09))
    assert finding.evidence["best_epoch"] == 4
    assert judge_trace(trace, 1.09).kind == curves.OVERFITTING


def _learning_curve(gain: float, train_end: float, all_best: float = 0.27):
    from lossdoctor.checks._learning_curve import LearningCurve

    return LearningCurve(half_rows=22, all_rows=45, half_best=all_best + gain,
                         all_best=all_best, noise=0.01, all_train_end=train_end)


def _flat_gap(val_end: float, train_end: float, guess: float):
    """Both curves flattened at the end, the validation loss ``val_end``, the training loss
    ``train_end``, against a constant guess of ``guess``."""
    epochs = range(30)
    train = [train_end + (guess - train_end) * math.exp(-e / 4) for e in epochs]
    validation = [val_end + (guess - val_end) * math.exp(-e / 4) for e in epochs]
    return _Case(_synthetic_trace(validation, train), guess)


def test_a_model_short_of_data_is_found_by_its_learning_curve(monkeypatch):
    """Dev 32006 (45 training rows, flat curves at the end: training 0.001, validation 0.27
    against a constant guess of 1.15): its validation loss carries over 77% of what it learned,
    no gap finding, no rise; called healthy. Replayed on half its rows, a copy reaches 0.83;
    on all of them 0.27, its training loss at 0.0001: twice the rows help, and the model
    memorizes the rows it has."""
    from lossdoctor.checks import overfitting

    case = _flat_gap(val_end=0.27, train_end=0.001, guess=1.15)
    monkeypatch.setattr(overfitting, "learning_curve",
                        lambda _: _learning_curve(gain=0.56, train_end=0.0001))
    [finding] = check(case)
    assert finding.confidence >= 0.8
    assert "short of training data" in finding.verdict
    assert finding.experiment.after < finding.experiment.before
    assert "more training data" in finding.fix


@pytest.mark.parametrize("gain, train_end", [(0.12, 0.14), (0.01, 0.14)])
def test_a_gap_with_no_shortage_of_data_behind_it_is_dismissed(monkeypatch, gain, train_end):
    """Dev 21007's fixed twin (2071 rows; training 0.03, validation 0.40 against a guess of
    0.69: 46% carried over, the gap rule's finding). Its copy on all rows ends at a training
    loss half its validation loss (it does not memorize), whether twice the rows help or change
    nothing: the finding is kept with the replay's numbers, below the bar of a report."""
    from lossdoctor.checks import overfitting

    case = _flat_gap(val_end=0.40, train_end=0.03, guess=0.69)
    monkeypatch.setattr(overfitting, "learning_curve",
                        lambda _: _learning_curve(gain, train_end, all_best=0.3))
    [finding] = check(case)
    assert finding.confidence < 0.5
    assert "not short of data" in finding.verdict
    assert finding.evidence["carried_over_share"] < 0.5
    monkeypatch.setattr(overfitting, "learning_curve",
                        lambda _: _learning_curve(0.3, 0.0001, all_best=0.3))
    assert check(case)[0].confidence >= 0.6  # the same gap, with a model short of data


def test_a_learning_curve_replay_halves_the_rows_at_the_same_batch_size():
    from lossdoctor.capture.sample import Batch
    from lossdoctor.checks._learning_curve import half_of

    def batch(rows):
        return Batch((torch.zeros(rows, 3),), {}, torch.zeros(rows), rows, list(range(rows)))

    [one] = half_of([batch(45)])
    assert one.rows == 22 and one.args[0].shape[0] == 22 and one.target.shape[0] == 22
    assert [b.rows for b in half_of([batch(20)] * 4)] == [20, 20]


@pytest.mark.parametrize("rows, epochs, short", [(40, 40, True), (2000, 4, False)])
def test_the_learning_curve_replay_tells_a_tiny_training_set_from_enough_rows(rows, epochs,
                                                                              short):
    """A learnable linear rule: 40 rows are memorized and twice the rows help (18% of the
    constant guess here); 2000 rows are not, and half of them do as well."""
    from lossdoctor.checks._learning_curve import learning_curve
    from lossdoctor.checks.overfitting import more_rows_help

    torch.manual_seed(0)
    model = mlp(10, 64, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    case = record(fit, model, optimizer, nn.CrossEntropyLoss(),
                  _noisy_linear(rows, 1, flip=0.0), _noisy_linear(400, 2, flip=0.0),
                  epochs=epochs, batch_size=20)
    assert more_rows_help(learning_curve(case), case.constant_guess_loss("validation")) is short


#: fresh17 s16's printed curves (nanoGPT on a 3 KB corpus, dropout 0): the validation loss
#: rose at each of its last 7 passes, 2.58 -> 2.91, against a constant guess of 3.25.
S16_VALIDATION = [3.330, 2.777, 2.587, 2.576, 2.584, 2.615, 2.688, 2.715, 2.757, 2.835, 2.907]
S16_TRAIN = [3.331, 2.700, 2.426, 2.341, 2.252, 2.172, 2.106, 2.051, 1.994, 1.942, 1.841]
S16_GUESS = 3.246


def test_a_rise_still_going_at_the_end_that_gave_back_a_third_is_overfitting():
    """s16 gave back 38% of its gain (its last three passes' mean against its best), under
    GIVEN_BACK_SHARE, and was called healthy; its last five passes rise one after another:
    the share is only where the run stopped (curve_stats.STILL_RISING_GIVEN_BACK_SHARE)."""
    trace = _synthetic_trace(S16_VALIDATION, S16_TRAIN)
    [finding] = check(_Case(trace, guess=S16_GUESS))
    assert finding.cause is OVERFITTING and finding.evidence["best_epoch"] == 3
    assert judge_trace(trace, S16_GUESS).kind == curves.OVERFITTING


def test_the_same_rise_levelled_off_at_the_end_is_early_stoppings_to_serve():
    """The same rise to 2.8, then level for its last passes (no trend up at the end), the
    training loss falling slowly: it gave back a third, but is no longer rising; kept at its
    best, not a fault (and half its training progress carries over: no gap either)."""
    validation = S16_VALIDATION[:8] + [2.80, 2.78, 2.81, 2.79, 2.80, 2.79]
    train = [3.331, 2.70, 2.50, 2.45, 2.44, 2.43, 2.42, 2.41, 2.40, 2.39, 2.38, 2.37, 2.36,
             2.355]
    trace = _synthetic_trace(validation, train)
    assert check(_Case(trace, guess=S16_GUESS)) == []
    assert judge_trace(trace, S16_GUESS).kind != curves.OVERFITTING


_VOCAB, _SEQ = 48, 16


def _chain_text(rows: int, seed: int) -> torch.Tensor:
    """Token sequences of a Markov chain: one of two successors of each token, else (a fifth of
    the time) any token."""
    successors = torch.randint(0, _VOCAB, (_VOCAB, 2), generator=torch.Generator().manual_seed(7))
    generator = torch.Generator().manual_seed(seed)
    ids = torch.empty(rows, _SEQ, dtype=torch.long)
    ids[:, 0] = torch.randint(0, _VOCAB, (rows,), generator=generator)
    for t in range(1, _SEQ):
        pick = successors[ids[:, t - 1], torch.randint(0, 2, (rows,), generator=generator)]
        noise = torch.randint(0, _VOCAB, (rows,), generator=generator)
        ids[:, t] = torch.where(torch.rand(rows, generator=generator) < 0.2, noise, pick)
    return ids


class _TinyLanguageModel(nn.Module):
    """Computes its own loss as the Hugging Face causal language models do: labels shifted by
    one, cross-entropy summed over the tokens and divided by their count; its output layer
    tied to the embedding, without a bias (so constant_head has no bias to fit)."""

    def __init__(self, width: int = 48):
        super().__init__()
        self.embed = nn.Embedding(_VOCAB, width)
        self.rnn = nn.GRU(width, width, batch_first=True)
        self.head = nn.Linear(width, _VOCAB, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, ids, labels):
        logits = self.head(self.rnn(self.embed(ids))[0])
        shifted = F.pad(labels, (0, 1), value=-100)[:, 1:].reshape(-1)
        loss = F.cross_entropy(logits.reshape(-1, _VOCAB), shifted, reduction="sum")
        return loss / (shifted != -100).sum()


def _train_language_model(rows: int, epochs: int) -> None:
    torch.manual_seed(0)
    model, train, validation = _TinyLanguageModel(), _chain_text(rows, 1), _chain_text(100, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(epochs):
        model.train()
        for i in range(0, rows, 16):
            optimizer.zero_grad()
            model(train[i:i + 16], train[i:i + 16]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            model(validation, validation)


def _no_learning_curve(case):
    raise Skip("the gap rule alone")


def test_a_language_model_memorizing_few_sequences_is_read_against_its_token_entropy(
        monkeypatch):
    """fresh25 s11's kind (called healthy at ba096c2): 32 training sequences, the validation
    loss best at 2.67 and 2.74 at the end (a rise of 2.5%, under PRACTICAL_RISE) while the
    training loss falls to 1.06; with no constant guess the gap was never read. Against the
    token entropy (3.73) 38% of what the model learned carries over. Its twin on 400
    sequences carries over most of it and is quiet."""
    monkeypatch.setattr(overfitting, "learning_curve", _no_learning_curve)
    torch.set_num_threads(1)
    [finding] = check(record(_train_language_model, rows=32, epochs=24))
    assert finding.cause is OVERFITTING
    assert 3.5 < finding.evidence["constant_guess_loss"] < 3.9
    assert finding.evidence["carried_over_share"] < 0.5
    assert check(record(_train_language_model, rows=400, epochs=8)) == []


def test_a_gap_whose_replay_memorizes_as_well_on_half_the_rows_stays_overfitting(monkeypatch):
    """Dev 353020 (debug_subset_left_in: 32 training rows, one batch; training 0.0025,
    validation 1.02 against a guess of 1.27, 20% carried over): its copy on all 32 rows ends
    at a training loss of 2e-13 against a validation loss of 0.92, on 16 rows 0.97, a gain
    under the bar of a fix. At ba096c2 the replay dismissed the gap finding ("not short of
    data") and data_pipeline came first alone; the copy memorizing whatever rows it is given
    is the overfitting the gap rule read, so the finding stands."""
    case = _flat_gap(val_end=1.02, train_end=0.0025, guess=1.27)
    monkeypatch.setattr(overfitting, "learning_curve",
                        lambda _: _learning_curve(0.046, 2e-13, all_best=0.92))
    [finding] = check(case)
    assert finding.confidence >= 0.6
    assert "memorizes whatever rows it is given" in finding.verdict
    assert finding.experiment is None
