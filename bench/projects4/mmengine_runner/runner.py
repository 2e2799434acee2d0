"""A Runner in the manner of mmengine.runner.Runner: builds everything from the config through
the registries, registers hooks by priority, and runs an EpochBasedTrainLoop and a ValLoop."""

import random

import numpy as np
import torch
from torch.utils.data import DataLoader

from datasets import pseudo_collate
from optim import build_optim_wrapper
from registry import DATASETS, HOOKS, MODELS, PARAM_SCHEDULERS


def build_dataloader(cfg):
    dataset = DATASETS.build(cfg["dataset"])
    return DataLoader(dataset, batch_size=cfg["batch_size"], shuffle=cfg["shuffle"],
                      collate_fn=pseudo_collate)


class ValLoop:
    def __init__(self, runner, dataloader):
        self.runner, self.dataloader = runner, dataloader

    def evaluate(self, dataloader):
        model = self.runner.model
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for data in dataloader:
                losses = model.val_step(data)
                n = len(data["data_samples"])
                total += sum(v.item() for k, v in losses.items() if "loss" in k) * n
                count += n
        return total / count

    def run(self):
        metrics = {"val/loss": self.evaluate(self.dataloader)}
        self.runner.call_hook("after_val_epoch", metrics=metrics)
        return metrics


class EpochBasedTrainLoop:
    def __init__(self, runner, dataloader, max_epochs, val_interval=1, by_epoch=True):
        self.runner, self.dataloader = runner, dataloader
        self.max_epochs, self.val_interval = max_epochs, val_interval

    def run(self):
        runner = self.runner
        runner.call_hook("before_train")
        while runner.epoch < self.max_epochs:
            runner.model.train()
            for idx, data in enumerate(self.dataloader):
                outputs = runner.model.train_step(data, runner.optim_wrapper)
                runner.call_hook("after_train_iter", batch_idx=idx, outputs=outputs)
                runner.iter += 1
            runner.call_hook("after_train_epoch")
            runner.epoch += 1
            if runner.epoch % self.val_interval == 0:
                runner.val_loop.run()
        return runner.model


class Runner:
    def __init__(self, cfg):
        self.cfg = cfg
        self.set_randomness(cfg["randomness"]["seed"])
        self.model = MODELS.build(cfg["model"])
        self.train_dataloader = build_dataloader(cfg["train_dataloader"])
        self.val_dataloader = build_dataloader(cfg["val_dataloader"])
        self.optim_wrapper = build_optim_wrapper(self.model, cfg["optim_wrapper"])
        self.param_schedulers = [PARAM_SCHEDULERS.build(s, optimizer=self.optim_wrapper)
                                 for s in cfg["param_scheduler"]]
        self.epoch, self.iter = 0, 0
        self._hooks = []
        self.register_hook(dict(type="ParamSchedulerHook"))
        for hook_cfg in list(cfg["default_hooks"].values()) + cfg.get("custom_hooks", []):
            self.register_hook(hook_cfg)
        self.train_loop = EpochBasedTrainLoop(self, self.train_dataloader, **cfg["train_cfg"])
        self.val_loop = ValLoop(self, self.val_dataloader)

    @staticmethod
    def set_randomness(seed):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)

    def register_hook(self, hook_cfg):
        hook = HOOKS.build(hook_cfg)
        self._hooks.append(hook)
        self._hooks.sort(key=lambda h: h.priority)

    def call_hook(self, fn_name, **kwargs):
        for hook in self._hooks:
            getattr(hook, fn_name)(self, **kwargs)

    def train(self):
        return self.train_loop.run()
