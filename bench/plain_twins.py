"""Plain PyTorch loops that train what a third-party script trains: the same model class, data,
optimizer and number of steps, in the loop a tutorial writes (``zero_grad``, loss,
``backward``, gradient clipping, ``optimizer.step()``, a validation pass now and then). What
lossdoctor reports on a twin under ``lossdoctor run`` is what it should report on the
third-party run (bench/third_party.py copies this file next to the script it stands for).

    python plain_twins.py lightning_demo [--lr LR] [--bug labels|params]
    python plain_twins.py word_language_model [--lr LR] [--bug labels|params]

``lightning_demo``: Lightning's examples/pytorch/basics/transformer.py without Lightning: the
``Transformer`` of ``lightning.pytorch.demos`` on ``data/wikitext-2.txt`` split as the example
splits it (seed 42), batches of 20, SGD lr 0.1, gradients clipped at 0.25, 120 steps with 10
validation batches every 30 (the bench's PL_TRAINER_* limits). ``word_language_model``:
pytorch/examples' ``RNNModel`` (the repo's model.py and data.py, in the working directory) as
the bench runs main.py: LSTM, 32 wide, 1 layer, dropout 0.2, 2 epochs of bptt 35, batches of
20, lr 20, clipping 0.25, hidden state carried over; ``torch.optim.SGD`` in place of main.py's
update by hand and no lr annealing. ``--bug labels`` gives every training input the targets of
another place; ``--bug params`` hands the optimizer another model's parameters.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

CLIP = 0.25


def shuffled(target: torch.Tensor) -> torch.Tensor:
    return target.reshape(-1)[torch.randperm(target.numel())].view_as(target)


def lightning_demo(lr: float, bug: str) -> None:
    from lightning.pytorch import seed_everything
    from lightning.pytorch.demos import Transformer, WikiText2
    from torch.utils.data import DataLoader, random_split

    seed_everything(42)
    dataset = WikiText2(data_dir=Path("data"), download=False)
    n = len(dataset)
    train, val, _ = random_split(dataset, [n - 4000, 2000, 2000])
    train_loader = DataLoader(train, batch_size=20, shuffle=True)
    val_loader = DataLoader(val, batch_size=20, shuffle=False)
    model = Transformer(vocab_size=dataset.vocab_size)
    trained = Transformer(vocab_size=dataset.vocab_size) if bug == "params" else model
    optimizer = torch.optim.SGD(trained.parameters(), lr=lr)
    step = 0
    while step < 120:
        for inputs, target in train_loader:
            model.train()
            optimizer.zero_grad()
            output = model(inputs, target)
            labels = shuffled(target) if bug == "labels" else target
            loss = F.nll_loss(output, labels.reshape(-1))
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            optimizer.step()
            step += 1
            if step % 30 == 0:
                validation = demo_validation(model, val_loader)
                print(f"step {step} train {loss.item():.3f} val {validation:.3f}")
            if step == 120:
                break


@torch.no_grad()
def demo_validation(model: nn.Module, loader) -> float:
    model.eval()
    losses = []
    for batch, (inputs, target) in enumerate(loader):
        if batch == 10:
            break
        losses.append(F.nll_loss(model(inputs, target), target.reshape(-1)).item())
    return sum(losses) / len(losses)


def word_language_model(lr: float, bug: str) -> None:
    from model import RNNModel

    import data

    torch.manual_seed(1111)
    corpus = data.Corpus("small-wikitext-2")
    train_data, val_data = batchify(corpus.train, 20), batchify(corpus.valid, 10)
    ntokens = len(corpus.dictionary)
    model = RNNModel("LSTM", ntokens, 32, 32, 1, 0.2)
    trained = RNNModel("LSTM", ntokens, 32, 32, 1, 0.2) if bug == "params" else model
    optimizer = torch.optim.SGD(trained.parameters(), lr=lr)
    for epoch in range(2):
        model.train()
        hidden = model.init_hidden(20)
        for i in range(0, train_data.size(0) - 1, 35):
            inputs, targets = bptt_batch(train_data, i)
            if bug == "labels":
                targets = shuffled(targets)
            hidden = tuple(h.detach() for h in hidden)
            optimizer.zero_grad()
            output, hidden = model(inputs, hidden)
            loss = F.nll_loss(output, targets)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            optimizer.step()
        validation = rnn_validation(model, val_data)
        print(f"epoch {epoch + 1} train {loss.item():.3f} val {validation:.3f}")


def batchify(tokens: torch.Tensor, rows: int) -> torch.Tensor:
    kept = tokens.size(0) // rows * rows
    return tokens[:kept].view(rows, -1).t().contiguous()


def bptt_batch(source: torch.Tensor, i: int) -> tuple[torch.Tensor, torch.Tensor]:
    length = min(35, len(source) - 1 - i)
    return source[i:i + length], source[i + 1:i + 1 + length].reshape(-1)


@torch.no_grad()
def rnn_validation(model: nn.Module, val_data: torch.Tensor) -> float:
    model.eval()
    hidden, total = model.init_hidden(10), 0.0
    for i in range(0, val_data.size(0) - 1, 35):
        inputs, targets = bptt_batch(val_data, i)
        output, hidden = model(inputs, hidden)
        total += len(inputs) * F.nll_loss(output, targets).item()
    return total / (len(val_data) - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=("lightning_demo", "word_language_model"))
    parser.add_argument("--lr", type=float)
    parser.add_argument("--bug", choices=("labels", "params"), default="")
    options = parser.parse_args()
    if options.model == "lightning_demo":
        lightning_demo(options.lr or 0.1, options.bug)
    else:
        word_language_model(options.lr or 20.0, options.bug)


if __name__ == "__main__":
    main()
