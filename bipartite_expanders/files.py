"""Files the project writes: one atomic writer and one JSON convention for non-finite floats.

Every file the project writes (records, reports, graphs, checkpoints) goes through
:func:`atomic_writer`, so an interrupted or failed write never leaves a half-written file in
place: the data goes to a temporary file in the same directory, is flushed to disk, and only then
renamed over the target (``os.replace`` is atomic on POSIX and Windows).

JSON cannot hold ``inf`` or ``NaN``. The project writes them as the strings ``"inf"``,
``"-inf"`` and ``"nan"`` (a margin is ``+inf`` when ``t2 = 0``) and reads them back with
:func:`from_json_float`; :func:`dumps` writes strict JSON (``allow_nan=False``), so no file the
project writes needs a lenient parser.

>>> dumps({"margin": float("inf"), "t2": 0.0, "bound": float("nan")})
'{"margin":"inf","t2":0.0,"bound":"nan"}'
>>> from_json_float("inf"), from_json_float(2)
(inf, 2.0)
"""
from __future__ import annotations

import contextlib
import json
import math
import numbers
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

__all__ = ["NONFINITE_STRINGS", "atomic_writer", "atomic_write", "json_float", "from_json_float",
           "json_safe", "dumps", "write_json"]

NONFINITE_STRINGS = ("inf", "-inf", "nan")


def json_float(v: float) -> float | str:
    """``v`` as JSON holds it: a finite float unchanged, ``inf``/``-inf``/``nan`` as strings.

    >>> json_float(1.5), json_float(-math.inf), json_float(math.nan)
    (1.5, '-inf', 'nan')
    """
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def from_json_float(v: Any) -> float:
    """The inverse of :func:`json_float`: a number, or one of ``"inf"``, ``"-inf"``, ``"nan"``.

    Anything else (``None``, a verdict string, a bool) raises ``ValueError``.

    >>> from_json_float("-inf"), from_json_float(3)
    (-inf, 3.0)
    """
    if isinstance(v, bool):
        raise ValueError(f"expected a number or one of {NONFINITE_STRINGS}, got {v!r}")
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str) and v in NONFINITE_STRINGS:
        return float(v)
    raise ValueError(f"expected a number or one of {NONFINITE_STRINGS}, got {v!r}")


def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by its string (dicts, lists and tuples
    recursively; tuples become lists, keys become strings; numpy scalars become Python numbers).

    >>> json_safe({"a": [1.0, float("inf")], 2: (float("nan"),)})
    {'a': [1.0, 'inf'], '2': ['nan']}
    """
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, numbers.Integral):  # numpy integers too
        return int(obj)
    if isinstance(obj, numbers.Real):  # numpy floats too
        return json_float(float(obj))
    return obj


def dumps(obj: Any, *, indent: int | None = None) -> str:
    """Strict JSON of :func:`json_safe` ``(obj)`` (compact unless ``indent`` is given)."""
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(json_safe(obj), allow_nan=False, indent=indent, separators=separators)


def _default_mode(path: Path) -> int:
    """The permission bits of the file being replaced, else 0666 less the process's umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; on a clean exit it is flushed to disk
    and renamed over ``path``, on any exception it is removed and ``path`` is left untouched.

    ``mode`` is ``"w"`` (text, UTF-8) or ``"wb"``. An ``OSError`` (disk full, permission denied)
    carries ``path`` as its file name.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_writer(p) as fh:
    ...     _ = fh.write("hello")
    >>> p.read_text()
    'hello'
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    try:
        # mkstemp creates the file 0600; give it the mode an ordinary open() would
        os.chmod(tmp, _default_mode(path))
        kwargs = {"encoding": "utf-8", "newline": ""} if mode == "w" else {}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename is None or exc.filename == tmp:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` (text or bytes) to ``path`` atomically (see :func:`atomic_writer`)."""
    with atomic_writer(path, "wb" if isinstance(data, bytes) else "w") as fh:
        fh.write(data)
    return Path(path)


def write_json(path: str | os.PathLike[str], obj: Any, *, indent: int | None = None) -> Path:
    """Write ``obj`` as strict JSON (:func:`dumps`) to ``path`` atomically."""
    return atomic_write(path, dumps(obj, indent=indent) + "\n")
