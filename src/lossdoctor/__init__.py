"""lossdoctor: why is my validation loss not changing? It says why, proves it, shows the fix."""

__version__ = "0.1.0"

from lossdoctor.watch import watch  # noqa: E402 - after __version__, which modules import

__all__ = ["__version__", "watch"]
