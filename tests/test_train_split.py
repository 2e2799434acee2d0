"""Evaluations of the training split (nanoGPT's estimate_loss) are told apart from validation."""

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import record
from lossdoctor.capture.train_split import (
    TRAIN_SHARE,
    _share,
    of_training_data,
    signature,
    training_hashes,
)

BLOCK, BATCH, VOCAB, EVAL_ITERS = 16, 8, 32, 4


class TinyLM(nn.Module):
    """A bigram-ish language model that, like nanoGPT's, computes its loss inside forward."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 32)
        self.head = nn.Linear(32, VOCAB)

    def forward(self, idx, targets=None):
        logits = self.head(self.embed(idx))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))


def _nanogpt_like(estimates: dict):
    """nanoGPT's loop: get_batch(split) cuts random windows from train_data or val_data;
    estimate_loss() scores both splits under no_grad every 20 iterations, from iteration 0."""
    generator = torch.Generator().manual_seed(0)
    text = torch.randint(0, VOCAB, (2500,), generator=generator)
    train_data, val_data = text[:2000], text[2000:]
    torch.manual_seed(0)
    model = TinyLM()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)

    def get_batch(split):
        data = train_data if split == "train" else val_data
        ix = torch.randint(len(data) - BLOCK - 1, (BATCH,))
        x = torch.stack([data[i:i + BLOCK] for i in ix])
        y = torch.stack([data[i + 1:i + 1 + BLOCK] for i in ix])
        return x, y

    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split in ["train", "val"]:
            losses = torch.zeros(EVAL_ITERS)
            for k in range(EVAL_ITERS):
                x, y = get_batch(split)
                _, loss = model(x, y)
                losses[k] = loss.item()
            out[split] = losses.mean().item()
        model.train()
        return out

    for iteration in range(61):
        if iteration % 20 == 0:
            estimates.append(estimate_loss())
        x, y = get_batch("train")
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def test_nanogpt_estimate_loss_train_split_is_not_validation():
    estimates: list[dict] = []
    case = record(_nanogpt_like, estimates)
    trace = case.trace
    passes = trace.validation_passes()
    assert len(passes) == len(estimates) == 4
    for seen, estimate in zip(passes, estimates, strict=True):
        assert abs(seen.loss - estimate["val"]) < 1e-5  # the val split alone, not the mean
        assert seen.batches == EVAL_ITERS
    train_evals = [r for r in trace.losses if r.phase == "train_eval"]
    assert len(train_evals) == EVAL_ITERS * len(estimates)
    assert any("training data" in note for note in trace.notes)
    kept = case.copies.validation.batches
    training = training_hashes(case.copies.train.batches)
    assert kept and not any(of_training_data(signature(b.args, b.kwargs), training)
                            for b in kept)


def _training(*tensors):
    """The training data of batches holding these inputs (no target)."""
    return training_hashes([SimpleNamespace(args=(t,), kwargs={}, target=None) for t in tensors])


def _is_training(tensor, training) -> bool:
    return of_training_data(signature((tensor,), {}), training)


def test_rows_of_the_training_data_share_their_signature_and_other_rows_do_not():
    generator = torch.Generator().manual_seed(1)
    features = torch.randn(64, 6, generator=generator)
    training = _training(features[:48])
    assert _is_training(features[:16], training)
    assert not _is_training(features[48:], training)
    text = torch.randint(0, VOCAB, (400,), generator=generator)
    windows = torch.stack([text[i:i + BLOCK] for i in range(0, 300, 5)])
    training = _training(windows)
    shifted = torch.stack([text[i + 2:i + 2 + BLOCK] for i in range(0, 200, 7)])
    assert _is_training(shifted, training)
    other = torch.randint(0, VOCAB, (8, BLOCK), generator=generator)
    assert not _is_training(other, training)


def _chain_text(length: int, generator) -> torch.Tensor:
    """Text of a source with few letters and two successors each: its 8-letter pieces come back
    in every stretch of it, its 32-letter ones hardly ever."""
    letters, text = 6, [0]
    for coin in torch.randint(0, 2, (length - 1,), generator=generator).tolist():
        text.append((2 * text[-1] + coin) % letters)
    return torch.tensor(text)


def test_held_out_text_of_a_small_source_is_not_the_training_data():
    """Short k-grams of a source of few letters come back in every split (fresh17's tiny
    corpora: every validation pass was taken for a training-split estimate); its long ones do
    not, where windows cut from the training text share them as the training batches share
    theirs with each other."""
    generator = torch.Generator().manual_seed(2)
    text = _chain_text(6000, generator)
    train, held_out = text[:5000], text[5000:]

    def windows(data, count):
        starts = torch.randint(0, len(data) - 64, (count,), generator=generator).tolist()
        return torch.stack([data[i:i + 64] for i in starts])

    training = training_hashes([SimpleNamespace(args=(windows(train, 32),), kwargs={},
                                                target=None) for _ in range(32)])
    assert training.repeat_share > 0.5
    assert _is_training(windows(train, 32), training)
    assert not _is_training(windows(held_out, 32), training)


def test_validation_images_of_whole_grey_levels_are_not_the_training_data():
    """unnormalized_cnn_raw_pixels: 8-bit grey levels stored as floats (128.0, 131.0, ...) have
    all-zero low mantissa bits; hashed as they were, their k-grams fell into so few values that
    its 400 validation images matched 2,000 training images and were called a training-split
    estimate."""
    generator = torch.Generator().manual_seed(0)

    def grey(rows):
        return (128 + 18 * torch.randn(rows, 1, 16, 16, generator=generator)).clamp(0, 255).round()

    seen = grey(64)
    training = _training(grey(2000), seen)
    assert not _is_training(grey(200), training)
    assert _is_training(seen, training)


class MatrixFactorization(nn.Module):
    def __init__(self):
        super().__init__()
        self.user, self.item = nn.Embedding(50, 8), nn.Embedding(40, 8)

    def forward(self, user, item):
        return (self.user(user) * self.item(item)).sum(-1)


def _recommender_fit():
    """A matrix-factorization recommender fed one user id and one item id per row, validated
    under no_grad on other (user, item) pairs of the same users and items (daisyrec)."""
    generator = torch.Generator().manual_seed(0)
    users = torch.randint(0, 50, (600,), generator=generator)
    items = torch.randint(0, 40, (600,), generator=generator)
    labels = (torch.rand(600, generator=generator) > 0.5).float()
    torch.manual_seed(0)
    score = MatrixFactorization()
    optimizer = torch.optim.Adam(score.parameters(), lr=0.01)
    loss_fn = nn.BCEWithLogitsLoss()

    for _ in range(3):
        for start in range(0, 500, 50):
            rows = slice(start, start + 50)
            optimizer.zero_grad()
            loss_fn(score(users[rows], items[rows]), labels[rows]).backward()
            optimizer.step()
        with torch.no_grad():
            loss_fn(score(users[500:], items[500:]), labels[500:])


def test_category_ids_shared_by_every_split_do_not_make_validation_a_training_evaluation():
    """One integer per row is a category (a user, an item): validation rows reuse the training
    ids by design, so their sketch matches and says nothing about which split they came from."""
    assert signature((torch.tensor([3, 7, 7, 1]),), {}) is None
    trace = record(_recommender_fit).trace
    assert len(trace.validation_passes()) == 3


NODES, FEATURES = 30, 4


class MessagePassing(nn.Module):
    """Node classification on a graph given as (row-normalized adjacency, node features)."""

    def __init__(self):
        super().__init__()
        self.first, self.out = nn.Linear(FEATURES, 16), nn.Linear(16, 2)

    def forward(self, adjacency, x):
        return self.out(torch.relu(self.first(adjacency @ x)))


def _graph(generator):
    """A sparse random graph: its adjacency rows are mostly zeros, so every graph's rows share
    their k-grams with every other's; its node features are its own."""
    adjacency = (torch.rand(NODES, NODES, generator=generator) < 0.1).float() + torch.eye(NODES)
    x = torch.randn(NODES, FEATURES, generator=generator)
    return adjacency / adjacency.sum(1, keepdim=True), x, (x[:, 0] > 0).long()


