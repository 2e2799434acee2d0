"""EpochBasedRunner as mmcv writes it: hooks by priority, train() calls model.train_step on each
batch between before_train_iter and after_train_iter (where the OptimizerHook steps)."""

import torch

from mmlite.registry import RUNNERS, build_from_cfg

from .hooks import OptimizerHook, StepLrUpdaterHook, TextLoggerHook

PRIORITY = {'VERY_HIGH': 10, 'HIGH': 30, 'ABOVE_NORMAL': 40, 'NORMAL': 50, 'LOW': 70, 'VERY_LOW': 90}


def build_optimizer(model, cfg):
    args = dict(cfg)
    optimizer_cls = getattr(torch.optim, args.pop('type'))
    params = [p for p in model.parameters() if p.requires_grad]
    return optimizer_cls(params, **args)


def build_runner(cfg, default_args):
    return build_from_cfg(cfg, RUNNERS, default_args)


@RUNNERS.register_module()
class EpochBasedRunner:
    def __init__(self, model, optimizer, max_epochs, work_dir=None, logger=None):
        self.model, self.optimizer = model, optimizer
        self._max_epochs = max_epochs
        self.work_dir = work_dir
        self._hooks = []
        self.epoch = self.iter = self.inner_iter = 0
        self.log_buffer = {}
        self.outputs = {}

    def register_hook(self, hook, priority='NORMAL'):
        self._hooks.append((PRIORITY[priority], len(self._hooks), hook))
        self._hooks.sort(key=lambda item: item[:2])

    def register_training_hooks(self, lr_config, optimizer_config=None, log_config=None):
        self.register_hook(StepLrUpdaterHook(**lr_config), 'VERY_HIGH')
        self.register_hook(OptimizerHook(**(optimizer_config or {})), 'ABOVE_NORMAL')
        if log_config is not None:
            self.register_hook(TextLoggerHook(**log_config), 'VERY_LOW')

    def call_hook(self, fn_name):
        for _, _, hook in self._hooks:
            getattr(hook, fn_name)(self)

    def train(self, data_loader):
        self.model.train()
        self.data_loader = data_loader
        self.call_hook('before_train_epoch')
        total, count = 0.0, 0
        for i, data_batch in enumerate(data_loader):
            self.inner_iter = i
            self.call_hook('before_train_iter')
            self.outputs = self.model.train_step(data_batch, self.optimizer)
            total += self.outputs['log_vars']['loss'] * self.outputs['num_samples']
            count += self.outputs['num_samples']
            self.call_hook('after_train_iter')
            self.iter += 1
        self.epoch_loss = total / count
        self.call_hook('after_train_epoch')
        self.epoch += 1

    def run(self, data_loaders, workflow):
        self.call_hook('before_run')
        while self.epoch < self._max_epochs:
            for i, (mode, epochs) in enumerate(workflow):
                for _ in range(epochs):
                    getattr(self, mode)(data_loaders[i])
