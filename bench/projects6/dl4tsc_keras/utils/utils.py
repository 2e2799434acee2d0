import os
import time

import numpy as np


def create_directory(directory_path):
    if os.path.exists(directory_path):
        return None
    else:
        try:
            os.makedirs(directory_path)
        except:
            # in case another machine created the path meanwhile !:(
            return None
        return directory_path


def make_synthetic_archive(root_dir, archive_name, dataset_name, n_train=500, n_test=250, length=96, seed=0):
    """Writes <dataset>_TRAIN.tsv / <dataset>_TEST.tsv in the UCR 2018 layout (label in the first
    column, -1 or 1 as in FordA): engine-noise-like series, the positive ones carry a short burst
    of a faster oscillation somewhere in the window. Stands in for downloading the archive."""
    rng = np.random.RandomState(seed)
    out_dir = os.path.join(root_dir, 'archives', archive_name, dataset_name)
    create_directory(out_dir)
    t = np.arange(length)
    for split, n in (('TRAIN', n_train), ('TEST', n_test)):
        y = rng.choice([-1, 1], size=n)
        x = np.zeros((n, length))
        for i in range(n):
            noise = np.convolve(rng.randn(length + 4), np.ones(5) / 5 ** 0.5, mode='valid')
            base = 0.8 * np.sin(2 * np.pi * t / rng.uniform(20, 40) + rng.uniform(0, 2 * np.pi))
            x[i] = 3.0 + 2.0 * (base + noise)
            if y[i] == 1:
                start = rng.randint(0, length - 16)
                x[i, start:start + 16] += 2.0 * np.sin(2 * np.pi * np.arange(16) / 4.0)
        np.savetxt(os.path.join(out_dir, dataset_name + '_' + split + '.tsv'),
                   np.column_stack([y, x]), delimiter='\t', fmt='%.5f')


def read_dataset(root_dir, archive_name, dataset_name):
    datasets_dict = {}
    cur_root_dir = root_dir.replace('-temp', '')

    if archive_name == 'UCRArchive_2018':
        root_dir_dataset = cur_root_dir + '/archives/' + archive_name + '/' + dataset_name + '/'
        if not os.path.exists(root_dir_dataset + dataset_name + '_TRAIN.tsv'):
            make_synthetic_archive(cur_root_dir, archive_name, dataset_name)

        df_train = np.loadtxt(root_dir_dataset + '/' + dataset_name + '_TRAIN.tsv', delimiter='\t')
        df_test = np.loadtxt(root_dir_dataset + '/' + dataset_name + '_TEST.tsv', delimiter='\t')

        y_train = df_train[:, 0]
        y_test = df_test[:, 0]

        x_train = df_train[:, 1:]
        x_test = df_test[:, 1:]

        # znorm
        std_ = x_train.std(axis=1, keepdims=True)
        std_[std_ == 0] = 1.0
        x_train = (x_train - x_train.mean(axis=1, keepdims=True)) / std_

        std_ = x_test.std(axis=1, keepdims=True)
        std_[std_ == 0] = 1.0
        x_test = (x_test - x_test.mean(axis=1, keepdims=True)) / std_

        datasets_dict[dataset_name] = (x_train.copy(), y_train.copy(), x_test.copy(),
                                       y_test.copy())

    return datasets_dict


class OneHotEncoder:
    """The part of sklearn.preprocessing.OneHotEncoder(categories='auto') used here."""

    def fit(self, y):
        self.categories_ = [np.unique(y.ravel())]
        return self

    def transform(self, y):
        index = np.searchsorted(self.categories_[0], y.ravel())
        return np.eye(len(self.categories_[0]))[index]


def calculate_metrics(y_true, y_pred, duration):
    return {'accuracy': float(np.mean(y_true == y_pred)), 'duration': duration}


def save_logs(output_directory, hist, y_pred, y_true, duration):
    with open(output_directory + 'history.csv', 'w') as f:
        keys = list(hist.history.keys())
        f.write(','.join(['epoch'] + keys) + '\n')
        for epoch in range(len(hist.history[keys[0]])):
            f.write(','.join([str(epoch)] + ['%.6f' % hist.history[k][epoch] for k in keys]) + '\n')

    df_metrics = calculate_metrics(y_true, y_pred, duration)
    index_best_model = int(np.argmin(hist.history['loss']))
    print('best_model_train_loss', hist.history['loss'][index_best_model])
    print('best_model_val_loss', hist.history['val_loss'][index_best_model])
    print('test accuracy', df_metrics['accuracy'])
    return df_metrics
