"""Config.fromfile / --cfg-options in the manner of mmengine.config: a Python config file whose
module-level dicts form the config, and dotted overrides `a.b.c=value`."""

import ast
import runpy


class Config(dict):
    @staticmethod
    def fromfile(path):
        cfg = {k: v for k, v in runpy.run_path(path).items() if not k.startswith("_")}
        return Config(cfg)

    def merge_from_dict(self, options):
        for key, value in options.items():
            node = self
            *parents, leaf = key.split(".")
            for part in parents:
                node = node[part]
            node[leaf] = value


def parse_cfg_options(pairs):
    options = {}
    for pair in pairs or ():
        key, value = pair.split("=", 1)
        try:
            options[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            options[key] = value
    return options
