"""Tickets you can keep: every round's masks and trained weights on disk, and back as a model.

Each round of a run writes (file names: :mod:`bipartite_expanders.adapters.torch.lth.rundir`):

- ``masks_NN.pt``: the masks round ``NN`` trained with, bit-packed (``numpy.packbits``, one bit
  per weight: 33 KB for LeNet-300-100 on MNIST);
- ``weights_NN.pt`` (``--keep-weights all``, the default, or ``last``): the weights round
  ``NN`` ended its training with, prunable layers stored sparsely (the kept entries only, in flat
  order; the mask gives their positions), every other parameter and buffer as it is.

:func:`load_ticket` rebuilds the run's model with a round's masks applied through
``torch.nn.utils.prune`` and either the rewind weights (to retrain the ticket) or the trained
weights (evaluating those reproduces the round's recorded accuracy exactly);
:func:`folded_state_dict` gives a plain ``state_dict`` with the masks folded into the weights.
Every file is read with ``torch.load(weights_only=True)``; a damaged one raises
:class:`~bipartite_expanders.adapters.torch.lth.rundir.RecordError` naming it.

**Bound to their run.** Each round record names the files its round wrote with their SHA-256
(``"files": {"weights_03.pt": "...", "masks_04.pt": "..."}``; round 0 also ``masks_00.pt`` and
``rewind.pt``), and the record carries the run's hash (``hparams_hash``). :func:`verify_file`
checks a file against the record that names it, so a file damaged, or copied in from another
run or round, is refused naming the file; :func:`load_ticket` also refuses weights holding NaN
or inf and masks that miss a layer, keep nothing in one, or are not bit-packed bytes. Records
written before file hashes (no ``"files"``) are read as before, unverified.

>>> import torch
>>> bits = pack_mask(torch.tensor([[1, 0, 1], [0, 0, 1]]))
>>> unpack_mask(bits).int().tolist()
[[1, 0, 1], [0, 0, 1]]
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import serialization
from ..layers import prunable_layers
from ..masks import apply_masks, capture_state, ensure_masks, get_masks, is_masked, refresh_weights, rewind
from .hparams import Hparams
from .models import build_model
from ..serialization import save_torch
from .rundir import RecordError, RunDirError, masks_path, read_hparams, read_records, rewind_path, weights_path

__all__ = ["KEEP_WEIGHTS", "pack_mask", "unpack_mask", "load_torch", "write_masks", "read_masks",
           "write_weights", "read_weights", "load_ticket", "folded_state_dict", "DATASET_SHAPES",
           "file_digest", "named_files", "verify_file", "check_finite", "check_masks_cover"]

#: ``--keep-weights``: every round's trained weights, only the last round's, or none
KEEP_WEIGHTS = ("all", "last", "none")
MASKS_FORMAT = "bipartite_expanders.masks/1"
WEIGHTS_FORMAT = "bipartite_expanders.ticket_weights/1"
#: input shape and classes per data set, for run directories written before ``hparams.json``
#: recorded them
DATASET_SHAPES: dict[str, tuple[tuple[int, ...], int]] = {
    "digits": ((1, 8, 8), 10), "mnist": ((1, 28, 28), 10), "fashion-mnist": ((1, 28, 28), 10),
    "cifar10": ((3, 32, 32), 10),
}


def pack_mask(mask: torch.Tensor) -> dict[str, Any]:
    """A mask (non-zero keeps) as ``{"shape": [...], "bits": uint8 tensor}``, one bit per entry."""
    flat = (mask.detach().reshape(-1) != 0).cpu().numpy()
    return {"shape": [int(s) for s in mask.shape], "bits": torch.from_numpy(np.packbits(flat))}


def unpack_mask(packed: Mapping[str, Any]) -> torch.Tensor:
    """The boolean mask of :func:`pack_mask`."""
    if not isinstance(packed.get("bits"), torch.Tensor) or packed["bits"].dtype != torch.uint8:
        raise ValueError(f"mask bits must be a uint8 tensor (bit-packed), got {type(packed.get('bits')).__name__} "
                         f"{getattr(packed.get('bits'), 'dtype', '')}")
    shape = [int(s) for s in packed["shape"]]
    n = int(np.prod(shape)) if shape else 1
    bits = packed["bits"].cpu().numpy().astype(np.uint8, copy=False)
    if bits.size != (n + 7) // 8:
        raise ValueError(f"mask of shape {shape} needs {(n + 7) // 8} bytes, got {bits.size}")
    return torch.from_numpy(np.unpackbits(bits, count=n).astype(bool)).reshape(shape)


def load_torch(path: str | os.PathLike, what: str) -> Any:
    """:func:`bipartite_expanders.adapters.torch.serialization.load_torch` of a run-directory file; a missing or
    damaged one is a :class:`RecordError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise RecordError(path, f"{what} not found")
    try:
        return serialization.load_torch(path, what)
    except ValueError as exc:
        raise RecordError(path, str(exc).split(": ", 1)[-1]) from None


# ------------------------------------------------------------------ files bound to their run
def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (hex)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def named_files(records: Any) -> dict[str, tuple[int, str]]:
    """file name -> (round of the record that names it, SHA-256), over records that name files."""
    out: dict[str, tuple[int, str]] = {}
    for rec in records:
        files = rec.extra.get("files")
        if isinstance(files, dict):
            for name, digest in files.items():
                if isinstance(name, str) and isinstance(digest, str):
                    out[name] = (rec.round, digest)
    return out


def verify_file(path: str | os.PathLike, records: Any) -> None:
    """Check a run-directory file against the record that names it (content hash); a file that
    differs is a :class:`RecordError` naming it (damaged, or from another run or round). A file
    no record names (records written before file hashes) passes unchecked."""
    path = Path(path)
    known = named_files(records).get(path.name)
    if known is None:
        return
    rnd, digest = known
    if not path.is_file():
        raise RecordError(path, f"missing (round {rnd}'s record names it)")
    if file_digest(path) != digest:
        raise RecordError(path, f"content differs from what round {rnd}'s record names (SHA-256 {digest[:12]}...): "
                                "damaged, or copied from another run or round")


def check_finite(state: Mapping[str, torch.Tensor], path: str | os.PathLike) -> None:
    """Refuse weights holding NaN or inf, naming the file and the tensor."""
    for key, t in state.items():
        if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise RecordError(Path(path), f"{key} holds {int((~torch.isfinite(t)).sum())} non-finite values (NaN or inf)")


def check_masks_cover(masks: Mapping[str, torch.Tensor], model: nn.Module, path: str | os.PathLike) -> None:
    """Refuse masks that miss a prunable layer of ``model`` or keep nothing in one (that layer
    would load dense, or empty)."""
    layers = prunable_layers(model)
    missing = [n for n in layers if n not in masks]
    if missing:
        raise RecordError(Path(path), f"no mask for layer(s) {missing[:5]} of the model (a layer would load dense)")
    empty = [n for n, m in masks.items() if m.numel() and not bool(m.any())]
    if empty:
        raise RecordError(Path(path), f"the mask of layer(s) {empty[:5]} keeps no weight")


def write_masks(path: str | os.PathLike, masks: Mapping[str, torch.Tensor]) -> Path:
    return save_torch({"format": MASKS_FORMAT, "layers": {n: pack_mask(m) for n, m in masks.items()}}, path)


def read_masks(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """name -> boolean mask, from :func:`write_masks`."""
    doc = load_torch(path, "masks file")
    if not isinstance(doc, dict) or doc.get("format") != MASKS_FORMAT or not isinstance(doc.get("layers"), dict):
        raise RecordError(path, f"not a masks file (format {MASKS_FORMAT!r})")
    try:
        return {n: unpack_mask(p) for n, p in doc["layers"].items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RecordError(path, f"masks file damaged ({exc})") from None


def _weight_key(layer: str) -> str:
    return f"{layer}.weight" if layer else "weight"


def write_weights(path: str | os.PathLike, model: nn.Module) -> Path:
    """The model's weights: prunable layers' kept entries only, everything else dense."""
    state = capture_state(model)
    masks = get_masks(model)
    kept = {}
    for n, m in masks.items():
        w = state.pop(_weight_key(n))
        kept[n] = w.reshape(-1)[m.reshape(-1) != 0].clone()
    return save_torch({"format": WEIGHTS_FORMAT, "kept": kept, "dense": state}, path)


def read_weights(path: str | os.PathLike, masks: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state (plain keys, as :func:`bipartite_expanders.adapters.torch.masks.capture_state`) of
    :func:`write_weights`, pruned entries zero."""
    doc = load_torch(path, "weights file")
    if not isinstance(doc, dict) or doc.get("format") != WEIGHTS_FORMAT:
        raise RecordError(path, f"not a weights file (format {WEIGHTS_FORMAT!r})")
    try:
        state = dict(doc["dense"])
        for n, m in masks.items():
            vals = doc["kept"][n]
            sel = m.reshape(-1) != 0
            if vals.numel() != int(sel.sum()):
                raise ValueError(f"layer {n!r}: {vals.numel()} kept values for a mask keeping {int(sel.sum())}")
            w = torch.zeros(m.numel(), dtype=vals.dtype)
            w[sel] = vals
            state[_weight_key(n)] = w.reshape(m.shape)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RecordError(path, f"weights file does not fit its masks ({exc})") from None
    return state


def _model_shape(doc: Mapping[str, Any], hp: Hparams) -> tuple[tuple[int, ...], int]:
    shape = doc.get("model_shape")
    if isinstance(shape, dict):
        return tuple(int(s) for s in shape["input_shape"]), int(shape["num_classes"])
    return DATASET_SHAPES[hp.dataset.name]


def load_ticket(run_dir: str | os.PathLike, round: int | None = None, weights: str = "rewind") -> nn.Module:
    """The model of a run with round ``round``'s masks applied (``torch.nn.utils.prune``
    reparametrisation: ``weight_orig``, ``weight_mask``), ready to train or evaluate.

    ``round``: a round with a record (None: the last). ``weights``: ``"rewind"`` (the weights
    every round restarts from, to retrain the ticket) or ``"trained"`` (the weights the round
    ended with; needs ``weights_NN.pt``, see ``--keep-weights``).

    >>> from bipartite_expanders.adapters.torch.lth.hparams import preset
    >>> from bipartite_expanders.adapters.torch.lth.runner import run_lottery
    >>> import tempfile
    >>> h = preset("quickstart")[0].replace(pruning={"rounds": 1}, training={"iterations": 20})
    >>> res = run_lottery(h, tempfile.mkdtemp(), progress=False)
    >>> m = load_ticket(res.run_dir, weights="trained")
    >>> round(float((m.fc1.weight != 0).float().mean()), 4) == round(res.records[1].density["layers"]["fc1"], 4)
    True
    """
    if weights not in ("rewind", "trained"):
        raise ValueError(f"weights must be 'rewind' or 'trained', got {weights!r}")
    run_dir = Path(run_dir)
    doc = read_hparams(run_dir)
    if not doc:
        raise RunDirError(f"{run_dir}: no hparams.json (not a run directory)")
    hp = Hparams.from_dict(doc["hparams"])
    records = read_records(run_dir)
    if not records:
        raise RunDirError(f"{run_dir}: no round records")
    rounds = [r.round for r in records]
    rnd = rounds[-1] if round is None else round
    if isinstance(rnd, bool) or not isinstance(rnd, int) or rnd not in rounds:
        raise ValueError(f"round must be one of the run's rounds 0..{rounds[-1]}, got {round!r}")
    if records[-1].format < 2:
        raise RunDirError(f"{run_dir}: record format {records[-1].format} runs kept no tickets")
    input_shape, num_classes = _model_shape(doc, hp)
    model = build_model(hp.model.name, input_shape=input_shape, num_classes=num_classes, seed=hp.seed)
    ensure_masks(model)
    mpath = masks_path(run_dir, rnd)
    verify_file(mpath, records)
    masks = read_masks(mpath)
    check_masks_cover(masks, model, mpath)
    try:
        apply_masks(model, {n: m.float() for n, m in masks.items()})
    except (ValueError, TypeError) as exc:
        raise RecordError(mpath, f"masks do not fit the model ({exc})") from None
    if weights == "rewind":
        verify_file(rewind_path(run_dir), records)
        state = load_torch(rewind_path(run_dir), "rewind point")
        if not isinstance(state, dict):
            raise RecordError(rewind_path(run_dir), "not a state dict")
        check_finite(state, rewind_path(run_dir))
        rewind(model, state)
    else:
        path = weights_path(run_dir, rnd)
        if not path.is_file():
            raise RunDirError(f"{path}: round {rnd}'s trained weights were not kept (--keep-weights); "
                              "load weights='rewind' and retrain")
        verify_file(path, records)
        state = read_weights(path, masks)
        check_finite(state, path)
        rewind(model, state)
    return model


def folded_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """A plain ``state_dict`` (no ``*_orig`` / ``*_mask`` keys): each masked weight is
    ``weight_orig * weight_mask``; loads into a fresh, unpruned instance of the architecture."""
    refresh_weights(model)
    state = capture_state(model)
    for n, mod in prunable_layers(model).items():
        if is_masked(mod):
            state[_weight_key(n)] = (mod.weight_orig * mod.weight_mask).detach().clone()
    return state
