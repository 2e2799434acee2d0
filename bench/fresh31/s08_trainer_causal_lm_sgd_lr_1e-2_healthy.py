# lossdoctor-expect:
# ruff: noqa: E501, E731, UP008, UP031, UP032  (the threads' own idioms kept)
# source: https://github.com/OpenLMLab/LOMO/issues/50
"""OpenLMLab/LOMO#50 (https://github.com/OpenLMLab/LOMO/issues/50), "小学习率问题" (a question
about a small learning rate), with its answer applied: KaiLv69: "你好，这是因为学习率太小了，可以试着将学习率
调到1e-2 1e-3级别。" (this is because the learning rate is too small; try 1e-2 or 1e-3). s07 with
learning_rate=1e-2: the Hugging Face Trainer with optim="sgd", max_grad_norm=1.0,
lr_scheduler_type="linear", a small LlamaForCausalLM built from its config (nothing pretrained),
2000 synthetic examples in a fixed prompt/answer format (labels are the input ids, the loss
computed inside the model), evaluated each epoch on 200 more. Seeded, CPU. Needs transformers: run
with /work/venv-fw/bin/python."""

import numpy as np
import torch
from transformers import LlamaConfig, LlamaForCausalLM, Trainer, TrainingArguments, set_seed

set_seed(0)
rng = np.random.default_rng(0)

BOS, Q, A, EOS = 1, 2, 3, 4
VOCAB = 64


def example():
    # "<s> Q k1 .. k6 A v1 .. v6 </s>": the answer is the question's tokens shifted by 20
    keys = rng.integers(10, 40, size=6)
    ids = [BOS, Q, *keys.tolist(), A, *(keys + 20).tolist(), EOS]
    ids = torch.tensor(ids)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids.clone()}


train_dataset = [example() for _ in range(2000)]
eval_dataset = [example() for _ in range(200)]

config = LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=32,
                     bos_token_id=BOS, eos_token_id=EOS, pad_token_id=0)
model = LlamaForCausalLM(config)

args = TrainingArguments(
    output_dir="/tmp/lomo50_out",
    per_device_train_batch_size=16,
    per_device_eval_batch_size=50,
    num_train_epochs=3,
    learning_rate=1e-2,
    optim="sgd",
    lr_scheduler_type="linear",
    max_grad_norm=1.0,
    eval_strategy="epoch",
    logging_steps=25,
    save_strategy="no",
    report_to="none",
    use_cpu=True,
    seed=0,
    disable_tqdm=True,
)
trainer = Trainer(model=model, args=args, train_dataset=train_dataset, eval_dataset=eval_dataset)
trainer.train()
print("final eval", trainer.evaluate())
