import json
from collections import OrderedDict
from itertools import repeat
from pathlib import Path

import torch


def read_json(fname):
    fname = Path(fname)
    with fname.open("rt") as handle:
        return json.load(handle, object_hook=OrderedDict)


def write_json(content, fname):
    fname = Path(fname)
    with fname.open("wt") as handle:
        json.dump(content, handle, indent=4, sort_keys=False)


def inf_loop(data_loader):
    """wrapper function for endless data loader."""
    for loader in repeat(data_loader):
        yield from loader


def prepare_device(n_gpu_use):
    return torch.device("cpu"), []


class MetricTracker:
    """Running averages of named metrics (a tiny stand-in for the template's pandas table)."""

    def __init__(self, *keys):
        self._keys = keys
        self.reset()

    def reset(self):
        self._total = dict.fromkeys(self._keys, 0.0)
        self._counts = dict.fromkeys(self._keys, 0)

    def update(self, key, value, n=1):
        self._total[key] += value * n
        self._counts[key] += n

    def avg(self, key):
        return self._total[key] / max(self._counts[key], 1)

    def result(self):
        return {key: self.avg(key) for key in self._keys}
