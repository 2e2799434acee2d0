"""Train a classifier from a config file, in the manner of mmclassification's tools/train.py:
python tools/train.py CONFIG [--cfg-options key=value ...]."""

import argparse
import os.path as osp
import random
import sys

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmlite.config import Config, DictAction  # noqa: E402
from mmlite.datasets import build_dataloader, build_dataset  # noqa: E402
from mmlite.models import build_classifier  # noqa: E402
from mmlite.runner import EvalHook, build_optimizer, build_runner  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', default='work_dirs')
    parser.add_argument('--cfg-options', nargs='+', default=None,
                        help='override settings in the config, e.g. optimizer.lr=0.01')
    return parser.parse_args()


def set_random_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train_model(model, dataset, cfg, validate=True):
    data_loaders = [build_dataloader(dataset, cfg.data.samples_per_gpu,
                                     cfg.data.workers_per_gpu, shuffle=True, seed=cfg.seed)]
    optimizer = build_optimizer(model, cfg.optimizer)
    runner = build_runner(cfg.runner, default_args=dict(model=model, optimizer=optimizer,
                                                        work_dir=cfg.work_dir))
    runner.register_training_hooks(cfg.lr_config, cfg.optimizer_config, cfg.log_config)
    if validate:
        val_dataset = build_dataset(cfg.data.val)
        val_dataloader = build_dataloader(val_dataset, cfg.data.samples_per_gpu,
                                          cfg.data.workers_per_gpu, shuffle=False)
        eval_cfg = {k: v for k, v in cfg.evaluation.items()}
        runner.register_hook(EvalHook(val_dataloader, **eval_cfg), priority='LOW')
    runner.run(data_loaders, cfg.workflow)


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        Config.merge_from_dict(cfg, DictAction.parse(args.cfg_options))
    cfg.work_dir = osp.join(args.work_dir, osp.splitext(osp.basename(args.config))[0])
    set_random_seed(cfg.seed)
    model = build_classifier(cfg.model)
    datasets = [build_dataset(cfg.data.train)]
    train_model(model, datasets[0], cfg, validate=True)


if __name__ == '__main__':
    main()
