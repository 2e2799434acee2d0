"""data_pipeline's reading of a language model's batches laid along the wrong axis
(checks/_stream_axis.py): batchify as data.view(-1, bsz), not data.view(bsz, -1).t()."""

import torch
from torch import nn

from conftest import record
from lossdoctor.checks import _stream_axis, data_pipeline, no_signal
from lossdoctor.checks.data_pipeline import DATA_PIPELINE
from lossdoctor.checks.no_signal import NO_SIGNAL

VOCAB, BSZ, BPTT = 30, 12, 16


def _text(tokens: int, seed: int, markov: bool) -> torch.Tensor:
    """A first-order Markov chain over VOCAB tokens (peaked transitions), or tokens drawn
    independently (a text with no next-token structure)."""
    generator = torch.Generator().manual_seed(seed)
    if not markov:
        return torch.randint(VOCAB, (tokens,), generator=generator)
    transitions = torch.softmax(torch.randn(VOCAB, VOCAB, generator=generator) * 3, 1)
    first = torch.randint(VOCAB, (1,), generator=generator)
    text = [int(first)]
    for _ in range(tokens - 1):
        text.append(int(torch.multinomial(transitions[text[-1]], 1, generator=generator)))
    return torch.tensor(text)


def _batchify(data: torch.Tensor, bsz: int, transposed: bool) -> torch.Tensor:
    data = data[: len(data) // bsz * bsz]
    return data.view(bsz, -1).t().contiguous() if transposed else data.view(-1, bsz)


def _language_model_loop(transposed=True, markov=True, seed=0, epochs=2):
    torch.manual_seed(seed)
    train = _batchify(_text(6000, seed, markov), BSZ, transposed)
    validation = _batchify(_text(1500, seed + 1000, markov), BSZ, transposed)
    model = nn.Sequential(nn.Embedding(VOCAB, 32), nn.Linear(32, VOCAB), nn.Flatten(0, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        for data, learn in ((train, True), (validation, False)):
            model.train(learn)
            for i in range(0, len(data) - 1, BPTT):
                source = data[i:i + BPTT]
                target = data[i + 1:i + 1 + len(source)].reshape(-1)
                source = source[: len(target) // BSZ]
                with torch.set_grad_enabled(learn):
                    loss = loss_fn(model(source), target)
                if learn:
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()


def _case(**kwargs):
    return record(_language_model_loop, **kwargs)


def _pipeline(case):
    return [f for f in data_pipeline.check(case) if f.cause is DATA_PIPELINE]


def test_a_stream_batched_without_its_transpose_is_a_pipeline_fault():
    case = _case(transposed=False)
    [finding] = _pipeline(case)
    assert finding.evidence["across_batch_p_value"] < 0.05
    assert finding.evidence["across_batch_loss"] < finding.evidence["along_time_loss"]
    assert "data.view(-1, batch_size)" in finding.verdict
    assert any(f.cause is NO_SIGNAL for f in no_signal.check(case))  # explained, not hidden


def test_a_stream_batched_with_its_transpose_is_quiet():
    case = _case(transposed=True)
    assert not _pipeline(case)
    assert _stream_axis.shifted_targets(case.replayer.train_batches)


def test_a_text_without_next_token_structure_stays_no_signal():
    case = _case(transposed=False, markov=False)
    assert not _pipeline(case)
    assert any(f.cause is NO_SIGNAL for f in no_signal.check(case))