def _graphs_fit(score_training_graphs: bool):
    """One graph a step; validation scores other graphs under no_grad, and, when asked, the
    training graphs too (an estimate of the training loss)."""
    generator = torch.Generator().manual_seed(0)
    train = [_graph(generator) for _ in range(12)]
    validation = [_graph(generator) for _ in range(4)]
    torch.manual_seed(0)
    model = MessagePassing()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(3):
        for adjacency, x, y in train:
            optimizer.zero_grad()
            F.cross_entropy(model(adjacency, x), y).backward()
            optimizer.step()
        with torch.no_grad():
            scored = validation + (train[:4] if score_training_graphs else [])
            for adjacency, x, y in scored:
                F.cross_entropy(model(adjacency, x), y)


def test_an_input_alike_in_every_split_does_not_make_validation_the_training_data():
    """fresh16 s14: the validation graphs' adjacency matrices share their k-grams with the
    training graphs'; their node features do not, and decide."""
    case = record(_graphs_fit, False)
    assert len(case.trace.validation_passes()) == 3
    assert not [r for r in case.trace.losses if r.phase == "train_eval"]
    assert case.copies.validation.batches


def test_training_graphs_scored_without_gradients_are_still_the_training_data():
    case = record(_graphs_fit, True)
    train_evals = [r for r in case.trace.losses if r.phase == "train_eval"]
    assert len(train_evals) == 3 * 4
    passes = case.trace.validation_passes()
    assert len(passes) == 3 and all(p.batches == 4 for p in passes)


SMALL_VOCAB = 2  # 256 possible 8-grams: each one recurs in any text of a few thousand


