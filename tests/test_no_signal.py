import math

import numpy as np
import pytest
import torch
from torch import nn

from conftest import fit, fit_on_dicts, mlp, record
from lossdoctor.capture.copies import Copies
from lossdoctor.capture.sample import Batch
from lossdoctor.case import Case
from lossdoctor.checks import no_signal
from lossdoctor.checks._tabular import table, task_of
from lossdoctor.checks.no_signal import NO_SIGNAL
from lossdoctor.findings import Skip
from lossdoctor.losses import CLASSIFICATION, REGRESSION
from lossdoctor.trace import Trace


def _data(seed, rows=150, features=10):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, features, generator=generator)
    noise = torch.randn(rows, generator=generator)
    return x, noise, generator


def _split(x, y, train_rows=100):
    return (x[:train_rows], y[:train_rows]), (x[train_rows:], y[train_rows:])


def _binary_case(labels, seed=0, epochs=20):
    """A sigmoid-output logistic model trained with BCELoss, as in the seed scripts."""
    x, noise, generator = _data(seed)
    y = labels(x, noise, generator)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(10, 1), nn.Sigmoid(), nn.Flatten(0))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    return record(fit, model, optimizer, nn.BCELoss(), *_split(x, y), epochs=epochs,
                  batch_size=10, seed=seed)


def _regression_case(targets, seed=0):
    x, noise, generator = _data(seed)
    y = targets(x, noise, generator).unsqueeze(1)
    torch.manual_seed(seed)
    model = nn.Linear(10, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    return record(fit, model, optimizer, nn.MSELoss(), *_split(x, y), epochs=20,
                  batch_size=10, seed=seed)


def _random_labels(x, noise, generator):
    return torch.randint(0, 2, (len(x),), generator=generator).float()


def _no_signal(findings):
    return [f for f in findings if f.cause is NO_SIGNAL and f.confidence >= 0.5]


@pytest.mark.parametrize("seed", [0, 1])
def test_fires_when_binary_labels_are_random(seed):
    [finding] = _no_signal(no_signal.check(_binary_case(_random_labels, seed)))
    assert finding.evidence["p_value"] >= no_signal.ALPHA
    assert finding.evidence["constant_validation_loss"] == pytest.approx(math.log(2), abs=0.05)
    assert finding.evidence["validation_rows"] == 50
    assert finding.evidence["training_rows"] == 100
    assert "user_validation_loss" in finding.evidence
    assert "log loss" in finding.verdict and "independent of the inputs" in finding.verdict
    # example_2_unnormalized: "no normalization will make the validation loss fall" stood above
    # a normalization that took it from 50 to 0.771, still above the guess's 0.7
    assert "will bring the validation loss below that" in finding.verdict


def test_a_best_loss_that_rounds_to_the_guess_is_not_said_as_two_equal_numbers():
    from lossdoctor.checks.no_signal import _against_guess

    assert _against_guess(1.3832, 1.3849) == "was that of the constant guess (1.38)"
    assert _against_guess(0.706, 0.691) == "was 0.706 against 0.691 for the constant guess"


def test_a_best_loss_below_the_guess_within_chance_does_not_read_as_beating_it():
    """seed 1: 'was 0.674 against 0.695 for the constant guess' read as if the model beat it."""
    from lossdoctor.checks.no_signal import _against_guess

    assert _against_guess(0.674, 0.695).startswith("was 0.674, within chance of the constant")


def test_fires_when_regression_targets_are_random():
    case = _regression_case(lambda x, noise, generator: noise)
    [finding] = _no_signal(no_signal.check(case))
    assert "mean squared error" in finding.verdict
    assert finding.evidence["best_learner_validation_loss"] >= 0.9 * (
        finding.evidence["constant_validation_loss"]
    )


def test_quiet_on_learnable_binary_labels_with_only_150_rows():
    case = _binary_case(lambda x, noise, generator: (x[:, 0] + x[:, 1] + noise > 0).float())
    assert no_signal.check(case) == []


def test_quiet_on_noisy_but_learnable_regression():
    case = _regression_case(lambda x, noise, generator: x[:, 0] + x[:, 1] + 1.2 * noise)
    assert no_signal.check(case) == []


def test_quiet_on_a_healthy_multiclass_run():
    x, noise, generator = _data(3, rows=400, features=8)
    y = (x @ torch.randn(8, 3, generator=generator)).argmax(dim=1)
    torch.manual_seed(3)
    model = mlp(8, 16, 3)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    case = record(fit, model, optimizer, nn.CrossEntropyLoss(), *_split(x, y, 300), epochs=10)
    assert no_signal.check(case) == []


def test_says_so_when_only_the_validation_labels_are_misaligned():
    def shuffled_validation(x, noise, generator):
        y = (x[:, 0] + x[:, 1] > 0).float()
        y[100:] = y[100:][torch.randperm(50, generator=generator)]
        return y

    [finding] = _no_signal(no_signal.check(_binary_case(shuffled_validation, seed=2)))
    assert "misaligned" in finding.verdict
    assert finding.title == no_signal.MISALIGNED_TITLE
    assert finding.evidence["cross_validated_p_value"] < no_signal.ALPHA


def test_skips_without_validation_or_held_out_batches():
    x, noise, _ = _data(0, rows=40)
    model = nn.Linear(10, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    y = noise.unsqueeze(1)
    case = record(fit, model, optimizer, nn.MSELoss(), (x, y), (x[:0], y[:0]), epochs=1,
                  batch_size=10)  # 4 training batches: too few to hold any out
    with pytest.raises(Skip, match="validation"):
        no_signal.check(case)


def test_skips_without_targets_or_a_known_loss():
    with pytest.raises(Skip, match="loss"):
        no_signal.check(Case(Trace(), Copies()))
    trace = Trace()
    trace.setup.loss_name = "CrossEntropyLoss"
    with pytest.raises(Skip, match="validation"):
        no_signal.check(Case(trace, Copies()))


def test_tasks_follow_the_loss():
    assert task_of("BCEWithLogitsLoss") == task_of("nll_loss") == CLASSIFICATION
    assert task_of("SmoothL1Loss") == task_of("mse_loss") == REGRESSION
    assert task_of("KLDivLoss") is None


def test_table_flattens_every_input_and_reads_soft_labels_as_classes():
    images, extra = torch.randn(4, 2, 3, 3), torch.randn(4, 5)
    soft = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.0, 1.0]])
    flat = table([Batch((images,), {"extra": extra}, soft, 4)], CLASSIFICATION)
    assert flat.features.shape == (4, 2 * 3 * 3 + 5)
    assert flat.target.tolist() == [0, 1, 0, 1]


