#!/usr/bin/env python3
"""Train a language model in the manner of fairseq_cli/train.py: `--task`, `--arch`,
`--criterion`, `--optimizer adam --lr-scheduler inverse_sqrt --warmup-updates`, an epoch loop
with `--update-freq` samples per update, validation at each epoch's end (loss in base 2)."""

import argparse
import itertools

import torch

from fairseq_lite.criterions import CRITERION_REGISTRY
from fairseq_lite.models import ARCH_CONFIG_REGISTRY, ARCH_MODEL_REGISTRY
from fairseq_lite.optim import FairseqAdam, InverseSquareRootSchedule
from fairseq_lite.tasks import LanguageModelingTask
from fairseq_lite.trainer import Trainer


def get_training_parser():
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", default="language_modeling")
    parser.add_argument("--arch", default="transformer_lm_tiny")
    parser.add_argument("--criterion", default="cross_entropy")
    parser.add_argument("--tokens-per-sample", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--update-freq", type=int, default=1)
    parser.add_argument("--max-epoch", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--warmup-updates", type=int, default=100)
    parser.add_argument("--warmup-init-lr", type=float, default=1e-7)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--clip-norm", type=float, default=0.0)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=50)
    return parser


def validate(trainer, task, epoch):
    logging_outputs = [trainer.valid_step(sample)
                       for sample in task.get_batch_iterator("valid", shuffle=False, epoch=epoch)]
    return trainer.criterion.reduce_metrics(logging_outputs)


def train(args, trainer, task, epoch):
    itr = task.get_batch_iterator("train", shuffle=True, epoch=epoch)
    grouped = iter(lambda it=iter(itr): list(itertools.islice(it, args.update_freq)), [])
    for i, samples in enumerate(grouped):
        loss, gnorm = trainer.train_step(samples)
        if i % args.log_interval == 0:
            print(f"| epoch {epoch:03d} | {i:4d} / {len(itr) // args.update_freq} "
                  f"loss {loss:.3f} | gnorm {gnorm:.3f} | lr {trainer.optimizer.get_lr():.3e} "
                  f"| num_updates {trainer.get_num_updates()}")


def main(args):
    torch.manual_seed(args.seed)
    task = LanguageModelingTask.setup_task(args)
    task.load_dataset("train")
    task.load_dataset("valid")
    ARCH_CONFIG_REGISTRY[args.arch](args)
    model = ARCH_MODEL_REGISTRY[args.arch].build_model(args, task)
    criterion = CRITERION_REGISTRY[args.criterion](task)
    print(f"| model {args.arch}, num. model params: {sum(p.numel() for p in model.parameters())}")
    optimizer = FairseqAdam(args, model.parameters())
    lr_scheduler = InverseSquareRootSchedule(args, optimizer)
    trainer = Trainer(args, task, model, criterion, optimizer, lr_scheduler)
    for epoch in range(1, args.max_epoch + 1):
        train(args, trainer, task, epoch)
        valid_loss = validate(trainer, task, epoch)
        print(f"| epoch {epoch:03d} | valid on 'valid' subset | loss {valid_loss:.3f} "
              f"| num_updates {trainer.get_num_updates()}")


if __name__ == "__main__":
    main(get_training_parser().parse_args())
