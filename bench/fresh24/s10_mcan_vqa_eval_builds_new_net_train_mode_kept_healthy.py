# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""MILVLG/mcan-vqa#26 (https://github.com/MILVLG/mcan-vqa/issues/26): "net.train() not called
again after evaluation finishes". The poster saw that exec.py calls net.train() once, before the
epoch loop, and runs the per-epoch evaluation without switching back, and asked whether dropout
is lost for the rest of training. The maintainers' answer: "In eval(), we use the saved model
weights to initialize a new net for each call. That is to say, it would not affect the status of
the net for training" (the poster: "Sorry, didn't notice this"). So nothing is wrong: a healthy
case whose code looks like a forgotten train(). Here MCAN's shape (a question LSTM over word
embeddings; MCA_ED with self-attention layers on the question and self- plus guided-attention
layers on the image regions; AttFlat on both; LayerNorm; a sigmoid over the answers; BCELoss with
reduction='sum' on soft answer scores; Adam) at a small width, on synthetic VQA: each "image" is
8 region features (an object and its colour, with noise), each question names an object, the
answer is its colour (10 answers); 2000 training and 400 validation pairs, 8 epochs, and eval()
building a new Net from net.state_dict() after every epoch as exec.py does, scoring the
validation BCE per question. Expected: healthy."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
N_OBJECTS, N_COLOURS, N_REGIONS, FEAT_SIZE, TOKEN_SIZE, Q_LEN = 12, 10, 8, 32, 20, 6


class Cfg:
    HIDDEN_SIZE, MULTI_HEAD, DROPOUT_R, FF_SIZE, LAYER, FLAT_MLP_SIZE, FLAT_GLIMPSES, FLAT_OUT_SIZE = 64, 4, 0.1, 128, 2, 64, 1, 128
    WORD_EMBED_SIZE, IMG_FEAT_SIZE = 32, FEAT_SIZE


def make_mask(feature):
    return (torch.sum(torch.abs(feature), dim=-1) == 0).unsqueeze(1).unsqueeze(2)


class MHAtt(nn.Module):
    def __init__(self, __C):
        super(MHAtt, self).__init__()
        self.__C = __C
        self.linear_v = nn.Linear(__C.HIDDEN_SIZE, __C.HIDDEN_SIZE)
        self.linear_k = nn.Linear(__C.HIDDEN_SIZE, __C.HIDDEN_SIZE)
        self.linear_q = nn.Linear(__C.HIDDEN_SIZE, __C.HIDDEN_SIZE)
        self.linear_merge = nn.Linear(__C.HIDDEN_SIZE, __C.HIDDEN_SIZE)
        self.dropout = nn.Dropout(__C.DROPOUT_R)

    def forward(self, v, k, q, mask):
        n_batches = q.size(0)
        heads, size = self.__C.MULTI_HEAD, self.__C.HIDDEN_SIZE // self.__C.MULTI_HEAD
        v = self.linear_v(v).view(n_batches, -1, heads, size).transpose(1, 2)
        k = self.linear_k(k).view(n_batches, -1, heads, size).transpose(1, 2)
        q = self.linear_q(q).view(n_batches, -1, heads, size).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(size)
        if mask is not None:
            scores = scores.masked_fill(mask, -1e9)
        att_map = self.dropout(F.softmax(scores, dim=-1))
        atted = torch.matmul(att_map, v).transpose(1, 2).contiguous().view(n_batches, -1, self.__C.HIDDEN_SIZE)
        return self.linear_merge(atted)


class FFN(nn.Module):
    def __init__(self, __C):
        super(FFN, self).__init__()
        self.mlp = nn.Sequential(nn.Linear(__C.HIDDEN_SIZE, __C.FF_SIZE), nn.ReLU(inplace=True),
                                 nn.Dropout(__C.DROPOUT_R), nn.Linear(__C.FF_SIZE, __C.HIDDEN_SIZE))

    def forward(self, x):
        return self.mlp(x)


class SA(nn.Module):
    def __init__(self, __C):
        super(SA, self).__init__()
        self.mhatt, self.ffn = MHAtt(__C), FFN(__C)
        self.dropout1, self.norm1 = nn.Dropout(__C.DROPOUT_R), nn.LayerNorm(__C.HIDDEN_SIZE)
        self.dropout2, self.norm2 = nn.Dropout(__C.DROPOUT_R), nn.LayerNorm(__C.HIDDEN_SIZE)

    def forward(self, x, x_mask):
        x = self.norm1(x + self.dropout1(self.mhatt(x, x, x, x_mask)))
        return self.norm2(x + self.dropout2(self.ffn(x)))


class SGA(nn.Module):
    def __init__(self, __C):
        super(SGA, self).__init__()
        self.mhatt1, self.mhatt2, self.ffn = MHAtt(__C), MHAtt(__C), FFN(__C)
        self.dropout1, self.norm1 = nn.Dropout(__C.DROPOUT_R), nn.LayerNorm(__C.HIDDEN_SIZE)
        self.dropout2, self.norm2 = nn.Dropout(__C.DROPOUT_R), nn.LayerNorm(__C.HIDDEN_SIZE)
        self.dropout3, self.norm3 = nn.Dropout(__C.DROPOUT_R), nn.LayerNorm(__C.HIDDEN_SIZE)

    def forward(self, x, y, x_mask, y_mask):
        x = self.norm1(x + self.dropout1(self.mhatt1(x, x, x, x_mask)))
        x = self.norm2(x + self.dropout2(self.mhatt2(y, y, x, y_mask)))
        return self.norm3(x + self.dropout3(self.ffn(x)))