def test_a_column_divided_by_zero_reaches_the_learners_as_numbers_they_can_fit():
    """ratio_divides_by_zero (generated test case 07122): infinities read as the largest float
    made the learners' standardization NaN, and LogisticRegressionCV raised."""
    from lossdoctor.checks._contest import contest

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(400, 3, generator=generator)
    x[:, 2] = x[:, 0] / x[:, 1].round()
    y = (x[:, 0] > 0).long()
    train, validation = (table([Batch((x[rows],), {}, y[rows], 200)], CLASSIFICATION)
                         for rows in (slice(0, 200), slice(200, 400)))
    assert math.isinf(x[:, 2].abs().max())
    assert contest(train, validation, CLASSIFICATION).p_value < 0.01  # column 0 is the label


def test_gains_of_rounding_size_are_no_signal():
    """A learner whose per-row losses equal the constant's but for rounding (all a hair lower,
    with almost no spread) passed a t-test as predicting the labels (bench/fresh17 s08)."""
    from lossdoctor.checks._contest import judge

    constant = np.full(26, 6.576360933048562)
    rounding = 1e-13 * (1 + np.linspace(0, 1e-3, 26))
    learned = judge(constant, {"trees": constant - rounding}, 26)
    assert learned.p_value == 1.0
    clearly = judge(constant, {"trees": constant - 0.1 * (1 + np.linspace(0, 1, 26))}, 26)
    assert clearly.p_value < 0.01  # a real gain with the same shape still counts


def test_the_contests_run_on_a_few_rows_of_many_classes():
    """26 rows over 20 classes (one repeated batch of a character model, fresh17 s08): the
    logistic regression's stratified 3-fold search raised ValueError, and no_signal failed."""
    from lossdoctor.checks._contest import contest, cross_validated_contest

    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 4, generator=generator), torch.arange(32) % 20
    train, validation = (table([Batch((x[rows],), {}, y[rows], len(y[rows]))], CLASSIFICATION)
                         for rows in (slice(0, 26), slice(26, 32)))
    assert 0 <= cross_validated_contest(train, CLASSIFICATION).p_value <= 1
    assert 0 <= contest(train, validation, CLASSIFICATION).p_value <= 1


def test_table_refuses_multi_label_targets():
    multi_label = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    with pytest.raises(Skip, match="one class label"):
        table([Batch((torch.randn(2, 3),), {}, multi_label, 2)], CLASSIFICATION)


def _images_case(labels_from_marks, seed=0, rows=600):
    """A small CNN on 12x12 noisy images; a quarter carry a short bright mark, anywhere."""
    generator = torch.Generator().manual_seed(seed)
    marked = torch.rand(rows, generator=generator) < 0.25
    images = 0.3 * torch.randn(rows, 1, 12, 12, generator=generator)
    where = torch.randint(0, 9, (rows, 2), generator=generator).tolist()
    for image, mark, (row, col) in zip(images, marked.tolist(), where, strict=True):
        if mark:
            image[0, row, col:col + 4] += 1.0
    labels = marked.long() if labels_from_marks else torch.randint(0, 2, (rows,),
                                                                    generator=generator)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(4, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)  # too slow to learn: no help
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), *_split(images, labels, 450),
                  epochs=2)


