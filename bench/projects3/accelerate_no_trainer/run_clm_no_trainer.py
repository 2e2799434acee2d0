"""Training a causal language model without the Trainer, in the manner of transformers'
examples/pytorch/language-modeling/run_clm_no_trainer.py (accelerate's loop, model(**batch)
returning outputs.loss, get_scheduler with warmup, gradient accumulation, perplexity)."""

import argparse
import math
import random

import numpy as np
import torch
from torch.utils.data import DataLoader

from accelerator_lite import Accelerator
from data_utils import LMDataset, WordTokenizer, default_data_collator, group_texts, \
    load_raw_datasets
from modeling_tiny_gpt2 import GPT2Config, GPT2LMHeadModel
from optimization import get_scheduler


def parse_args():
    parser = argparse.ArgumentParser(description="Train a causal LM from scratch")
    parser.add_argument("--config_overrides", type=str, default=None,
                        help="e.g. n_embd=64,resid_pdrop=0.2")
    parser.add_argument("--per_device_train_batch_size", type=int, default=16)
    parser.add_argument("--per_device_eval_batch_size", type=int, default=16)
    parser.add_argument("--learning_rate", type=float, default=3e-3)
    parser.add_argument("--weight_decay", type=float, default=0.01)
    parser.add_argument("--num_train_epochs", type=int, default=10)
    parser.add_argument("--max_train_steps", type=int, default=None)
    parser.add_argument("--gradient_accumulation_steps", type=int, default=2)
    parser.add_argument("--lr_scheduler_type", type=str, default="linear")
    parser.add_argument("--num_warmup_steps", type=int, default=20)
    parser.add_argument("--block_size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args()


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def evaluate(model, eval_dataloader, accelerator, args):
    model.eval()
    losses = []
    for step, batch in enumerate(eval_dataloader):
        with torch.no_grad():
            outputs = model(**batch)
        loss = outputs.loss
        losses.append(accelerator.gather_for_metrics(
            loss.repeat(args.per_device_eval_batch_size)))
    losses = torch.cat(losses)
    eval_loss = torch.mean(losses)
    try:
        perplexity = math.exp(eval_loss)
    except OverflowError:
        perplexity = float("inf")
    return eval_loss, perplexity


def main():
    args = parse_args()
    accelerator = Accelerator(gradient_accumulation_steps=args.gradient_accumulation_steps)
    set_seed(args.seed)

    raw_datasets = load_raw_datasets()
    tokenizer = WordTokenizer(raw_datasets["train"] + raw_datasets["validation"])
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=args.block_size)
    if args.config_overrides is not None:
        config.update_from_string(args.config_overrides)
    model = GPT2LMHeadModel(config)

    lm_datasets = {split: LMDataset(group_texts(tokenizer(lines), args.block_size))
                   for split, lines in raw_datasets.items()}
    train_dataloader = DataLoader(lm_datasets["train"], shuffle=True,
                                  collate_fn=default_data_collator,
                                  batch_size=args.per_device_train_batch_size)
    eval_dataloader = DataLoader(lm_datasets["validation"], collate_fn=default_data_collator,
                                 batch_size=args.per_device_eval_batch_size)

    no_decay = ["bias", "ln_1.weight", "ln_2.weight", "ln_f.weight"]
    optimizer_grouped_parameters = [
        {"params": [p for n, p in model.named_parameters()
                    if not any(nd in n for nd in no_decay)],
         "weight_decay": args.weight_decay},
        {"params": [p for n, p in model.named_parameters()
                    if any(nd in n for nd in no_decay)],
         "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(optimizer_grouped_parameters, lr=args.learning_rate)

    num_update_steps_per_epoch = math.ceil(len(train_dataloader) /
                                           args.gradient_accumulation_steps)
    if args.max_train_steps is None:
        args.max_train_steps = args.num_train_epochs * num_update_steps_per_epoch
    lr_scheduler = get_scheduler(name=args.lr_scheduler_type, optimizer=optimizer,
                                 num_warmup_steps=args.num_warmup_steps,
                                 num_training_steps=args.max_train_steps)
    model, optimizer, train_dataloader, eval_dataloader, lr_scheduler = accelerator.prepare(
        model, optimizer, train_dataloader, eval_dataloader, lr_scheduler)

    completed_steps = 0
    for epoch in range(args.num_train_epochs):
        model.train()
        total_loss = 0
        for step, batch in enumerate(train_dataloader):
            with accelerator.accumulate(model):
                outputs = model(**batch)
                loss = outputs.loss
                total_loss += loss.detach().float()
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(model.parameters(), 1.0)
                    optimizer.step()
                    lr_scheduler.step()
                    optimizer.zero_grad()
            if accelerator.sync_gradients:
                completed_steps += 1
            if completed_steps >= args.max_train_steps:
                break
        eval_loss, perplexity = evaluate(model, eval_dataloader, accelerator, args)
        accelerator.print(f"epoch {epoch}: perplexity: {perplexity:.3f} eval_loss: "
                          f"{eval_loss:.4f} train_loss: {total_loss.item() / len(train_dataloader):.4f}")


if __name__ == "__main__":
    main()