def _evaluates_both_loaders(estimates: list, epochs: int = 2):
    """LLMs-from-scratch's train_model_simple: between steps, evaluate_model scores a few
    batches of the training loader and of the validation loader (a dataset of its own) of a
    text over so few words that every 8-gram of the held-out text recurs in the training text;
    training then resumes its epoch's own pass over the training loader."""
    generator = torch.Generator().manual_seed(0)
    text = torch.randint(0, SMALL_VOCAB, (3000,), generator=generator)
    windows = text[:-1].unfold(0, BLOCK, BLOCK)
    targets = text[1:].unfold(0, BLOCK, BLOCK)
    split = int(0.9 * len(windows))
    train_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(windows[:split], targets[:split]), batch_size=BATCH,
        shuffle=True, drop_last=True)
    val_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(windows[split:], targets[split:]), batch_size=BATCH)
    torch.manual_seed(0)
    model = TinyLM()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)

    def loss_of(loader):
        with torch.no_grad():
            losses = [model(x, y)[1].item() for i, (x, y) in zip(range(2), loader, strict=False)]
        return sum(losses) / len(losses)

    step = 0
    for _ in range(epochs):
        for x, y in train_loader:
            optimizer.zero_grad()
            model(x, y)[1].backward()
            optimizer.step()
            step += 1
            if step % 5 == 0:
                model.eval()
                estimates.append((loss_of(train_loader), loss_of(val_loader)))
                model.train()
    return len(train_loader)


def test_a_validation_loader_of_its_own_is_validation_though_its_words_recur_in_training():
    estimates: list = []
    case = record(_evaluates_both_loaders, estimates)
    passes = case.trace.validation_passes()
    assert [p.source for p in passes] == ["loss calls"] * len(estimates)
    for seen, (_, val) in zip(passes, estimates, strict=True):
        assert abs(seen.loss - val) < 1e-5  # the validation loader's batches, not the mean
    assert case.copies.validation.batches


def test_evaluation_passes_over_the_training_loader_are_not_epochs():
    per_epoch = []
    case = record(lambda: per_epoch.append(_evaluates_both_loaders([])))
    assert case.trace.epoch_starts == [0, per_epoch[0]]


def test_a_subset_of_the_training_set_scored_through_its_own_loader_is_the_training_data():
    """A loader over a Subset of the training dataset (a training-accuracy estimate) is another
    object of another length, yet its rows are the training data's: the content test decides."""
    generator = torch.Generator().manual_seed(0)
    text = torch.randint(0, VOCAB, (3000,), generator=generator)
    dataset = torch.utils.data.TensorDataset(text[:-1].unfold(0, BLOCK, BLOCK),
                                             text[1:].unfold(0, BLOCK, BLOCK))
    train_loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=True)
    estimate_loader = torch.utils.data.DataLoader(
        torch.utils.data.Subset(dataset, range(4 * BATCH)), batch_size=BATCH)

    def train():
        torch.manual_seed(0)
        model = TinyLM()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
        for _ in range(2):
            for x, y in train_loader:
                optimizer.zero_grad()
                model(x, y)[1].backward()
                optimizer.step()
            with torch.no_grad():
                for x, y in estimate_loader:
                    model(x, y)
    trace = record(train).trace
    assert {r.phase for r in trace.losses} == {"train", "train_eval"}


def test_the_share_found_by_binary_search_is_torch_isins():
    """_share searches the sorted training hashes (torch.isin sorted them anew at each call,
    minutes for a run validated one image at a time): the answer must stay isin's."""
    generator = torch.Generator().manual_seed(0)
    training = torch.unique(torch.randint(-2**62, 2**62, (5000,), generator=generator))
    for taken in (0, 1, 700, 2000):
        hashes = torch.cat([training[torch.randperm(len(training), generator=generator)[:taken]],
                            torch.randint(-2**62, 2**62, (2000 - taken,), generator=generator),
                            training[-1:], training[:1]])
        expected = float(torch.isin(hashes, training).float().mean())
        assert _share(hashes, training) == pytest.approx(expected)


def test_held_out_rows_of_a_few_features_of_few_values_are_not_the_training_data():
    """fresh24 s08: 14 standardized settings of 2-4 values each. Every 8 consecutive values of
    a held-out row are among the training rows' (a few thousand combinations, all seen), the
    row itself is not: whole rows decide. The training rows are still found."""
    generator = torch.Generator().manual_seed(0)
    levels = [4, 4, 2, 3, 3, 3, 3, 2, 4, 4, 2, 2, 2, 2]
    table = torch.stack([torch.randint(0, k, (4000,), generator=generator).float() / k
                         for k in levels], dim=1)
    training = _training(*table[:3000].split(500))
    assert _share(signature((table[3000:3064],), {})[0].short, training.short(0)) >= TRAIN_SHARE
    assert not _is_training(table[3000:3064], training)
    assert _is_training(table[:64], training)
    continuous = torch.randn(4000, 14, generator=generator)
    assert 0 not in _training(*continuous[:3000].split(500)).unspecific