def test_a_mark_anywhere_in_an_image_is_signal_although_no_pixel_column_predicts_it():
    assert _no_signal(no_signal.check(_images_case(labels_from_marks=True))) == []


def test_fires_on_images_with_random_labels():
    assert len(_no_signal(no_signal.check(_images_case(labels_from_marks=False)))) == 1


def test_random_kernel_features_pool_over_positions_and_refuse_flat_inputs():
    from lossdoctor.checks._random_kernels import KERNELS_PER_DILATION, random_kernel_features

    image = torch.zeros(1, 1, 16, 16)
    image[0, 0, 6, 6:10] = 1.0  # away from the zero padding, before and after the move
    moved = torch.roll(image, shifts=(4, 2), dims=(2, 3))
    features = random_kernel_features(torch.cat([image, moved]))
    assert features.shape == (2, 2 * 2 * KERNELS_PER_DILATION)
    assert features[0] == pytest.approx(features[1], abs=1e-5)
    assert random_kernel_features(torch.randn(5, 3)) is None
    assert random_kernel_features(torch.randn(5, 2, 30)).shape == (5, 3 * 2 * KERNELS_PER_DILATION)


# --- labels per position (a language model's next tokens) -----------------------------------

VOCAB, LENGTH = 12, 16


def _next_token_data(sequences, seed):
    """Crops at random places of one token stream whose next token is a fixed function of the
    current one 80% of the time (else a random token), as language models read their text:
    inputs (sequences, LENGTH), targets the same crops one token later."""
    generator = torch.Generator().manual_seed(seed)
    stream = torch.empty(20 * sequences, dtype=torch.long)
    stream[0] = 0
    follow = torch.rand(len(stream), generator=generator) < 0.8
    noise = torch.randint(VOCAB, (len(stream),), generator=generator)
    for i in range(1, len(stream)):
        stream[i] = (stream[i - 1] + 5) % VOCAB if follow[i] else noise[i]
    starts = torch.randint(len(stream) - LENGTH - 1, (sequences, 1), generator=generator)
    places = starts + torch.arange(LENGTH)
    return stream[places], stream[places + 1]


class _TinyLanguageModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed, self.head = nn.Embedding(VOCAB, 16), nn.Linear(16, VOCAB)

    def forward(self, tokens):
        return self.head(torch.relu(self.embed(tokens)))


def _language_model_case(shuffle_training_targets: bool, seed=0):
    x, y = _next_token_data(300, seed)
    if shuffle_training_targets:
        # each training input gets the targets of sequences drawn apart (a permutation of these
        # targets would keep a trace of the rule: at each position the inputs' and the
        # targets' token counts are tied by it)
        y[:200] = _next_token_data(200, seed + 100)[1]
    torch.manual_seed(seed)
    return _record_token_training(_TinyLanguageModel(), x, y, train_rows=200, epochs=5)


