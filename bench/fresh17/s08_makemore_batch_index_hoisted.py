# lossdoctor-expect: data_pipeline
"""makemore part 2 style (karpathy/makemore, the MLP of Bengio et al. 2003) written as raw tensors:
C, W1, b1, W2, b2 with requires_grad, a context of 3 characters, minibatches drawn by
ix = torch.randint(0, Xtr.shape[0], (32,)), a hand-set learning-rate step, p.grad = None.
Bug: the minibatch index was moved out of the loop ("build the batch once"), so every step
trains on the same 32 examples (the 'same batch every iteration' threads)."""

import random

import torch
import torch.nn.functional as F

rng = random.Random(42)
onsets = ["b", "d", "k", "l", "m", "n", "r", "s", "t", "v", "z", "sh", "th", "br"]
vowels = ["a", "e", "i", "o", "u", "ia", "ea"]
codas = ["", "", "n", "l", "r", "s", "th"]
words = [
    "".join(
        rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas)
        for _ in range(rng.randint(1, 3))
    )
    for _ in range(4000)
]
chars = sorted(set("".join(words)))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
vocab_size = len(stoi)
block_size = 3


def build_dataset(ws):
    X, Y = [], []
    for w in ws:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)


random.Random(42).shuffle(words)
n1 = int(0.8 * len(words))
Xtr, Ytr = build_dataset(words[:n1])
Xdev, Ydev = build_dataset(words[n1:])

g = torch.Generator().manual_seed(2147483647)
n_embd, n_hidden = 10, 100
C = torch.randn((vocab_size, n_embd), generator=g)
W1 = (
    torch.randn((n_embd * block_size, n_hidden), generator=g)
    * (5 / 3)
    / (n_embd * block_size) ** 0.5
)
b1 = torch.randn(n_hidden, generator=g) * 0.01
W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.01
b2 = torch.randn(vocab_size, generator=g) * 0
parameters = [C, W1, b1, W2, b2]
for p in parameters:
    p.requires_grad = True


def forward(X):
    emb = C[X]
    h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)
    return h @ W2 + b2


max_steps, batch_size = 4000, 32
ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
for i in range(max_steps):
    Xb, Yb = Xtr[ix], Ytr[ix]
    loss = F.cross_entropy(forward(Xb), Yb)
    for p in parameters:
        p.grad = None
    loss.backward()
    lr = 0.1 if i < 3000 else 0.01
    for p in parameters:
        p.data += -lr * p.grad
    if i % 400 == 0 or i == max_steps - 1:
        with torch.no_grad():
            dev_loss = F.cross_entropy(forward(Xdev), Ydev)
        print(f"{i:7d}/{max_steps:7d}: train {loss.item():.4f} dev {dev_loss.item():.4f}")
