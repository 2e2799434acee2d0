import os
os.environ.setdefault('KERAS_BACKEND', 'torch')

import sys

import numpy as np
import keras

from utils.utils import create_directory
from utils.utils import read_dataset
from utils.utils import OneHotEncoder
from utils.constants import CLASSIFIERS
from utils.constants import ARCHIVE_NAMES


def fit_classifier():
    x_train = datasets_dict[dataset_name][0]
    y_train = datasets_dict[dataset_name][1]
    x_test = datasets_dict[dataset_name][2]
    y_test = datasets_dict[dataset_name][3]

    nb_classes = len(np.unique(np.concatenate((y_train, y_test), axis=0)))

    # transform the labels from integers to one hot vectors
    enc = OneHotEncoder()
    enc.fit(np.concatenate((y_train, y_test), axis=0).reshape(-1, 1))
    y_train = enc.transform(y_train.reshape(-1, 1))
    y_test = enc.transform(y_test.reshape(-1, 1))

    # save orignal y because later we will use binary
    y_true = np.argmax(y_test, axis=1)

    if len(x_train.shape) == 2:  # if univariate
        # add a dimension to make it multivariate with one dimension
        x_train = x_train.reshape((x_train.shape[0], x_train.shape[1], 1))
        x_test = x_test.reshape((x_test.shape[0], x_test.shape[1], 1))

    input_shape = x_train.shape[1:]
    classifier = create_classifier(classifier_name, input_shape, nb_classes, output_directory,
                                   verbose=2)

    classifier.fit(x_train, y_train, x_test, y_test, y_true)


def create_classifier(classifier_name, input_shape, nb_classes, output_directory, verbose=False):
    if classifier_name == 'fcn':
        from classifiers import fcn
        return fcn.Classifier_FCN(output_directory, input_shape, nb_classes, verbose)
    if classifier_name == 'mlp':
        from classifiers import mlp
        return mlp.Classifier_MLP(output_directory, input_shape, nb_classes, verbose)


############################################### main

# change this directory for your machine
root_dir = os.path.abspath('.')

keras.utils.set_random_seed(0)

# this is the code used to launch an experiment on a dataset
archive_name = sys.argv[1]
dataset_name = sys.argv[2]
classifier_name = sys.argv[3]
itr = sys.argv[4]

if itr == '_itr_0':
    itr = ''

output_directory = root_dir + '/results/' + classifier_name + '/' + archive_name + itr + '/' + \
                   dataset_name + '/'

test_dir_df_metrics = output_directory + 'df_metrics.csv'

print('Method: ', archive_name, dataset_name, classifier_name, itr)

if os.path.exists(test_dir_df_metrics):
    print('Already done')
else:

    create_directory(output_directory)
    datasets_dict = read_dataset(root_dir, archive_name, dataset_name)

    fit_classifier()

    print('DONE')

    # the creation of this directory means
    create_directory(output_directory + '/DONE')
