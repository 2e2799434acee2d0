# lossdoctor-expect: lr_schedule
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""huggingface/transformers#26827 (https://github.com/huggingface/transformers/issues/26827):
"Scheduler num_warmup_steps and num_training_steps". run_translation_no_trainer.py (t5-small,
WMT14 en-de) on two GPUs with accelerate: "the learning rate is 0 after half of
args.max_train_steps. Also the warmup schedule looks work until the half of
args.num_warmup_steps". accelerate's prepared scheduler steps once per process at every
optimizer step, while max_train_steps was counted from one process's dataloader, so the linear
schedule runs out halfway; the poster's fix, adopted in the examples, gives get_scheduler
num_warmup_steps * num_processes and max_train_steps * num_processes. Here the script's loop (a
dict batch of input_ids / attention_mask / labels, the loss computed inside
T5ForConditionalGeneration, AdamW, get_scheduler("linear"), optimizer.step(),
lr_scheduler.step(), optimizer.zero_grad()) with a small T5 built from a T5Config (random init,
no download) on a synthetic translation task (map each word through a
fixed dictionary word by word; 2000 training and 200 evaluation pairs), and accelerate's two-process
scheduler stepping reproduced by AcceleratedScheduler below (it steps the wrapped scheduler
num_processes = 2 times per call, as accelerate does with split_batches=False); the evaluation
loss is printed after every epoch. Cause: the rate schedule ends at zero halfway through
training (lr_schedule). Fix: num_training_steps=args.max_train_steps * num_processes. Needs
transformers: run with /work/venv-fw/bin/python."""

import math

import torch
from torch.utils.data import DataLoader
from transformers import T5Config, T5ForConditionalGeneration, get_scheduler

torch.manual_seed(0)
VOCAB, LENGTH, PAD, EOS = 64, 8, 0, 1
NUM_PROCESSES = 2  # the poster's two GPUs


class AcceleratedScheduler:
    """What accelerate.scheduler.AcceleratedScheduler does when split_batches=False: one step
    of the wrapped scheduler for each process."""

    def __init__(self, scheduler, num_processes):
        self.scheduler, self.num_processes = scheduler, num_processes

    def step(self):
        for _ in range(self.num_processes):
            self.scheduler.step()

    def get_last_lr(self):
        return self.scheduler.get_last_lr()


def make_pairs(n, generator):
    dictionary = torch.randperm(VOCAB - 2, generator=torch.Generator().manual_seed(3)) + 2
    source = torch.randint(2, VOCAB, (n, LENGTH), generator=generator)
    target = dictionary[source - 2]
    eos = torch.full((n, 1), EOS)
    return [{"input_ids": torch.cat([s, e]), "attention_mask": torch.ones(LENGTH + 1, dtype=torch.long),
             "labels": torch.cat([t, e])} for s, t, e in zip(source, target, eos)]


def collate(features):
    return {key: torch.stack([f[key] for f in features]) for key in features[0]}


generator = torch.Generator().manual_seed(0)
train_dataloader = DataLoader(make_pairs(2000, generator), batch_size=32, shuffle=True, collate_fn=collate)
eval_dataloader = DataLoader(make_pairs(200, generator), batch_size=100, collate_fn=collate)

config = T5Config(vocab_size=VOCAB, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_decoder_layers=2,
                  num_heads=4, dropout_rate=0.1, decoder_start_token_id=PAD, pad_token_id=PAD, eos_token_id=EOS)
model = T5ForConditionalGeneration(config)

no_decay = ["bias", "layer_norm.weight"]
optimizer_grouped_parameters = [
    {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.0},
    {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
]
optimizer = torch.optim.AdamW(optimizer_grouped_parameters, lr=2e-3)

gradient_accumulation_steps = 1
num_train_epochs = 6
num_update_steps_per_epoch = math.ceil(len(train_dataloader) / gradient_accumulation_steps)
max_train_steps = num_train_epochs * num_update_steps_per_epoch
lr_scheduler = get_scheduler(name="linear", optimizer=optimizer, num_warmup_steps=0,
                             num_training_steps=max_train_steps)
lr_scheduler = AcceleratedScheduler(lr_scheduler, NUM_PROCESSES)  # accelerator.prepare(...)

completed_steps = 0
for epoch in range(num_train_epochs):
    model.train()
    for step, batch in enumerate(train_dataloader):
        outputs = model(**batch)
        loss = outputs.loss
        loss = loss / gradient_accumulation_steps
        loss.backward()
        if step % gradient_accumulation_steps == 0 or step == len(train_dataloader) - 1:
            optimizer.step()
            lr_scheduler.step()
            optimizer.zero_grad()
            completed_steps += 1
    model.eval()
    eval_loss = 0.0
    with torch.no_grad():
        for batch in eval_dataloader:
            eval_loss += model(**batch).loss.item()
    print(f"epoch {epoch}: step {completed_steps}, lr {lr_scheduler.get_last_lr()[0]:.2e}, "
          f"train loss {loss.item():.4f}, eval loss {eval_loss / len(eval_dataloader):.4f}")
