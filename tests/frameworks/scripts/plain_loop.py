"""The same tasks in a plain PyTorch loop, the reference for what each bug should get:
``mlp`` (the blobs, as lightning_mlp.py and keras_fit.py) or ``bert`` (the tokens, as
hf_trainer.py, with the loss taken from the logits)."""

import sys

import torch
import torch.nn.functional as F
from tiny_data import BATCH, EPOCHS, LR, VALIDATE, blobs, tokens
from torch import nn

torch.manual_seed(0)
if sys.argv[1] == "bert":
    from transformers import BertConfig, BertForSequenceClassification

    x_train, y_train, x_val, y_val = tokens()
    config = BertConfig(vocab_size=32, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=16,
                        num_labels=2)
    bert = BertForSequenceClassification(config)

    def model(x):
        return bert(x).logits

    parameters, modes, lr, epochs, batch = bert.parameters(), bert, LR / 10, EPOCHS // 2, 32
else:
    x_train, y_train, x_val, y_val = blobs()
    net = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                        nn.Linear(64, 3))
    model, parameters, modes, lr, epochs, batch = net, net.parameters(), net, LR, EPOCHS, BATCH
x_train, y_train = torch.as_tensor(x_train), torch.as_tensor(y_train)
x_val, y_val = torch.as_tensor(x_val), torch.as_tensor(y_val)
optimizer = torch.optim.Adam(parameters, lr=lr)
for epoch in range(epochs):
    modes.train()
    order = torch.randperm(len(x_train))
    for start in range(0, len(x_train), batch):
        rows = order[start:start + batch]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x_train[rows]), y_train[rows])
        loss.backward()
        optimizer.step()
    if VALIDATE:
        modes.eval()
        with torch.no_grad():
            print(f"epoch {epoch} val_loss {F.cross_entropy(model(x_val), y_val).item():.4f}")
