"""The package's version, in a module of its own: the report and the command line read it
without importing the package's public API (``lossdoctor/__init__`` imports ``watch``, which
imports the report)."""

__version__ = "0.1.0"
