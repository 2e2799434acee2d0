from .builder import build_classifier  # noqa: F401
from . import backbone, classifier, head, losses, neck  # noqa: F401