def _record_token_training(model, x, y, train_rows, epochs, **loss_settings):
    """Adam on the first ``train_rows`` sequences in batches of 20, the rest validated after
    each epoch, with cross-entropy over every position."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

    def loss(start):
        logits = model(x[start:start + 20])
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                           y[start:start + 20].reshape(-1), **loss_settings)

    def train():
        for _ in range(epochs):
            for start in range(0, train_rows, 20):
                optimizer.zero_grad()
                loss(start).backward()
                optimizer.step()
            with torch.no_grad():
                for start in range(train_rows, len(x), 20):
                    loss(start)

    return record(train)


@pytest.mark.parametrize("seed", [0, 1])
def test_quiet_when_the_next_token_follows_from_the_current_one(seed):
    assert no_signal.check(_language_model_case(shuffle_training_targets=False, seed=seed)) == []


@pytest.mark.parametrize("seed", [0, 1])
def test_fires_when_language_model_targets_are_shuffled(seed):
    [finding] = _no_signal(no_signal.check(_language_model_case(True, seed)))
    assert "training positions" in finding.verdict
    assert finding.evidence["p_value"] >= no_signal.ALPHA
    assert finding.evidence["training_rows"] == 200 * LENGTH
    assert finding.evidence["constant_validation_loss"] == pytest.approx(math.log(VOCAB), abs=0.1)


WORD_VOCAB, WORD_LENGTH = 10, 9


def _padded_words(count, generator):
    """Words as makemore reads names.txt: tokens 1-9, a start token 0, padded with 0 after
    the end; their targets are the next tokens, -1 (ignored by the loss) past the end. Each
    word's first letter is skewed (most start with 1 or 2) and its next letters follow from
    the one before, 80% of the time."""
    words = []
    for _ in range(count):
        length = int(torch.randint(3, WORD_LENGTH - 1, (1,), generator=generator))
        letters = [1 + int(torch.rand(1, generator=generator) < 0.3)]
        for _ in range(length - 1):
            follow = torch.rand(1, generator=generator) < 0.8
            noise = int(torch.randint(1, WORD_VOCAB, (1,), generator=generator))
            letters.append(letters[-1] % (WORD_VOCAB - 1) + 1 if follow else noise)
        words.append(torch.tensor(letters))
    return words


def _encoded(words, targets_from):
    x = torch.zeros(len(words), WORD_LENGTH, dtype=torch.long)
    y = torch.full((len(words), WORD_LENGTH), -1, dtype=torch.long)
    for row, (word, target) in enumerate(zip(words, targets_from, strict=True)):
        x[row, 1:1 + len(word)] = word
        y[row, :len(target)] = target
        y[row, len(target)] = 0  # the end of the word
    return x, y


def _padded_words_case(targets_of_other_words: bool, seed=0):
    generator = torch.Generator().manual_seed(seed)
    words = _padded_words(400, generator)
    others = [words[(i * 7 + 3) % len(words)] for i in range(len(words))]
    x, y = _encoded(words, others if targets_of_other_words else words)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Embedding(WORD_VOCAB, 16), nn.Tanh(), nn.Linear(16, WORD_VOCAB))
    return _record_token_training(model, x, y, train_rows=300, epochs=6, ignore_index=-1)


@pytest.mark.parametrize("seed", [0, 1])
def test_padded_words_whose_targets_belong_to_other_words_have_no_signal(seed):
    """Positions past a word's end (target -1, ignored by the loss) and its first letter are
    predictable from the padding and the start token alone: counted as labels, the padding
    made the learners win, and the model's gain at each position over the overall letter
    frequencies hid that no letter predicts the next (makemore with its targets joined to the
    wrong word: 'not healthy, no cause confirmed')."""
    [finding] = _no_signal(no_signal.check(_padded_words_case(True, seed)))
    assert "at each position" in finding.verdict


@pytest.mark.parametrize("seed", [0, 1])
def test_padded_words_whose_targets_are_their_own_next_letters_are_quiet(seed):
    assert no_signal.check(_padded_words_case(False, seed)) == []


def test_per_position_reads_time_first_tokens_with_flat_targets():
    from lossdoctor.checks._per_position import per_position_labels, positions

    tokens = torch.arange(12).reshape(3, 4)  # (time 3, batch 4), as an LSTM is fed
    batch = Batch((tokens,), {}, (tokens + 100).reshape(-1), 4)
    assert per_position_labels([batch])
    read = positions([batch] * 3)
    assert read.contexts.shape == (36, 3) and read.sequences == 12
    # the first sequence is batch column 0: tokens 0, 4, 8 with labels 100, 104, 108
    assert read.contexts[:3, 0].tolist() == [0, 4, 8]
    assert read.contexts[2].tolist() == [8, 4, 0]
    assert read.contexts[1, 2] == -1 and read.labels[:3].tolist() == [100, 104, 108]


def test_one_label_per_sequence_is_not_per_position():
    from lossdoctor.checks._per_position import per_position_labels

    tokens = torch.randint(5, (4, 6))
    assert not per_position_labels([Batch((tokens,), {}, torch.randint(2, (4,)), 4)])
    assert not per_position_labels([Batch((tokens.float(),), {}, tokens, 4)])


def test_table_leaves_out_the_target_a_dict_batch_carries_next_to_its_inputs():
    """inputs_replaced_by_noise with a Dataset of dicts: the model is given {"inputs": x,
    "target": y} whole, and the target read as a feature made every label "predictable"."""
    rows = {"inputs": torch.randn(4, 3), "target": torch.randn(4)}
    flat = table([Batch((rows,), {}, rows["target"].clone(), 4)], REGRESSION)
    assert flat.features.shape == (4, 3)
    autoencoder = torch.randn(4, 3)
    assert table([Batch((autoencoder,), {}, autoencoder.clone(), 4)],
                 REGRESSION).features.shape == (4, 3)


class _ReadsDictInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(10, 1)

    def forward(self, batch):
        return self.net(batch["inputs"]).squeeze(1)


def _fit_on_dicts(x, y, seed=0):
    """A training loop over a Dataset of dicts, the model given each batch whole."""
    torch.manual_seed(seed)
    fit_on_dicts(_ReadsDictInputs(), lambda m, b: nn.functional.mse_loss(m(b), b["target"]),
                 x, y, rows=10, train_batches=10, epochs=10)


@pytest.mark.parametrize("inputs_are_noise", [True, False])
def test_dict_batches_fire_on_noise_inputs_and_stay_quiet_on_real_ones(inputs_are_noise):
    x, noise, generator = _data(0)
    y = x[:, 0] + 0.3 * noise
    if inputs_are_noise:
        x = torch.randn(x.shape, generator=generator)
    findings = _no_signal(no_signal.check(record(_fit_on_dicts, x, y)))
    assert bool(findings) == inputs_are_noise


def _contest(best: float, constant: float = 0.702, p: float = 0.54):
    from lossdoctor.checks._contest import Contest

    return Contest(constant, {"linear": best}, {}, p, 100)


def test_learners_a_little_below_the_guess_are_called_chance_not_no_better():
    """example_1_capacity: "did no better (best log loss 0.696, p = 0.54)" under a guess of
    0.702 read as better."""
    said = no_signal._within_chance(_contest(0.696), "log loss")
    assert said == (" beyond chance (best log loss 0.696 against 0.702: a gap chance alone "
                    "gives, p = 0.54)")
    assert no_signal._within_chance(_contest(0.71), "log loss") == (
        " (best log loss 0.71: no gain over the constant guess beyond chance, p = 0.54)")


class _Factors(nn.Module):
    """A recommender: user and item embeddings, the rating their dot product."""

    def __init__(self, users=60, items=40, factors=4):
        super().__init__()
        self.users, self.items = nn.Embedding(users, factors), nn.Embedding(items, factors)

    def forward(self, user, item):
        return (self.users(user) * self.items(item)).sum(1)


def _ratings_of_user_item_pairs(model, optimizer, loss_fn, epochs):
    """Ratings made only of user-item interactions (no user or item effect of its own),
    trained at a rate far too low to learn them."""
    generator = torch.Generator().manual_seed(0)
    user_factors, item_factors = torch.randn(60, 4, generator=generator), torch.randn(40, 4,
                                                                                   generator=generator)
    users = torch.randint(0, 60, (3000,), generator=generator)
    items = torch.randint(0, 40, (3000,), generator=generator)
    ratings = (user_factors[users] * item_factors[items]).sum(1)
    for _ in range(epochs):
        for rows in torch.arange(2500).split(100):
            optimizer.zero_grad()
            loss_fn(model(users[rows], items[rows]), ratings[rows]).backward()
            optimizer.step()
        with torch.no_grad():
            loss_fn(model(users[2500:], items[2500:]), ratings[2500:])


def test_category_ids_alone_are_not_taken_for_inputs_without_signal():
    torch.manual_seed(0)
    model = _Factors()
    case = record(_ratings_of_user_item_pairs, model, torch.optim.SGD(model.parameters(), lr=1e-4),
                  nn.MSELoss(), epochs=3)
    with pytest.raises(Skip, match="category ids"):
        no_signal.check(case)


def test_a_table_of_over_ten_thousand_rows_with_a_class_of_one_row_is_contested():
    """Boosting stops early on a stratified split above 10,000 rows, which a class of one row
    cannot be in: no_signal and data_pipeline failed with ValueError on a dev table of rare
    classes."""
    import numpy as np

    from lossdoctor.checks._contest import CLASSIFICATION, Table, contest

    generator = np.random.default_rng(0)
    features = generator.normal(size=(12_000, 3))
    target = (features[:, 0] > 0).astype(float)
    target[0] = 2.0
    train, validation = Table(features[:10_500], target[:10_500]), Table(
        features[10_500:], target[10_500:])
    assert contest(train, validation, CLASSIFICATION).p_value < 0.05


# --- padded sentences (each batch padded to its longest) -------------------------------------

PAD, GOOD, BAD, WORDS = 0, 1, 2, 20


def _sentences(rows, seed):
    """Sentences of 4-14 word ids whose label is whether word GOOD outnumbers word BAD, in
    order of length (as batches bucketed by length come)."""
    generator = torch.Generator().manual_seed(seed)
    lengths = sorted(torch.randint(4, 15, (rows,), generator=generator).tolist())
    sentences = [torch.randint(1, WORDS, (n,), generator=generator) for n in lengths]
    labels = torch.tensor([int((s == GOOD).sum() > (s == BAD).sum()) for s in sentences])
    return sentences, labels


class _BagOfEmbeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed, self.head = nn.Embedding(WORDS, 8, padding_idx=PAD), nn.Linear(8, 2)

    def forward(self, input_ids, attention_mask):
        summed = (self.embed(input_ids) * attention_mask.unsqueeze(-1)).sum(1)
        return self.head(summed / attention_mask.sum(1, keepdim=True))


def _padded(sentences):
    ids = nn.utils.rnn.pad_sequence(sentences, batch_first=True, padding_value=PAD)
    return ids, (ids != PAD).long()


def _fit_padded(model, sentences, labels, train_rows, epochs, rows=25):
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)  # too slow to learn: no help
    starts = torch.randperm(train_rows // rows, generator=torch.Generator().manual_seed(0))
    for _ in range(epochs):
        for i in (rows * starts).tolist():
            optimizer.zero_grad()
            ids, mask = _padded(sentences[i:i + rows])
            nn.functional.cross_entropy(model(ids, mask), labels[i:i + rows]).backward()
            optimizer.step()
        with torch.no_grad():
            for i in range(train_rows, len(labels), rows):
                ids, mask = _padded(sentences[i:i + rows])
                nn.functional.cross_entropy(model(ids, mask), labels[i:i + rows])


def _sentences_case(random_labels: bool, seed=0, rows=600):
    train, validation = _sentences(450, seed), _sentences(rows - 450, seed + 2)
    sentences, labels = train[0] + validation[0], torch.cat([train[1], validation[1]])
    if random_labels:
        labels = torch.randint(0, 2, (rows,), generator=torch.Generator().manual_seed(seed + 1))
    torch.manual_seed(seed)
    return record(_fit_padded, _BagOfEmbeddings(), sentences, labels, 450, epochs=2)


def test_padded_sentences_of_different_lengths_are_read_as_token_counts():
    """glue_style (bench/projects2): each batch padded to its longest sentence gave tables of
    different widths, and no_signal skipped, leaving labels shifted in the collate function
    unexplained."""
    from lossdoctor.checks._tabular import tables

    sentences, labels = _sentences(60, seed=0)
    batches = [Batch(_padded(sentences[i:i + 20]), {}, labels[i:i + 20], 20)
               for i in range(0, 60, 20)]
    train, validation = tables(batches[:2], batches[2:], CLASSIFICATION)
    assert train.features.shape[1] == validation.features.shape[1] == WORDS + 2  # ids, mask
    assert train.features[0, GOOD] == (sentences[0] == GOOD).sum()


def test_fires_on_padded_sentences_with_random_labels():
    assert len(_no_signal(no_signal.check(_sentences_case(random_labels=True)))) == 1


def test_quiet_on_padded_sentences_whose_words_decide_the_label():
    assert _no_signal(no_signal.check(_sentences_case(random_labels=False))) == []


def test_targets_of_other_lengths_in_each_batch_are_refused_with_a_reason():
    """bench/projects2 fairseq_style: token targets padded to each batch's longest, read as
    regression targets by train_val_shift, made numpy raise instead of a Skip."""
    from lossdoctor.checks._tabular import tables

    sentences, _ = _sentences(40, seed=0)
    batches = [Batch(_padded(sentences[i:i + 20]), {}, _padded(sentences[i:i + 20])[0].float(),
                     20) for i in range(0, 40, 20)]
    with pytest.raises(Skip, match="targets of one size"):
        tables(batches, batches, REGRESSION)


# --- session 21: too few rows to learn from, orderings, copies ------------------------------


def _radial_case(train_rows, seed=0):
    """Regression on a radius (a signal every learner finds on a few hundred rows), the model
    given too small a rate to learn: only the training rows change between the cases."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(train_rows + 400, 8, generator=generator)
    y = (x[:, :3].norm(dim=1) + 0.3 * torch.randn(len(x), generator=generator)).unsqueeze(1)
    y = (y - y.mean()) / y.std()
    torch.manual_seed(seed)
    model = mlp(8, 16, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
    train, validation = (x[:train_rows], y[:train_rows]), (x[train_rows:], y[train_rows:])
    return record(fit, model, optimizer, nn.MSELoss(), train, validation, epochs=3, seed=seed)


def test_a_training_set_too_small_to_learn_from_is_not_called_no_signal():
    # dev debug_subset_left_in 313022, 313048: 31 and 38 training rows, every learner at the
    # constant guess (p = 1) though the fixed twins learn; main said no_signal 0.9
    [finding] = no_signal.check(_radial_case(train_rows=30))
    assert finding.confidence < 0.5
    assert finding.evidence["fewest_training_rows"] == 30
    assert "too few to learn from" in finding.verdict


def test_the_same_signal_on_enough_rows_is_found_by_the_learners():
    assert no_signal.check(_radial_case(train_rows=400)) == []


def test_fewest_rows_are_the_rarest_class_s():
    from lossdoctor.checks._label_signal import _fewest_rows
    from lossdoctor.checks._tabular import Table

    train = Table(np.zeros((103, 2)), np.array([0] * 100 + [1] * 3))
    assert _fewest_rows(train, CLASSIFICATION) == (3, 1)
    assert _fewest_rows(train, REGRESSION) == (103, None)
    # 38 of 100 rows of a 0/1 label drawn at random: short of 40 by sampling, not rare (the
    # article's scripts); 30 rows in all are too few whatever their classes
    balanced = Table(np.zeros((100, 2)), np.array([0] * 62 + [1] * 38))
    assert _fewest_rows(balanced, CLASSIFICATION) == (100, None)
    small = Table(np.zeros((30, 2)), np.array([0] * 16 + [1] * 14))
    assert _fewest_rows(small, CLASSIFICATION) == (14, 1)
    # 72 rows of 3 classes (dev tiny_train_set 398102): a balanced split gives each class 24,
    # short of 40 whatever the draw; d056fab read (72, None) and called the labels noise
    few_a_class = Table(np.zeros((72, 2)), np.array([0] * 25 + [1] * 24 + [2] * 23))
    assert _fewest_rows(few_a_class, CLASSIFICATION) == (23, 2)


def _radial_classes_case(train_rows, seed=1):
    """Three zones of a radius in two of thirteen columns (the generator's fault-zone story),
    the model given too small a rate to learn: only the training rows change between the
    cases."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(train_rows + 300, 13, generator=generator)
    y = torch.bucketize(x[:, 0] ** 2 + x[:, 1] ** 2 - 1.4, torch.tensor([-0.4, 1.1]))
    torch.manual_seed(seed)
    model = mlp(13, 16, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
    train, validation = (x[:train_rows], y[:train_rows]), (x[train_rows:], y[train_rows:])
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), train, validation, epochs=3,
                  seed=seed)


def test_a_few_dozen_rows_of_each_class_are_too_few_to_call_the_labels_noise():
    # dev tiny_train_set 398102 (71 rows, 3 classes): every learner at the constant guess,
    # d056fab said no_signal 0.9 above the overfitting the run shows
    [finding] = no_signal.check(_radial_classes_case(train_rows=72))
    assert finding.confidence < 0.5
    assert "too few to learn from" in finding.verdict


def test_the_same_zones_on_enough_rows_are_found_by_the_learners():
    assert no_signal.check(_radial_classes_case(train_rows=600)) == []


def test_an_ordering_of_the_rows_by_label_is_a_signal_a_loss_gain_misses():
    from lossdoctor.checks._contest import rank_p_value

    rng = np.random.default_rng(0)
    labels = np.array([0] * 190 + [1] * 10)
    ordered = np.where(labels == 1, 0.06, 0.04) + rng.normal(0, 0.005, 200)
    shuffled = rng.permutation(ordered)
    classes = np.array([0, 1])
    as_probabilities = [np.column_stack([1 - p, p]) for p in (ordered, shuffled)]
    assert rank_p_value({"a": as_probabilities[0]}, labels, CLASSIFICATION, classes) < 1e-4
    assert rank_p_value({"a": as_probabilities[1]}, labels, CLASSIFICATION, classes) > 0.05
    targets = rng.normal(size=(200, 1))
    assert rank_p_value({"a": targets + rng.normal(0, 3, (200, 1))}, targets, REGRESSION,
                        None) < 1e-3
    unrelated = np.random.default_rng(1).normal(size=(200, 1))
    assert rank_p_value({"a": unrelated}, targets, REGRESSION, None) > 0.05


def test_an_ordering_of_validation_rows_alone_is_not_the_training_labels_signal():
    from lossdoctor.checks._contest import Contest, predicts_validation

    def contest(p_value, rank_p_value):
        return Contest(0.7, {"a": 0.7}, {"a": np.zeros(5)}, p_value, 100, rank_p_value)

    assert predicts_validation(contest(0.01, 1.0), contest(1.0, 1.0))
    assert predicts_validation(contest(0.5, 1e-4), contest(0.5, 1e-4))
    # training labels shuffled against their inputs, validation labels intact: a random
    # function of the inputs orders validation rows by region (test_data_pipeline)
    assert not predicts_validation(contest(0.5, 1e-4), contest(0.5, 0.7))


def test_an_ordering_of_held_out_training_rows_alone_must_be_strong_to_count():
    """Nothing beat the constant: an ordering at p = 0.007 (the bundled shuffled-labels
    example's, labels independent of the inputs) is chance at this level, one at 1e-4 a
    signal (dev rare_classes: 5e-7)."""
    from lossdoctor.checks._contest import Contest

    def contest(rank_p_value):
        return Contest(0.7, {"a": 0.7}, {"a": np.zeros(5)}, 1.0, 100, rank_p_value)

    assert not contest(0.007).predicts
    assert contest(1e-4).predicts


def test_copies_of_rows_from_several_epochs_are_kept_once():
    from lossdoctor.checks._contest import distinct_copies
    from lossdoctor.checks._tabular import Table

    rows = np.arange(40, dtype=float).reshape(20, 2)
    copies = Table(np.vstack([rows, rows, rows]), np.tile(np.arange(20) % 2, 3))
    assert distinct_copies(copies, passes=3).rows == 20
    assert distinct_copies(copies, passes=2).rows == 60  # more repeats than passes: data
    assert distinct_copies(Table(rows, np.arange(20) % 2), passes=3).rows == 20


def test_a_loop_over_slices_counts_its_epochs_from_its_validation_passes():
    """A loop without a DataLoader has no loader starts; its epochs are the validation passes
    its steps fall between, and its captured batches repeat that often."""
    from types import SimpleNamespace

    from lossdoctor.checks._contest import passes_over_data
    from lossdoctor.trace import LossRecord, Trace

    def records(step):
        return [LossRecord(1.0, 32, "train", step)] + (
            [LossRecord(0.9, 64, "eval", step + 1)] if step % 10 == 9 else [])

    sliced = Trace(steps=30, losses=[r for step in range(30) for r in records(step)])
    assert passes_over_data(SimpleNamespace(trace=sliced)) == 3
    loader = Trace(steps=30, epoch_starts=[0, 10, 20, 30],
                   losses=[LossRecord(1.0, 32, "train", step) for step in range(30)])
    assert passes_over_data(SimpleNamespace(trace=loader)) == 4


def test_padding_is_left_out_of_token_counts():
    # fresh20 s14: one talk in batches padded to other lengths differed in the padding count
    from lossdoctor.checks._tabular import tables

    talk = torch.tensor([5, 7, 9])

    def batch(width, label):
        ids = torch.zeros(2, width, dtype=torch.long)
        ids[0, :3], ids[1, :width] = talk, torch.arange(1, width + 1)
        return Batch((ids,), {}, torch.tensor([label, 1 - label]), 2)

    train, validation = tables([batch(4, 0), batch(6, 0)], [batch(5, 1)], CLASSIFICATION)
    assert np.array_equal(train.features[0], train.features[2])  # the talk, counted alike
    assert train.features[0].sum() == 3


# --- session 35: a small split is the data there is ------------------------------------------


def _small_split_case(shuffled: bool, epochs=40, lr=1e-2, seed=0):
    """100 training rows of 4 classes (about 25 a class: a semi-supervised split, short of
    LEARNABLE_ROWS whatever the draw), the quarters of a linear score; ``shuffled`` pairs every
    row with another's label, training and validation alike (labels joined on the wrong key)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(300, 12, generator=generator)
    score = x @ torch.randn(12, generator=generator)
    y = torch.bucketize(score, score.quantile(torch.tensor([0.25, 0.5, 0.75])))
    if shuffled:
        y = y[torch.randperm(len(y), generator=generator)]
    torch.manual_seed(seed)
    model = mlp(12, 64, 4)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), *_split(x, y, train_rows=100),
                  epochs=epochs, batch_size=16, seed=seed)


