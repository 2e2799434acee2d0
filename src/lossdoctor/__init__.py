"""lossdoctor: why is my validation loss not changing? It says why, proves it, shows the fix."""

__version__ = "0.1.0"
