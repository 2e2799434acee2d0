# lossdoctor-expect: batch_size
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""dxli94/WLASL#23 (https://github.com/dxli94/WLASL/issues/23): "Training loss does not go down
while using TGCN". The poster trained the Pose-TGCN baseline (code/TGCN) on their keypoints with
the config changed: "the training loss is not at all decreasing"; their own resolution, closing
the issue: "It seems to be coming from the batch size. Using a high batch size like 1024 even with
a higher learning rate seems to not give the accuracy. However, using the batch size exactly as
the one provided in the config files works fine." Here the repository's code on CPU:
tgcn_model.GCN_muti_att (graph convolutions with a learned 55x55 attention adjacency,
BatchNorm1d over the flattened nodes, tanh, dropout, residual GC_Blocks, mean over nodes, a
linear classifier), train_utils.train() and validation() as written (cross-entropy through
compute_loss(); validation averages the logits of 4 temporal slices of a longer clip, the
repository's 'k_copies' sampling), Adam with the config's lr 1e-3 and eps 1e-3, the config's
hidden size NUM_SAMPLES*2, NUM_STAGES 4 (20 in asl300.ini), with BATCH_SIZE 1024 instead of the
config's 64.
Synthetic pose data: 55 keypoints, 16 frames of (x, y) per training clip, 20 sign classes each a
keypoint trajectory, per-signer offset and scale; 1000 training clips (one step per epoch at
batch 1024), 300 test clips, 25 epochs. (train() never calls model.train() after validation()
set eval mode; the repository does this in every configuration, including the working one.)
Cause: the batch is as large as the data set, so the model gets one update per epoch
(batch_size). Fix: the config's batch size 64."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from sklearn.metrics import accuracy_score
from torch.nn.parameter import Parameter
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
np.random.seed(0)

CONFIG = {"BATCH_SIZE": 1024, "MAX_EPOCHS": 25, "LOG_INTERVAL": 1, "NUM_SAMPLES": 16, "DROP_P": 0.3,
          "INIT_LR": 0.001, "ADAM_EPS": 1e-3, "ADAM_WEIGHT_DECAY": 0, "HIDDEN_SIZE": 64, "NUM_STAGES": 4}


class GraphConvolution_att(nn.Module):
    def __init__(self, in_features, out_features, bias=True, init_A=0):
        super(GraphConvolution_att, self).__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(torch.FloatTensor(in_features, out_features))
        self.att = Parameter(torch.FloatTensor(55, 55))
        if bias:
            self.bias = Parameter(torch.FloatTensor(out_features))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.weight.size(1))
        self.weight.data.uniform_(-stdv, stdv)
        self.att.data.uniform_(-stdv, stdv)
        if self.bias is not None:
            self.bias.data.uniform_(-stdv, stdv)

    def forward(self, input):
        support = torch.matmul(input, self.weight)
        output = torch.matmul(self.att, support)
        if self.bias is not None:
            return output + self.bias
        return output


class GC_Block(nn.Module):
    def __init__(self, in_features, p_dropout, bias=True, is_resi=True):
        super(GC_Block, self).__init__()
        self.in_features = in_features
        self.out_features = in_features
        self.is_resi = is_resi
        self.gc1 = GraphConvolution_att(in_features, in_features)
        self.bn1 = nn.BatchNorm1d(55 * in_features)
        self.gc2 = GraphConvolution_att(in_features, in_features)
        self.bn2 = nn.BatchNorm1d(55 * in_features)
        self.do = nn.Dropout(p_dropout)
        self.act_f = nn.Tanh()

    def forward(self, x):
        y = self.gc1(x)
        b, n, f = y.shape
        y = self.bn1(y.view(b, -1)).view(b, n, f)
        y = self.act_f(y)
        y = self.do(y)
        y = self.gc2(y)
        b, n, f = y.shape
        y = self.bn2(y.view(b, -1)).view(b, n, f)
        y = self.act_f(y)
        y = self.do(y)
        if self.is_resi:
            return y + x
        return y


class GCN_muti_att(nn.Module):
    def __init__(self, input_feature, hidden_feature, num_class, p_dropout, num_stage=1, is_resi=True):
        super(GCN_muti_att, self).__init__()
        self.num_stage = num_stage
        self.gc1 = GraphConvolution_att(input_feature, hidden_feature)
        self.bn1 = nn.BatchNorm1d(55 * hidden_feature)
        self.gcbs = nn.ModuleList([GC_Block(hidden_feature, p_dropout=p_dropout, is_resi=is_resi) for i in range(num_stage)])
        self.do = nn.Dropout(p_dropout)
        self.act_f = nn.Tanh()
        self.fc_out = nn.Linear(hidden_feature, num_class)

    def forward(self, x):
        y = self.gc1(x)
        b, n, f = y.shape
        y = self.bn1(y.view(b, -1)).view(b, n, f)
        y = self.act_f(y)
        y = self.do(y)
        for i in range(self.num_stage):
            y = self.gcbs[i](y)
        out = torch.mean(y, dim=1)
        return self.fc_out(out)


