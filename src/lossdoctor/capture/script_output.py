"""What the script reports about its own validation: scalars it writes to TensorBoard, and the
lines it prints. Both pass through unchanged; lossdoctor only reads them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from lossdoctor.capture.printed import is_validation_loss_name, printed_validation_loss
from lossdoctor.capture.recorder import Recorder

#: Characters of an unfinished line kept while waiting for its end (a progress bar on stdout
#: may write for long without one).
MAX_PARTIAL_LINE = 4096
#: The streams a script writes its lines to.
STREAMS = ("stdout", "stderr")


class TensorBoardHook:
    """Wraps ``SummaryWriter.add_scalar`` and ``add_scalars`` once the script has imported
    torch.utils.tensorboard (importing it for the script would cost seconds, and needs the
    tensorboard package). ``look()`` is cheap: it runs at every backward pass."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.patched: list[tuple[type, str, object]] = []
        self.done = False

    def look(self) -> None:
        if self.done:
            return
        writer = sys.modules.get("torch.utils.tensorboard.writer")
        summary_writer = getattr(writer, "SummaryWriter", None)
        if summary_writer is None:
            return
        self.done = True
        self._wrap(summary_writer, "add_scalar", self._scalar_wrapper)
        self._wrap(summary_writer, "add_scalars", self._scalars_wrapper)

    def _wrap(self, cls: type, name: str, make) -> None:
        original = cls.__dict__.get(name)
        if original is not None:
            setattr(cls, name, make(original))
            self.patched.append((cls, name, original))

    def _scalar_wrapper(self, original):
        recorder = self.recorder

        def add_scalar(writer, tag, scalar_value, *args, **kwargs):
            result = original(writer, tag, scalar_value, *args, **kwargs)
            _report(recorder, str(tag), scalar_value)
            return result

        return add_scalar

    def _scalars_wrapper(self, original):
        recorder = self.recorder

        def add_scalars(writer, main_tag, tag_scalar_dict, *args, **kwargs):
            result = original(writer, main_tag, tag_scalar_dict, *args, **kwargs)
            for key, value in dict(tag_scalar_dict).items():
                _report(recorder, f"{main_tag}/{key}", value)
            return result

        return add_scalars

    def remove(self) -> None:
        for cls, name, original in reversed(self.patched):
            setattr(cls, name, original)
        self.patched.clear()


def _report(recorder: Recorder, tag: str, value) -> None:
    if not is_validation_loss_name(tag):
        return
    try:
        number = float(value)
    except (TypeError, ValueError):
        return
    recorder.validation_reported("tensorboard", tag, number)


class LineReader:
    """Stands in for sys.stdout: every write goes to the real stream first, unchanged; then
    each finished line is read for a validation loss."""

    def __init__(self, stream, recorder: Recorder) -> None:
        self._stream = stream
        self._recorder: Recorder | None = recorder
        self._partial = ""

    def write(self, text):
        written = self._stream.write(text)
        if self._recorder is not None and isinstance(text, str):
            self._read(text)
        return written

    def writelines(self, lines) -> None:
        lines = list(lines)
        self._stream.writelines(lines)
        for line in lines:
            if self._recorder is not None and isinstance(line, str):
                self._read(line)

    def stop(self) -> None:
        """After the run: pass writes through, read nothing (a logger may still hold us)."""
        self._recorder = None

    def __getattr__(self, name):
        return getattr(self._stream, name)

    def _read(self, text: str) -> None:
        *finished, self._partial = (self._partial + text).split("\n")
        self._partial = self._partial[-MAX_PARTIAL_LINE:]
        for line in finished:
            value = printed_validation_loss(line.rsplit("\r", 1)[-1])
            if value is not None:
                self._recorder.validation_reported("printed", line.strip()[:200], value)


@contextmanager
def reading_printed_lines(recorder: Recorder) -> Iterator[None]:
    """Inside the block, lines written to stdout and to stderr are read for validation losses:
    a project that reports through ``logging`` (whose default handler writes to stderr) or a
    progress bar's postfix tells its validation loss there. Enter it last, so that it sees the
    script's writes first (before a live display redirects them)."""
    readers = {name: LineReader(getattr(sys, name), recorder) for name in STREAMS}
    for name, reader in readers.items():
        setattr(sys, name, reader)
    try:
        yield
    finally:
        for name, reader in readers.items():
            reader.stop()
            if getattr(sys, name) is reader:
                setattr(sys, name, reader._stream)
