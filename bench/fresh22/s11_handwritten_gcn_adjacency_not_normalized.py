# lossdoctor-expect: unnormalized_inputs
"""sufeidechabei/graphnets_gcn#1 (https://github.com/sufeidechabei/graphnets_gcn/issues/1): a
GCN written by hand (message passing that sums the neighbours' features) reaches 41% test
accuracy on Cora where the paper reports 81%. The author's answer: "I didn't add the adj
normalization" (D^-1/2 (A + I) D^-1/2); adding self-loops alone brought 54%. Here a citation-like
graph of 4 communities with a few hub nodes, bag-of-words node features, two graph
convolutions propagating over the raw adjacency, full-batch Adam as in Kipf's train.py."""

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
N, N_CLASSES, N_FEATURES = 600, 4, 200
labels = torch.randint(0, N_CLASSES, (N,))
activity = torch.distributions.Pareto(1.0, 1.5).sample((N,)).clamp(max=40)
p_edge = 0.004 * activity[:, None] * activity[None, :]
p_edge = p_edge * torch.where(labels[:, None] == labels[None, :], 1.0, 0.15)
adj = (torch.rand(N, N) < p_edge.clamp(max=1)).float().triu(1)
adj = adj + adj.t()
word_probs = torch.rand(N_CLASSES, N_FEATURES) ** 4 * 0.3
features = (torch.rand(N, N_FEATURES) < word_probs[labels]).float()
idx_train, idx_val, idx_test = torch.arange(0, 140), torch.arange(140, 440), torch.arange(440, N)


class GraphConvolution(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, x, adj):
        return adj @ (x @ self.weight) + self.bias  # sum over the neighbours, as written


class GCN(nn.Module):
    def __init__(self, nfeat, nhid, nclass, dropout):
        super().__init__()
        self.gc1 = GraphConvolution(nfeat, nhid)
        self.gc2 = GraphConvolution(nhid, nclass)
        self.dropout = dropout

    def forward(self, x, adj):
        x = F.relu(self.gc1(x, adj))
        x = F.dropout(x, self.dropout, training=self.training)
        return F.log_softmax(self.gc2(x, adj), dim=1)


model = GCN(N_FEATURES, 16, N_CLASSES, 0.5)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
for epoch in range(200):
    model.train()
    optimizer.zero_grad()
    output = model(features, adj)
    loss_train = F.nll_loss(output[idx_train], labels[idx_train])
    loss_train.backward()
    optimizer.step()
    model.eval()
    with torch.no_grad():
        output = model(features, adj)
        loss_val = F.nll_loss(output[idx_val], labels[idx_val])
        acc_val = (output[idx_val].argmax(1) == labels[idx_val]).float().mean()
    if epoch % 20 == 0 or epoch == 199:
        print(f"Epoch: {epoch + 1:04d} loss_train: {loss_train.item():.4f} "
              f"loss_val: {loss_val.item():.4f} acc_val: {acc_val.item():.4f}")
