from .config import compose, instantiate
from .trainer import Trainer

__all__ = ["Trainer", "compose", "instantiate"]
