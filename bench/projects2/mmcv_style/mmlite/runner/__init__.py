from .epoch_based_runner import EpochBasedRunner, build_optimizer, build_runner  # noqa: F401
from .hooks import EvalHook, Hook, OptimizerHook, StepLrUpdaterHook  # noqa: F401
