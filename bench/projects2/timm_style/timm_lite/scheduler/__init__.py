from .scheduler_factory import create_scheduler_v2  # noqa: F401
