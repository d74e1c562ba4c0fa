"""A reader that leaves (`| head -1`, a log pipe closed) must not stop a deploy or a rollback half-way.

Python raises BrokenPipeError at the next write to a pipe whose reader is gone; raised from an event line in the
middle of a canary, it would leave the canary serving traffic unwatched and the lock held. The program's stdout is
wrapped so that the first write that finds the pipe closed points the descriptor at /dev/null instead: the command
runs to its end and exits with its own code, as if the rest of its output had been read. (kubectl, a Go program,
dies of SIGPIPE there; for a command in the middle of a release, finishing is the safer choice.)
"""

from __future__ import annotations

import os
import sys
from typing import Any


class ReaderTolerantStream:
    """A text stream that discards what it is given once its reader has left; everything else is the stream's."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.reader_left = False
        self._buffer: ReaderTolerantStream | None = None

    @property
    def buffer(self) -> ReaderTolerantStream:
        """The binary side (`COPY … TO STDOUT` writes there), as tolerant as the text side."""
        if self._buffer is None:
            self._buffer = ReaderTolerantStream(self._stream.buffer)
        return self._buffer

    def write(self, text: Any) -> int:
        if not self.reader_left:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._silence()
        return len(text)

    def flush(self) -> None:
        if not self.reader_left:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._silence()

    def _silence(self) -> None:
        self.reader_left = True
        # the text still buffered would fail again at the next flush, and at exit: let it drain into /dev/null
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def tolerate_leaving_reader() -> None:
    """Wrap the program's stdout (once); for the program itself, not for callers of `run()` in-process."""
    if not isinstance(sys.stdout, ReaderTolerantStream) and sys.stdout is not None:
        sys.stdout = ReaderTolerantStream(sys.stdout)  # type: ignore[assignment]
