"""torch files written atomically and read safely (through :mod:`bipartite_expanders.files`).

:func:`save_torch` serialises in memory, then writes with
:func:`bipartite_expanders.files.atomic_write`: an interrupted write never leaves a partial file,
and a full disk is an ``OSError`` naming the file (torch's own writer reports it as
``[enforce fail at inline_container.cc] unexpected pos``). :func:`load_torch` reads with
``torch.load(weights_only=True)`` (no code runs from the file) and turns whatever a damaged file
raises into one ``ValueError`` naming it.

>>> import tempfile, pathlib, torch
>>> p = pathlib.Path(tempfile.mkdtemp()) / "t.pt"
>>> _ = save_torch({"w": torch.ones(2)}, p)
>>> load_torch(p)["w"].tolist()
[1.0, 1.0]
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch

from bipartite_expanders.files import atomic_write

__all__ = ["save_torch", "load_torch"]


def save_torch(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj)`` to ``path`` atomically; OS errors name ``path``."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return atomic_write(path, buf.getvalue())


def load_torch(path: str | os.PathLike, what: str = "torch file") -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU; a missing or damaged file is a
    ``FileNotFoundError`` / ``ValueError`` naming it and saying what it was meant to be."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # garbage makes torch.load raise anything (struct.error, UnpicklingError, ...)
        raise ValueError(f"{path}: {what} does not load ({type(exc).__name__}: "
                         f"{(str(exc).splitlines() or [''])[0][:200]})") from None
