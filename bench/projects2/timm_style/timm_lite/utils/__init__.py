from .metrics import AverageMeter, accuracy  # noqa: F401
from .model_ema import ModelEmaV2  # noqa: F401
