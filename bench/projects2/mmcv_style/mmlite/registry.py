"""mmcv's Registry and build_from_cfg: a dict with `type` names a registered class; the other
keys are its arguments."""

import copy


class Registry:
    def __init__(self, name):
        self.name = name
        self._module_dict = {}

    def get(self, key):
        return self._module_dict.get(key)

    def register_module(self, name=None, module=None):
        def _register(cls):
            self._module_dict[name or cls.__name__] = cls
            return cls
        return _register if module is None else _register(module)

    def build(self, cfg, **default_args):
        return build_from_cfg(cfg, self, default_args)


def build_from_cfg(cfg, registry, default_args=None):
    args = copy.deepcopy(dict(cfg))
    for name, value in (default_args or {}).items():
        args.setdefault(name, value)
    obj_type = args.pop('type')
    obj_cls = registry.get(obj_type)
    if obj_cls is None:
        raise KeyError(f'{obj_type} is not in the {registry.name} registry')
    return obj_cls(**args)


MODELS = Registry('model')
DATASETS = Registry('dataset')
PIPELINES = Registry('pipeline')
HOOKS = Registry('hook')
RUNNERS = Registry('runner')
