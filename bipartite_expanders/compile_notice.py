"""One line on a terminal while numba compiles the package's loops for the first time.

numba compiles the kernels on their first call after an install (9-18 s on two cores, then
cached on disk: ``cache=True``), which a user sees as a silent pause. :func:`announce_compiles`
registers a listener for numba's ``numba:compile`` events: when a compilation is still running
after ``delay`` seconds (a cache load takes a fraction of one, so it never shows), it writes once
per process, to ``stream`` (default stderr)::

    bipartite-expanders: numba is compiling the package's loops (first use after install, cached afterwards) ...

The console script calls it when stderr is a terminal; nothing is written to a pipe or a log.

>>> import io
>>> notice = CompileNotice(io.StringIO(), delay=0.0)
>>> notice.start(); notice.start(); notice.end(); notice.end()
>>> notice.stream.getvalue().count("compiling")
1
"""

from __future__ import annotations

import sys
import threading
from typing import IO, Any

__all__ = ["CompileNotice", "announce_compiles", "MESSAGE"]

MESSAGE = ("bipartite-expanders: numba is compiling the package's loops (first use after install, cached "
           "afterwards) ...")

_installed: list[Any] = []


class CompileNotice:
    """Counts nested compilations; the first one to outlast ``delay`` seconds prints :data:`MESSAGE` once."""

    def __init__(self, stream: IO[str], delay: float = 1.5):
        self.stream = stream
        self.delay = delay
        self.depth = 0
        self.shown = False
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def _show(self) -> None:
        with self._lock:
            if self.shown or self.depth == 0:
                return
            self.shown = True
        try:
            print(MESSAGE, file=self.stream, flush=True)
        except (OSError, ValueError):  # a closed terminal: nothing to tell
            pass

    def start(self) -> None:
        with self._lock:
            self.depth += 1
            if self.depth > 1 or self.shown:
                return
            if self.delay <= 0:
                pass
            else:
                self._timer = threading.Timer(self.delay, self._show)
                self._timer.daemon = True
                self._timer.start()
                return
        self._show()

    def end(self) -> None:
        with self._lock:
            self.depth = max(self.depth - 1, 0)
            if self.depth == 0 and self._timer is not None:
                self._timer.cancel()
                self._timer = None


def announce_compiles(stream: IO[str] | None = None, delay: float = 1.5) -> bool:
    """Register the notice with numba (once per process); False when numba is not installed."""
    if _installed:
        return True
    try:
        from numba.core import event
    except ImportError:
        return False
    notice = CompileNotice(stream if stream is not None else sys.stderr, delay)

    class _Listener(event.Listener):
        def on_start(self, ev: Any) -> None:
            notice.start()

        def on_end(self, ev: Any) -> None:
            notice.end()

    event.register("numba:compile", _Listener())
    _installed.append(notice)
    return True