class Sign_Dataset(Dataset):
    """Synthetic keypoint clips: (55 keypoints, frames x (x, y)), one trajectory per sign class."""

    trajectories = torch.randn(20, 55, 2, 4, generator=torch.Generator().manual_seed(5))

    def __init__(self, n, num_samples, seed, k_copies=1):
        g = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(0, 20, (n,), generator=g)
        frames = num_samples * k_copies
        t = torch.linspace(0, 1, frames)
        basis = torch.stack([torch.sin(math.pi * (k + 1) * t) for k in range(4)])  # (4, frames)
        motion = torch.einsum("ncdk,kf->ncfd", self.trajectories[self.labels], basis)  # (n, 55, frames, 2)
        offset = 0.5 * torch.randn(n, 1, 1, 2, generator=g)
        scale = 1 + 0.2 * torch.randn(n, 1, 1, 1, generator=g)
        poses = scale * motion + offset + 0.8 * torch.randn(n, 55, frames, 2, generator=g)
        if k_copies == 1:
            self.X = poses.reshape(n, 55, frames * 2)
        else:  # k_copies: the clip as k consecutive slices of num_samples frames, each flattened
            self.X = poses.reshape(n, 55, k_copies, num_samples * 2).reshape(n, 55, frames * 2)
        self.video_ids = ["%05d" % i for i in range(n)]

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.X[i], self.labels[i], self.video_ids[i]


def compute_loss(out, gt):
    return F.cross_entropy(out, gt)


def train(log_interval, model, train_loader, optimizer, epoch):
    losses, scores = [], []
    N_count = 0
    for batch_idx, data in enumerate(train_loader):
        X, y, video_ids = data
        y = y.view(-1)
        N_count += X.size(0)
        optimizer.zero_grad()
        out = model(X)
        loss = compute_loss(out, y)
        losses.append(loss.item())
        y_pred = torch.max(out, 1)[1]
        step_score = accuracy_score(y.cpu().data.squeeze().numpy(), y_pred.cpu().data.squeeze().numpy())
        scores.append(step_score)
        loss.backward()
        optimizer.step()
        if (batch_idx + 1) % log_interval == 0:
            print("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}, Accu: {:.6f}%".format(
                epoch + 1, N_count, len(train_loader.dataset), 100.0 * (batch_idx + 1) / len(train_loader), loss.item(), 100 * step_score))
    return losses, scores


def validation(model, test_loader, epoch):
    model.eval()
    val_loss, all_y, all_y_pred = [], [], []
    num_copies = 4
    with torch.no_grad():
        for batch_idx, data in enumerate(test_loader):
            X, y, video_ids = data
            y = y.view(-1)
            all_output = []
            stride = X.size()[2] // num_copies
            for i in range(num_copies):
                X_slice = X[:, :, i * stride: (i + 1) * stride]
                output = model(X_slice)
                all_output.append(output)
            all_output = torch.stack(all_output, dim=1)
            output = torch.mean(all_output, dim=1)
            loss = compute_loss(output, y)
            val_loss.append(loss.item())
            y_pred = output.max(1, keepdim=True)[1]
            all_y.extend(y)
            all_y_pred.extend(y_pred)
    val_loss = sum(val_loss) / len(val_loss)
    all_y = torch.stack(all_y, dim=0).numpy()
    all_y_pred = torch.stack(all_y_pred, dim=0).squeeze().numpy()
    top1acc = accuracy_score(all_y, all_y_pred)
    print("\nVal. set ({:d} samples): Average loss: {:.4f}, Accuracy: {:.2f}%\n".format(len(all_y), val_loss, 100 * top1acc))
    return val_loss, top1acc


def run(configs):
    num_samples = configs["NUM_SAMPLES"]
    train_dataset = Sign_Dataset(1000, num_samples, seed=1)
    train_data_loader = DataLoader(dataset=train_dataset, batch_size=configs["BATCH_SIZE"], shuffle=True)
    val_dataset = Sign_Dataset(300, num_samples, seed=2, k_copies=4)
    val_data_loader = DataLoader(dataset=val_dataset, batch_size=configs["BATCH_SIZE"], shuffle=True)

    model = GCN_muti_att(input_feature=num_samples * 2, hidden_feature=num_samples * 2, num_class=20,
                         p_dropout=configs["DROP_P"], num_stage=configs["NUM_STAGES"])
    optimizer = optim.Adam(model.parameters(), lr=configs["INIT_LR"], eps=configs["ADAM_EPS"], weight_decay=configs["ADAM_WEIGHT_DECAY"])

    for epoch in range(int(configs["MAX_EPOCHS"])):
        print("start training.")
        train(configs["LOG_INTERVAL"], model, train_data_loader, optimizer, epoch)
        print("start testing.")
        validation(model, val_data_loader, epoch)


if __name__ == "__main__":
    run(CONFIG)
