"""A one-line status on a terminal for the core's long computations.

The core has no progress-bar dependency (tqdm belongs to the torch extra), and most of its work
is over in milliseconds. A few computations can run for seconds or minutes with nothing to
count in advance: the exact universal-cover radius (a fold search, then perhaps a bounded
bisection) on a large graph. Such a computation opens a :func:`task` and reports what it is
doing with :func:`update`; nothing is written unless a stream was switched on with
:func:`show_on` (the console script does so when stderr is a terminal), and then only once the
task has run for ``delay`` seconds, at most every ``interval`` seconds, on one line that is
rewritten in place (``\\r``) and erased when the task ends. A library caller, a pipe or a log
sees nothing.

Examples
--------
>>> import io
>>> from bipartite_expanders import progress
>>> stream = io.StringIO()
>>> _ = progress.show_on(stream, delay=0.0, interval=0.0, force=True)
>>> with progress.task("universal-cover radius"):
...     progress.update("bracket [2.9, 3.2]")
>>> "universal-cover radius: bracket [2.9, 3.2]" in stream.getvalue()
True
>>> progress.show_on(None)
False
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import IO, Iterator

__all__ = ["StatusLine", "show_on", "task", "update"]


class StatusLine:
    """Writes ``label: detail`` on one terminal line, rewritten in place and erased at the end."""

    def __init__(self, stream: IO[str], delay: float = 2.0, interval: float = 0.5):
        self.stream = stream
        self.delay = delay
        self.interval = interval
        self.width = 0
        self.last = -float("inf")

    def write(self, text: str) -> None:
        now = time.monotonic()
        if now - self.last < self.interval:
            return
        self.last = now
        self._put("\r" + text.ljust(self.width))
        self.width = len(text)

    def clear(self) -> None:
        if self.width:
            self._put("\r" + " " * self.width + "\r")
        self.width = 0
        self.last = -float("inf")

    def _put(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed terminal: nothing to tell
            pass


_line: StatusLine | None = None
_local = threading.local()  # the open tasks of this thread: [(label, start time), ...]


def show_on(stream: IO[str] | None, delay: float = 2.0, interval: float = 0.5, *, force: bool = False) -> bool:
    """Switch the status line on for ``stream`` (or off with None); returns whether it is on.

    ``stream`` must be a terminal (``isatty()``) unless ``force``: a status line rewritten in
    place is noise in a pipe or a log.
    """
    global _line
    if _line is not None:
        _line.clear()
    if stream is None or not (force or _isatty(stream)):
        _line = None
        return False
    _line = StatusLine(stream, delay, interval)
    return True


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@contextmanager
def task(label: str) -> Iterator[None]:
    """A computation that may take long; :func:`update` inside it names its current step."""
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.append((label, time.monotonic()))
    try:
        yield
    finally:
        stack.pop()
        if not stack and _line is not None:
            _line.clear()


def update(detail: str) -> None:
    """Report ``detail`` for the innermost open task (free when no status line is on)."""
    line = _line
    if line is None:
        return
    stack = getattr(_local, "stack", None)
    if not stack:
        return
    label, start = stack[0]  # the outermost task's clock decides whether it is worth showing
    if time.monotonic() - start < line.delay:
        return
    inner = stack[-1][0]
    prefix = label if inner == label else f"{label} / {inner}"
    line.write(f"{prefix}: {detail}")
