"""Trains the classifier with a Lightning Trainer: `python train.py [--lr 3e-3 --max_epochs 8 ...]`."""

import argparse

import lightning as L
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

from src.callbacks import FeatureExtractorFreezeUnfreeze
from src.datamodule import SyntheticImageDataModule
from src.model import LitClassifier


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--weight_decay", type=float, default=1e-4)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--max_epochs", type=int, default=8)
    parser.add_argument("--unfreeze_at_epoch", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--default_root_dir", default="lightning_logs")
    return parser.parse_args()


def main():
    args = parse_args()
    L.seed_everything(args.seed, workers=True)
    datamodule = SyntheticImageDataModule(batch_size=args.batch_size)
    model = LitClassifier(width=args.width, dropout=args.dropout, lr=args.lr,
                          weight_decay=args.weight_decay)
    callbacks = [
        FeatureExtractorFreezeUnfreeze(unfreeze_at_epoch=args.unfreeze_at_epoch),
        ModelCheckpoint(monitor="val_loss", mode="min", save_top_k=1),
        LearningRateMonitor(logging_interval="step"),
    ]
    trainer = L.Trainer(max_epochs=args.max_epochs, accelerator="cpu", devices=1,
                        callbacks=callbacks, logger=CSVLogger(args.default_root_dir),
                        default_root_dir=args.default_root_dir, log_every_n_steps=10,
                        enable_progress_bar=False, enable_model_summary=False,
                        deterministic=True)
    trainer.fit(model, datamodule=datamodule)
    metrics = trainer.callback_metrics
    print(f"final val_loss {metrics['val_loss']:.4f} val_acc {metrics['val_acc']:.4f} "
          f"train_loss {metrics['train_loss_epoch']:.4f}")


if __name__ == "__main__":
    main()
