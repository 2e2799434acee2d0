#!/usr/bin/env python3
"""ImageNet-style training script in the manner of pytorch-image-models' train.py: a model from
the registry (create_model, reset_classifier to fine-tune to this dataset's classes), an
optimizer and scheduler factory, label smoothing, model EMA, AverageMeter, validate()."""

import argparse
import time
from collections import OrderedDict

import torch
import torch.nn as nn

from timm_lite.data import create_dataset, create_loader
from timm_lite.loss import LabelSmoothingCrossEntropy
from timm_lite.models import create_model
from timm_lite.optim import create_optimizer_v2
from timm_lite.scheduler import create_scheduler_v2
from timm_lite.utils import AverageMeter, ModelEmaV2, accuracy

parser = argparse.ArgumentParser(description="PyTorch ImageNet Training")
parser.add_argument("--data-dir", default="data/textures")
parser.add_argument("--dataset", default="folder")
parser.add_argument("--model", default="resnet_tiny")
parser.add_argument("--pretrained", action="store_true")
parser.add_argument("--num-classes", type=int, default=6)
parser.add_argument("-b", "--batch-size", type=int, default=32)
parser.add_argument("--opt", default="sgd")
parser.add_argument("--lr", type=float, default=0.05)
parser.add_argument("--momentum", type=float, default=0.9)
parser.add_argument("--weight-decay", type=float, default=2e-5)
parser.add_argument("--sched", default="cosine")
parser.add_argument("--sched-on-updates", action="store_true")
parser.add_argument("--epochs", type=int, default=6)
parser.add_argument("--decay-epochs", type=float, default=3)
parser.add_argument("--decay-rate", type=float, default=0.1)
parser.add_argument("--warmup-epochs", type=int, default=1)
parser.add_argument("--warmup-lr", type=float, default=1e-3)
parser.add_argument("--min-lr", type=float, default=0.0)
parser.add_argument("--smoothing", type=float, default=0.1)
parser.add_argument("--drop", type=float, default=0.0)
parser.add_argument("--model-ema", action="store_true", default=True)
parser.add_argument("--no-model-ema", dest="model_ema", action="store_false")
parser.add_argument("--model-ema-decay", type=float, default=0.95)
parser.add_argument("--log-interval", type=int, default=10)
parser.add_argument("--seed", type=int, default=42)


def train_one_epoch(epoch, model, loader, optimizer, loss_fn, args, lr_scheduler=None,
                    model_ema=None):
    batch_time_m, losses_m = AverageMeter(), AverageMeter()
    model.train()
    end = time.time()
    num_updates = epoch * len(loader)
    for batch_idx, (input, target) in enumerate(loader):
        output = model(input)
        loss = loss_fn(output, target)
        losses_m.update(loss.item(), input.size(0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if model_ema is not None:
            model_ema.update(model)
        num_updates += 1
        batch_time_m.update(time.time() - end)
        if lr_scheduler is not None:
            lr_scheduler.step_update(num_updates=num_updates)
        if batch_idx % args.log_interval == 0:
            lr = optimizer.param_groups[0]["lr"]
            print(f"Train: {epoch} [{batch_idx:>4d}/{len(loader)}]  Loss: {losses_m.val:#.3g} "
                  f"({losses_m.avg:#.3g})  LR: {lr:.3e}", flush=True)
        end = time.time()
    return OrderedDict([("loss", losses_m.avg)])


def validate(model, loader, loss_fn, args, log_suffix=""):
    losses_m, top1_m = AverageMeter(), AverageMeter()
    model.eval()
    with torch.no_grad():
        for input, target in loader:
            output = model(input)
            loss = loss_fn(output, target)
            acc1 = accuracy(output, target, topk=(1,))[0]
            losses_m.update(loss.item(), input.size(0))
            top1_m.update(acc1.item(), output.size(0))
    print(f"Test{log_suffix}: Loss: {losses_m.avg:>6.3f}  Acc@1: {top1_m.avg:>7.3f}", flush=True)
    return OrderedDict([("loss", losses_m.avg), ("top1", top1_m.avg)])


def main():
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    model = create_model(args.model, pretrained=args.pretrained, drop_rate=args.drop)
    if args.num_classes != model.num_classes:
        model.reset_classifier(args.num_classes)
    print(f"Model {args.model} created, param count: "
          f"{sum(p.numel() for p in model.parameters())}")
    optimizer = create_optimizer_v2(model, opt=args.opt, lr=args.lr,
                                    weight_decay=args.weight_decay, momentum=args.momentum)
    model_ema = ModelEmaV2(model, decay=args.model_ema_decay) if args.model_ema else None

    dataset_train = create_dataset(args.dataset, root=args.data_dir, split="train",
                                   num_classes=args.num_classes)
    dataset_eval = create_dataset(args.dataset, root=args.data_dir, split="validation",
                                  num_classes=args.num_classes)
    loader_train = create_loader(dataset_train, batch_size=args.batch_size, is_training=True,
                                 seed=args.seed)
    loader_eval = create_loader(dataset_eval, batch_size=args.batch_size, is_training=False)

    lr_scheduler, num_epochs = create_scheduler_v2(
        optimizer, sched=args.sched, num_epochs=args.epochs, decay_epochs=args.decay_epochs,
        decay_rate=args.decay_rate, min_lr=args.min_lr, warmup_lr=args.warmup_lr,
        warmup_epochs=args.warmup_epochs, sched_on_updates=args.sched_on_updates,
        updates_per_epoch=len(loader_train))
    train_loss_fn = LabelSmoothingCrossEntropy(smoothing=args.smoothing) if args.smoothing \
        else nn.CrossEntropyLoss()
    validate_loss_fn = nn.CrossEntropyLoss()

    best_metric = None
    for epoch in range(num_epochs):
        train_metrics = train_one_epoch(epoch, model, loader_train, optimizer, train_loss_fn, args,
                                        lr_scheduler=lr_scheduler, model_ema=model_ema)
        eval_metrics = validate(model, loader_eval, validate_loss_fn, args)
        if model_ema is not None:
            eval_metrics = validate(model_ema.module, loader_eval, validate_loss_fn, args,
                                    log_suffix=" (EMA)")
        lr_scheduler.step(epoch + 1, eval_metrics["top1"])
        if best_metric is None or eval_metrics["top1"] > best_metric:
            best_metric = eval_metrics["top1"]
        print(f"epoch {epoch}: train_loss {train_metrics['loss']:.4f} "
              f"eval_loss {eval_metrics['loss']:.4f} top1 {eval_metrics['top1']:.2f}")
    print(f"*** Best metric: {best_metric}")


if __name__ == "__main__":
    main()
