"""mmcv's hooks: the OptimizerHook does zero_grad, backward and step after each iteration, the
LrUpdaterHook sets the rate before each epoch (or iteration, when not by_epoch), the EvalHook
computes the validation loss after each epoch, the TextLoggerHook prints."""

import torch
import torch.nn.functional as F


class Hook:
    def before_run(self, runner): pass
    def before_train_epoch(self, runner): pass
    def before_train_iter(self, runner): pass
    def after_train_iter(self, runner): pass
    def after_train_epoch(self, runner): pass


class OptimizerHook(Hook):
    def __init__(self, grad_clip=None):
        self.grad_clip = grad_clip

    def after_train_iter(self, runner):
        runner.optimizer.zero_grad()
        runner.outputs['loss'].backward()
        if self.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(runner.model.parameters(), **self.grad_clip)
        runner.optimizer.step()


class StepLrUpdaterHook(Hook):
    def __init__(self, step, gamma=0.1, by_epoch=True, policy='step'):
        self.step = step if isinstance(step, list) else [step]
        self.gamma, self.by_epoch = gamma, by_epoch
        self.base_lr = None

    def before_run(self, runner):
        for group in runner.optimizer.param_groups:
            group.setdefault('initial_lr', group['lr'])
        self.base_lr = [g['initial_lr'] for g in runner.optimizer.param_groups]

    def get_lr(self, progress, base_lr):
        return base_lr * self.gamma ** sum(progress >= s for s in self.step)

    def _set_lr(self, runner, progress):
        for group, base_lr in zip(runner.optimizer.param_groups, self.base_lr):
            group['lr'] = self.get_lr(progress, base_lr)

    def before_train_epoch(self, runner):
        if self.by_epoch:
            self._set_lr(runner, runner.epoch)

    def before_train_iter(self, runner):
        if not self.by_epoch:
            self._set_lr(runner, runner.iter)


def single_gpu_test(model, data_loader):
    model.eval()
    losses, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for data in data_loader:
            scores = model(img=data['img'], return_loss=False)
            losses += F.cross_entropy(scores, data['gt_label'], reduction='sum').item()
            correct += (scores.argmax(1) == data['gt_label']).sum().item()
            count += len(data['gt_label'])
    return {'loss': losses / count, 'accuracy': 100.0 * correct / count}


class EvalHook(Hook):
    def __init__(self, dataloader, interval=1, metric='accuracy'):
        self.dataloader, self.interval, self.metric = dataloader, interval, metric

    def after_train_epoch(self, runner):
        if (runner.epoch + 1) % self.interval:
            return
        results = single_gpu_test(runner.model, self.dataloader)
        runner.log_buffer.update({f'val_{k}': v for k, v in results.items()})


class TextLoggerHook(Hook):
    def __init__(self, interval=20):
        self.interval = interval

    def after_train_iter(self, runner):
        if (runner.inner_iter + 1) % self.interval == 0:
            lr = runner.optimizer.param_groups[0]['lr']
            print(f"Epoch [{runner.epoch + 1}][{runner.inner_iter + 1}/{len(runner.data_loader)}]"
                  f"\tlr: {lr:.3e}, loss: {runner.outputs['log_vars']['loss']:.4f}", flush=True)

    def after_train_epoch(self, runner):
        logs = ', '.join(f'{k}: {v:.4f}' for k, v in runner.log_buffer.items())
        print(f"Epoch(val) [{runner.epoch + 1}]\ttrain_loss: {runner.epoch_loss:.4f}, {logs}",
              flush=True)
        runner.log_buffer.clear()
