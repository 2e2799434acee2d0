"""no_signal on a sequence-to-sequence model (bench/projects3 pytorch_seq2seq): target sentences
scored position by position, time-major ``[length, batch]`` or batch-first, the target fed to the
decoder too. Before, the check skipped ("needs one class label per example")."""

import torch
from torch import nn

from conftest import record
from lossdoctor.capture.sample import Batch
from lossdoctor.checks import no_signal

PAD, SOS, EOS, WORDS = 0, 1, 2, 12


def _pairs(count, seed, misaligned):
    """Sources of 3-6 words; targets are the words translated by a fixed lexicon, reversed;
    ``misaligned``: each target belongs to another source (a sort applied to one side)."""
    generator = torch.Generator().manual_seed(seed)
    lexicon = torch.randperm(WORDS, generator=torch.Generator().manual_seed(7)) + 3
    sources = [torch.randint(3, WORDS + 3, (int(torch.randint(3, 7, (1,), generator=generator)),),
                             generator=generator) for _ in range(count)]
    targets = [lexicon[s - 3].flip(0) for s in sources]
    if misaligned:
        targets = targets[1:] + targets[:1]
    return sources, targets


def _padded(sequences, length):
    grid = torch.full((length, len(sequences)), PAD)
    for column, sequence in enumerate(sequences):
        grid[: len(sequence) + 2, column] = torch.cat([torch.tensor([SOS]), sequence,
                                                       torch.tensor([EOS])])
    return grid


class Seq2Seq(nn.Module):
    """Time-major: ``src [len, batch]``, ``src_len [batch]``, ``trg [len, batch]``."""

    def __init__(self, vocab=WORDS + 3, width=32):
        super().__init__()
        self.source = nn.EmbeddingBag(vocab, width)
        self.previous = nn.Embedding(vocab, width)
        self.out = nn.Sequential(nn.ReLU(), nn.Linear(width, vocab))

    def forward(self, src, src_len, trg):
        context = self.source(src.T)  # the mean of the source's embeddings
        previous = torch.cat([trg[:1], trg[:-1]])  # step t sees the target's step t - 1
        return self.out(context.unsqueeze(0) + self.previous(previous))


def _train(model, misaligned, epochs=3):
    sources, targets = _pairs(1200, 0, misaligned)
    held_sources, held_targets = _pairs(200, 1, misaligned)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD)

    def loss_of(src_list, trg_list):
        longest = max(len(s) for s in src_list) + 2  # each batch padded to its longest
        src, trg = _padded(src_list, longest), _padded(trg_list, longest)
        src_len = torch.tensor([len(s) + 2 for s in src_list])
        output = model(src, src_len, trg)
        return loss_fn(output[1:].reshape(-1, output.shape[-1]), trg[1:].reshape(-1))

    for _ in range(epochs):
        for start in range(0, len(sources), 40):
            optimizer.zero_grad()
            loss_of(sources[start:start + 40], targets[start:start + 40]).backward()
            optimizer.step()
        with torch.no_grad():
            for start in range(0, len(held_sources), 40):
                loss_of(held_sources[start:start + 40], held_targets[start:start + 40])


def _case(misaligned):
    torch.manual_seed(0)
    return record(_train, Seq2Seq(), misaligned)


def test_targets_paired_with_other_sources_carry_no_signal():
    [finding] = no_signal.check(_case(misaligned=True))  # main: Skip, one label per example
    assert finding.cause is no_signal.NO_SIGNAL
    assert "IBM Model 1" in finding.verdict


def test_targets_translated_from_their_sources_are_quiet():
    assert no_signal.check(_case(misaligned=False)) == []


def test_the_constant_guess_leaves_out_the_padding_the_loss_ignores():
    """The loss reads ``output[1:]`` (a recorded computation, not a loss on the output as it
    comes): its ignore_index is the loss's setting all the same, and the guess is had from
    targets of several lengths (main: None, the batches' targets could not be joined)."""
    case = _case(misaligned=False)
    assert case.trace.setup.loss_kwargs["ignore_index"] == PAD
    guess = case.constant_guess_loss("validation")
    labels = torch.cat([b.target.reshape(-1) for b in case.replayer.validation_batches])
    labels = labels[labels != PAD]
    frequencies = torch.bincount(labels).float() / len(labels)
    entropy = -(frequencies[frequencies > 0] * frequencies[frequencies > 0].log()).sum()
    assert guess is not None and abs(guess - float(entropy)) < 0.05


def test_a_batch_first_pair_is_read_too_and_the_decoder_input_left_out():
    from lossdoctor.checks._sequence_pairs import _pairs_of

    sources, targets = _pairs(6, 0, False)
    src, trg = _padded(sources, 8).T, _padded(targets, 8).T  # [batch, len]
    batch = Batch((src, trg), {}, trg[:, 1:].reshape(-1), 6)
    (tokens, lengths), labels = _pairs_of(batch, PAD)
    assert labels.shape == (6, 7) and (labels == trg[:, 1:].numpy()).all()
    assert lengths.tolist() == [len(set(row)) for row in src.tolist()]  # the target left out


def test_a_layout_in_doubt_is_not_guessed():
    """Time-major sources and targets of 8 steps for 8 sequences, no lengths tensor, no
    decoder input: either axis could be the sequences'."""
    from lossdoctor.checks._sequence_pairs import _pairs_of

    sources, targets = _pairs(8, 0, False)
    src, trg = _padded(sources, 8), _padded(targets, 8)
    assert _pairs_of(Batch((src,), {}, trg[1:].reshape(-1), 8), PAD) is None
    (_, lengths), labels = _pairs_of(Batch((src, trg), {}, trg[1:].reshape(-1), 8), PAD)
    assert (labels == trg[1:].T.numpy()).all()  # the decoder's input settles it
