from fairseq_lite.registry import setup_registry

build_model, register_model, MODEL_REGISTRY = setup_registry("arch")

from . import gru  # noqa: E402,F401
