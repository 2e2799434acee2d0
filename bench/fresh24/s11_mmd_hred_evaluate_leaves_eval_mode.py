# lossdoctor-expect: train_eval_mode
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""shubhamagarwal92/mmd#14 (https://github.com/shubhamagarwal92/mmd/issues/14): "model.eval() in
train.py". The multimodal dialogue trainer (a hierarchical encoder-decoder: an utterance GRU, the
context images through a linear image encoder, a context GRU over the turns, a GRU decoder with
teacher forcing, dropout between them) calls model.eval() inside evaluate() after every epoch
and never model.train() again, so "once evaluate called, dropout will be disabled" for the rest
of training. The answer given in the thread (and confirmed by the author's "interesting
observation"): call model.train() after evaluate(). Here that trainer's shape on a small
synthetic shopping dialogue set (3 turns of 6 tokens each with 2 image feature vectors per
turn; the response names the colour and type of the item shown in the last turn's image plus
filler words; 160 training and 120 validation dialogues, few enough that the dropout of 0.5
matters), GRUs of 256, Adam 1e-3, 16 epochs, the validation loss per token printed after each
epoch. Cause: the
model trains in evaluation mode after the first epoch, without its dropout (train_eval_mode).
Fix: model.train() after evaluate() (or at the top of each epoch)."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
VOCAB, PAD, SOS, TURNS, UTT_LEN, RESP_LEN, IMG_DIM, N_IMAGES = 60, 0, 1, 3, 6, 7, 64, 2


class HRED(nn.Module):
    def __init__(self, hidden=256, dropout=0.5):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 64, padding_idx=PAD)
        self.utterance_encoder = nn.GRU(64, hidden, batch_first=True)
        self.image_encoder = nn.Linear(IMG_DIM * N_IMAGES, hidden)
        self.context_encoder = nn.GRU(2 * hidden, hidden, batch_first=True)
        self.decoder = nn.GRU(64, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, VOCAB)

    def forward(self, text, images, response_in):
        batch = text.size(0)
        _, h_utt = self.utterance_encoder(self.dropout(self.embedding(text.view(batch * TURNS, UTT_LEN))))
        h_utt = h_utt[-1].view(batch, TURNS, -1)
        h_img = torch.relu(self.image_encoder(images.view(batch, TURNS, -1)))
        _, h_ctx = self.context_encoder(self.dropout(torch.cat([h_utt, h_img], dim=-1)))
        dec_out, _ = self.decoder(self.dropout(self.embedding(response_in)), h_ctx)
        return self.out(self.dropout(dec_out))


def make_dialogues(n, generator):
    gen = torch.Generator().manual_seed(11)
    colour_vec, type_vec = torch.randn(8, IMG_DIM, generator=gen), torch.randn(8, IMG_DIM, generator=gen)
    colours = torch.randint(0, 8, (n, TURNS, N_IMAGES), generator=generator)
    types = torch.randint(0, 8, (n, TURNS, N_IMAGES), generator=generator)
    images = colour_vec[colours] + type_vec[types] + 0.5 * torch.randn(n, TURNS, N_IMAGES, IMG_DIM, generator=generator)
    text = torch.randint(20, VOCAB, (n, TURNS, UTT_LEN), generator=generator)
    filler = torch.randint(20, VOCAB, (n, RESP_LEN - 2), generator=generator)
    response = torch.cat([4 + colours[:, -1, :1], 12 + types[:, -1, :1], filler], dim=1)
    response_in = torch.cat([torch.full((n, 1), SOS), response[:, :-1]], dim=1)
    return TensorDataset(text, images, response_in, response)


def evaluate(model, loader, criterion):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for text, images, response_in, response in loader:
            logits = model(text, images, response_in)
            total += criterion(logits.reshape(-1, VOCAB), response.reshape(-1)).item() * len(text)
            count += len(text)
    return total / count


generator = torch.Generator().manual_seed(0)
train_loader = DataLoader(make_dialogues(160, generator), batch_size=16, shuffle=True)
val_loader = DataLoader(make_dialogues(120, generator), batch_size=60)
model = HRED()
criterion = nn.CrossEntropyLoss(ignore_index=PAD)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

model.train()
for epoch in range(16):
    for text, images, response_in, response in train_loader:
        optimizer.zero_grad()
        logits = model(text, images, response_in)
        loss = criterion(logits.reshape(-1, VOCAB), response.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
    val_loss = evaluate(model, val_loader, criterion)
    print("epoch %d train loss %.4f val loss %.4f" % (epoch, loss.item(), val_loss))
