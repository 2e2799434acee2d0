"""A tiny GPT2LMHeadModel in the manner of transformers' modeling_gpt2.py: a config object, a
forward taking input_ids/attention_mask/labels and returning an output object whose .loss the
model computes itself (labels shifted inside the model)."""

import math
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn
from torch.nn import CrossEntropyLoss


@dataclass
class GPT2Config:
    vocab_size: int = 64
    n_positions: int = 64
    n_embd: int = 64
    n_layer: int = 2
    n_head: int = 4
    resid_pdrop: float = 0.1
    embd_pdrop: float = 0.1
    attn_pdrop: float = 0.1
    layer_norm_epsilon: float = 1e-5
    initializer_range: float = 0.02

    def update_from_string(self, update_str):
        for pair in update_str.split(","):
            key, value = pair.split("=")
            old = getattr(self, key)
            setattr(self, key, type(old)(value))


@dataclass
class CausalLMOutputWithCrossAttentions:
    loss: Optional[torch.Tensor] = None
    logits: Optional[torch.Tensor] = None

    def __getitem__(self, k):
        return {"loss": self.loss, "logits": self.logits}[k]


class GPT2Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.n_head = config.n_head
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.attn_dropout = nn.Dropout(config.attn_pdrop)
        self.resid_dropout = nn.Dropout(config.resid_pdrop)
        n = config.n_positions
        self.register_buffer("bias", torch.tril(torch.ones(n, n)).view(1, 1, n, n),
                             persistent=False)

    def forward(self, hidden_states, attention_mask=None):
        b, t, c = hidden_states.shape
        q, k, v = self.c_attn(hidden_states).split(c, dim=2)
        q, k, v = (x.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for x in (q, k, v))
        attn_weights = (q @ k.transpose(-1, -2)) / math.sqrt(k.size(-1))
        attn_weights = attn_weights.masked_fill(self.bias[:, :, :t, :t] == 0, float("-inf"))
        if attention_mask is not None:
            attn_weights = attn_weights + (1.0 - attention_mask[:, None, None, :]) * -1e4
        attn_weights = self.attn_dropout(torch.softmax(attn_weights, dim=-1))
        out = (attn_weights @ v).transpose(1, 2).contiguous().view(b, t, c)
        return self.resid_dropout(self.c_proj(out))


class GPT2MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)
        self.act = nn.GELU(approximate="tanh")
        self.dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, x):
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))


class GPT2Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = GPT2Attention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = GPT2MLP(config)

    def forward(self, hidden_states, attention_mask=None):
        hidden_states = hidden_states + self.attn(self.ln_1(hidden_states), attention_mask)
        return hidden_states + self.mlp(self.ln_2(hidden_states))


class GPT2LMHeadModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.drop = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList([GPT2Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied, as tie_word_embeddings
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
        if isinstance(module, nn.Linear) and module.bias is not None:
            module.bias.data.zero_()

    def forward(self, input_ids=None, attention_mask=None, labels=None):
        positions = torch.arange(input_ids.size(1), device=input_ids.device)
        hidden_states = self.drop(self.wte(input_ids) + self.wpe(positions))
        for block in self.h:
            hidden_states = block(hidden_states, attention_mask)
        lm_logits = self.lm_head(self.ln_f(hidden_states))
        loss = None
        if labels is not None:
            # Shift so that tokens < n predict n
            shift_logits = lm_logits[..., :-1, :].contiguous()
            shift_labels = labels[..., 1:].contiguous()
            loss_fct = CrossEntropyLoss()
            loss = loss_fct(shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1))
        return CausalLMOutputWithCrossAttentions(loss=loss, logits=lm_logits)
