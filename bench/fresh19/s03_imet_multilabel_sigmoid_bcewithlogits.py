# lossdoctor-expect: loss_mismatch
"""Multi-label image tagging in the style of lopuhin/kaggle-imet-2019 (iMet Collection: every
image carries several attribute tags): a CNN with one output per tag, nn.BCEWithLogitsLoss,
Adam, per-epoch validation loss and micro-F2.
Bug (lopuhin/kaggle-imet-2019#3: 'Is the sigmoid activation necessary before the output is fed
into BCEWithLogitsLoss?' - 'This loss expects logits, so sigmoid must not be added here'): the
model's head ends in nn.Sigmoid(), and BCEWithLogitsLoss applies a second sigmoid."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

N_TAGS = 6


class TagImages(Dataset):
    """Each tag is a small bright patch at its own place; an image carries one to three tags."""

    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.images = 0.5 * torch.randn(n, 3, 16, 16, generator=g)
        self.targets = (torch.rand(n, N_TAGS, generator=g) < 0.3).float()
        for i in range(n):
            for tag in self.targets[i].nonzero().flatten().tolist():
                row, col = divmod(tag, 3)
                self.images[i, tag % 3, 2 + 6 * row:6 + 6 * row, 1 + 5 * col:5 + 5 * col] += 1.5

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, idx):
        return self.images[idx], self.targets[idx]


def build_model():
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
        nn.Flatten(), nn.Linear(32 * 4, 64), nn.ReLU(),
        nn.Linear(64, N_TAGS), nn.Sigmoid(),
    )


def f2_score(probs, targets, threshold=0.5):
    pred = (probs > threshold).float()
    tp = (pred * targets).sum()
    precision = tp / pred.sum().clamp(min=1)
    recall = tp / targets.sum().clamp(min=1)
    return (5 * precision * recall / (4 * precision + recall).clamp(min=1e-8)).item()


def main():
    torch.manual_seed(0)
    train_loader = DataLoader(TagImages(1600, 1), batch_size=32, shuffle=True)
    valid_loader = DataLoader(TagImages(400, 2), batch_size=64)
    model = build_model()
    criterion = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(8):
        model.train()
        losses = []
        for inputs, targets in train_loader:
            outputs = model(inputs)
            loss = criterion(outputs, targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        valid_losses, all_probs, all_targets = [], [], []
        with torch.no_grad():
            for inputs, targets in valid_loader:
                outputs = model(inputs)
                valid_losses.append(criterion(outputs, targets).item())
                all_probs.append(torch.sigmoid(outputs))
                all_targets.append(targets)
        f2 = f2_score(torch.cat(all_probs), torch.cat(all_targets))
        print(f"epoch {epoch}: train_loss {sum(losses) / len(losses):.4f} "
              f"valid_loss {sum(valid_losses) / len(valid_losses):.4f} valid_f2 {f2:.3f}")


if __name__ == "__main__":
    main()
