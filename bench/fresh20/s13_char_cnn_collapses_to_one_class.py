# lossdoctor-expect: lr_too_high
"""A character-level CNN for text classification (Zhang et al. 2015), in the idiom of
srviest/char-cnn-text-classification-pytorch (https://github.com/srviest/char-cnn-text-classification-pytorch/issues/5):
texts quantized as one-hot characters (alphabet x l0), Conv1d + max-pool blocks, fully connected
layers with dropout 0.5, cross-entropy, Adam, a dev set every epoch.
Bug (the issue): precision does not improve, the model keeps selecting one class; the answer
(issue #3, which the author pointed to): lower the learning rate. Here Adam at 0.05, where 1e-3
trains.
Synthetic texts: each of four classes has its own keywords among filler words."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
ALPHABET = "abcdefghijklmnopqrstuvwxyz "
L0 = 96
KEYWORDS = [["goal", "match", "score"], ["stock", "market", "bank"],
            ["chip", "cloud", "robot"], ["vote", "party", "law"]]
FILLER = ["the", "a", "of", "and", "today", "new", "said", "was", "on", "for"]


def make_text(label, g):
    words = [FILLER[int(torch.randint(0, len(FILLER), (1,), generator=g))] for _ in range(14)]
    for _ in range(2):
        pos = int(torch.randint(0, len(words), (1,), generator=g))
        words[pos] = KEYWORDS[label][int(torch.randint(0, 3, (1,), generator=g))]
    return " ".join(words)


class AGNEWs(Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.label = torch.randint(0, 4, (n,), generator=g)
        self.data = [make_text(int(lab), g) for lab in self.label]
        self.encoded = [self.oneHotEncode(text) for text in self.data]

    def __len__(self):
        return len(self.label)

    def oneHotEncode(self, text):
        X = torch.zeros(len(ALPHABET), L0)
        for i, ch in enumerate(text[:L0]):
            X[ALPHABET.index(ch), i] = 1.0
        return X

    def __getitem__(self, idx):
        return self.encoded[idx], self.label[idx]


class CharCNN(nn.Module):
    def __init__(self, num_features=27, num_classes=4):  # len(ALPHABET)
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv1d(num_features, 32, 7), nn.ReLU(), nn.MaxPool1d(3))
        self.conv2 = nn.Sequential(nn.Conv1d(32, 32, 7), nn.ReLU(), nn.MaxPool1d(3))
        self.conv3 = nn.Sequential(nn.Conv1d(32, 32, 3), nn.ReLU())
        self.fc1 = nn.Sequential(nn.Linear(32 * 6, 128), nn.ReLU(), nn.Dropout(0.5))
        self.fc2 = nn.Linear(128, num_classes)

    def forward(self, x):
        x = self.conv3(self.conv2(self.conv1(x)))
        return self.fc2(self.fc1(x.view(x.size(0), -1)))


train_loader = DataLoader(AGNEWs(1200, 1), batch_size=32, shuffle=True)
dev_loader = DataLoader(AGNEWs(300, 2), batch_size=32)
model = CharCNN()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
for epoch in range(6):
    model.train()
    losses = []
    for inputs, target in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(inputs), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    corrects, dev_losses = 0, []
    with torch.no_grad():
        for inputs, target in dev_loader:
            logit = model(inputs)
            dev_losses.append(criterion(logit, target).item())
            corrects += (logit.argmax(1) == target).sum().item()
    print(f"epoch {epoch + 1} loss {sum(losses) / len(losses):.4f} "
          f"dev_loss {sum(dev_losses) / len(dev_losses):.4f} acc {corrects / 300:.3f}")
