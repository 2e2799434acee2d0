import torch
from torch.utils.data import Dataset


class TabularDataset(Dataset):
    def __init__(self, features, targets):
        self.features = features
        self.targets = targets

    def __len__(self):
        return len(self.features)

    def __getitem__(self, idx):
        return {
            "x": torch.tensor(self.features[idx], dtype=torch.float),
            "y": torch.tensor(self.targets[idx], dtype=torch.float),
        }
