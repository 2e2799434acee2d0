"""Where evidence comes from: PyTorch's global hooks, feeding a Recorder."""

from lossdoctor.capture.copies import Copies
from lossdoctor.capture.hooks import watching
from lossdoctor.capture.recorder import Recorder

__all__ = ["Copies", "Recorder", "watching"]
