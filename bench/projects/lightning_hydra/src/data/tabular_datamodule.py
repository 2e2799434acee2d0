import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset, random_split


def make_tabular(n_samples, n_features=24, n_classes=5, seed=7):
    """Customer segments: five classes from a few informative features among noisy ones."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_samples, n_features, generator=g)
    w = torch.randn(n_features, n_classes, generator=g) * (torch.rand(n_features, 1, generator=g) < 0.4)
    scores = x @ w + 0.5 * torch.randn(n_samples, n_classes, generator=g)
    y = scores.argmax(1)
    return x, y


class TabularDataModule:
    """A LightningDataModule-style holder of the train, validation and test splits."""

    def __init__(self, n_samples=4000, train_val_test_split=(0.7, 0.2, 0.1), batch_size=64,
                 num_workers=0, pin_memory=False):
        self.hparams = dict(n_samples=n_samples, train_val_test_split=train_val_test_split,
                            batch_size=batch_size, num_workers=num_workers,
                            pin_memory=pin_memory)
        self.data_train: Dataset | None = None
        self.data_val: Dataset | None = None
        self.data_test: Dataset | None = None

    def prepare_data(self):
        pass

    def setup(self, stage=None):
        if not self.data_train and not self.data_val and not self.data_test:
            x, y = make_tabular(self.hparams["n_samples"])
            dataset = TensorDataset(x, y)
            n = len(dataset)
            lengths = [int(f * n) for f in self.hparams["train_val_test_split"]]
            lengths[0] += n - sum(lengths)
            self.data_train, self.data_val, self.data_test = random_split(
                dataset=dataset, lengths=lengths, generator=torch.Generator().manual_seed(42))

    def train_dataloader(self):
        return DataLoader(self.data_train, batch_size=self.hparams["batch_size"],
                          num_workers=self.hparams["num_workers"],
                          pin_memory=self.hparams["pin_memory"], shuffle=True,
                          persistent_workers=self.hparams["num_workers"] > 0)

    def val_dataloader(self):
        return DataLoader(self.data_val, batch_size=self.hparams["batch_size"],
                          num_workers=self.hparams["num_workers"],
                          pin_memory=self.hparams["pin_memory"], shuffle=False,
                          persistent_workers=self.hparams["num_workers"] > 0)

    def test_dataloader(self):
        return DataLoader(self.data_test, batch_size=self.hparams["batch_size"], shuffle=False)
