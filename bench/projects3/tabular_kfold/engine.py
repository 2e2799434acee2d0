"""train_fn / valid_fn and EarlyStopping, as Kaggle tabular notebooks write them."""

import numpy as np
import torch
import torch.nn as nn


def loss_fn(outputs, targets):
    return nn.MSELoss()(outputs, targets)


def train_fn(model, optimizer, dataloader, device):
    model.train()
    final_loss = 0
    for data in dataloader:
        optimizer.zero_grad()
        inputs, targets = data["x"].to(device), data["y"].to(device)
        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
        loss.backward()
        optimizer.step()
        final_loss += loss.item()
    return final_loss / len(dataloader)


def valid_fn(model, dataloader, device):
    model.eval()
    final_loss = 0
    valid_preds = []
    with torch.no_grad():
        for data in dataloader:
            inputs, targets = data["x"].to(device), data["y"].to(device)
            outputs = model(inputs)
            loss = loss_fn(outputs, targets)
            final_loss += loss.item()
            valid_preds.append(outputs.cpu().numpy())
    return final_loss / len(dataloader), np.concatenate(valid_preds)


class EarlyStopping:
    def __init__(self, patience=7, mode="min", delta=0.0):
        self.patience = patience
        self.counter = 0
        self.mode = mode
        self.best_score = None
        self.early_stop = False
        self.delta = delta

    def __call__(self, epoch_score, model, model_path):
        score = -epoch_score if self.mode == "min" else epoch_score
        if self.best_score is None or score > self.best_score + self.delta:
            self.best_score = score
            torch.save(model.state_dict(), model_path)
            self.counter = 0
        else:
            self.counter += 1
            if self.counter >= self.patience:
                self.early_stop = True
