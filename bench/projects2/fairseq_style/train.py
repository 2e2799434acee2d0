#!/usr/bin/env python3
"""Train a sequence-to-sequence model, in the manner of fairseq_cli/train.py: the task builds the
datasets, model and criterion from the registries; the Trainer runs train_step/valid_step;
losses are logged in base 2 per target token, as fairseq logs them."""

import random

import numpy as np
import torch

import options
from fairseq_lite import tasks
from fairseq_lite.trainer import Trainer


def train(args, trainer, task, epoch):
    itr = task.get_batch_iterator(task.dataset("train"), args.max_tokens, seed=args.seed,
                                  epoch=epoch, shuffle=True)
    logs = []
    for i, sample in enumerate(itr):
        logs.append(trainer.train_step(sample))
        if i % args.log_interval == 0:
            stats = trainer.criterion.reduce_metrics(logs[-args.log_interval:])
            print(f"| epoch {epoch:03d} | {i:4d} | loss {stats['loss']:.3f} | "
                  f"lr {trainer.get_lr():.3g} | num_updates {trainer.get_num_updates()}",
                  flush=True)
    return trainer.criterion.reduce_metrics(logs)


def validate(args, trainer, task, epoch):
    itr = task.get_batch_iterator(task.dataset("valid"), args.max_tokens, seed=args.seed,
                                  epoch=epoch, shuffle=False)
    logs = [trainer.valid_step(sample) for sample in itr]
    return trainer.criterion.reduce_metrics(logs)


def main(args):
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    task = tasks.setup_task(args)
    for split in ("train", "valid"):
        task.load_dataset(split)
    model = task.build_model(args)
    criterion = task.build_criterion(args)
    print(f"| model {args.arch}, criterion {criterion.__class__.__name__}")
    print(f"| num. model params: {sum(p.numel() for p in model.parameters())}")
    trainer = Trainer(args, task, model, criterion)
    for epoch in range(1, args.max_epoch + 1):
        train_stats = train(args, trainer, task, epoch)
        valid_stats = validate(args, trainer, task, epoch)
        print(f"| epoch {epoch:03d} | train_loss {train_stats['loss']:.3f} | "
              f"valid_loss {valid_stats['loss']:.3f} | num_updates {trainer.get_num_updates()}",
              flush=True)


def cli_main():
    parser = options.get_training_parser()
    main(parser.parse_args())


if __name__ == "__main__":
    cli_main()
