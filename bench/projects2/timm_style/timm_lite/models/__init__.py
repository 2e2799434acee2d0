from ._registry import create_model, list_models, register_model  # noqa: F401
from .resnet import *  # noqa: F401,F403
