"""A small DistributedDataParallel training, as pytorch/examples' DDP tutorial does it, on gloo
and CPU: run it with `torchrun --nproc_per_node=2 tests/ddp_script.py`. Each rank trains on its
shard (DistributedSampler); the validation loss is all-reduced and rank 0 prints it.
``--input-scale 1000`` injects the bug: inputs a thousand times too large."""

import argparse

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset


def arguments():
    parser = argparse.ArgumentParser()
    parser.add_argument("--input-scale", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--exit-code", type=int, default=0)
    parser.add_argument("--keep-process-group", action="store_true",
                        help="end without destroy_process_group(), as many scripts do")
    return parser.parse_args()


def learnable_data(rows=1200, features=8):
    """Standard normal features; the label depends on the first three of them."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(rows, features, generator=generator)
    y = (x[:, 0] - x[:, 1] + 0.5 * x[:, 2] > 0).long()
    return x, y


def validation_loss(model, loader, loss_fn):
    """The mean loss over the whole validation set, summed across ranks."""
    model.eval()
    total = torch.zeros(2)
    with torch.no_grad():
        for x, y in loader:
            total += torch.stack([loss_fn(model(x), y) * len(y), torch.tensor(float(len(y)))])
    dist.all_reduce(total)
    model.train()
    return (total[0] / total[1]).item()


def main():
    options = arguments()
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    x, y = learnable_data()
    x = x * options.input_scale
    train, val = TensorDataset(x[:900], y[:900]), TensorDataset(x[900:], y[900:])
    sampler = DistributedSampler(train, shuffle=True, seed=0)
    train_loader = DataLoader(train, batch_size=32, sampler=sampler)
    val_loader = DataLoader(val, batch_size=100, sampler=DistributedSampler(val, shuffle=False))
    model = DistributedDataParallel(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(options.epochs):
        sampler.set_epoch(epoch)
        for inputs, labels in train_loader:
            optimizer.zero_grad()
            loss_fn(model(inputs), labels).backward()
            optimizer.step()
        loss = validation_loss(model, val_loader, loss_fn)
        if rank == 0:
            print(f"epoch {epoch} val_loss {loss:.4f}")
    if not options.keep_process_group:
        dist.destroy_process_group()
    raise SystemExit(options.exit_code)


if __name__ == "__main__":
    main()
