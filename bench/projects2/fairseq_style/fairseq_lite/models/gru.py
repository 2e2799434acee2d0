"""A GRU encoder-decoder with dot-product attention, in the manner of fairseq's LSTM model
(encoder over left-padded sources, decoder fed prev_output_tokens, get_normalized_probs)."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import register_model


class GRUEncoder(nn.Module):
    def __init__(self, dictionary, embed_dim, hidden_size, dropout):
        super().__init__()
        self.padding_idx = dictionary.pad()
        self.embed_tokens = nn.Embedding(len(dictionary), embed_dim, padding_idx=self.padding_idx)
        self.dropout = nn.Dropout(dropout)
        self.rnn = nn.GRU(embed_dim, hidden_size, batch_first=True)

    def forward(self, src_tokens, src_lengths):
        x = self.dropout(self.embed_tokens(src_tokens))
        outputs, final = self.rnn(x)
        return outputs, final, src_tokens.eq(self.padding_idx)


class AttentionGRUDecoder(nn.Module):
    def __init__(self, dictionary, embed_dim, hidden_size, dropout):
        super().__init__()
        self.embed_tokens = nn.Embedding(len(dictionary), embed_dim, padding_idx=dictionary.pad())
        self.dropout = nn.Dropout(dropout)
        self.rnn = nn.GRU(embed_dim, hidden_size, batch_first=True)
        self.output_proj = nn.Linear(2 * hidden_size, hidden_size)
        self.fc_out = nn.Linear(hidden_size, len(dictionary))

    def forward(self, prev_output_tokens, encoder_out):
        enc_outputs, enc_final, enc_pad = encoder_out
        x = self.dropout(self.embed_tokens(prev_output_tokens))
        dec_outputs, _ = self.rnn(x, enc_final)
        scores = torch.bmm(dec_outputs, enc_outputs.transpose(1, 2))
        scores = scores.masked_fill(enc_pad.unsqueeze(1), float("-inf"))
        context = torch.bmm(F.softmax(scores, dim=-1), enc_outputs)
        x = torch.tanh(self.output_proj(torch.cat([dec_outputs, context], dim=-1)))
        return self.fc_out(self.dropout(x))


@register_model("gru_attention")
class GRUModel(nn.Module):
    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    @classmethod
    def build(cls, args, task):
        encoder = GRUEncoder(task.source_dictionary, args.encoder_embed_dim, args.hidden_size,
                             args.dropout)
        decoder = AttentionGRUDecoder(task.target_dictionary, args.decoder_embed_dim,
                                      args.hidden_size, args.dropout)
        return cls(encoder, decoder)

    def forward(self, src_tokens, src_lengths, prev_output_tokens):
        encoder_out = self.encoder(src_tokens, src_lengths)
        return self.decoder(prev_output_tokens, encoder_out)

    def get_normalized_probs(self, net_output, log_probs):
        return F.log_softmax(net_output, dim=-1) if log_probs else F.softmax(net_output, dim=-1)
