"""The byte-level corpus and model of the LLM-pruning experiment (docs/llm-pruning.md).

Corpus: the ``*.py`` files of this interpreter's standard library
(``sysconfig.get_paths()["stdlib"]``), excluding every path with a component named
``site-packages``, ``test``, ``tests``, ``idle_test`` or ``__pycache__`` (third-party code and
the test suites, which are large and repetitive). Split BY FILE, fixed: a file is held out when
the first 8 hex digits of the SHA-256 of its POSIX path relative to the stdlib root, read as an
integer, are ``0 mod 10`` (about 10 % of the files); every other file is training text. The files
of each split are concatenated in sorted path order, each followed by one ``\\0`` byte.

Model: a ``transformers`` Llama decoder built from a config (no download): 256 byte tokens,
width 192, 4 layers, 4 heads, SwiGLU width 512, context 128, tied embeddings; 1.82 M parameters,
of which 1.77 M are in the 28 ``nn.Linear`` layers that the pruners see.

Bits per byte = mean next-byte cross-entropy in nats / ln 2, over a fixed set of held-out
windows (evenly spaced, non-overlapping, every byte after the first of each window predicted).
"""

from __future__ import annotations

import hashlib
import math
import sysconfig
from pathlib import Path

import numpy as np
import torch

EXCLUDED_DIRS = frozenset({"site-packages", "test", "tests", "idle_test", "__pycache__"})
CONTEXT = 128
HELD_OUT_MOD = 10


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def is_held_out(relative: str) -> bool:
    """The fixed split rule: SHA-256 of the relative POSIX path, first 8 hex digits mod 10 == 0."""
    return int(hashlib.sha256(relative.encode()).hexdigest()[:8], 16) % HELD_OUT_MOD == 0


def corpus_files(root: Path | None = None) -> dict[str, list[Path]]:
    root = stdlib_root() if root is None else Path(root)
    files: dict[str, list[Path]] = {"train": [], "held_out": []}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if EXCLUDED_DIRS.intersection(rel.parts[:-1]) or not path.is_file():
            continue
        files["held_out" if is_held_out(rel.as_posix()) else "train"].append(path)
    return files


def corpus_bytes(split: str, root: Path | None = None) -> np.ndarray:
    """One split as a uint8 array (files in sorted order, each followed by a 0 byte)."""
    chunks = []
    for path in corpus_files(root)[split]:
        chunks.append(path.read_bytes())
        chunks.append(b"\0")
    return np.frombuffer(b"".join(chunks), dtype=np.uint8).copy()


def model_config(seed: int = 0):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=256, hidden_size=192, intermediate_size=512, num_hidden_layers=4,
                       num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=CONTEXT,
                       tie_word_embeddings=True, bos_token_id=None, eos_token_id=None, pad_token_id=None,
                       attention_dropout=0.0, rms_norm_eps=1e-5)


def build_model(seed: int = 0):
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    return LlamaForCausalLM(model_config(seed))


def eval_windows(data: np.ndarray, n_windows: int, context: int = CONTEXT) -> torch.Tensor:
    """``n_windows`` non-overlapping windows of ``context + 1`` bytes, evenly spaced over ``data``."""
    span = context + 1
    last = len(data) - span
    if last < 0:
        raise ValueError(f"data has {len(data)} bytes, fewer than one window of {span}")
    starts = np.linspace(0, last, n_windows).astype(np.int64)
    starts = np.unique(starts - starts % span)
    return torch.from_numpy(np.stack([data[s:s + span] for s in starts]).astype(np.int64))


@torch.no_grad()
def bits_per_byte(model, windows: torch.Tensor, batch_size: int = 32) -> float:
    """Mean next-byte cross-entropy over ``windows`` in bits."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(windows), batch_size):
        w = windows[i:i + batch_size]
        logits = model(input_ids=w[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), w[:, 1:].reshape(-1),
                                                 reduction="sum")
        total += float(loss)
        count += w[:, 1:].numel()
    return total / count / math.log(2)
