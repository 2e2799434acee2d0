"""A training step of many small calls, stepping two optimizers over two modules: the PyTorch
seq2seq tutorial's loop (an encoder GRU called once a source token, a decoder GRU once a target
token, ``loss += criterion(...)`` a token, an optimizer each), and an encoder MLP and a decoder
MLP with an optimizer each. Both modules train: frozen_params stays quiet, and speaks when one
optimizer is never stepped. The summed loss calls are training losses (not a validation pass
at every step), and the live monitor judges once a validation pass."""

import random

import torch
from torch import nn

from conftest import calls_in_lossdoctor, record
from lossdoctor.capture import Recorder, watching
from lossdoctor.checks.training_loop import FROZEN_PARAMS, check
from lossdoctor.monitor import Monitor

VOCAB, HIDDEN, SOS, EOS = 12, 8, 0, 1


class _Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding, self.gru = nn.Embedding(VOCAB, HIDDEN), nn.GRU(HIDDEN, HIDDEN)

    def forward(self, token, hidden):
        return self.gru(self.embedding(token).view(1, 1, -1), hidden)


class _Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding, self.gru = nn.Embedding(VOCAB, HIDDEN), nn.GRU(HIDDEN, HIDDEN)
        self.out = nn.Linear(HIDDEN, VOCAB)

    def forward(self, token, hidden):
        output, hidden = self.gru(torch.relu(self.embedding(token).view(1, 1, -1)), hidden)
        return torch.log_softmax(self.out(output[0]), dim=1), hidden


def _pairs(count, seed):
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        body = [rng.randrange(2, VOCAB) for _ in range(5)]
        pairs.append((torch.tensor(body + [EOS]).view(-1, 1),
                      torch.tensor(body[-2:] + [EOS]).view(-1, 1)))
    return pairs


def _loss_of_pair(encoder, decoder, source, target, criterion):
    hidden = torch.zeros(1, 1, HIDDEN)
    for token in source:
        _, hidden = encoder(token, hidden)
    decoder_input, loss = torch.tensor([[SOS]]), 0
    for token in target:
        output, hidden = decoder(decoder_input, hidden)
        loss += criterion(output, token)
        decoder_input = token
    return loss


def _seq2seq(steps=40, evaluate_every=20, step_decoder=True, adam=False):
    """The tutorial's loop; its evaluation: the loss over 10 validation pairs, without
    gradients. Returns the run's function."""
    torch.manual_seed(0)
    encoder, decoder, criterion = _Encoder(), _Decoder(), nn.NLLLoss()
    kind, lr = (torch.optim.Adam, 1e-2) if adam else (torch.optim.SGD, 0.05)
    encoder_optimizer, decoder_optimizer = kind(encoder.parameters(), lr), kind(
        decoder.parameters(), lr)
    train, validation = _pairs(50, 1), _pairs(10, 2)

    def run():
        for step in range(1, steps + 1):
            encoder_optimizer.zero_grad()
            decoder_optimizer.zero_grad()
            source, target = train[step % len(train)]
            _loss_of_pair(encoder, decoder, source, target, criterion).backward()
            encoder_optimizer.step()
            if step_decoder:
                decoder_optimizer.step()
            if step % evaluate_every == 0:
                with torch.no_grad():
                    for source, target in validation:
                        _loss_of_pair(encoder, decoder, source, target, criterion).item()

    return run


def _two_mlps(epochs=3, step_decoder=True):
    torch.manual_seed(0)
    x = torch.randn(320, 6)
    y = (x[:, 0] + x[:, 1] > 0).long()
    encoder = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 8))
    decoder = nn.Sequential(nn.ReLU(), nn.Linear(8, 2))
    encoder_optimizer = torch.optim.Adam(encoder.parameters(), lr=1e-2)
    decoder_optimizer = torch.optim.Adam(decoder.parameters(), lr=1e-2)
    criterion = nn.CrossEntropyLoss()

    def run():
        for _ in range(epochs):
            for i in range(0, 256, 32):
                encoder_optimizer.zero_grad()
                decoder_optimizer.zero_grad()
                criterion(decoder(encoder(x[i:i + 32])), y[i:i + 32]).backward()
                encoder_optimizer.step()
                if step_decoder:
                    decoder_optimizer.step()
            with torch.no_grad():
                criterion(decoder(encoder(x[256:])), y[256:])

    return run


def _frozen(case):
    return [f for f in check(case) if f.cause is FROZEN_PARAMS and f.confidence >= 0.5]


def test_a_seq2seq_step_of_two_optimizers_trains_both_modules():
    """929abff: the decoder (called last) read as the model and the encoder's optimizer as its
    optimizer: frozen_params 0.9, "100% of your model's parameters are never trained"."""
    case = record(_seq2seq(adam=True))
    assert case.trace.setup.not_in_optimizer == {}
    assert case.trace.setup.optimizer_elements_outside_model == 0
    assert not _frozen(case)


