"""Writes a small synthetic stand-in for CIFAR-10 in its own python format
(`cifar-10-batches-py/data_batch_1..5`, `test_batch`, `batches.meta`: pickled dicts with
'data' as uint8 rows of 3072 values, the red plane, then green, then blue, and 'labels'),
from a fixed seed, so that nothing is downloaded. Each class is a coloured stripe pattern of its
own orientation and frequency, at a random phase, under noise and a random brightness."""
import os
import pickle

import numpy as np

CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship',
           'truck']
PER_BATCH, N_TEST, SIZE = 500, 500, 32


def images(rng, labels):
    colours = np.random.RandomState(0).uniform(-1, 1, (len(CLASSES), 3))
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    out = np.empty((len(labels), 3, SIZE, SIZE))
    for i, c in enumerate(labels):
        angle = np.pi * c / len(CLASSES) + rng.normal(0, 0.15)
        wave = np.sin(2 * np.pi * (2 + c % 3) * (xx * np.cos(angle) + yy * np.sin(angle))
                      + rng.uniform(0, 2 * np.pi))
        out[i] = 120 + rng.uniform(-25, 25) + 60 * colours[c][:, None, None] * wave
    out += rng.normal(0, 20, out.shape)
    return np.clip(out, 0, 255).astype(np.uint8).reshape(len(labels), -1)


def write(path, labels, rng):
    with open(path, 'wb') as f:
        pickle.dump({'data': images(rng, labels), 'labels': list(map(int, labels))}, f)


def main():
    rng = np.random.RandomState(2017)
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'cifar-10-batches-py')
    os.makedirs(folder, exist_ok=True)
    for b in range(1, 6):
        write(os.path.join(folder, 'data_batch_%d' % b), rng.randint(10, size=PER_BATCH), rng)
    write(os.path.join(folder, 'test_batch'), rng.randint(10, size=N_TEST), rng)
    with open(os.path.join(folder, 'batches.meta'), 'wb') as f:
        pickle.dump({'label_names': [c.encode() for c in CLASSES]}, f)


if __name__ == '__main__':
    main()
