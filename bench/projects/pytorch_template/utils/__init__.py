from .util import MetricTracker, inf_loop, prepare_device, read_json, write_json

__all__ = ["MetricTracker", "inf_loop", "prepare_device", "read_json", "write_json"]
