UNIVARIATE_DATASET_NAMES_2018 = ['FordA', 'FordB', 'GunPoint', 'ECG200', 'Wafer']

UNIVARIATE_ARCHIVE_NAMES = ['UCRArchive_2018']

ITERATIONS = 1  # nb of random runs for random initializations

ARCHIVE_NAMES = ['UCRArchive_2018']

CLASSIFIERS = ['fcn', 'mlp']

dataset_names_for_archive = {'UCRArchive_2018': UNIVARIATE_DATASET_NAMES_2018}