class MCA_ED(nn.Module):
    def __init__(self, __C):
        super(MCA_ED, self).__init__()
        self.enc_list = nn.ModuleList([SA(__C) for _ in range(__C.LAYER)])
        self.dec_list = nn.ModuleList([SGA(__C) for _ in range(__C.LAYER)])

    def forward(self, x, y, x_mask, y_mask):
        for enc in self.enc_list:
            x = enc(x, x_mask)
        for dec in self.dec_list:
            y = dec(y, x, y_mask, x_mask)
        return x, y


class AttFlat(nn.Module):
    def __init__(self, __C):
        super(AttFlat, self).__init__()
        self.__C = __C
        self.mlp = nn.Sequential(nn.Linear(__C.HIDDEN_SIZE, __C.FLAT_MLP_SIZE), nn.ReLU(inplace=True),
                                 nn.Dropout(__C.DROPOUT_R), nn.Linear(__C.FLAT_MLP_SIZE, __C.FLAT_GLIMPSES))
        self.linear_merge = nn.Linear(__C.HIDDEN_SIZE * __C.FLAT_GLIMPSES, __C.FLAT_OUT_SIZE)

    def forward(self, x, x_mask):
        att = self.mlp(x)
        att = att.masked_fill(x_mask.squeeze(1).squeeze(1).unsqueeze(2), -1e9)
        att = F.softmax(att, dim=1)
        att_list = [torch.sum(att[:, :, i: i + 1] * x, dim=1) for i in range(self.__C.FLAT_GLIMPSES)]
        return self.linear_merge(torch.cat(att_list, dim=1))


class Net(nn.Module):
    def __init__(self, __C, token_size, answer_size):
        super(Net, self).__init__()
        self.embedding = nn.Embedding(num_embeddings=token_size, embedding_dim=__C.WORD_EMBED_SIZE)
        self.lstm = nn.LSTM(input_size=__C.WORD_EMBED_SIZE, hidden_size=__C.HIDDEN_SIZE, num_layers=1, batch_first=True)
        self.img_feat_linear = nn.Linear(__C.IMG_FEAT_SIZE, __C.HIDDEN_SIZE)
        self.backbone = MCA_ED(__C)
        self.attflat_img = AttFlat(__C)
        self.attflat_lang = AttFlat(__C)
        self.proj_norm = nn.LayerNorm(__C.FLAT_OUT_SIZE)
        self.proj = nn.Linear(__C.FLAT_OUT_SIZE, answer_size)

    def forward(self, img_feat, ques_ix):
        lang_feat_mask = make_mask(ques_ix.unsqueeze(2))
        img_feat_mask = make_mask(img_feat)
        lang_feat = self.embedding(ques_ix)
        lang_feat, _ = self.lstm(lang_feat)
        img_feat = self.img_feat_linear(img_feat)
        lang_feat, img_feat = self.backbone(lang_feat, img_feat, lang_feat_mask, img_feat_mask)
        lang_feat = self.attflat_lang(lang_feat, lang_feat_mask)
        img_feat = self.attflat_img(img_feat, img_feat_mask)
        proj_feat = self.proj_norm(lang_feat + img_feat)
        return torch.sigmoid(self.proj(proj_feat))


def make_vqa(n, generator):
    gen = torch.Generator().manual_seed(7)
    object_emb, colour_emb = torch.randn(N_OBJECTS, FEAT_SIZE, generator=gen), torch.randn(N_COLOURS, FEAT_SIZE, generator=gen)
    objects = torch.stack([torch.randperm(N_OBJECTS, generator=generator)[:N_REGIONS] for _ in range(n)])
    colours = torch.randint(0, N_COLOURS, (n, N_REGIONS), generator=generator)
    img = object_emb[objects] + colour_emb[colours] + 0.3 * torch.randn(n, N_REGIONS, FEAT_SIZE, generator=generator)
    asked = torch.randint(0, N_REGIONS, (n,), generator=generator)
    ques = torch.zeros(n, Q_LEN, dtype=torch.long)
    ques[:, 0], ques[:, 1], ques[:, 2] = 3, 4 + objects[torch.arange(n), asked], 2  # "what colour is <object> ?"
    ans = F.one_hot(colours[torch.arange(n), asked], N_COLOURS).float()
    return TensorDataset(img, ques, ans)


__C = Cfg()
generator = torch.Generator().manual_seed(0)
dataset, dataset_eval = make_vqa(2000, generator), make_vqa(400, generator)


def eval(state_dict):
    net = Net(__C, TOKEN_SIZE, N_COLOURS)
    net.eval()
    net.load_state_dict(state_dict)
    loss_fn = nn.BCELoss(reduction='sum')
    total, correct = 0.0, 0
    with torch.no_grad():
        for img_feat_iter, ques_ix_iter, ans_iter in DataLoader(dataset_eval, batch_size=200):
            pred = net(img_feat_iter, ques_ix_iter)
            total += loss_fn(pred, ans_iter).item()
            correct += (pred.argmax(1) == ans_iter.argmax(1)).sum().item()
    return total / len(dataset_eval), correct / len(dataset_eval)


net = Net(__C, TOKEN_SIZE, N_COLOURS)
net.train()
loss_fn = nn.BCELoss(reduction='sum')
optim = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-9)
dataloader = DataLoader(dataset, batch_size=64, shuffle=True)

for epoch in range(8):
    loss_sum = 0
    for step, (img_feat_iter, ques_ix_iter, ans_iter) in enumerate(dataloader):
        optim.zero_grad()
        pred = net(img_feat_iter, ques_ix_iter)
        loss = loss_fn(pred, ans_iter)
        loss.backward()
        loss_sum += loss.item()
        optim.step()
    val_loss, val_acc = eval(net.state_dict())
    print("epoch %d: train loss %.4f, val loss %.4f, val acc %.3f" % (epoch, loss_sum / len(dataset), val_loss, val_acc))