@pytest.mark.slow
def test_a_small_split_whose_run_fits_training_and_gains_nothing_on_validation_has_no_signal():
    [finding] = _no_signal(no_signal.check(_small_split_case(shuffled=True)))
    assert finding.evidence["fewest_training_rows"] < finding.evidence["learnable_rows"]
    assert "learned its training rows but none of it carried over" in finding.verdict


@pytest.mark.slow
def test_the_same_small_split_with_its_own_labels_is_quiet():
    assert _no_signal(no_signal.check(_small_split_case(shuffled=False))) == []


@pytest.mark.slow
def test_a_small_split_whose_run_never_fitted_training_stays_too_few_rows():
    """The learners starved of rows and a run that learned nothing either: nothing shows
    whether the labels could be learned."""
    [finding] = no_signal.check(_small_split_case(shuffled=True, lr=1e-6, epochs=3))
    assert finding.confidence < 0.5
    assert "too few to learn from" in finding.verdict


def _curves(training_losses, training_guess):
    from types import SimpleNamespace

    trace = SimpleNamespace(step_losses=lambda: list(enumerate(training_losses)))
    return SimpleNamespace(trace=trace, constant_guess_loss=lambda split: training_guess)


def test_the_run_learned_only_its_training_rows_when_validation_stayed_at_the_guess():
    from lossdoctor.checks._label_signal import _learned_only_training

    fitted, flat = [1.6] * 10 + [0.5] * 20, [1.6] * 30
    # bench/projects8's pygcn with labels in another order: validation best 1.617, guess 1.619
    assert _learned_only_training(_curves(fitted, 1.62), (1.617, 1.619))
    assert not _learned_only_training(_curves(flat, 1.62), (1.617, 1.619))
    # a validation loss a tenth below the guess learned something that carried over
    assert not _learned_only_training(_curves(fitted, 1.62), (1.45, 1.619))
    assert not _learned_only_training(_curves(fitted, 1.62), None)


def test_a_small_split_is_one_where_even_a_balanced_split_is_short_of_learnable_rows():
    from lossdoctor.checks._label_signal import LEARNABLE_ROWS, _small_split
    from lossdoctor.checks._tabular import Table

    def classes(*counts):
        target = np.concatenate([[label] * count for label, count in enumerate(counts)])
        return Table(np.zeros((len(target), 2)), target)

    assert _small_split(classes(28, 28, 28, 28, 28), CLASSIFICATION)  # pygcn: 140 of 5
    assert not _small_split(classes(300, 10), CLASSIFICATION)  # a rare class, not a small split
    assert not _small_split(classes(LEARNABLE_ROWS, LEARNABLE_ROWS), CLASSIFICATION)
