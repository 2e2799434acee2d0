# lossdoctor-expect:
"""Multivariate forecasting on sliding windows with a channel-independent linear model, in the
idiom of KimMeen/Time-LLM's data loaders and vali() (https://github.com/KimMeen/Time-LLM/issues/104):
a StandardScaler fitted on the training part of every channel, windows of seq_len=48 predicting
pred_len=12, train/val split in time order, MSE on the scaled values for both training and
validation.
The question: the validation loss is computed before inverse_transform; is that wrong? The
maintainer's answer: no, the loss on the scaled data is the benchmark's convention and does not
change training. Nothing is wrong: expected healthy."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
SEQ_LEN, PRED_LEN, N_CH = 48, 12, 4
t = torch.arange(2000, dtype=torch.float32)
series = torch.stack([
    100 + 20 * torch.sin(t * 6.283 / 24 + c) + 5 * torch.sin(t * 6.283 / 168)
    + 2 * torch.randn(2000)
    for c in range(N_CH)], 1)
border = 1400


class StandardScaler:
    def fit(self, data):
        self.mean, self.std = data.mean(0), data.std(0)

    def transform(self, data):
        return (data - self.mean) / self.std

    def inverse_transform(self, data):
        return data * self.std + self.mean


class Dataset_Custom(Dataset):
    def __init__(self, data):
        self.data = data

    def __len__(self):
        return len(self.data) - SEQ_LEN - PRED_LEN + 1

    def __getitem__(self, i):
        return self.data[i:i + SEQ_LEN], self.data[i + SEQ_LEN:i + SEQ_LEN + PRED_LEN]


scaler = StandardScaler()
scaler.fit(series[:border])
scaled = scaler.transform(series)
train_data, vali_data = Dataset_Custom(scaled[:border]), Dataset_Custom(scaled[border - SEQ_LEN:])
train_loader = DataLoader(train_data, batch_size=32, shuffle=True, drop_last=True)
vali_loader = DataLoader(vali_data, batch_size=32, shuffle=False)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(SEQ_LEN, PRED_LEN)

    def forward(self, x):
        return self.proj(x.permute(0, 2, 1)).permute(0, 2, 1)


def vali(model, vali_loader, criterion):
    total_loss = []
    model.eval()
    with torch.no_grad():
        for batch_x, batch_y in vali_loader:
            outputs = model(batch_x)
            total_loss.append(criterion(outputs, batch_y).item())
    model.train()
    return sum(total_loss) / len(total_loss)


model = Model()
criterion = nn.MSELoss()
model_optim = torch.optim.Adam(model.parameters(), lr=0.001)
for epoch in range(6):
    train_loss = []
    for batch_x, batch_y in train_loader:
        model_optim.zero_grad()
        loss = criterion(model(batch_x), batch_y)
        train_loss.append(loss.item())
        loss.backward()
        model_optim.step()
    vali_loss = vali(model, vali_loader, criterion)
    print(f"Epoch: {epoch + 1} | Train Loss: {sum(train_loss) / len(train_loss):.7f} "
          f"Vali Loss: {vali_loss:.7f}")
