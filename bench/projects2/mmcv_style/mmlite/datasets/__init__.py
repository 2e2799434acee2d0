from .builder import build_dataloader, build_dataset  # noqa: F401
from .shapes import ShapesDataset  # noqa: F401
