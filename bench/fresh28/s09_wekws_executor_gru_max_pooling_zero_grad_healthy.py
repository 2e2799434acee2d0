# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""wenet-e2e/wekws as it stands after #73 (https://github.com/wenet-e2e/wekws/pull/73, for
issue #72), a change to kws/utils/executor.py. wekws trains keyword spotters with
kws/bin/train.py: a KWSModel (global CMVN, a linear preprocessing layer, a GRU backbone, a linear
classifier, a sigmoid per keyword), the max-pooling loss of kws/model/loss.py (the keyword's
highest frame probability for keyword utterances, one minus the lowest for the others), Adam(lr
1e-3, weight_decay 1e-4), and Executor.train / Executor.cv of kws/utils/executor.py (gradients
clipped at grad_clip, the step skipped when the norm is not finite). Here the same model, loss and
executor on synthetic 40-dim "fbank" utterances (two keywords, each a fixed spectral pattern placed
somewhere in the utterance, and filler utterances without either), 12 epochs of 40 batches, the
cross-validation loss and accuracy printed after each epoch."""

import logging

import torch
import torch.nn as nn
from torch.nn.utils import clip_grad_norm_
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
logging.basicConfig(level=logging.INFO, format="%(message)s")

# ---------------------------------------------------------------- kws/model/cmvn.py


class GlobalCMVN(nn.Module):
    def __init__(self, mean, istd, norm_var=True):
        super().__init__()
        assert mean.shape == istd.shape
        self.norm_var = norm_var
        self.register_buffer("mean", mean)
        self.register_buffer("istd", istd)

    def forward(self, x):
        x = x - self.mean
        if self.norm_var:
            x = x * self.istd
        return x


# ---------------------------------------------------------------- kws/model/kws_model.py


class LinearSubsampling1(nn.Module):
    def __init__(self, idim, odim):
        super().__init__()
        self.out = nn.Sequential(nn.Linear(idim, odim), nn.ReLU())

    def forward(self, x):
        return self.out(x)


class GRU(nn.Module):
    def __init__(self, input_dim, hidden_dim, num_layers):
        super().__init__()
        self.gru = nn.GRU(input_dim, hidden_dim, num_layers, batch_first=True)

    def forward(self, x, in_cache=None):
        x, out_cache = self.gru(x, in_cache)
        return x, out_cache


class KWSModel(nn.Module):
    def __init__(self, idim, odim, hdim, global_cmvn, preprocessing, backbone, classifier, activation):
        super().__init__()
        self.idim = idim
        self.odim = odim
        self.hdim = hdim
        self.global_cmvn = global_cmvn
        self.preprocessing = preprocessing
        self.backbone = backbone
        self.classifier = classifier
        self.activation = activation

    def forward(self, x):
        if self.global_cmvn is not None:
            x = self.global_cmvn(x)
        x = self.preprocessing(x)
        x, _ = self.backbone(x)
        x = self.classifier(x)
        x = self.activation(x)
        return x


# ---------------------------------------------------------------- kws/model/loss.py


def padding_mask(lengths):
    batch_size = lengths.size(0)
    max_len = int(lengths.max().item())
    seq = torch.arange(max_len, dtype=torch.int64)
    seq = seq.expand(batch_size, max_len)
    return seq >= lengths.unsqueeze(1)


def acc_frame(logits, target):
    if logits is None:
        return 0
    pred = logits.max(1, keepdim=True)[1]
    correct = pred.eq(target.long().view_as(pred)).sum().item()
    return correct * 100.0 / logits.size(0)


def max_pooling_loss(logits, target, lengths, min_duration=0):
    mask = padding_mask(lengths)
    num_utts = logits.size(0)
    num_keywords = logits.size(2)

    target = target.cpu()
    loss = 0.0
    for i in range(num_utts):
        for j in range(num_keywords):
            # Add entropy loss CE = -(t * log(p) + (1 - t) * log(1 - p))
            if target[i] == j:
                # For the keyword, do max-polling
                prob = logits[i, :, j]
                m = mask[i].clone().detach()
                m[:min_duration] = True
                prob = prob.masked_fill(m, 0.0)
                prob = prob.clamp(1e-8, 1.0)
                max_prob = prob.max()
                loss += -torch.log(max_prob)
            else:
                # For other keywords or filler, do min-polling
                prob = 1 - logits[i, :, j]
                prob = prob.masked_fill(mask[i], 1.0)
                prob = prob.clamp(1e-8, 1.0)
                min_prob = prob.min()
                loss += -torch.log(min_prob)
    loss = loss / num_utts

    # Compute accuracy of current batch
    mask = mask.unsqueeze(-1)
    logits = logits.masked_fill(mask, 0.0)
    max_logits, index = logits.max(1)
    num_correct = 0
    for i in range(num_utts):
        max_p, idx = max_logits[i].max(0)
        # Predict correct as the i'th keyword
        if max_p > 0.5 and idx == target[i]:
            num_correct += 1
        # Predict correct as the filler, filler id < 0
        if max_p < 0.5 and target[i] < 0:
            num_correct += 1
    acc = num_correct / num_utts
    return loss, acc


def criterion(type, logits, target, lengths, min_duration=0):
    if type == "ce":
        loss = nn.functional.cross_entropy(logits, target)
        return loss, acc_frame(logits, target)
    elif type == "max_pooling":
        loss, acc = max_pooling_loss(logits, target, lengths, min_duration)
        return loss, acc
    else:
        exit(1)


# ---------------------------------------------------------------- kws/utils/executor.py


class Executor:
    def __init__(self):
        self.step = 0

    def train(self, model, optimizer, data_loader, device, writer, args):
        """Train one epoch"""
        model.train()
        clip = args.get("grad_clip", 50.0)
        log_interval = args.get("log_interval", 10)
        epoch = args.get("epoch", 0)
        min_duration = args.get("min_duration", 0)

        for batch_idx, batch in enumerate(data_loader):
            key, feats, target, feats_lengths = batch
            feats = feats.to(device)
            target = target.to(device)
            feats_lengths = feats_lengths.to(device)
            num_utts = feats_lengths.size(0)
            if num_utts == 0:
                continue
            logits = model(feats)
            loss_type = args.get("criterion", "max_pooling")
            loss, acc = criterion(loss_type, logits, target, feats_lengths, min_duration)
            optimizer.zero_grad()
            loss.backward()
            grad_norm = clip_grad_norm_(model.parameters(), clip)
            if torch.isfinite(grad_norm):
                optimizer.step()
            if batch_idx % log_interval == 0:
                logging.debug("TRAIN Batch {}/{} loss {:.8f} acc {:.8f}".format(epoch, batch_idx, loss.item(), acc))

    def cv(self, model, data_loader, device, args):
        """Cross validation on"""
        model.eval()
        log_interval = args.get("log_interval", 10)
        epoch = args.get("epoch", 0)
        # in order to avoid division by 0
        num_seen_utts = 1
        total_loss = 0.0
        total_acc = 0.0
        with torch.no_grad():
            for batch_idx, batch in enumerate(data_loader):
                key, feats, target, feats_lengths = batch
                feats = feats.to(device)
                target = target.to(device)
                feats_lengths = feats_lengths.to(device)
                num_utts = feats_lengths.size(0)
                if num_utts == 0:
                    continue
                logits = model(feats)
                loss, acc = criterion(args.get("criterion", "max_pooling"), logits, target, feats_lengths)
                if torch.isfinite(loss):
                    num_seen_utts += num_utts
                    total_loss += loss.item() * num_utts
                    total_acc += acc * num_utts
                if batch_idx % log_interval == 0:
                    logging.debug("CV Batch {}/{} loss {:.8f} acc {:.8f} history loss {:.8f}".format(epoch, batch_idx, loss.item(), acc, total_loss / num_seen_utts))
        return total_loss / num_seen_utts, total_acc / num_seen_utts


# ---------------------------------------------------------------- synthetic data (kws/dataset)

FEAT_DIM, NUM_KEYWORDS, MAX_FRAMES = 40, 2, 60
g = torch.Generator().manual_seed(1)
patterns = torch.randn(NUM_KEYWORDS, 12, FEAT_DIM, generator=g) * 3.0


class SyntheticKwsDataset(Dataset):
    def __init__(self, n, seed):
        gen = torch.Generator().manual_seed(seed)
        self.items = []
        for i in range(n):
            length = int(torch.randint(40, MAX_FRAMES + 1, (1,), generator=gen))
            feats = torch.randn(length, FEAT_DIM, generator=gen) + 5.0
            label = int(torch.randint(-1, NUM_KEYWORDS, (1,), generator=gen))
            if label >= 0:
                start = int(torch.randint(0, length - 12, (1,), generator=gen))
                feats[start:start + 12] += patterns[label]
            self.items.append(("utt%05d" % i, feats, label))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        return self.items[idx]


def padding_collate(batch):
    keys = [b[0] for b in batch]
    lengths = torch.tensor([b[1].size(0) for b in batch], dtype=torch.int64)
    feats = nn.utils.rnn.pad_sequence([b[1] for b in batch], batch_first=True)
    target = torch.tensor([b[2] for b in batch], dtype=torch.int64)
    return keys, feats, target, lengths


# ---------------------------------------------------------------- kws/bin/train.py

train_dataset = SyntheticKwsDataset(640, seed=2)
cv_dataset = SyntheticKwsDataset(160, seed=3)
train_data_loader = DataLoader(train_dataset, batch_size=16, shuffle=True, collate_fn=padding_collate)
cv_data_loader = DataLoader(cv_dataset, batch_size=32, collate_fn=padding_collate)

all_feats = torch.cat([f for _, f, _ in train_dataset.items])
mean, istd = all_feats.mean(0), 1.0 / all_feats.std(0)

input_dim, output_dim, hidden_dim = FEAT_DIM, NUM_KEYWORDS, 64
global_cmvn = GlobalCMVN(mean, istd)
preprocessing = LinearSubsampling1(input_dim, hidden_dim)
backbone = GRU(hidden_dim, hidden_dim, num_layers=1)
classifier = nn.Linear(hidden_dim, output_dim)
activation = nn.Sigmoid()
model = KWSModel(input_dim, output_dim, hidden_dim, global_cmvn, preprocessing, backbone, classifier, activation)
print(model)
num_params = sum(p.numel() for p in model.parameters())
print("the number of model params: {}".format(num_params))

device = torch.device("cpu")
model = model.to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=0.001, weight_decay=0.0001)
executor = Executor()
training_config = {"grad_clip": 5, "log_interval": 10, "criterion": "max_pooling", "min_duration": 0}
num_epochs = 12
for epoch in range(num_epochs):
    training_config["epoch"] = epoch
    lr = optimizer.param_groups[0]["lr"]
    executor.train(model, optimizer, train_data_loader, device, None, training_config)
    cv_loss, cv_acc = executor.cv(model, cv_data_loader, device, training_config)
    logging.info("Epoch {} CV info cv_loss {:.4f} cv_acc {:.3f} lr {}".format(epoch, cv_loss, cv_acc, lr))
