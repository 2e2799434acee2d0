# lossdoctor-expect: lr_too_low
# ruff: noqa: E501, E731, UP008, UP031, UP032  (the threads' own idioms kept)
# source: https://github.com/OpenLMLab/LOMO/issues/50
"""OpenLMLab/LOMO#50 (https://github.com/OpenLMLab/LOMO/issues/50), "小学习率问题" (a question
about a small learning rate): "我在使用小学习率5e-5,接近一万条特殊格式的训练数据进行训练，发现loss不降，
是哪里设置的有问题吗？" (training with a small learning rate of 5e-5 on nearly ten thousand examples
in a special format, the loss does not go down: what is set wrong?). LOMO fine-tunes a causal
language model with plain SGD fused into the backward pass (no momentum, gradient norm clipped at
1.0, linear decay). Here the same recipe through the Hugging Face Trainer: optim="sgd" at
learning_rate=5e-5, max_grad_norm=1.0, lr_scheduler_type="linear", on a small LlamaForCausalLM
built from its config (nothing pretrained), trained on 2000 synthetic examples in a fixed
prompt/answer format (labels are the input ids, the loss computed inside the model), evaluated
each epoch on 200 more. Seeded, CPU. Needs transformers: run with /work/venv-fw/bin/python."""

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
    learning_rate=5e-5,
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
