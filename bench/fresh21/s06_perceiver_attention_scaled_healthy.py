# lossdoctor-expect:
"""s05 fixed as the issue says (https://github.com/esceptico/perceiver-io/issues/9): the scores
are `queries @ keys.transpose(-2, -1) * self.scale`, scaled by 1/sqrt(d) as intended; the same
Perceiver then pools the 32 tokens and learns the signs of the two sums."""

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
SEQ, IN_DIM, N_CLASSES = 32, 16, 4


def make(n):
    x = torch.randn(n, SEQ, IN_DIM)
    sums = x[:, :, :2].sum(1)
    return x, (sums[:, 0] > 0).long() * 2 + (sums[:, 1] > 0).long()


x_train, y_train = make(2048)
x_val, y_val = make(512)


class MultiHeadAttention(nn.Module):
    def __init__(self, kv_dim, q_dim, qk_out_dim=None, v_out_dim=None, output_dim=None,
                 num_heads=1, dropout=0.0):
        super().__init__()
        qk_out_dim = qk_out_dim or q_dim
        v_out_dim = v_out_dim or qk_out_dim
        output_dim = output_dim or v_out_dim
        self.num_heads = num_heads
        self.qk_head_dim = qk_out_dim // num_heads
        self.v_head_dim = v_out_dim // num_heads
        self.k = nn.Linear(kv_dim, qk_out_dim)
        self.q = nn.Linear(q_dim, qk_out_dim)
        self.v = nn.Linear(kv_dim, v_out_dim)
        self.projection = nn.Linear(v_out_dim, output_dim)
        self.dropout = nn.Dropout(dropout)
        self.scale = self.qk_head_dim ** -0.5

    def transform_for_scores(self, x, head_dim):
        *dims, seq, hid = x.size()
        x = x.view(*dims, seq, self.num_heads, head_dim)
        return x.transpose(-3, -2)

    def forward(self, inputs_kv, inputs_q):
        keys = self.transform_for_scores(self.k(inputs_kv), self.qk_head_dim)
        queries = self.transform_for_scores(self.q(inputs_q), self.qk_head_dim)
        values = self.transform_for_scores(self.v(inputs_kv), self.v_head_dim)
        attention = queries @ keys.transpose(-2, -1) * self.scale
        attention = self.dropout(attention.softmax(dim=-1))
        weighted = attention @ values
        *dims, n_heads, seq, hid = weighted.size()
        weighted = weighted.transpose(-3, -2).reshape(*dims, seq, n_heads * hid)
        return self.projection(weighted)


class Block(nn.Module):
    def __init__(self, kv_dim, q_dim, widening=2):
        super().__init__()
        self.kv_norm = nn.LayerNorm(kv_dim)
        self.q_norm = nn.LayerNorm(q_dim)
        self.attention = MultiHeadAttention(kv_dim, q_dim)
        self.mlp = nn.Sequential(nn.LayerNorm(q_dim), nn.Linear(q_dim, widening * q_dim),
                                 nn.GELU(), nn.Linear(widening * q_dim, q_dim))

    def forward(self, inputs_kv, inputs_q):
        x = inputs_q + self.attention(self.kv_norm(inputs_kv), self.q_norm(inputs_q))
        return x + self.mlp(x)


class Perceiver(nn.Module):
    def __init__(self, num_latents=8, latent_dim=64):
        super().__init__()
        self.latents = nn.Parameter(torch.randn(num_latents, latent_dim) * 0.02)
        self.cross = Block(IN_DIM, latent_dim)
        self.self_attention = Block(latent_dim, latent_dim)
        self.head = nn.Linear(latent_dim, N_CLASSES)

    def forward(self, x):
        latents = self.latents.expand(x.size(0), -1, -1)
        latents = self.cross(x, latents)
        latents = self.self_attention(latents, latents)
        return self.head(latents.mean(1))


model = Perceiver()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(12):
    model.train()
    perm = torch.randperm(len(x_train))
    for i in range(0, len(perm), 64):
        idx = perm[i:i + 64]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = F.cross_entropy(model(x_val), y_val).item()
    print(f"epoch {epoch}: train {loss.item():.3f} val {val_loss:.3f}")
