"""lossdoctor: why is my validation loss not changing? It says why, proves it, shows the fix."""

from lossdoctor._version import __version__

__all__ = ["__version__", "watch"]


def __getattr__(name: str):
    """``lossdoctor.watch`` on first use: `lossdoctor --help` and argument errors answer without
    importing PyTorch."""
    if name == "watch":
        from lossdoctor.session import watch

        return watch
    raise AttributeError(f"module 'lossdoctor' has no attribute {name!r}")
