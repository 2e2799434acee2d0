# lossdoctor-expect: missing_zero_grad
# ruff: noqa: B007, E501
"""A keyword classifier over log-mel frames trained with ESPnet2's trainer loop, in its idiom
(https://github.com/espnet/espnet/pull/3283): the model computes its loss inside forward and
returns (loss, stats, weight); the loss is divided by accum_grad and backpropagated every
batch; every accum_grad batches the gradient is clipped, and when the grad norm is not finite
the update is skipped with a warning, otherwise optimizer.step(), scheduler.step() and
optimizer.zero_grad().
Bug (the pull request: "optimizer.zero_grad() is not invoked when the gradient is nan and
accum_grad>1 ... a fatal bug"): zero_grad sits in the else branch, so after one batch with a
non-finite gradient (here one utterance whose silent frames give log(0) = -inf features) the
NaN gradient is never cleared, every later update is skipped too, and training stops where
that batch came. The fix: zero the gradients after every accumulation window, updated or not."""

import logging

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
FRAMES, MELS, N_WORDS = 40, 20, 8
prototypes = torch.randn(N_WORDS, MELS)


def make(n):
    words = torch.randint(0, N_WORDS, (n,))
    energy = torch.rand(n, FRAMES, 1) + 0.05
    feats = torch.log(energy * torch.exp(prototypes[words][:, None, :] + 0.8 * torch.randn(n, FRAMES, MELS)))
    return feats, words


x_train, y_train = make(1600)
x_val, y_val = make(400)
x_train[37, :5] = torch.log(torch.zeros(5, MELS))  # one utterance starts with digital silence


class KeywordModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(MELS, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
        self.decoder = nn.Linear(64, N_WORDS)

    def forward(self, speech, text):
        logits = self.decoder(self.encoder(speech).mean(1))
        loss = F.cross_entropy(logits, text)
        acc = (logits.argmax(-1) == text).float().mean()
        stats = dict(loss=loss.detach(), acc=acc.detach())
        return loss, stats, torch.tensor(len(text))


model = KeywordModel()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=100, gamma=0.9)
accum_grad, grad_clip, batch_size = 4, 5.0, 16
for epoch in range(6):
    model.train()
    perm = torch.randperm(len(x_train))
    for iiter, start in enumerate(range(0, len(perm), batch_size), 1):
        idx = perm[start:start + batch_size]
        loss, stats, weight = model(speech=x_train[idx], text=y_train[idx])
        loss = loss / accum_grad
        loss.backward()
        if iiter % accum_grad == 0:
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=grad_clip)
            if not torch.isfinite(grad_norm):
                logging.warning(f"The grad norm is {grad_norm}. Skipping updating the model.")
            else:
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
    model.eval()
    with torch.no_grad():
        _, val_stats, _ = model(speech=x_val, text=y_val)
    print(f"epoch {epoch}: val loss {val_stats['loss']:.3f} acc {val_stats['acc']:.3f}")
