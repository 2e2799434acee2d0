#!/usr/bin/env python3
"""Image classification training in the manner of timm's train.py: argparse groups, a model
factory, create_optimizer / create_scheduler, train_one_epoch with AverageMeters and per-update
scheduler steps, validate() returning an OrderedDict of metrics, best checkpoint kept."""

import argparse
import time
from collections import OrderedDict

import torch
import torch.nn as nn

from data import create_dataset, create_loader
from losses import LabelSmoothingCrossEntropy
from models import create_model
from scheduler import create_optimizer, create_scheduler

parser = argparse.ArgumentParser(description="PyTorch ImageNet Training")
group = parser.add_argument_group("Model parameters")
group.add_argument("--model", default="resnet_tiny", type=str)
group.add_argument("--num-classes", type=int, default=10)
group.add_argument("-b", "--batch-size", type=int, default=64)
group.add_argument("--drop", type=float, default=0.0)
group = parser.add_argument_group("Optimizer parameters")
group.add_argument("--opt", default="sgd", type=str)
group.add_argument("--momentum", type=float, default=0.9)
group.add_argument("--weight-decay", type=float, default=5e-4)
group = parser.add_argument_group("Learning rate schedule parameters")
group.add_argument("--lr", type=float, default=0.05)
group.add_argument("--warmup-lr", type=float, default=1e-4)
group.add_argument("--min-lr", type=float, default=1e-5)
group.add_argument("--epochs", type=int, default=12)
group.add_argument("--warmup-epochs", type=int, default=1)
group = parser.add_argument_group("Regularization parameters")
group.add_argument("--smoothing", type=float, default=0.1)
parser.add_argument("--seed", type=int, default=42)
parser.add_argument("--log-interval", type=int, default=10)


class AverageMeter:
    def __init__(self):
        self.val = self.avg = self.sum = self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count


def accuracy(output, target):
    return (output.argmax(dim=1) == target).float().mean().item() * 100


def train_one_epoch(epoch, model, loader, optimizer, loss_fn, args, lr_scheduler=None):
    losses_m = AverageMeter()
    model.train()
    num_updates = epoch * len(loader)
    for batch_idx, (input, target) in enumerate(loader):
        output = model(input)
        loss = loss_fn(output, target)
        losses_m.update(loss.item(), input.size(0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        num_updates += 1
        if lr_scheduler is not None:
            lr_scheduler.step_update(num_updates=num_updates)
        if batch_idx % args.log_interval == 0:
            lr = optimizer.param_groups[0]["lr"]
            print(f"Train: {epoch} [{batch_idx:>3d}/{len(loader)}]  Loss: {losses_m.val:.4f} "
                  f"({losses_m.avg:.4f})  LR: {lr:.3e}")
    return OrderedDict([("loss", losses_m.avg)])


def validate(model, loader, loss_fn):
    losses_m, top1_m = AverageMeter(), AverageMeter()
    model.eval()
    with torch.no_grad():
        for input, target in loader:
            output = model(input)
            loss = loss_fn(output, target)
            losses_m.update(loss.item(), input.size(0))
            top1_m.update(accuracy(output, target), input.size(0))
    return OrderedDict([("loss", losses_m.avg), ("top1", top1_m.avg)])


def main():
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    model = create_model(args.model, num_classes=args.num_classes, drop_rate=args.drop,
                         in_chans=1)
    print(f"Model {args.model} created, param count: "
          f"{sum(p.numel() for p in model.parameters())}")
    optimizer = create_optimizer(args, model)
    lr_scheduler, num_epochs = create_scheduler(args, optimizer)

    dataset_train = create_dataset("synthetic", "train", args.num_classes)
    dataset_eval = create_dataset("synthetic", "validation", args.num_classes)
    loader_train = create_loader(dataset_train, args.batch_size, is_training=True)
    loader_eval = create_loader(dataset_eval, args.batch_size, is_training=False)

    train_loss_fn = LabelSmoothingCrossEntropy(smoothing=args.smoothing)
    validate_loss_fn = nn.CrossEntropyLoss()

    best_metric, best_epoch = None, None
    for epoch in range(num_epochs):
        start = time.time()
        train_metrics = train_one_epoch(epoch, model, loader_train, optimizer, train_loss_fn,
                                        args, lr_scheduler=lr_scheduler)
        eval_metrics = validate(model, loader_eval, validate_loss_fn)
        lr_scheduler.step(epoch + 1)
        print(f"Epoch {epoch}: train_loss {train_metrics['loss']:.4f} "
              f"eval_loss {eval_metrics['loss']:.4f} top1 {eval_metrics['top1']:.2f} "
              f"({time.time() - start:.1f}s)")
        if best_metric is None or eval_metrics["top1"] > best_metric:
            best_metric, best_epoch = eval_metrics["top1"], epoch
            torch.save(model.state_dict(), "model_best.pth.tar")
    print(f"*** Best metric: {best_metric:.2f} (epoch {best_epoch})")


if __name__ == "__main__":
    main()
