"""Registries in the manner of mmengine.registry: a config dict with `type` builds the class."""


class Registry:
    def __init__(self, name):
        self.name = name
        self._module_dict = {}

    def register_module(self, name=None):
        def _register(cls):
            self._module_dict[name or cls.__name__] = cls
            return cls
        return _register

    def get(self, key):
        return self._module_dict[key]

    def build(self, cfg, **default_args):
        cfg = dict(cfg)
        cls = self.get(cfg.pop("type"))
        return cls(**cfg, **default_args)


MODELS = Registry("model")
DATASETS = Registry("dataset")
HOOKS = Registry("hook")
PARAM_SCHEDULERS = Registry("param scheduler")
