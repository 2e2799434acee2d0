# lossdoctor-expect: overfitting
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""hcnoh/knowledge-tracing-collection-pytorch#5
(https://github.com/hcnoh/knowledge-tracing-collection-pytorch/issues/5): "About overfitting
during model training". The poster: "most of the models auc converged to the maximum value in the
first 20% epoch during the training process, and the auc began to decline, but the train loss
decreased all the time. Does this mean that overfitting occurred?"; the author: "Yes. you are
right. if the training loss decreases but the validation loss or test loss increases, the model
has gotten overfitting for the given dataset." Here the collection's SAKT (models/sakt.py:
interaction and question embeddings, a learned position matrix, one causal multi-head attention
block with LayerNorm([n, d]), a feed-forward block, a sigmoid prediction with dropout) with its
train_model() method, which computes binary_cross_entropy itself on the masked positions, trains
with Adam and after every epoch scores the test split by AUC only (no test loss is computed, as
in the repository); the collate_fn that shifts and pads sequences and builds the mask; the
repository's config sizes (n=50 instead of 100, d=100, 5 heads, dropout 0.2, lr 1e-3, batch
size 64 instead of 256). Synthetic ASSISTments-like data: 100 questions on 5 skills, 600
students whose answers follow an item-response model (skill ability minus question difficulty,
plus practice), 50 answers each, split 80/20. Cause: the model fits the few training students'
answer sequences and the held-out AUC falls after its early peak (overfitting). Fix: stop at the
best test epoch, or more data / regularisation."""

import numpy as np
import torch
from sklearn import metrics
from torch.nn import (
    Dropout,
    Embedding,
    LayerNorm,
    Linear,
    Module,
    MultiheadAttention,
    Parameter,
    ReLU,
    Sequential,
)
from torch.nn.functional import binary_cross_entropy
from torch.nn.init import normal_
from torch.nn.utils.rnn import pad_sequence
from torch.optim import Adam
from torch.utils.data import DataLoader, Dataset, random_split

torch.manual_seed(0)
np.random.seed(0)


class SAKT(Module):
    def __init__(self, num_q, n, d, num_attn_heads, dropout):
        super(SAKT, self).__init__()
        self.num_q = num_q
        self.n = n
        self.d = d
        self.num_attn_heads = num_attn_heads
        self.dropout = dropout

        self.M = Embedding(self.num_q * 2, self.d)
        self.E = Embedding(self.num_q, d)
        self.P = Parameter(torch.Tensor(self.n, self.d))

        normal_(self.P)

        self.attn = MultiheadAttention(self.d, self.num_attn_heads, dropout=self.dropout)
        self.attn_layer_norm = LayerNorm([self.n, self.d])

        self.FFN = Sequential(
            Linear(self.d, self.d),
            Dropout(self.dropout),
            ReLU(),
            Linear(self.d, self.d),
            Dropout(self.dropout),
        )
        self.FFN_layer_norm = LayerNorm([self.n, self.d])

        self.pred = Sequential(
            Linear(self.d, 1),
            Dropout(self.dropout),
        )

    def forward(self, q, r, qry):
        x = q + self.num_q * r

        M = self.M(x).permute(1, 0, 2)
        E = self.E(qry).permute(1, 0, 2)
        P = self.P.unsqueeze(1)

        causal_mask = torch.triu(torch.ones([E.shape[0], M.shape[0]]), diagonal=1).bool()

        M += P

        S, attn_weights = self.attn(E, M, M, attn_mask=causal_mask)
        S = S.permute(1, 0, 2)
        M = M.permute(1, 0, 2)

        S = self.attn_layer_norm(S + M)

        F = self.FFN(S)
        F = self.FFN_layer_norm(F + S)

        p = torch.sigmoid(self.pred(F)).squeeze()

        return p, attn_weights

    def train_model(self, train_loader, test_loader, num_epochs, opt):
        aucs = []
        loss_means = []

        for i in range(1, num_epochs + 1):
            loss_mean = []

            for data in train_loader:
                q, r, qshft, rshft, m = data

                self.train()

                p, _ = self(q.long(), r.long(), qshft.long())
                p = torch.masked_select(p, m)
                t = torch.masked_select(rshft, m)

                opt.zero_grad()
                loss = binary_cross_entropy(p, t)
                loss.backward()
                opt.step()

                loss_mean.append(loss.detach().cpu().numpy())

            with torch.no_grad():
                for data in test_loader:
                    q, r, qshft, rshft, m = data

                    self.eval()

                    p, _ = self(q.long(), r.long(), qshft.long())
                    p = torch.masked_select(p, m).detach().cpu()
                    t = torch.masked_select(rshft, m).detach().cpu()

                    auc = metrics.roc_auc_score(y_true=t.numpy(), y_score=p.numpy())

                    loss_mean = np.mean(loss_mean)

                    print("Epoch: {},   AUC: {},   Loss Mean: {}".format(i, auc, loss_mean))

                    aucs.append(auc)
                    loss_means.append(loss_mean)

        return aucs, loss_means


class ASSIST2009(Dataset):
    """Synthetic students: ability per skill, question difficulty, a small gain with practice."""

    def __init__(self, num_students=600, num_q=100, num_skills=5, seq_len=51, seed=0):
        rng = np.random.default_rng(seed)
        skill_of_q = rng.integers(0, num_skills, num_q)
        difficulty = rng.normal(0, 1, num_q)
        self.num_q = num_q
        self.q_seqs, self.r_seqs = [], []
        for _ in range(num_students):
            ability = rng.normal(0, 1, num_skills)
            practice = np.zeros(num_skills)
            length = int(rng.integers(30, seq_len + 1))
            qs = rng.integers(0, num_q, length)
            rs = []
            for q in qs:
                s = skill_of_q[q]
                prob = 1 / (1 + np.exp(-(1.5 * ability[s] - difficulty[q] + 0.15 * practice[s])))
                rs.append(int(rng.random() < prob))
                practice[s] += 1
            self.q_seqs.append(qs)
            self.r_seqs.append(np.array(rs))
        self.q_seqs, self.r_seqs = match_seq_len(self.q_seqs, self.r_seqs, seq_len)

    def __getitem__(self, index):
        return self.q_seqs[index], self.r_seqs[index]

    def __len__(self):
        return len(self.q_seqs)


def match_seq_len(q_seqs, r_seqs, seq_len, pad_val=-1):
    proc_q_seqs, proc_r_seqs = [], []
    for q_seq, r_seq in zip(q_seqs, r_seqs):
        proc_q_seqs.append(np.concatenate([q_seq, np.array([pad_val] * (seq_len - len(q_seq)))]))
        proc_r_seqs.append(np.concatenate([r_seq, np.array([pad_val] * (seq_len - len(r_seq)))]))
    return proc_q_seqs, proc_r_seqs


def collate_fn(batch, pad_val=-1):
    q_seqs, r_seqs, qshft_seqs, rshft_seqs = [], [], [], []
    for q_seq, r_seq in batch:
        q_seqs.append(torch.FloatTensor(q_seq[:-1]))
        r_seqs.append(torch.FloatTensor(r_seq[:-1]))
        qshft_seqs.append(torch.FloatTensor(q_seq[1:]))
        rshft_seqs.append(torch.FloatTensor(r_seq[1:]))

    q_seqs = pad_sequence(q_seqs, batch_first=True, padding_value=pad_val)
    r_seqs = pad_sequence(r_seqs, batch_first=True, padding_value=pad_val)
    qshft_seqs = pad_sequence(qshft_seqs, batch_first=True, padding_value=pad_val)
    rshft_seqs = pad_sequence(rshft_seqs, batch_first=True, padding_value=pad_val)

    mask_seqs = (q_seqs != pad_val) * (qshft_seqs != pad_val)

    q_seqs, r_seqs, qshft_seqs, rshft_seqs = q_seqs * mask_seqs, r_seqs * mask_seqs, qshft_seqs * mask_seqs, rshft_seqs * mask_seqs

    return q_seqs, r_seqs, qshft_seqs, rshft_seqs, mask_seqs


def main():
    model_config = {"n": 50, "d": 100, "num_attn_heads": 5, "dropout": 0.2}
    train_config = {"batch_size": 64, "num_epochs": 30, "train_ratio": 0.8, "learning_rate": 0.001}

    dataset = ASSIST2009()
    model = SAKT(dataset.num_q, **model_config)

    train_size = int(len(dataset) * train_config["train_ratio"])
    test_size = len(dataset) - train_size
    train_dataset, test_dataset = random_split(dataset, [train_size, test_size], generator=torch.Generator().manual_seed(0))

    train_loader = DataLoader(train_dataset, batch_size=train_config["batch_size"], shuffle=True, collate_fn=collate_fn)
    test_loader = DataLoader(test_dataset, batch_size=test_size, shuffle=True, collate_fn=collate_fn)

    opt = Adam(model.parameters(), train_config["learning_rate"])
    aucs, loss_means = model.train_model(train_loader, test_loader, train_config["num_epochs"], opt)
    print("best test AUC %.4f at epoch %d, last %.4f" % (max(aucs), int(np.argmax(aucs)) + 1, aucs[-1]))


if __name__ == "__main__":
    main()
