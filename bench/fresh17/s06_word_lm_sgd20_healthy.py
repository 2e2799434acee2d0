# lossdoctor-expect:
"""Word-level LSTM language model in the shape of pytorch/examples word_language_model/main.py:
batchify() into columns, get_batch(source, i) slices bptt steps, the hidden state is carried from
batch to batch and detached (repackage_hidden), model.zero_grad(), clip_grad_norm_(0.25), and the
update written by hand, p.data.add_(p.grad, alpha=-lr) at the example's lr=20 (plain SGD), the rate
divided by 4 when the validation loss stops improving; the model returns log-probabilities for
NLLLoss. Data: sentences from a small grammar (subject, verb, object, ending). Healthy."""

import random

import torch
import torch.nn as nn

random.seed(1111)
torch.manual_seed(1111)
who = ["the cat", "a dog", "my friend", "the old man", "she", "he", "the king", "a bird"]
act = ["sees", "likes", "takes", "finds", "sings to", "waits for", "reads", "keeps"]
what = ["the ball", "a song", "the book", "some bread", "the door", "a letter", "the river"]
end = ["today", "at night", "in the garden", "again", "slowly", "with care"]
sentences = [
    f"{random.choice(who)} {random.choice(act)} {random.choice(what)} {random.choice(end)} <eos>"
    for _ in range(3000)
]
words = " ".join(sentences).split()
idx = {w: i for i, w in enumerate(sorted(set(words)))}
ids = torch.tensor([idx[w] for w in words])
n = len(ids)
train_ids, val_ids = ids[: int(0.85 * n)], ids[int(0.85 * n) :]


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    return data.narrow(0, 0, nbatch * bsz).view(bsz, -1).t().contiguous()


bptt, batch_size, eval_batch_size, clip = 35, 20, 10, 0.25
train_data = batchify(train_ids, batch_size)
val_data = batchify(val_ids, eval_batch_size)


class RNNModel(nn.Module):
    def __init__(self, ntoken, ninp=32, nhid=64, nlayers=2, dropout=0.2):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        self.nlayers, self.nhid, self.ntoken = nlayers, nhid, ntoken
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        decoded = self.decoder(self.drop(output)).view(-1, self.ntoken)
        return nn.functional.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (
            weight.new_zeros(self.nlayers, bsz, self.nhid),
            weight.new_zeros(self.nlayers, bsz, self.nhid),
        )


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def get_batch(source, i):
    seq_len = min(bptt, len(source) - 1 - i)
    return source[i : i + seq_len], source[i + 1 : i + 1 + seq_len].reshape(-1)


model = RNNModel(len(idx))
criterion = nn.NLLLoss()


def evaluate(data_source):
    model.eval()
    total_loss = 0.0
    hidden = model.init_hidden(eval_batch_size)
    with torch.no_grad():
        for i in range(0, data_source.size(0) - 1, bptt):
            data, targets = get_batch(data_source, i)
            output, hidden = model(data, hidden)
            hidden = repackage_hidden(hidden)
            total_loss += len(data) * criterion(output, targets).item()
    return total_loss / (len(data_source) - 1)


def train(lr):
    model.train()
    total_loss, batches = 0.0, 0
    hidden = model.init_hidden(batch_size)
    for i in range(0, train_data.size(0) - 1, bptt):
        data, targets = get_batch(train_data, i)
        model.zero_grad()
        hidden = repackage_hidden(hidden)
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        total_loss, batches = total_loss + loss.item(), batches + 1
    return total_loss / batches


lr, best_val_loss = 20.0, None
for epoch in range(1, 9):
    train_loss = train(lr)
    val_loss = evaluate(val_data)
    print(
        f"| end of epoch {epoch:3d} | lr {lr:5.2f} | train loss {train_loss:5.2f} "
        f"| valid loss {val_loss:5.2f}"
    )
    if best_val_loss is None or val_loss < best_val_loss:
        best_val_loss = val_loss
    else:
        lr /= 4.0
