# lossdoctor-expect:
# source: https://github.com/guillaumegenthial/sequence_tagging/issues/47
# fix: the default learning rate, 0.001
# ruff: noqa: E501
"""The repository's NER tagger (word embeddings, bidirectional LSTM, linear projection and a
linear-chain CRF, Adam) ported to PyTorch; fixed: at the default lr 0.001, on synthetic sentences where entity
tags follow trigger words."""

import torch
from torch import nn

torch.manual_seed(0)

vocab, n_tags, sent_len = 300, 5, 16
triggers = torch.arange(1, 5)


def make_sentences(n):
    words = torch.randint(5, vocab, (n, sent_len))
    tags = torch.zeros(n, sent_len, dtype=torch.long)
    for i in range(n):
        for pos in torch.randint(0, sent_len - 2, (2,)).tolist():
            kind = torch.randint(0, 2, (1,)).item()
            words[i, pos] = triggers[2 * kind]
            tags[i, pos + 1], tags[i, pos + 2] = 1 + 2 * kind, 2 + 2 * kind
    return words, tags


class BiLSTMCRF(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(vocab, 50)
        self.lstm = nn.LSTM(50, 64, batch_first=True, bidirectional=True)
        self.proj = nn.Linear(128, n_tags)
        self.transitions = nn.Parameter(torch.zeros(n_tags, n_tags))

    def forward(self, words):
        return self.proj(self.lstm(self.embedding(words))[0])

    def neg_log_likelihood(self, words, tags):
        scores = self(words)
        gold = scores.gather(2, tags.unsqueeze(2)).squeeze(2).sum(1)
        gold = gold + self.transitions[tags[:, :-1], tags[:, 1:]].sum(1)
        alpha = scores[:, 0]
        for t in range(1, sent_len):
            alpha = torch.logsumexp(alpha.unsqueeze(2) + self.transitions + scores[:, t].unsqueeze(1), dim=1)
        return (torch.logsumexp(alpha, dim=1) - gold).mean()


train_words, train_tags = make_sentences(1000)
dev_words, dev_tags = make_sentences(300)
model = BiLSTMCRF()
optimizer = torch.optim.Adam(model.parameters(), lr=0.001)

for epoch in range(6):
    model.train()
    order = torch.randperm(1000)
    for start in range(0, 1000, 20):
        idx = order[start:start + 20]
        optimizer.zero_grad()
        loss = model.neg_log_likelihood(train_words[idx], train_tags[idx])
        loss.backward()
        optimizer.step()
        if start % 500 == 0:
            print(f"epoch {epoch} batch {start // 20} train loss: {loss.item():.4f}")
    model.eval()
    with torch.no_grad():
        dev_loss = model.neg_log_likelihood(dev_words, dev_tags).item()
        acc = (model(dev_words).argmax(2) == dev_tags).float().mean().item()
    print(f"epoch {epoch} dev loss {dev_loss:.4f} token acc {acc:.3f}")
