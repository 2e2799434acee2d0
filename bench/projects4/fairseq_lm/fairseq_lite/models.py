"""A tiny transformer language model in the manner of fairseq's transformer_lm architecture:
an architecture registry filling defaults into args, a decoder whose forward returns
(logits, extra) and get_normalized_probs."""

import torch
import torch.nn as nn
import torch.nn.functional as F

ARCH_MODEL_REGISTRY, ARCH_CONFIG_REGISTRY = {}, {}


def register_model_architecture(model_cls, arch_name):
    def wrapper(fn):
        ARCH_MODEL_REGISTRY[arch_name] = model_cls
        ARCH_CONFIG_REGISTRY[arch_name] = fn
        return fn
    return wrapper


class TransformerDecoderLayer(nn.Module):
    def __init__(self, args):
        super().__init__()
        dim = args.decoder_embed_dim
        self.self_attn = nn.MultiheadAttention(dim, args.decoder_attention_heads,
                                               dropout=args.attention_dropout, batch_first=True)
        self.self_attn_layer_norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, args.decoder_ffn_embed_dim)
        self.fc2 = nn.Linear(args.decoder_ffn_embed_dim, dim)
        self.final_layer_norm = nn.LayerNorm(dim)
        self.dropout = args.dropout

    def forward(self, x, attn_mask):
        residual = x
        x = self.self_attn_layer_norm(x)
        x, _ = self.self_attn(x, x, x, attn_mask=attn_mask, need_weights=False)
        x = residual + F.dropout(x, p=self.dropout, training=self.training)
        residual = x
        x = self.fc2(F.relu(self.fc1(self.final_layer_norm(x))))
        return residual + F.dropout(x, p=self.dropout, training=self.training)


class TransformerLanguageModel(nn.Module):
    def __init__(self, args, dictionary):
        super().__init__()
        dim = args.decoder_embed_dim
        self.padding_idx = dictionary.pad()
        self.embed_tokens = nn.Embedding(len(dictionary), dim, padding_idx=self.padding_idx)
        self.embed_positions = nn.Embedding(args.tokens_per_sample, dim)
        self.layers = nn.ModuleList([TransformerDecoderLayer(args)
                                     for _ in range(args.decoder_layers)])
        self.layer_norm = nn.LayerNorm(dim)
        self.output_projection = nn.Linear(dim, len(dictionary), bias=False)
        self.output_projection.weight = self.embed_tokens.weight
        self.dropout = args.dropout
        nn.init.normal_(self.embed_tokens.weight, mean=0, std=dim ** -0.5)
        nn.init.constant_(self.embed_tokens.weight[self.padding_idx], 0)

    @classmethod
    def build_model(cls, args, task):
        return cls(args, task.target_dictionary)

    def forward(self, src_tokens):
        length = src_tokens.size(1)
        positions = torch.arange(length, device=src_tokens.device)
        x = self.embed_tokens(src_tokens) * self.embed_tokens.embedding_dim ** 0.5
        x = F.dropout(x + self.embed_positions(positions), p=self.dropout,
                      training=self.training)
        mask = torch.triu(torch.full((length, length), float("-inf")), diagonal=1)
        for layer in self.layers:
            x = layer(x, mask)
        return self.output_projection(self.layer_norm(x)), {"attn": None}

    def get_normalized_probs(self, net_output, log_probs):
        logits = net_output[0].float()
        return F.log_softmax(logits, dim=-1) if log_probs else F.softmax(logits, dim=-1)


@register_model_architecture(TransformerLanguageModel, "transformer_lm_tiny")
def transformer_lm_tiny(args):
    args.decoder_embed_dim = getattr(args, "decoder_embed_dim", 64)
    args.decoder_ffn_embed_dim = getattr(args, "decoder_ffn_embed_dim", 128)
    args.decoder_layers = getattr(args, "decoder_layers", 2)
    args.decoder_attention_heads = getattr(args, "decoder_attention_heads", 4)
    args.attention_dropout = getattr(args, "attention_dropout", 0.0)
