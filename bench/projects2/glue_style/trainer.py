"""A hand-rolled Trainer in the manner of transformers.Trainer: create_optimizer (AdamW, no decay
on biases and LayerNorm), create_scheduler (linear with warmup), gradient accumulation, gradient
clipping, evaluate() under model.eval() and no_grad, logging every logging_steps."""

import math
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler

from optimization import get_linear_schedule_with_warmup


@dataclass
class TrainingArguments:
    output_dir: str = "out"
    learning_rate: float = 5e-4
    weight_decay: float = 0.01
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    max_grad_norm: float = 1.0
    num_train_epochs: int = 4
    warmup_ratio: float = 0.1
    per_device_train_batch_size: int = 16
    per_device_eval_batch_size: int = 64
    gradient_accumulation_steps: int = 2
    logging_steps: int = 20
    seed: int = 42


class Trainer:
    def __init__(self, model, args, train_dataset, eval_dataset, data_collator,
                 compute_metrics=None):
        self.model = model
        self.args = args
        self.train_dataset = train_dataset
        self.eval_dataset = eval_dataset
        self.data_collator = data_collator
        self.compute_metrics = compute_metrics
        self.optimizer = None
        self.lr_scheduler = None
        self.state = {"global_step": 0, "log_history": []}

    def get_train_dataloader(self):
        generator = torch.Generator().manual_seed(self.args.seed)
        return DataLoader(self.train_dataset, batch_size=self.args.per_device_train_batch_size,
                          sampler=RandomSampler(self.train_dataset, generator=generator),
                          collate_fn=self.data_collator)

    def get_eval_dataloader(self):
        return DataLoader(self.eval_dataset, batch_size=self.args.per_device_eval_batch_size,
                          sampler=SequentialSampler(self.eval_dataset),
                          collate_fn=self.data_collator)

    def create_optimizer(self):
        no_decay = ["bias", "LayerNorm.weight", "norm1.weight", "norm2.weight"]
        params = list(self.model.named_parameters())
        groups = [
            {"params": [p for n, p in params
                        if p.requires_grad and not any(nd in n for nd in no_decay)],
             "weight_decay": self.args.weight_decay},
            {"params": [p for n, p in params
                        if p.requires_grad and any(nd in n for nd in no_decay)],
             "weight_decay": 0.0},
        ]
        self.optimizer = torch.optim.AdamW(groups, lr=self.args.learning_rate,
                                           betas=(self.args.adam_beta1, self.args.adam_beta2),
                                           eps=self.args.adam_epsilon)
        return self.optimizer

    def create_scheduler(self, num_training_steps):
        warmup = math.ceil(num_training_steps * self.args.warmup_ratio)
        self.lr_scheduler = get_linear_schedule_with_warmup(
            self.optimizer, num_warmup_steps=warmup, num_training_steps=num_training_steps)
        return self.lr_scheduler

    def compute_loss(self, model, inputs):
        outputs = model(**inputs)
        return outputs[0]

    def training_step(self, model, inputs):
        model.train()
        loss = self.compute_loss(model, inputs)
        if self.args.gradient_accumulation_steps > 1:
            loss = loss / self.args.gradient_accumulation_steps
        loss.backward()
        return loss.detach()

    def train(self):
        train_dataloader = self.get_train_dataloader()
        updates_per_epoch = max(len(train_dataloader) // self.args.gradient_accumulation_steps, 1)
        max_steps = math.ceil(self.args.num_train_epochs * updates_per_epoch)
        self.create_optimizer()
        self.create_scheduler(num_training_steps=max_steps)
        model = self.model
        model.zero_grad()
        tr_loss, logged = torch.tensor(0.0), 0
        for epoch in range(self.args.num_train_epochs):
            for step, inputs in enumerate(train_dataloader):
                tr_loss += self.training_step(model, inputs)
                if (step + 1) % self.args.gradient_accumulation_steps == 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), self.args.max_grad_norm)
                    self.optimizer.step()
                    self.lr_scheduler.step()
                    model.zero_grad()
                    self.state["global_step"] += 1
                    if self.state["global_step"] % self.args.logging_steps == 0:
                        steps = self.state["global_step"] - logged
                        self.log({"loss": round(tr_loss.item() / steps, 4),
                                  "learning_rate": self.lr_scheduler.get_last_lr()[0],
                                  "epoch": epoch})
                        tr_loss, logged = torch.tensor(0.0), self.state["global_step"]
            self.log(self.evaluate())
        return self.state

    def evaluate(self):
        model = self.model
        model.eval()
        losses, preds, labels = [], [], []
        with torch.no_grad():
            for inputs in self.get_eval_dataloader():
                loss, logits = model(**inputs)
                losses.append(loss.item() * len(logits))
                preds.append(logits.argmax(-1))
                labels.append(inputs["labels"])
        metrics = {"eval_loss": sum(losses) / len(self.eval_dataset)}
        if self.compute_metrics is not None:
            metrics.update(self.compute_metrics(torch.cat(preds), torch.cat(labels)))
        return metrics

    def log(self, logs):
        self.state["log_history"].append(logs)
        print(logs, flush=True)
