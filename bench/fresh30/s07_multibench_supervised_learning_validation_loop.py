# lossdoctor-expect: train_eval_mode
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905, E721, B008, F841  (the threads' own idioms kept)
"""pliang279/MultiBench#26 (https://github.com/pliang279/MultiBench/issues/26), "I found a small
performance mismatch problem", on training_structures/Supervised_Learning.py at d291e36. The file's train(): MMDL(encoders, fusion,
head), RMSprop(lr=0.001, weight_decay=0.0), nn.CrossEntropyLoss() through deal_with_objective,
clip_grad_norm_(model.parameters(), 8) before op.step(), each epoch's train loss printed, then the
validation loop under model.eval() and torch.no_grad() with the valid loss and accuracy printed
and the model saved when the accuracy is the best so far; the test set scored at the end with
single_test. Here the same train() on CPU with two modality encoders (MLPs with batch norm and
dropout), a concatenation fusion and an MLP head with dropout, as MultiBench's examples build
them, on 3000 synthetic two-modality samples of 4 classes, 600 validation and 600 test samples,
batch 32, 15 epochs."""

import copy
import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.default_rng(0)


def accuracy(truth, pred):
    return (truth == pred).float().mean().item()


# ---- unimodals/common_models.py, fusions/common_fusions.py ----
class MLP(nn.Module):
    def __init__(self, indim, hiddim, outdim, dropout=False, dropoutp=0.1, output_each_layer=False):
        super(MLP, self).__init__()
        self.fc = nn.Linear(indim, hiddim)
        self.fc2 = nn.Linear(hiddim, outdim)
        self.dropout_layer = torch.nn.Dropout(dropoutp)
        self.dropout = dropout
        self.lklu = nn.LeakyReLU(0.2)

    def forward(self, x, training=True):
        output = nn.functional.relu(self.fc(x))
        if self.dropout:
            output = self.dropout_layer(output)
        output2 = self.fc2(output)
        if self.dropout:
            output2 = self.dropout_layer(output2)
        return output2


class Encoder(nn.Module):
    def __init__(self, indim, hiddim, outdim, dropoutp=0.3):
        super(Encoder, self).__init__()
        self.fc = nn.Linear(indim, hiddim)
        self.bn = nn.BatchNorm1d(hiddim)
        self.drop = nn.Dropout(dropoutp)
        self.fc2 = nn.Linear(hiddim, outdim)

    def forward(self, x, training=True):
        return self.fc2(self.drop(torch.relu(self.bn(self.fc(x)))))


class Concat(nn.Module):
    def __init__(self):
        super(Concat, self).__init__()

    def forward(self, modalities, training=False):
        flattened = []
        for modality in modalities:
            flattened.append(torch.flatten(modality, start_dim=1))
        return torch.cat(flattened, dim=1)


# ---- training_structures/Supervised_Learning.py (CPU) ----
class MMDL(nn.Module):
    def __init__(self, encoders, fusion, head, has_padding=False):
        super(MMDL, self).__init__()
        self.encoders = nn.ModuleList(encoders)
        self.fuse = fusion
        self.head = head
        self.has_padding = has_padding
        self.fuseout = None
        self.reps = []

    def forward(self, inputs, training=False):
        outs = []
        for i in range(len(inputs)):
            outs.append(self.encoders[i](inputs[i], training=training))
        self.reps = outs
        out = self.fuse(outs, training=training)
        self.fuseout = out
        if type(out) is tuple:
            out = out[0]
        return self.head(out, training=training)


def deal_with_objective(objective, pred, truth, args):
    if type(objective) == nn.CrossEntropyLoss:
        if len(truth.size()) == len(pred.size()):
            truth1 = truth.squeeze(len(pred.size()) - 1)
        else:
            truth1 = truth
        return objective(pred, truth1.long())
    elif type(objective) == nn.MSELoss or type(objective) == nn.modules.loss.BCEWithLogitsLoss:
        return objective(pred, truth.float())
    else:
        return objective(pred, truth, args)


def train(encoders, fusion, head, train_dataloader, valid_dataloader, total_epochs, optimtype=torch.optim.RMSprop,
          lr=0.001, weight_decay=0.0, objective=nn.CrossEntropyLoss(), save='best.pt', clip_val=8):
    model = MMDL(encoders, fusion, head)
    best = {}
    op = optimtype([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=weight_decay)
    bestacc = 0

    def processinput(inp):
        return inp.float()

    for epoch in range(total_epochs):
        totalloss = 0.0
        totals = 0
        model.train()
        for j in train_dataloader:
            op.zero_grad()
            out = model([processinput(i) for i in j[:-1]], training=True)
            loss = deal_with_objective(objective, out, j[-1], None)
            totalloss += loss * len(j[-1])
            totals += len(j[-1])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_val)
            op.step()
        print("Epoch " + str(epoch) + " train loss: " + str((totalloss / totals).item()))
        validstarttime = time.time()
        model.eval()
        with torch.no_grad():
            totalloss = 0.0
            pred = []
            true = []
            model.train()
            for j in valid_dataloader:
                out = model([processinput(i) for i in j[:-1]], training=False)
                loss = deal_with_objective(objective, out, j[-1], None)
                totalloss += loss * len(j[-1])
                pred.append(torch.argmax(out, 1))
                true.append(j[-1])
        pred = torch.cat(pred, 0)
        true = torch.cat(true, 0)
        totals = true.shape[0]
        valloss = totalloss / totals
        acc = accuracy(true, pred)
        print("Epoch " + str(epoch) + " valid loss: " + str(valloss.item()) + " acc: " + str(acc))
        if acc > bestacc:
            bestacc = acc
            print("Saving Best")
            best['model'] = copy.deepcopy(model)
    return best['model']


def single_test(model, test_dataloader, criterion=nn.CrossEntropyLoss()):
    with torch.no_grad():
        totalloss = 0.0
        pred = []
        true = []
        for j in test_dataloader:
            out = model([i.float() for i in j[:-1]], training=False)
            loss = criterion(out, j[-1].long())
            totalloss += loss * len(j[-1])
            pred.append(torch.argmax(out, 1))
            true.append(j[-1])
        pred = torch.cat(pred, 0)
        true = torch.cat(true, 0)
        print("test loss: " + str((totalloss / true.shape[0]).item()) + " acc: " + str(accuracy(true, pred)))


# ---- two synthetic modalities in place of a MultiBench dataset ----
centers_a = rng.normal(scale=0.8, size=(4, 20))
centers_b = rng.normal(scale=0.8, size=(4, 30))


def samples(n):
    y = rng.integers(0, 4, size=n)
    a = centers_a[y] + rng.normal(scale=1.0, size=(n, 20))
    b = centers_b[y] + rng.normal(scale=1.2, size=(n, 30))
    return TensorDataset(torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32), torch.tensor(y))


traindata = DataLoader(samples(3000), batch_size=32, shuffle=True)
validdata = DataLoader(samples(600), batch_size=32, shuffle=False)
testdata = DataLoader(samples(600), batch_size=32, shuffle=False)

encoders = [Encoder(20, 64, 32), Encoder(30, 64, 32)]
fusion = Concat()
head = MLP(64, 64, 4, dropout=True, dropoutp=0.5)

model = train(encoders, fusion, head, traindata, validdata, 15)
print("Testing:")
model.eval()
single_test(model, testdata)
