from base import BaseDataLoader

from .datasets import SyntheticDigits
from .transforms import Compose, Normalize, ToTensor


class MnistDataLoader(BaseDataLoader):
    """Synthetic-digits data loading demo using BaseDataLoader"""

    def __init__(self, data_dir, batch_size, shuffle=True, validation_split=0.0, num_workers=1,
                 training=True, num_classes=10, label_noise=0.0):
        trsfm = Compose([ToTensor(), Normalize(0.37, 0.21)])
        self.data_dir = data_dir
        self.dataset = SyntheticDigits(num_classes=num_classes, transform=trsfm,
                                       label_noise=label_noise)
        super().__init__(self.dataset, batch_size, shuffle, validation_split, num_workers)
