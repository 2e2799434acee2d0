"""lossdoctor: why is my validation loss not changing? It says why, proves it, shows the fix."""

from lossdoctor import _filters  # noqa: F401 - first: notes the warning filters torch leaves
from lossdoctor._version import __version__
from lossdoctor.watch import watch

__all__ = ["__version__", "watch"]
