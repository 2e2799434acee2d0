# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""PetarV-/GAT#7 (https://github.com/PetarV-/GAT/issues/7), "Weird training accuracy curve": "I
observed that the training accuracy is very low all the time during the training process. The
values is around 50%. Although validation accuracy reaches around 83%, this is still weird." The
author: "This is caused by the strong dropout on the alpha_ij values. It causes the network to
mispredict more often during training, as the graph neighbourhoods get quite variable; however this
makes it less prone to overfitting on small training datasets such as Cora." The repository's
execute_cora.py with models/gat.py and utils/layers.py: a GAT of 8 attention heads of 8 units
(ELU) and one output head, dropout 0.6 on each head's input and on its attention coefficients in
training only, masked softmax cross-entropy on the 140 labelled nodes, Adam(0.005) on it plus
0.0005 times the L2 of the weights, the whole graph as one batch each epoch, validation loss and
accuracy with dropout off, early stopping with patience 100 keeping the best checkpoint, the test
set scored at the end. Here the same model and loop translated from TensorFlow 1 to PyTorch (each
attn_head's 1x1 convolutions as linear maps) on a synthetic citation graph in Cora's shape: 800
papers in 7 classes, 300-word row-normalized bags of words, citations mostly within a class, 140
training, 300 validation and 300 test nodes, at most 300 epochs."""

import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)

# ---- training params ----
nb_epochs = 300
patience = 100
lr = 0.005  # learning rate
l2_coef = 0.0005  # weight decay
hid_units = [8]  # numbers of hidden units per each attention head in each layer
n_heads = [8, 1]  # additional entry for the output layer


# ---- a synthetic graph in place of process.load_data('cora') ----
def citation_graph(nb_nodes=800, nb_classes=7, ft_size=300):
    labels = rng.integers(0, nb_classes, size=nb_nodes)
    topic_words = rng.choice(ft_size, size=(nb_classes, 40), replace=False)
    features = (rng.random((nb_nodes, ft_size)) < 0.02).astype(np.float32)
    for i in range(nb_nodes):
        features[i, rng.choice(topic_words[labels[i]], size=6, replace=False)] = 1.0
    adj = np.zeros((nb_nodes, nb_nodes), dtype=np.float32)
    for i in range(nb_nodes):
        same = np.flatnonzero(labels == labels[i])
        other = np.flatnonzero(labels != labels[i])
        for j in list(rng.choice(same, size=3)) + list(rng.choice(other, size=1)):
            if j != i:
                adj[i, j] = adj[j, i] = 1.0
    order = rng.permutation(nb_nodes)
    train_mask = np.zeros(nb_nodes, dtype=bool)
    val_mask = np.zeros(nb_nodes, dtype=bool)
    test_mask = np.zeros(nb_nodes, dtype=bool)
    train_mask[order[:140]] = True
    val_mask[order[140:440]] = True
    test_mask[order[440:740]] = True
    return adj, features, labels, train_mask, val_mask, test_mask


def preprocess_features(features):
    rowsum = features.sum(1, keepdims=True)
    r_inv = np.where(rowsum > 0, 1.0 / np.maximum(rowsum, 1e-12), 0.0)
    return features * r_inv


def adj_to_bias(adj):
    mt = adj + np.eye(adj.shape[0], dtype=np.float32)  # self-connections, nhood=1
    return -1e9 * (1.0 - (mt > 0.0).astype(np.float32))


adj, features, labels, train_mask, val_mask, test_mask = citation_graph()
features = torch.tensor(preprocess_features(features), dtype=torch.float32)
biases = torch.tensor(adj_to_bias(adj))
labels = torch.tensor(labels)
train_mask, val_mask, test_mask = (torch.tensor(m) for m in (train_mask, val_mask, test_mask))
nb_nodes, ft_size = features.shape
nb_classes = 7


# ---- utils/layers.py: attn_head ----
class AttnHead(nn.Module):
    def __init__(self, in_sz, out_sz, activation, in_drop=0.0, coef_drop=0.0):
        super().__init__()
        self.seq_conv = nn.Linear(in_sz, out_sz, bias=False)
        self.f_1 = nn.Linear(out_sz, 1)
        self.f_2 = nn.Linear(out_sz, 1)
        self.bias = nn.Parameter(torch.zeros(out_sz))
        self.activation = activation
        self.in_drop = in_drop
        self.coef_drop = coef_drop

    def forward(self, seq, bias_mat):
        if self.in_drop != 0.0:
            seq = F.dropout(seq, self.in_drop, self.training)
        seq_fts = self.seq_conv(seq)
        # simplest self-attention possible
        logits = self.f_1(seq_fts) + self.f_2(seq_fts).transpose(0, 1)
        coefs = torch.softmax(F.leaky_relu(logits, 0.2) + bias_mat, dim=-1)
        if self.coef_drop != 0.0:
            coefs = F.dropout(coefs, self.coef_drop, self.training)
        if self.in_drop != 0.0:
            seq_fts = F.dropout(seq_fts, self.in_drop, self.training)
        vals = coefs @ seq_fts
        ret = vals + self.bias
        return self.activation(ret)


# ---- models/gat.py ----
class GAT(nn.Module):
    def __init__(self, ft_size, nb_classes, attn_drop=0.6, ffd_drop=0.6):
        super().__init__()
        self.hidden = nn.ModuleList([AttnHead(ft_size, hid_units[0], F.elu, ffd_drop, attn_drop) for _ in range(n_heads[0])])
        self.out = nn.ModuleList([AttnHead(hid_units[0] * n_heads[0], nb_classes, lambda x: x, ffd_drop, attn_drop) for _ in range(n_heads[-1])])

    def forward(self, inputs, bias_mat):
        h_1 = torch.cat([head(inputs, bias_mat) for head in self.hidden], dim=-1)
        logits = sum(head(h_1, bias_mat) for head in self.out) / n_heads[-1]
        return logits


def masked_softmax_cross_entropy(logits, labels, mask):
    return F.cross_entropy(logits[mask], labels[mask])


def masked_accuracy(logits, labels, mask):
    return (logits[mask].argmax(-1) == labels[mask]).float().mean()


model = GAT(ft_size, nb_classes)
optimizer = torch.optim.Adam(model.parameters(), lr=lr)
l2_vars = [p for n, p in model.named_parameters() if not n.endswith('bias')]

vlss_mn = np.inf
vacc_mx = 0.0
curr_step = 0
best_state = copy.deepcopy(model.state_dict())

for epoch in range(nb_epochs):
    model.train()
    optimizer.zero_grad()
    logits = model(features, biases)
    loss_value_tr = masked_softmax_cross_entropy(logits, labels, train_mask)
    acc_tr = masked_accuracy(logits, labels, train_mask)
    lossL2 = sum((v ** 2).sum() / 2 for v in l2_vars) * l2_coef
    (loss_value_tr + lossL2).backward()
    optimizer.step()

    model.eval()
    with torch.no_grad():
        logits = model(features, biases)
        loss_value_vl = masked_softmax_cross_entropy(logits, labels, val_mask).item()
        acc_vl = masked_accuracy(logits, labels, val_mask).item()

    if epoch % 10 == 0:
        print('Training: loss = %.5f, acc = %.5f | Val: loss = %.5f, acc = %.5f' %
              (loss_value_tr.item(), acc_tr.item(), loss_value_vl, acc_vl))

    if acc_vl >= vacc_mx or loss_value_vl <= vlss_mn:
        if acc_vl >= vacc_mx and loss_value_vl <= vlss_mn:
            vacc_early_model = acc_vl
            vlss_early_model = loss_value_vl
            best_state = copy.deepcopy(model.state_dict())
        vacc_mx = np.max((acc_vl, vacc_mx))
        vlss_mn = np.min((loss_value_vl, vlss_mn))
        curr_step = 0
    else:
        curr_step += 1
        if curr_step == patience:
            print('Early stop! Min loss: ', vlss_mn, ', Max accuracy: ', vacc_mx)
            print('Early stop model validation loss: ', vlss_early_model, ', accuracy: ', vacc_early_model)
            break

model.load_state_dict(best_state)
model.eval()
with torch.no_grad():
    logits = model(features, biases)
    print('Test loss:', masked_softmax_cross_entropy(logits, labels, test_mask).item(),
          '; Test accuracy:', masked_accuracy(logits, labels, test_mask).item())
