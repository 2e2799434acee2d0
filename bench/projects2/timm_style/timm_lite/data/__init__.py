from .dataset import create_dataset  # noqa: F401
from .loader import create_loader  # noqa: F401
