"""SmoothedValue / MetricLogger / accuracy / set_weight_decay, as in torchvision's
references/classification/utils.py (single process)."""

import time
from collections import defaultdict, deque

import torch


class SmoothedValue:
    def __init__(self, window_size=20, fmt="{median:.4f} ({global_avg:.4f})"):
        self.deque = deque(maxlen=window_size)
        self.total, self.count, self.fmt = 0.0, 0, fmt

    def update(self, value, n=1):
        self.deque.append(value)
        self.count += n
        self.total += value * n

    @property
    def median(self):
        return torch.tensor(list(self.deque)).median().item()

    @property
    def global_avg(self):
        return self.total / self.count

    def __str__(self):
        return self.fmt.format(median=self.median, global_avg=self.global_avg)


class MetricLogger:
    def __init__(self, delimiter="  "):
        self.meters = defaultdict(SmoothedValue)
        self.delimiter = delimiter

    def update(self, **kwargs):
        for k, v in kwargs.items():
            self.meters[k].update(v.item() if isinstance(v, torch.Tensor) else v)

    def __getattr__(self, attr):
        if attr in self.meters:
            return self.meters[attr]
        raise AttributeError(attr)

    def __str__(self):
        return self.delimiter.join(f"{name}: {meter}" for name, meter in self.meters.items())

    def log_every(self, iterable, print_freq, header=""):
        start = time.time()
        for i, obj in enumerate(iterable):
            yield obj
            if i % print_freq == 0 or i == len(iterable) - 1:
                print(f"{header} [{i}/{len(iterable)}] {self}")
        print(f"{header} Total time: {time.time() - start:.1f}s")


def accuracy(output, target, topk=(1,)):
    with torch.inference_mode():
        maxk = max(topk)
        _, pred = output.topk(maxk, 1, True, True)
        correct = pred.t().eq(target[None])
        return [correct[:k].flatten().sum(dtype=torch.float32) * (100.0 / target.size(0))
                for k in topk]


def set_weight_decay(model, weight_decay, norm_weight_decay=None):
    """Parameter groups: norm layers' parameters get `norm_weight_decay` when it is given."""
    norm_classes = (torch.nn.modules.batchnorm._BatchNorm, torch.nn.LayerNorm, torch.nn.GroupNorm)
    params = {"other": [], "norm": []}

    def _add_params(module):
        for p in module.parameters(recurse=False):
            if not p.requires_grad:
                continue
            params["norm" if isinstance(module, norm_classes) else "other"].append(p)
        for child in module.children():
            _add_params(child)

    _add_params(model)
    groups = [{"params": params["other"], "weight_decay": weight_decay}]
    if params["norm"]:
        groups.append({"params": params["norm"],
                       "weight_decay": weight_decay if norm_weight_decay is None
                       else norm_weight_decay})
    return groups
