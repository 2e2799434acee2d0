# lossdoctor-expect: overfitting
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""huggingface/transformers#22934 (https://github.com/huggingface/transformers/issues/22934):
"llm finetuning is overfitting?". The poster fine-tunes causal language models (bloom, gpt) with
the Trainer on their own instruction data: "all my attempts ... have led to one issue: the
evaluation loss keeps increasing", the logged eval loss falling until epoch 0.94 and rising from
epoch 1.25 on. The answer: "this picture doesn't seem unusual. The eval loss decreases until
epoch=0.94 but increases at epoch=1.25 and onwards. That implies that training is good for one
epoch. Depending on the size of the dataset, models can easily start overfitting after one
finetuning epoch (since it's just repeating the data)." Here the Trainer on CPU with a
GPT2LMHeadModel built from a GPT2Config (4 layers, width 256, no download), dict examples with
`labels` = `input_ids` so the model computes its own shifted cross-entropy, evaluation every
epoch, AdamW at 2e-3 with the Trainer's linear decay, 24 epochs; the data a small synthetic
corpus (64 training and 100 evaluation sequences of 48 tokens from a 400-token Markov chain with
four likely successors per token), small enough to memorise. Cause: the model memorises the few
training sequences after the first epochs and the evaluation loss rises (overfitting). Fix: stop
after the best evaluation (load_best_model_at_end / early stopping), fewer epochs or more data.
Needs transformers: run with /work/venv-fw/bin/python."""

import math
import tempfile

import torch
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

torch.manual_seed(0)
VOCAB, SEQ = 400, 48

chain = torch.Generator().manual_seed(11)
successors = torch.randint(0, VOCAB, (VOCAB, 4), generator=chain)
successor_probs = torch.softmax(torch.randn(VOCAB, 4, generator=chain), dim=1) * 0.9


class ChainTextDataset(torch.utils.data.Dataset):
    """Token sequences from a Markov chain: one of four likely successors, else a random token."""

    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        ids = torch.empty(n, SEQ, dtype=torch.long)
        ids[:, 0] = torch.randint(0, VOCAB, (n,), generator=g)
        for t in range(1, SEQ):
            prev = ids[:, t - 1]
            choice = torch.multinomial(torch.cat([successor_probs[prev], torch.full((n, 1), 0.1)], dim=1), 1, generator=g).squeeze(1)
            random_tokens = torch.randint(0, VOCAB, (n,), generator=g)
            picked = successors[prev, choice.clamp(max=3)]
            ids[:, t] = torch.where(choice == 4, random_tokens, picked)
        self.ids = ids

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(SEQ, dtype=torch.long), "labels": self.ids[i]}


train_dataset, eval_dataset = ChainTextDataset(64, 0), ChainTextDataset(100, 1)
config = GPT2Config(vocab_size=VOCAB, n_positions=SEQ, n_embd=256, n_layer=4, n_head=4)
model = GPT2LMHeadModel(config)
steps_per_epoch = math.ceil(len(train_dataset) / 16)
args = TrainingArguments(output_dir=tempfile.mkdtemp(), num_train_epochs=24,
                         per_device_train_batch_size=16, per_device_eval_batch_size=100,
                         learning_rate=2e-3, weight_decay=0.0, eval_strategy="steps",
                         eval_steps=steps_per_epoch, logging_steps=steps_per_epoch,
                         save_strategy="no", report_to=[], use_cpu=True, seed=0, disable_tqdm=True)
trainer = Trainer(model=model, args=args, train_dataset=train_dataset, eval_dataset=eval_dataset)
trainer.train()
