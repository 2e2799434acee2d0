import math

import numpy as np
import keras


class SeriesGenerator(keras.utils.PyDataset):
    """Mini-batches of series for model.fit, reshuffled every epoch, with a small jitter
    (Gaussian noise) added to the training series as augmentation."""

    def __init__(self, x, y, batch_size, shuffle=True, jitter=0.0, **kwargs):
        super().__init__(**kwargs)
        self.x = x
        self.y = y
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.jitter = jitter
        self.rng = np.random.RandomState(0)
        self.indices = np.arange(len(self.x))

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, idx):
        batch = self.indices[idx * self.batch_size:(idx + 1) * self.batch_size]
        batch_x = self.x[batch]
        batch_y = self.y[batch]
        if self.jitter > 0:
            batch_x = batch_x + self.rng.normal(0.0, self.jitter, size=batch_x.shape)
        return batch_x.astype('float32'), batch_y.astype('float32')

    def on_epoch_end(self):
        if self.shuffle:
            self.rng.shuffle(self.indices)
