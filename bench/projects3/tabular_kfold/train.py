"""K-fold training of an MLP on a tabular regression, in the manner of Kaggle notebooks
(CFG class, run_training(fold), train_fn/valid_fn, EarlyStopping, ReduceLROnPlateau)."""

import argparse
import random

import numpy as np
import torch
from torch.utils.data import DataLoader

from config import CFG, apply_overrides
from dataset import TabularDataset
from engine import EarlyStopping, train_fn, valid_fn
from model import Model
from preprocess import StandardScaler, clean, load_train, make_folds


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def run_training(fold, X, y, folds, device):
    seed_everything(CFG.seed)
    trn_idx, val_idx = np.where(folds != fold)[0], np.where(folds == fold)[0]
    X_train, X_valid = X[trn_idx], X[val_idx]
    y_train, y_valid = y[trn_idx], y[val_idx]

    if CFG.scale_features:
        scaler = StandardScaler()
        X_train = scaler.fit_transform(X_train)
        X_valid = scaler.transform(X_valid)
    if CFG.scale_target:
        target_scaler = StandardScaler()
        y_train = target_scaler.fit_transform(y_train[:, None])[:, 0]
        y_valid = target_scaler.transform(y_valid[:, None])[:, 0]

    train_loader = DataLoader(TabularDataset(X_train, y_train), batch_size=CFG.batch_size,
                              shuffle=True, drop_last=True)
    valid_loader = DataLoader(TabularDataset(X_valid, y_valid), batch_size=CFG.batch_size,
                              shuffle=False)

    model = Model(X.shape[1], CFG.hidden_size, CFG.dropout).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=CFG.lr, weight_decay=CFG.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode=CFG.scheduler_mode, patience=CFG.scheduler_patience,
        factor=CFG.scheduler_factor)
    early_stopping = EarlyStopping(patience=CFG.early_stopping_patience, mode="min")

    for epoch in range(CFG.epochs):
        train_loss = train_fn(model, optimizer, train_loader, device)
        valid_loss, valid_preds = valid_fn(model, valid_loader, device)
        scheduler.step(valid_loss)
        print(f"FOLD: {fold}, EPOCH: {epoch}, train_loss: {train_loss:.5f}, "
              f"valid_loss: {valid_loss:.5f}, lr: {optimizer.param_groups[0]['lr']:.2e}")
        early_stopping(valid_loss, model, f"FOLD{fold}_.pth")
        if early_stopping.early_stop:
            print("Early stopping")
            break
    return -early_stopping.best_score


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", nargs="*", metavar="NAME=VALUE", help="override CFG")
    apply_overrides(parser.parse_args().set)
    seed_everything(CFG.seed)
    device = torch.device("cpu")
    X, y = load_train()
    X, y = clean(X, y)
    folds = make_folds(len(X), CFG.n_folds, CFG.seed)
    scores = [run_training(fold, X, y, folds, device) for fold in CFG.train_folds]
    print(f"CV: {np.mean(scores):.5f} (folds {CFG.train_folds})")


if __name__ == "__main__":
    main()
