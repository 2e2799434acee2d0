# lossdoctor-expect: class_imbalance
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""PyTorch forums, "Predictions stuck at zero when positive label (1) is only 16% of data"
(https://discuss.pytorch.org/t/predictions-stuck-at-zero-when-positive-label-1-is-only-16-of-data/145203):
"I run the same code with a 50/50 split of 0 and 1 label, I get about 70% accuracy on val set and
my val preds are not stuck at 0. However, when I run the code on a dataset with 84/16 % split of
labels 0 and 1, all my val preds end up being 0. I used both cross-entropy loss as well as
BCEWithLogitLoss with a weight vector (though I am not sure if I set the weight vector correctly).
Also, is weight = torch.tensor([0.84, 0.16]) correct?" The reporter's step: a two-logit classifier
out, self.criterion = nn.BCEWithLogitsLoss(reduction='none'), labels as float32, weight =
torch.tensor([0.84, 0.16]) indexed by the labels, loss = self.criterion(m(out[:,1]-out[:,0]),
labels) with m = nn.Sigmoid() under autocast, multiplied by the weights and averaged, pred_labels =
out.data.max(1)[1]. Here the same step in a small classifier over 24 standardized features, under
torch.autocast on the CPU with bfloat16 (the thread's torch.cuda.amp.autocast on a GPU), Adam(1e-3),
batch 32, 12 epochs over 2400 synthetic rows of which 16% are positive, 600 validation rows; each
epoch prints the validation loss, the share of validation predictions that are 1 and the
validation accuracy."""

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)


def rows(n, positive_share=0.16):
    y = (rng.random(n) < positive_share).astype(np.int64)
    x = rng.normal(size=(n, 24)).astype(np.float32)
    x[:, :6] += (y[:, None] * np.array([1.1, -0.9, 0.8, 0.7, -0.6, 0.5])).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y)


x_train, y_train = rows(2400)
x_val, y_val = rows(600)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=64)


class Classifier(nn.Module):
    def __init__(self, loss_type='BCEWithLogitsLoss'):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(24, 64), nn.ReLU(), nn.Dropout(0.1),
            nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.1),
            nn.Linear(64, 2))
        self.loss_type = loss_type
        if loss_type == 'BCEWithLogitsLoss':
            self.criterion = nn.BCEWithLogitsLoss(reduction='none')  # weighted loss for imbalanced dataset
        elif loss_type == 'CrossEntropyLoss':
            self.criterion = nn.CrossEntropyLoss()  # this should work for binary classification

    def forward(self, x):
        return self.net(x)

    def step(self, x, labels):
        out = self(x)
        loss_type = self.loss_type
        if loss_type == 'BCEWithLogitsLoss':
            labels = torch.as_tensor(labels, dtype=torch.float32)  # we need float labels for BCEWithLogitsLoss
            weight = torch.tensor([0.84, 0.16])  # how to decide on this weights?
            weight_ = weight[labels.data.view(-1).long()].view_as(labels)
            m = nn.Sigmoid()
            with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
                loss = self.criterion(m(out[:, 1] - out[:, 0]), labels)
                loss_class_weighted = loss * weight_
                loss_class_weighted = loss_class_weighted.mean()
                loss = loss_class_weighted
        elif loss_type == 'CrossEntropyLoss':
            labels = torch.as_tensor(labels)
            with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
                loss = self.criterion(out, labels)
        pred_labels = out.data.max(1)[1]
        labels = labels.int()
        return pred_labels, labels, loss


model = Classifier()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

for epoch in range(12):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        _, _, loss = model.step(x, y)
        loss.backward()
        optimizer.step()

    model.eval()
    val_losses, preds, truth = [], [], []
    with torch.no_grad():
        for x, y in val_loader:
            pred_labels, labels, loss = model.step(x, y)
            val_losses.append(loss.item())
            preds.append(pred_labels)
            truth.append(labels)
    preds, truth = torch.cat(preds), torch.cat(truth)
    print('epoch {}: val loss {:.4f}, val preds equal to 1: {:.3f}, val accuracy {:.3f}, recall on 1 {:.3f}'.format(
        epoch + 1, np.mean(val_losses), preds.float().mean().item(), (preds == truth).float().mean().item(),
        ((preds == 1) & (truth == 1)).sum().item() / max(1, (truth == 1).sum().item())))
