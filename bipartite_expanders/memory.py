"""How much memory a new allocation may take now: the one place that asks the operating system,
so that the graph constructors and the file readers refuse the same impossible sizes.

>>> available_memory() > 0
True
"""

from __future__ import annotations

import os

__all__ = ["available_memory", "INDEX_BYTES_CHECKED_FROM"]

#: shapes whose index pointers need at least this many bytes are checked against the memory
#: available (below it, reading ``/proc/meminfo`` would cost more than the allocation)
INDEX_BYTES_CHECKED_FROM = 1 << 30


def available_memory() -> int:
    """Bytes of memory available to a new allocation now (Linux ``MemAvailable``, else the
    free physical pages, else 8 GiB when the platform says neither)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return 8 << 30
