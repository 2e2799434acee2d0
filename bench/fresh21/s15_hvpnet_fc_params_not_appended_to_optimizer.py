# lossdoctor-expect: frozen_params
"""A token-classification (NER) model in the idiom of zjunlp/HVPNeT's trainer
(https://github.com/zjunlp/HVPNeT/issues/5): the optimizer is built from a list `parameters`
of parameter-group dicts, one per part of the model with its own learning rate (here the
embeddings and a BiLSTM encoder stand for the BERT text encoder), each appended with
`parameters.append(params)`; then a group for the emission layer `fc` is built the same way,
and AdamW(parameters).
Bug (the issue, confirmed by the maintainers: "The parameters.append(params) should be added
after line 499, otherwise crf and fc will not be trained"): the last group is built but never
appended, so the classifier layer keeps its random initialization and only the encoder learns
to fit features to it. The fix: append it."""

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
VOCAB, SEQ, N_TAGS = 200, 20, 5
word_tag = torch.randint(0, N_TAGS, (VOCAB,))
word_tag[torch.rand(VOCAB) < 0.6] = 0  # most words are "O"


def make(n):
    words = torch.randint(1, VOCAB, (n, SEQ))
    tags = word_tag[words]
    context = torch.roll(words, 1, dims=1) % 7 == 0  # a trigger word before flips B to I
    tags = torch.where(context & (tags > 0), (tags % (N_TAGS - 1)) + 1, tags)
    return words, tags


train_words, train_tags = make(1200)
dev_words, dev_tags = make(300)


class NERModel(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.embeddings = nn.Embedding(VOCAB, hidden)
        self.encoder = nn.LSTM(hidden, hidden // 2, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(0.1)
        self.fc = nn.Linear(hidden, N_TAGS)

    def forward(self, input_ids, labels=None):
        hidden, _ = self.encoder(self.embeddings(input_ids))
        emissions = self.fc(self.dropout(hidden))
        loss = None
        if labels is not None:
            loss = F.cross_entropy(emissions.reshape(-1, N_TAGS), labels.reshape(-1))
        return loss, emissions


model = NERModel()
args = {"lr": 3e-3, "crf_lr": 5e-2}
parameters = []
params = {"lr": args["lr"], "weight_decay": 1e-2}
params["params"] = [p for n, p in model.named_parameters() if n.startswith("embeddings")]
parameters.append(params)
params = {"lr": args["lr"], "weight_decay": 1e-2}
params["params"] = [p for n, p in model.named_parameters() if n.startswith("encoder")]
parameters.append(params)
params = {"lr": args["crf_lr"], "weight_decay": 0.0}
params["params"] = [p for n, p in model.named_parameters() if n.startswith("fc")]
optimizer = torch.optim.AdamW(parameters)

for epoch in range(8):
    model.train()
    perm = torch.randperm(len(train_words))
    for i in range(0, len(perm), 32):
        idx = perm[i:i + 32]
        loss, _ = model(train_words[idx], labels=train_tags[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        dev_loss, emissions = model(dev_words, labels=dev_tags)
    accuracy = (emissions.argmax(-1) == dev_tags).float().mean().item()
    print(f"epoch {epoch}: dev loss {dev_loss.item():.4f} accuracy {accuracy:.3f}")
