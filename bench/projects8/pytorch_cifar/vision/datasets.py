"""torchvision.datasets.CIFAR10, reading the python-format batches from `root`."""
import os
import pickle

import numpy as np
import torch.utils.data


class CIFAR10(torch.utils.data.Dataset):
    base_folder = 'cifar-10-batches-py'
    train_list = ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5']
    test_list = ['test_batch']

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        self.root = root
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        if download:
            if not self._check_integrity():
                raise RuntimeError('no network here: run data/make_cifar10.py first')
            print('Files already downloaded and verified')
        data, self.targets = [], []
        for name in (self.train_list if train else self.test_list):
            with open(os.path.join(root, self.base_folder, name), 'rb') as f:
                entry = pickle.load(f, encoding='latin1')
            data.append(entry['data'])
            self.targets.extend(entry['labels'])
        self.data = np.vstack(data).reshape(-1, 3, 32, 32)
        self.data = self.data.transpose((0, 2, 3, 1))  # convert to HWC

    def _check_integrity(self):
        return all(os.path.exists(os.path.join(self.root, self.base_folder, name))
                   for name in self.train_list + self.test_list)

    def __getitem__(self, index):
        img, target = self.data[index], self.targets[index]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self):
        return len(self.data)
