"""Train a classifier with a config file, in the manner of OpenMMLab's tools/train.py:
`python train.py configs/mlp_tabular.py --cfg-options optim_wrapper.optimizer.lr=0.01`."""

import argparse

import hooks  # noqa: F401  (registers the hooks)
import optim  # noqa: F401  (registers the parameter schedulers)
import datasets  # noqa: F401  (registers the datasets)
import models  # noqa: F401  (registers the models)
from config import Config, parse_cfg_options
from runner import Runner


def parse_args():
    parser = argparse.ArgumentParser(description="Train a model")
    parser.add_argument("config", help="train config file path")
    parser.add_argument("--cfg-options", nargs="+", default=None,
                        help="override some settings in the used config, key=value")
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(parse_cfg_options(args.cfg_options))
    runner = Runner(cfg)
    runner.train()


if __name__ == "__main__":
    main()
