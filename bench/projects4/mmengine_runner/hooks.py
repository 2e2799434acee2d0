"""Hooks in the manner of mmengine.hooks, called by the Runner at named points."""

import torch

from registry import HOOKS


class Hook:
    priority = 50

    def before_train(self, runner): pass
    def after_train_iter(self, runner, batch_idx, outputs): pass
    def after_train_epoch(self, runner): pass
    def after_val_epoch(self, runner, metrics): pass


@HOOKS.register_module()
class ParamSchedulerHook(Hook):
    priority = 10

    def after_train_iter(self, runner, batch_idx, outputs):
        for scheduler in runner.param_schedulers:
            if not scheduler.by_epoch:
                scheduler.step()

    def after_train_epoch(self, runner):
        for scheduler in runner.param_schedulers:
            if scheduler.by_epoch:
                scheduler.step()


@HOOKS.register_module()
class LoggerHook(Hook):
    def __init__(self, interval=10):
        self.interval = interval

    def after_train_iter(self, runner, batch_idx, outputs):
        if batch_idx % self.interval == 0:
            lr = runner.optim_wrapper.param_groups[-1]["lr"]
            print(f"Epoch(train) [{runner.epoch + 1}][{batch_idx}/{len(runner.train_dataloader)}]"
                  f"  lr: {lr:.4e}  loss: {outputs['loss']:.4f}")

    def after_val_epoch(self, runner, metrics):
        print(f"Epoch(val) [{runner.epoch}]  " +
              "  ".join(f"{k}: {v:.4f}" for k, v in metrics.items()))


@HOOKS.register_module()
class CheckpointHook(Hook):
    def __init__(self, interval=1, save_best=None, rule="less"):
        self.interval, self.save_best, self.rule = interval, save_best, rule
        self.best = None

    def after_val_epoch(self, runner, metrics):
        value = metrics.get(self.save_best)
        better = value is not None and (self.best is None or
                                        (value < self.best if self.rule == "less"
                                         else value > self.best))
        if better:
            self.best = value
            torch.save(runner.model.state_dict(), "best_checkpoint.pth")


@HOOKS.register_module()
class TrainSplitEvalHook(Hook):
    """Evaluates the training split too after each validation, to log train/loss beside
    val/loss (the evaluation mode and no_grad of the ValLoop)."""

    priority = 40

    def after_val_epoch(self, runner, metrics):
        metrics["train/loss"] = runner.val_loop.evaluate(runner.train_dataloader)
