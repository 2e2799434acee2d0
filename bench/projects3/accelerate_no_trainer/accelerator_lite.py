"""The few pieces of accelerate's Accelerator a single-process CPU run uses (no dependency)."""

import contextlib

import torch


class Accelerator:
    def __init__(self, gradient_accumulation_steps=1):
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.device = torch.device("cpu")
        self.step = 0
        self.sync_gradients = True
        self.is_main_process = True

    def prepare(self, *objects):
        return objects

    def backward(self, loss):
        (loss / self.gradient_accumulation_steps).backward()

    @contextlib.contextmanager
    def accumulate(self, model):
        self.step += 1
        self.sync_gradients = self.step % self.gradient_accumulation_steps == 0
        yield

    def clip_grad_norm_(self, parameters, max_norm):
        return torch.nn.utils.clip_grad_norm_(parameters, max_norm)

    def gather_for_metrics(self, tensor):
        return tensor

    def print(self, *args):
        print(*args)

    def wait_for_everyone(self):
        pass
