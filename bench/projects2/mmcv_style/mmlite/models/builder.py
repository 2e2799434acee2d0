from mmlite.registry import MODELS, build_from_cfg


def build_classifier(cfg):
    return build_from_cfg(cfg, MODELS)


build = build_classifier
