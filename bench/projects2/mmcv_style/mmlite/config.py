"""mmcv's Config: a Python file of variables, `_base_` files merged first, attribute access,
and --cfg-options overrides such as model.backbone.frozen_stages=3."""

import ast
import os.path as osp


class ConfigDict(dict):
    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(name) from e

    def __setattr__(self, name, value):
        self[name] = value


def _to_config_dict(value):
    if isinstance(value, dict):
        return ConfigDict({k: _to_config_dict(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_to_config_dict(v) for v in value]
    return value


def _merge(base, new):
    merged = dict(base)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class Config:
    @staticmethod
    def fromfile(filename):
        namespace = {}
        with open(filename) as f:
            exec(compile(f.read(), filename, 'exec'), namespace)
        cfg = {k: v for k, v in namespace.items()
               if not k.startswith('__') and not callable(v)}
        merged = {}
        for base in cfg.pop('_base_', []):
            merged = _merge(merged, Config.fromfile(osp.join(osp.dirname(filename), base)))
        return _to_config_dict(_merge(merged, cfg))

    @staticmethod
    def merge_from_dict(cfg, options):
        for full_key, value in options.items():
            d = cfg
            *parents, key = full_key.split('.')
            for part in parents:
                d = d[part]
            d[key] = value


class DictAction:
    @staticmethod
    def parse(pairs):
        options = {}
        for pair in pairs or []:
            key, value = pair.split('=', 1)
            try:
                options[key] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                options[key] = value
        return options
