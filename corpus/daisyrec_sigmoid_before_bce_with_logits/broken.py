# lossdoctor-expect: loss_mismatch
# source: https://github.com/yudi-mars/daisyRec/pull/15
# answer: the model's forward already applies a sigmoid and the loss is BCEWithLogitsLoss, which applies its own; the loss does not converge, so return the raw score
# ruff: noqa: E501
"""A daisyRec-style point-wise recommender (generalized matrix factorization: user and item
embeddings, their element-wise product, a linear scoring layer) trained on implicit feedback
labelled 1 or 0. The model's `forward` returns `sigmoid(score)` and the loss is
`BCEWithLogitsLoss`, as in the repository before the fix. Synthetic interactions come from
hidden user and item factors; batches are dicts of user ids, item ids and labels."""

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
N_USERS, N_ITEMS, FACTORS = 300, 200, 16


def make_interactions(n):
    user_taste, item_traits = torch.randn(N_USERS, 4), torch.randn(N_ITEMS, 4)
    users, items = torch.randint(0, N_USERS, (n,)), torch.randint(0, N_ITEMS, (n,))
    affinity = (user_taste[users] * item_traits[items]).sum(1)
    labels = (affinity + 0.3 * torch.randn(n) > 0).float()
    return users, items, labels


class Interactions(Dataset):
    def __init__(self, users, items, labels):
        self.users, self.items, self.labels = users, items, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"user": self.users[i], "item": self.items[i], "label": self.labels[i]}


class PointGMF(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_user = nn.Embedding(N_USERS, FACTORS)
        self.embed_item = nn.Embedding(N_ITEMS, FACTORS)
        self.predict_layer = nn.Linear(FACTORS, 1)
        nn.init.normal_(self.embed_user.weight, std=0.01)
        nn.init.normal_(self.embed_item.weight, std=0.01)

    def forward(self, user, item):
        score = self.predict_layer(self.embed_user(user) * self.embed_item(item)).view(-1)
        return torch.sigmoid(score)


users, items, labels = make_interactions(12000)
train_loader = DataLoader(Interactions(users[:10000], items[:10000], labels[:10000]), batch_size=256, shuffle=True)
val_loader = DataLoader(Interactions(users[10000:], items[10000:], labels[10000:]), batch_size=500)

model = PointGMF()
criterion = nn.BCEWithLogitsLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

for epoch in range(5):
    model.train()
    for batch in train_loader:
        optimizer.zero_grad()
        prediction = model(batch["user"], batch["item"])
        loss = criterion(prediction, batch["label"])
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(b["user"], b["item"]), b["label"]).item() for b in val_loader) / len(val_loader)
    print(f"epoch {epoch} loss {loss.item():.4f} val loss {val_loss:.4f}")
