"""A small stand-in for Hydra: composes configs/train.yaml with its groups and `a.b=c`
overrides, and instantiates `_target_` entries with their dotted keys as nested arguments."""

import importlib
from pathlib import Path

CONFIG_ROOT = Path(__file__).resolve().parents[2] / "configs"
GROUPS = {"model": "dense", "data": "tabular", "trainer": "default"}


def _load(path):
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            key, value = (s.strip() for s in line.split(":", 1))
            out[key] = _scalar(value)
    return out


def _scalar(value):
    if value in ("null", "~"):
        return None
    if value in ("true", "false"):
        return value == "true"
    if "," in value:
        return [_scalar(v.strip()) for v in value.split(",")]
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def compose(overrides=()):
    cfg = _load(CONFIG_ROOT / "train.yaml")
    for group, default in GROUPS.items():
        cfg[group] = _load(CONFIG_ROOT / group / f"{default}.yaml")
    for override in overrides:
        key, value = override.split("=", 1)
        group, _, rest = key.partition(".")
        if rest:
            cfg[group][rest] = _scalar(value)
        else:
            cfg[group] = _scalar(value)
    return cfg


def instantiate(node, **kwargs):
    module_name, _, cls_name = node["_target_"].rpartition(".")
    target = getattr(importlib.import_module(module_name), cls_name)
    args = {}
    for key, value in node.items():
        if key == "_target_":
            continue
        head, _, tail = key.partition(".")
        if tail:
            args.setdefault(head, {})[tail] = value
        else:
            args[key] = value
    args.update(kwargs)
    return target(**args)