def test_a_seq2seq_whose_decoder_optimizer_never_steps_is_found():
    [finding] = _frozen(record(_seq2seq(step_decoder=False)))
    assert finding.evidence["left_out_of_optimizer"] == finding.evidence["parameter_elements"]
    assert "another model" not in finding.verdict  # the encoder's tensors got gradients


def test_an_encoder_and_a_decoder_mlp_with_an_optimizer_each_are_quiet():
    assert not _frozen(record(_two_mlps()))


def test_an_encoder_and_a_decoder_mlp_whose_decoder_optimizer_never_steps_is_found():
    [finding] = _frozen(record(_two_mlps(step_decoder=False)))
    assert finding.evidence["untrained_share"] == 1.0


def test_loss_calls_added_up_over_decoder_calls_are_training_losses():
    """929abff: each step's loss calls but the last were read as evaluations (their tensors
    are gone by the backward pass): a validation pass at every step."""
    trace = record(_seq2seq(steps=40, evaluate_every=20)).trace
    passes = trace.validation_passes()
    assert [p.step for p in passes] == [20, 40]
    assert all(p.rows == 10 * 3 for p in passes)
    assert len(trace.step_losses()) == 40
    assert sum(r.calls for r in trace.train_losses()) == 40 * 3


class _CountedMonitor(Monitor):
    judged = 0

    def judge(self, recorder):
        self.judged += 1
        super().judge(recorder)


def test_the_monitor_judges_a_seq2seq_run_once_a_validation_pass():
    """929abff judged it at nearly every step (each step's misread losses told it)."""
    monitor = _CountedMonitor()
    recorder = Recorder(listener=monitor)
    with watching(recorder):
        _seq2seq(steps=60, evaluate_every=20)()
    assert monitor.judged <= 3 + 1  # the passes, and perhaps once at the first step


def test_a_seq2seq_steps_cost_does_not_grow_with_the_steps_taken():
    """lossdoctor's Python calls over 20 steps and an evaluation, after 20 steps and after 200:
    nothing done at a step or a pass reads all earlier records."""
    torch.manual_seed(0)
    encoder, decoder, criterion = _Encoder(), _Decoder(), nn.NLLLoss()
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.05) for m in (encoder, decoder)]
    train, validation = _pairs(50, 1), _pairs(10, 2)

    def steps(count):
        for step in range(count):
            for optimizer in optimizers:
                optimizer.zero_grad()
            _loss_of_pair(encoder, decoder, *train[step % 50], criterion).backward()
            for optimizer in optimizers:
                optimizer.step()
        with torch.no_grad():
            for source, target in validation:
                _loss_of_pair(encoder, decoder, source, target, criterion).item()

    recorder = Recorder(listener=Monitor())
    with watching(recorder):
        steps(20)
        early = calls_in_lossdoctor(lambda: steps(20))
        steps(200)
        late = calls_in_lossdoctor(lambda: steps(20))
    assert late < 1.2 * early


def test_a_decoder_fed_by_a_trained_encoder_is_replayed_with_it_as_one_model():
    """929abff replayed the decoder alone on encodings held fixed: a healthy run of this kind
    (written for it) was given underfit_capacity 0.77; 913d42e skipped its replays
    (capture/upstream.py); the pair is now replayed as one model on the encoder's inputs
    (capture/chained_model.py, tests/test_chained_model.py). A model whose inputs come with no
    graph is replayed alone, as before."""
    from lossdoctor.capture.chained_model import Chained

    case = record(_two_mlps())
    assert case.copies.replay_problem == ""
    assert isinstance(case.copies.initial_model, Chained)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(64, 6), torch.randint(0, 2, (64,))

    def plain():
        for _ in range(4):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()

    assert record(plain).copies.replay_problem == ""


def test_a_head_after_a_backbone_held_at_lr_0_is_still_replayed():
    """A backbone frozen by its group's rate does not train: the head's replays stand."""
    torch.manual_seed(0)
    backbone, head = nn.Linear(4, 8), nn.Linear(8, 2)
    optimizer = torch.optim.SGD([{"params": backbone.parameters(), "lr": 0.0},
                                 {"params": head.parameters(), "lr": 0.1}], lr=0.1)
    x, y = torch.randn(64, 4), torch.randint(0, 2, (64,))

    def train():
        for _ in range(6):
            optimizer.zero_grad()
            nn.functional.cross_entropy(head(torch.relu(backbone(x))), y).backward()
            optimizer.step()

    assert record(train).copies.replay_problem == ""
