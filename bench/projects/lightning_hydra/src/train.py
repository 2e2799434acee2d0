import sys
from pathlib import Path

import torch

# set up the project root on PYTHONPATH, as rootutils.setup_root(__file__, pythonpath=True) does
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from src.utils import Trainer, compose, instantiate  # noqa: E402


def train(cfg):
    if cfg.get("seed") is not None:
        torch.manual_seed(cfg["seed"])
    datamodule = instantiate(cfg["data"])
    model = instantiate(cfg["model"])
    trainer = Trainer(**cfg["trainer"])
    if cfg.get("train"):
        trainer.fit(model=model, datamodule=datamodule)
    return dict(trainer.callback_metrics)


def main(overrides):
    cfg = compose(overrides)
    metric_dict = train(cfg)
    return metric_dict.get("val/loss")


if __name__ == "__main__":
    main(sys.argv[1:])
