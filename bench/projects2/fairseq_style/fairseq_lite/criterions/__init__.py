from fairseq_lite.registry import setup_registry

build_criterion, register_criterion, CRITERION_REGISTRY = setup_registry("criterion")

from . import cross_entropy, label_smoothed_cross_entropy  # noqa: E402,F401
