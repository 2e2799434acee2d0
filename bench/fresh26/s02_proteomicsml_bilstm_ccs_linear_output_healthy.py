# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""ProteomicsML/ProteomicsML#203 (https://github.com/ProteomicsML/ProteomicsML/pull/203): the
tutorial's model as the PR left it (see bench/fresh26/README.md), in Keras 3 on the torch backend,
on 2400 synthetic peptides, 12 epochs. Needs keras: run with /work/venv-fw/bin/python."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras.layers import LSTM, Bidirectional, Dense, Input, concatenate  # noqa: E402
from keras.models import Model  # noqa: E402

keras.utils.set_random_seed(1)
rng = np.random.default_rng(0)

vol_dict = {"A": 88.6, "B": 0.0, "O": 0.0, "X": 0.0, "J": 0.0, "R": 173.4, "N": 114.1,
            "D": 111.1, "C": 108.5, "Q": 143.8, "E": 138.4, "G": 60.1, "H": 153.2,
            "I": 166.7, "L": 166.7, "K": 168.6, "M": 162.9, "F": 189.9, "P": 112.7,
            "S": 89.0, "T": 116.1, "W": 227.8, "Y": 193.6, "V": 140}

aa_to_pos = dict(zip(vol_dict.keys(), range(len(vol_dict.keys()))))
residues = [aa for aa, v in vol_dict.items() if v > 0]


def synthetic_ccs_df(n):
    # the tutorial reads Meier et al.'s table with pandas; the same three columns here
    seqs, charges, ccs_values = [], [], []
    for _ in range(n):
        length = int(rng.integers(7, 31))
        seq = "".join(rng.choice(residues, size=length))
        charge = int(rng.choice([2, 3, 4], p=[0.65, 0.3, 0.05]))
        volume = sum(vol_dict[aa] for aa in seq)
        ccs = 150 + 0.13 * volume + 45 * (charge - 2) + 1.8 * length * (charge - 1) + rng.normal(0, 12)
        seqs.append(seq)
        charges.append(charge)
        ccs_values.append(ccs)
    return {"seq": seqs, "Charge": np.array(charges, dtype="float32"), "CCS": np.array(ccs_values, dtype="float32")}


def aa_seq_to_one_hot(seq, padding_length=60):
    # Although padding is not needed for an LSTM, we might need it if we for example apply a CNN
    # Calculate how much padding is needed
    seq_len = len(seq)
    if seq_len > padding_length:
        seq = seq[0:padding_length]
        seq_len = len(seq)

    # Add padding for peptides that are too short
    padding = "".join(["X"] * (padding_length - len(seq)))
    seq = seq + padding

    # Initialize all feature matrix
    matrix_hc = np.zeros((len(aa_to_pos.keys()), len(seq)), dtype=np.int8)

    # Fill the one-hot matrix, when we encounter an 'X' it should be the end of the sequence
    for idx, aa in enumerate(seq):
        if aa == "X":
            break
        matrix_hc[aa_to_pos[aa], idx] = 1

    return matrix_hc


ccs_df = synthetic_ccs_df(3000)
ccs_df_train = {k: v[:2400] for k, v in ccs_df.items()}
ccs_df_test = {k: v[2400:] for k, v in ccs_df.items()}

one_hot_encoded_train = np.array([aa_seq_to_one_hot(s) for s in ccs_df_train["seq"]]).swapaxes(1, 2).astype("float32")
one_hot_encoded_test = np.array([aa_seq_to_one_hot(s) for s in ccs_df_test["seq"]]).swapaxes(1, 2).astype("float32")

if len(ccs_df["CCS"]) < 1e4:
    epochs = 100
    num_lstm = 12
    batch_size = 128
else:
    batch_size = 1024
    epochs = 10
    num_lstm = 64

epochs = 12
batch_size = 128
v_split = 0.1
optimizer = "adam"
loss = "mean_squared_error"

# The architecture chosen consists of two inputs: (1) the one-hot matrix and (2) the charge
# The first part is a biderectional LSTM (a), in paralel we have dense layers containing the charge (b)
# Both a and b are concatenated to go through several dense layers (c)
input_a = Input(shape=(None, one_hot_encoded_train.shape[2]))
a = Bidirectional(LSTM(num_lstm, return_sequences=True))(input_a)
a = Bidirectional(LSTM(num_lstm))(a)
a = Model(inputs=input_a, outputs=a)

input_b = Input(shape=(1,))
b = Dense(5, activation="relu")(input_b)
b = Model(inputs=input_b, outputs=b)

c = concatenate([a.output, b.output], axis=-1)

c = Dense(64, activation="relu")(c)
c = Dense(32, activation="relu")(c)
c = Dense(1)(c)

# Create the model with specified inputs and outputs
model = Model(inputs=[a.input, b.input], outputs=c)

model.compile(optimizer=optimizer, loss=loss)

# Fit the model on the training data
history = model.fit(
    (one_hot_encoded_train, ccs_df_train["Charge"]),
    ccs_df_train["CCS"],
    epochs=epochs,
    batch_size=batch_size,
    validation_split=v_split,
    verbose=2,
)

# Predict CCS values test set
ccs_df_test["LSTM_predictions"] = model.predict(
    (one_hot_encoded_test, ccs_df_test["Charge"]), verbose=0
)[:, 0]
predictions = ccs_df_test["LSTM_predictions"]
observations = ccs_df_test["CCS"]
are = abs(predictions - observations) / observations
print("test predictions: min %.1f max %.1f, MARE %.1f%%" % (predictions.min(), predictions.max(), are.mean() * 100))
