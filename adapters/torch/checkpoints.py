"""The layers of a checkpoint on disk, enumerated from file headers and read one tensor at a time.

A checkpoint is a Hugging Face model directory (``config.json`` with ``model.safetensors``, the
shards of ``model.safetensors.index.json``, or ``pytorch_model.bin``), a single ``.safetensors``
file, a torch file holding a ``state_dict`` (read with ``weights_only=True`` and memory-mapped),
or the in-memory layers of an ``lth`` run directory. :func:`checkpoint_layers` lists its layers
as :class:`LayerRef` values (file, tensor name, kind, orientation; nothing is loaded but the
headers and the tiny ``shape`` tensors of compressed weights) and :func:`read_layer` loads one of
them: the weight in the layer's own orientation ``(out, in / groups, *kernel)`` as float32 and
its boolean mask. A ``LayerRef`` is small and picklable, so a worker process or a Ray task reads
its own tensor from its own shard.

How a layer is recognised (docs/checkpoints.md): with a ``config.json`` that ``transformers``
understands, the model's module tree is built on PyTorch's ``meta`` device (no weights
allocated) and each tensor takes its module's kind: ``nn.Linear``, ``nn.Conv1d/2d/3d`` (groups
from the module), GPT-2's ``Conv1D`` (stored ``(in, out)``: transposed), ``nn.LSTM/GRU/RNN`` and
their cells (``weight_ih`` / ``weight_hh`` split into one layer per gate); embeddings and norms
are not layers. Without a model (a bare ``state_dict``) the kind comes from names and shapes
and every layer is marked ``assumed``; shapes that could be read more than one way (a
depthwise-looking convolution, a global ``--groups``, a GPT-2-like name) add a warning naming
the layer.

Pruned weights are exact zeros, or NaN (Cerebras; ``nan_is_pruned``); compressed-tensors'
``sparse-bitmask`` and ``sparse-24-bitmask`` weights are decoded to the weight and its mask;
``torch.nn.utils.prune``'s ``weight_orig`` / ``weight_mask`` pairs give the mask explicitly.

>>> import torch, tempfile, os
>>> from safetensors.torch import save_file
>>> d = tempfile.mkdtemp()
>>> save_file({"fc.weight": torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]])}, os.path.join(d, "m.safetensors"))
>>> found = checkpoint_layers(os.path.join(d, "m.safetensors"))
>>> [(r.name, r.kind, r.shape, r.assumed != "") for r in found.layers]
[('fc', 'linear', (3, 2), True)]
>>> w, mask, info = read_layer(found.layers[0])
>>> mask.sum().item(), info["nan_pruned"]
(3, 0)
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .layers import bfloat16_to_float32

__all__ = ["LayerRef", "CheckpointLayers", "checkpoint_layers", "read_layer", "nm_pattern", "SPARSE_FORMATS",
           "GATES"]

#: compressed-tensors' sparse formats this reader decodes
SPARSE_FORMATS = ("sparse-bitmask", "sparse-24-bitmask")
#: gate names of the recurrent weight blocks, in PyTorch's stacking order
GATES = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n"), "rnn": ("h",)}
_FLOAT_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}
_EMBEDDING_NAME = re.compile(r"(^|\.)(embed\w*|wte|wpe|word_embeddings|position_embeddings|token_type_embeddings|"
                             r"shared)(\.|$)")
_GPT2_CONV1D_NAME = re.compile(r"(^|\.)(c_attn|c_fc|c_proj|q_attn)$")
_RNN_PARAM = re.compile(r"^(.*?)\.?(weight_(ih|hh)(_l\d+)?(_reverse)?)$")


@dataclass(frozen=True)
class LayerRef:
    """Where one layer lives and how to read it; no tensor data (but for run directories).

    ``name`` is the module's qualified name (a recurrent gate: ``"lstm.weight_ih_l0[i]"``);
    ``kind`` one of ``linear``, ``conv1d``, ``conv2d``, ``conv3d``, ``gpt2-conv1d`` (a linear
    layer stored ``(in, out)``), ``lstm``, ``gru``, ``rnn`` (one gate block, a linear layer);
    ``storage`` one of ``dense``, ``prune-pair``, ``sparse-bitmask``, ``sparse-24-bitmask``,
    ``memory``; ``shape`` the stored shape of the whole tensor; ``assumed`` is ``""`` when the
    kind came from the model's structure, else the reason it was inferred.
    """

    name: str
    kind: str
    file: str
    key: str
    shape: tuple[int, ...]
    dtype: str
    storage: str = "dense"
    loader: str = "safetensors"
    groups: int = 1
    gate: tuple[int, int] | None = None
    mask_key: str | None = None
    assumed: str = ""
    tensors: tuple[Any, ...] | None = field(default=None, repr=False, compare=False)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """The layer's weight in its own orientation ``(out, in / groups, *kernel)``."""
        if self.kind == "gpt2-conv1d":
            return (self.shape[1], self.shape[0])
        if self.gate is not None:
            return (self.shape[0] // self.gate[1], *self.shape[1:])
        return tuple(self.shape)

    @property
    def fingerprint(self) -> dict[str, Any]:
        """What identifies this layer's input on disk (the resume key of a census)."""
        return {"name": self.name, "kind": self.kind, "key": self.key, "shape": list(self.shape),
                "dtype": self.dtype, "storage": self.storage, "groups": self.groups,
                "gate": list(self.gate) if self.gate else None}


@dataclass
class CheckpointLayers:
    """A checkpoint's layers in model order, what was left out (name, why), and warnings."""

    layers: list[LayerRef]
    skipped: list[tuple[str, str]]
    warnings: list[str]
    format: str
    structure: str
    info: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ the tensor inventory
@dataclass(frozen=True)
class _Entry:
    file: str
    shape: tuple[int, ...]
    dtype: str
    loader: str


def _safetensors_entries(path: Path) -> dict[str, _Entry]:
    from safetensors import safe_open

    out: dict[str, _Entry] = {}
    try:
        with safe_open(str(path), framework="pt") as f:
            for k in f.keys():
                s = f.get_slice(k)
                out[k] = _Entry(str(path), tuple(int(x) for x in s.get_shape()), str(s.get_dtype()), "safetensors")
    except Exception as exc:  # a damaged header raises SafetensorError, OSError, ...
        raise ValueError(f"{path}: not a readable safetensors file ({type(exc).__name__}: "
                         f"{(str(exc).splitlines() or [''])[0][:200]})") from None
    return out


def _unwrap(obj: Any, path: str) -> Mapping[str, Any]:
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner:
                return inner
        return obj
    raise ValueError(f"{path}: holds a {type(obj).__name__}, not a state_dict")


def _load_torch_state(path: str) -> Mapping[str, Any]:
    """The file's state_dict, memory-mapped (only the pages of the tensors touched are read)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        try:
            obj = torch.load(p, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:  # the legacy (non-zip) format cannot be memory-mapped
            if "mmap" not in str(exc):
                raise
            obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path}: torch file does not load with weights_only=True ({type(exc).__name__}: "
                         f"{(str(exc).splitlines() or [''])[0][:200]})") from None
    return _unwrap(obj, path)


_TORCH_DTYPE_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64"}


def _torch_entries(path: Path) -> dict[str, _Entry]:
    state = _load_torch_state(str(path))
    for k, v in state.items():
        if isinstance(v, torch.Tensor) and v.layout != torch.strided:
            # a sparse weight's operations differ (torch raises a dispatch-table dump): name it
            raise ValueError(f"{path}: tensor {k!r} is stored in the {str(v.layout).replace('torch.', '')} layout; "
                             "the census reads dense tensors (save it with .to_dense(): pruned entries as zeros)")
    return {k: _Entry(str(path), tuple(v.shape), _TORCH_DTYPE_NAMES.get(v.dtype, str(v.dtype).replace("torch.", "")),
                      "torch")
            for k, v in state.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}


def _hf_entries(directory: Path) -> tuple[dict[str, _Entry], str]:
    for index_name, loader in (("model.safetensors.index.json", "safetensors"), ("pytorch_model.bin.index.json", "torch")):
        index = directory / index_name
        if index.is_file():
            try:
                weight_map = json.loads(index.read_text())["weight_map"]
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{index}: not a shard index (no weight_map: {exc})") from None
            if not isinstance(weight_map, dict):
                raise ValueError(f"{index}: weight_map must map tensor names to shard files")
            out: dict[str, _Entry] = {}
            for shard in dict.fromkeys(weight_map.values()):
                if not isinstance(shard, str) or "/" in shard or "\\" in shard or shard.startswith("."):
                    raise ValueError(f"{index}: shard {shard!r} is not a file name in the directory")
                shard_path = directory / shard
                if not shard_path.is_file():
                    raise FileNotFoundError(f"{index}: names shard {shard}, which is missing")
                out.update(_safetensors_entries(shard_path) if loader == "safetensors" else _torch_entries(shard_path))
            return out, f"sharded {loader} ({len(set(weight_map.values()))} files)"
    for name, loader in (("model.safetensors", "safetensors"), ("pytorch_model.bin", "torch")):
        if (directory / name).is_file():
            p = directory / name
            return (_safetensors_entries(p) if loader == "safetensors" else _torch_entries(p)), loader
    raise FileNotFoundError(f"{directory}: a config.json but no model.safetensors, model.safetensors.index.json "
                            "or pytorch_model.bin")


# ------------------------------------------------------------------ the model's structure
def _config_modules(directory: Path) -> tuple[dict[str, Any] | None, str, str]:
    """``{module name: module}`` of the model that ``config.json`` describes, built on the meta
    device; None (and why) when transformers is missing or does not know the model."""
    try:
        import transformers
    except ImportError:
        return None, "", "transformers is not installed"
    verbosity = transformers.logging.get_verbosity()
    try:
        transformers.logging.set_verbosity_error()  # config sanity notes are not the census's business
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = transformers.AutoConfig.from_pretrained(str(directory), local_files_only=True)
            archs = [a for a in (getattr(config, "architectures", None) or []) if hasattr(transformers, a)]
            with torch.device("meta"):
                if archs:
                    model = getattr(transformers, archs[0])._from_config(config)
                else:
                    model = transformers.AutoModel.from_config(config)
    except Exception as exc:  # an unknown model_type, remote code, a damaged config
        return None, "", f"transformers cannot build the model of config.json ({type(exc).__name__}: " \
                         f"{(str(exc).splitlines() or [''])[0][:160]})"
    finally:
        transformers.logging.set_verbosity(verbosity)
    prefix = getattr(model, "base_model_prefix", "") or ""
    return dict(model.named_modules()), prefix, type(model).__name__


def _module_kind(mod: Any) -> str | None:
    from torch import nn

    if isinstance(mod, nn.Linear):
        return "linear"
    if isinstance(mod, nn.Conv1d):
        return "conv1d"
    if isinstance(mod, nn.Conv2d):
        return "conv2d"
    if isinstance(mod, nn.Conv3d):
        return "conv3d"
    if type(mod).__name__ == "Conv1D" and type(mod).__module__.startswith("transformers"):
        return "gpt2-conv1d"
    for cls, kind in ((nn.LSTM, "lstm"), (nn.GRU, "gru"), (nn.RNN, "rnn"),
                      (nn.LSTMCell, "lstm"), (nn.GRUCell, "gru"), (nn.RNNCell, "rnn")):
        if isinstance(mod, cls):
            return kind
    return None


def _not_a_layer(mod: Any) -> str:
    return type(mod).__name__


# ------------------------------------------------------------------ compressed-tensors
def _compressed_prefixes(entries: Mapping[str, _Entry]) -> dict[str, str]:
    """``{prefix: format}`` of the compressed-tensors sparse weights among the tensor names."""
    out = {}
    for k in entries:
        if k.endswith(".compressed"):
            p = k[: -len(".compressed")]
            if p + ".bitmask" in entries and p + ".shape" in entries:
                out[p] = "sparse-bitmask" if p + ".row_offsets" in entries else "sparse-24-bitmask"
    return out


def _read_raw(entry_file: str, key: str, loader: str) -> torch.Tensor:
    if loader == "safetensors":
        from safetensors import safe_open

        with safe_open(entry_file, framework="pt") as f:
            return f.get_tensor(key)
    t = _load_torch_state(entry_file).get(key)
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{entry_file}: has no tensor {key!r}")
    return t


def _compressed_shape(entries: Mapping[str, _Entry], prefix: str) -> tuple[int, ...]:
    e = entries[prefix + ".shape"]
    t = _read_raw(e.file, prefix + ".shape", e.loader).flatten()
    shape = tuple(int(x) for x in t.tolist())
    if not shape or min(shape) < 0 or len(shape) > 5:
        raise ValueError(f"{e.file}: {prefix}.shape holds {shape}, not a weight shape")
    return shape


def _decode_sparse(ref: LayerRef, values: torch.Tensor, bitmask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """compressed-tensors' bitmask layout: the mask packed along the last dimension, little-endian
    bits, ``ceil(cols / 8)`` bytes per row; the kept values in row-major order."""
    shape = ref.shape
    rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    packed = bitmask.cpu().contiguous().view(torch.uint8).numpy().reshape(rows, -1)
    if packed.shape[1] != (shape[-1] + 7) // 8:
        raise ValueError(f"{ref.file}: {ref.key}.bitmask has {packed.shape[1]} bytes per row; a {list(shape)} "
                         f"weight needs {(shape[-1] + 7) // 8}")
    mask = torch.from_numpy(np.unpackbits(packed, axis=-1, count=shape[-1], bitorder="little").astype(bool))
    mask = mask.reshape(shape)
    flat = values.flatten()
    if flat.numel() != int(mask.sum()):
        raise ValueError(f"{ref.file}: {ref.key}.compressed holds {flat.numel()} values, its bitmask "
                         f"{int(mask.sum())} kept weights")
    dense = torch.zeros(shape, dtype=flat.dtype)
    dense[mask] = flat
    return dense, mask


# ------------------------------------------------------------------ enumeration
def _compile(pattern: str | None, flag: str) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    p = pattern[3:] if pattern.startswith("re:") else pattern  # llm-compressor's "re:" prefix
    try:
        return re.compile(p)
    except re.error as exc:
        raise ValueError(f"{flag}: not a regular expression ({exc}): {pattern!r}") from None


def _rnn_gates(module: str, param: str, kind: str, entry: _Entry, key: str, hidden: int | None,
               assumed: str) -> list[LayerRef]:
    rows = entry.shape[0]
    gates = GATES[kind]
    if hidden is not None and rows != len(gates) * hidden:
        raise ValueError(f"{entry.file}: {key} has {rows} rows; a {kind.upper()} of hidden size {hidden} has "
                         f"{len(gates) * hidden}")
    if rows % len(gates):
        raise ValueError(f"{entry.file}: {key} has {rows} rows, not {len(gates)} {kind.upper()} gate blocks")
    base = f"{module}.{param}" if module else param
    return [LayerRef(name=f"{base}[{g}]", kind=kind, file=entry.file, key=key, shape=entry.shape, dtype=entry.dtype,
                     loader=entry.loader, gate=(i, len(gates)), assumed=assumed) for i, g in enumerate(gates)]


def checkpoint_layers(path: str | Path, *, targets: str | None = None, ignore: str | None = None,
                      groups: tuple[int, Mapping[str, int]] = (1, {}), structure: str = "auto") -> CheckpointLayers:
    """The layers of a checkpoint file or Hugging Face directory, in model order, reading headers only.

    Parameters
    ----------
    path
        A Hugging Face model directory, a ``.safetensors`` file, or a torch ``state_dict`` file.
    targets, ignore
        Regular expressions (``re.search``; a leading ``re:`` as in llm-compressor recipes is
        dropped) on the layer name: keep the layers ``targets`` matches, then drop those
        ``ignore`` matches.
    groups
        ``(G, {layer: G})``: groups of the convolutions of a bare state_dict (a model's modules
        know theirs; giving groups for a layer the model knows is an error).
    structure
        ``"auto"``: the model's structure from ``config.json`` (the file's directory for a single
        file) when transformers builds it, else names and shapes; ``"names"``: names and shapes.

    Examples
    --------
    >>> import torch, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "sd.pt")
    >>> torch.save({"dw.weight": torch.ones(8, 1, 3, 3), "fc.weight": torch.ones(4, 8)}, path)
    >>> found = checkpoint_layers(path)
    >>> [r.name for r in found.layers], found.warnings[0][:40]
    (['dw', 'fc'], "layer 'dw': weight (8, 1, 3, 3) looks de")
    """
    if structure not in ("auto", "names"):
        raise ValueError(f"structure must be 'auto' or 'names', got {structure!r}")
    path = Path(path)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path}: a directory without config.json (not a Hugging Face model directory; "
                                    "an lth run directory is read by census_of_path)")
        entries, fmt = _hf_entries(path)
        config_dir: Path | None = path
    elif path.is_file():
        with open(path, "rb") as fh:
            head = fh.read(8)
        # a safetensors file starts with its header's length (little-endian u64) then '{'
        is_st = path.suffix == ".safetensors" or (len(head) == 8 and int.from_bytes(head, "little") < 100_000_000
                                                 and _peek_brace(path))
        entries = _safetensors_entries(path) if is_st else _torch_entries(path)
        fmt = "safetensors" if is_st else "torch"
        config_dir = path.parent if (path.parent / "config.json").is_file() else None
    else:
        raise FileNotFoundError(f"{path}: no such file or directory")

    found_warnings: list[str] = []
    modules, prefix, model_class = (None, "", "")
    if config_dir is not None and structure == "auto":
        modules, prefix, model_class = _config_modules(config_dir)
        if modules is None:
            found_warnings.append(f"{config_dir / 'config.json'}: {model_class}; layers read from names and shapes "
                                  "(marked assumed)")
    compressed = _compressed_prefixes(entries)
    if compressed:
        fmt += " + compressed-tensors " + "/".join(sorted(set(compressed.values())))
    layers, skipped = (_structured(entries, compressed, modules, prefix, groups) if modules is not None
                       else _bare(entries, compressed, groups, found_warnings))
    layers = [replace(r, shape=_compressed_shape(entries, r.key), storage=compressed[r.key]) if r.key in compressed
              else r for r in layers]
    t, ig = _compile(targets, "--targets"), _compile(ignore, "--ignore")
    chosen = []
    for r in layers:
        if 0 in r.shape:
            skipped.append((r.name, f"empty weight {r.shape}"))
        elif (t is not None and not t.search(r.name)) or (ig is not None and ig.search(r.name)):
            skipped.append((r.name, "not chosen by --targets/--ignore"))
        else:
            chosen.append(r)
    found_warnings += [w for r in chosen for w in _layer_warnings(r, groups)]
    for r in chosen:
        if r.dtype not in _FLOAT_DTYPES and r.storage == "dense":
            raise ValueError(f"{r.file}: layer {r.name!r} ({r.key}) is stored as {r.dtype}; the census reads "
                             "float32, float16 and bfloat16 weights (dequantize float8 / integer weights first)")
    structure_used = f"model ({model_class} from config.json)" if modules is not None else "names and shapes"
    return CheckpointLayers(chosen, skipped, found_warnings, fmt, structure_used,
                            {"tensors": len(entries), "compressed": len(compressed)})


def _peek_brace(path: Path) -> bool:
    with open(path, "rb") as fh:
        fh.seek(8)
        return fh.read(1) == b"{"


def _structured(entries: Mapping[str, _Entry], compressed: Mapping[str, str], modules: Mapping[str, Any], prefix: str,
                groups: tuple[int, Mapping[str, int]]) -> tuple[list[LayerRef], list[tuple[str, str]]]:
    if groups[0] != 1 or groups[1]:
        raise ValueError("--groups is for bare state_dicts; the model's structure gives every convolution's groups")
    layers: list[LayerRef] = []
    claimed: set[str] = set()

    def candidates(name: str) -> list[str]:
        out = [name]
        if prefix:
            out.append(f"{prefix}.{name}" if name else prefix)
            if name.startswith(prefix + "."):
                out.append(name[len(prefix) + 1:])
        return out

    def find(name: str) -> str | None:
        for c in candidates(name):
            if f"{c}.weight" in entries or c in compressed:
                return c
        return None

    for mname, mod in modules.items():
        kind = _module_kind(mod)
        if kind is None:
            continue
        if kind in GATES:
            hidden = int(getattr(mod, "hidden_size"))
            for pname, _ in mod.named_parameters(recurse=False):
                if not pname.startswith("weight_"):
                    continue
                key = next((k for c in candidates(mname) for k in [f"{c}.{pname}" if c else pname] if k in entries),
                           None)
                if key is None:
                    continue
                claimed.add(key)
                if getattr(mod, "proj_size", 0) and pname.startswith("weight_hh"):
                    hidden_in = None  # an LSTM with projections: weight_hh is (4H, proj)
                else:
                    hidden_in = hidden
                layers += _rnn_gates(mname, pname, kind, entries[key], key, hidden_in, "")
            continue
        base = find(mname)
        if base is None:
            continue  # tied (an lm_head saved as the embedding) or absent from the file
        if base in compressed:
            e = entries[base + ".compressed"]
            key, dtype = base, e.dtype
        else:
            key = f"{base}.weight"
            e = entries[key]
            dtype = e.dtype
        claimed.update(k for k in entries if k == key or k.startswith(base + "."))
        layers.append(LayerRef(name=mname, kind=kind, file=e.file, key=key, shape=e.shape, dtype=dtype,
                               loader=e.loader, groups=int(getattr(mod, "groups", 1))))
    skipped = []
    for k, e in entries.items():
        if k in claimed or len(e.shape) < 2:
            continue
        mname = k.rsplit(".", 1)[0]
        mod = modules.get(mname) or (modules.get(mname[len(prefix) + 1:]) if prefix and mname.startswith(prefix + ".")
                                     else modules.get(f"{prefix}.{mname}") if prefix else None)
        skipped.append((k, f"{_not_a_layer(mod)} (not a layer)" if mod is not None else "no module of the model"))
    return layers, skipped


def _bare(entries: Mapping[str, _Entry], compressed: Mapping[str, str], groups: tuple[int, Mapping[str, int]],
          found_warnings: list[str]) -> tuple[list[LayerRef], list[tuple[str, str]]]:
    default_g, per_g = groups
    layers: list[LayerRef] = []
    skipped: list[tuple[str, str]] = []
    assumed = "bare state_dict: kind and orientation from the name and shape"
    members = {f"{p}.{part}" for p in compressed for part in ("compressed", "bitmask", "shape", "row_offsets")}
    for key, e in entries.items():
        storage, mask_key, dtype, shape = "dense", None, e.dtype, e.shape
        m = _RNN_PARAM.match(key)
        if key in members:
            if not key.endswith(".compressed"):
                continue
            key = name = key[: -len(".compressed")]
            storage, shape = compressed[key], (0, 0)  # the caller reads the .shape tensor
        elif m and len(shape) == 2:
            module, param = m.group(1), m.group(2)
            hh = key.replace("weight_ih", "weight_hh")
            hidden = entries[hh].shape[1] if hh in entries and len(entries[hh].shape) == 2 else None
            ratio = shape[0] // hidden if hidden else 0
            kind = {4: "lstm", 3: "gru", 1: "rnn"}.get(ratio) if hidden and shape[0] % hidden == 0 else None
            if kind is None:
                skipped.append((key, "a recurrent weight whose gate count the shapes do not tell"))
                continue
            layers += _rnn_gates(module, param, kind, e, key, hidden,
                                 f"{assumed} ({kind.upper()}: rows / hidden = {ratio})")
            continue
        elif key.endswith("weight_orig"):
            name = key[: -len("weight_orig")].rstrip(".") or "(root)"
            storage, mask_key = "prune-pair", key[: -len("_orig")] + "_mask"
            if mask_key not in entries or entries[mask_key].shape != shape:
                raise ValueError(f"{e.file}: {mask_key!r} must be a tensor shaped like its weight {shape}")
        elif key.endswith("weight") and not key.endswith("_weight") and key + "_orig" not in entries:
            name = key[: -len("weight")].rstrip(".") or "(root)"
        else:
            if len(shape) >= 2 and not key.endswith("weight_mask"):
                skipped.append((key, "not a weight"))
            continue
        if len(shape) < 2 or len(shape) > 5:
            if len(shape) > 5:
                skipped.append((key, f"{len(shape)}-D weight"))
            continue
        if _EMBEDDING_NAME.search(name):
            skipped.append((key, "embedding (by name)"))
            continue
        kind = {2: "linear", 3: "conv1d", 4: "conv2d", 5: "conv3d"}[len(shape)]
        g = per_g.get(name, default_g) if kind.startswith("conv") else 1
        layers.append(LayerRef(name=name, kind=kind, file=e.file, key=key, shape=shape, dtype=dtype,
                               storage=storage, loader=e.loader, groups=g, mask_key=mask_key, assumed=assumed))
    unknown = sorted(set(per_g) - {r.name for r in layers if r.kind.startswith("conv")})
    if unknown:
        raise ValueError(f"--groups names no convolution of the file: {unknown[:5]}")
    return layers, skipped


def _layer_warnings(r: LayerRef, groups: tuple[int, Mapping[str, int]]) -> list[str]:
    """The ways a bare state_dict's layer could be misread, one warning each, naming the layer."""
    if not r.assumed:
        return []
    out = []
    default_g, per_g = groups
    if r.kind.startswith("conv"):
        if r.shape[0] % r.groups:
            raise ValueError(f"--groups: layer {r.name!r} has {r.shape[0]} output channels, not divisible by {r.groups}")
        if r.name not in per_g and r.shape[1] == 1 and r.shape[0] > 1 and r.groups == 1:
            out.append(f"layer {r.name!r}: weight {r.shape} looks depthwise (one input channel per filter); read with "
                       f"groups=1 as a {int(np.prod(r.shape[1:]))} x {r.shape[0]} graph; if it is depthwise give "
                       f"--groups {r.name}={r.shape[0]}")
        elif r.name not in per_g and default_g != 1:
            out.append(f"layer {r.name!r}: weight {r.shape} read with the global --groups {default_g} "
                       f"({r.shape[1] * default_g} input channels); give --groups {r.name}=G if that is not its groups")
    if r.kind == "linear" and _GPT2_CONV1D_NAME.search(r.name):
        out.append(f"layer {r.name!r}: a GPT-2 Conv1D name; read as (out, in) = {r.shape}, but Conv1D stores (in, out): "
                   "census the model directory (config.json) to read it right")
    return out


# ------------------------------------------------------------------ reading one layer
def read_layer(ref: LayerRef, nan_is_pruned: bool | None = None) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
    """One layer's weight (float32, or float64 when stored so; ``(out, in / groups, *kernel)``),
    its boolean mask, and ``{"nan_pruned": count}``.

    The mask is the stored one (``weight_mask``, a compressed bitmask) or the non-zero pattern;
    NaN entries are pruned when ``nan_is_pruned`` is None (the default, reported through the
    count) or True, and an error naming the layer when False. An infinite weight is an error.
    """
    if ref.tensors is not None:
        w, mask = ref.tensors
        w = w.detach()
        mask = mask.detach() != 0
    elif ref.storage in SPARSE_FORMATS:
        values = _read_raw(ref.file, ref.key + ".compressed", ref.loader)
        bitmask = _read_raw(ref.file, ref.key + ".bitmask", ref.loader)
        _check_dtype(ref, values.dtype)
        w, mask = _decode_sparse(ref, values, bitmask)
    else:
        w = _read_raw(ref.file, ref.key, ref.loader)
        _check_dtype(ref, w.dtype)
        mask = None
        if ref.mask_key is not None:
            mask = _read_raw(ref.file, ref.mask_key, ref.loader) != 0
    if tuple(w.shape) != tuple(ref.shape):
        raise ValueError(f"{ref.file}: {ref.key} has shape {tuple(w.shape)}, expected {ref.shape}")
    w = bfloat16_to_float32(w) if w.dtype == torch.bfloat16 else w.to(torch.float64 if w.dtype == torch.float64 else torch.float32)
    # one pass decides the common case: a finite sum means no NaN and no inf (NaN and inf
    # propagate); a sum that overflows, or any non-finite entry, takes the element-wise tests
    n_nan, nan = 0, None
    if not math.isfinite(float(w.sum())):
        nan = torch.isnan(w)
        n_nan = int(nan.sum())
        if n_nan:
            if nan_is_pruned is False:
                raise ValueError(f"{ref.file}: layer {ref.name!r} has {n_nan} NaN weights (--no-nan-is-pruned); "
                                 "drop the flag to read NaN as pruned")
            w = torch.where(nan, torch.zeros((), dtype=w.dtype), w)
        if not bool(torch.isfinite(w).all()):
            raise ValueError(f"{ref.file}: layer {ref.name!r} has infinite weights")
    if mask is None:
        mask = w != 0
    else:
        if n_nan:
            mask = mask & ~nan
        w = w * mask
    if ref.kind == "gpt2-conv1d":
        w, mask = w.t().contiguous(), mask.t().contiguous()
    elif ref.gate is not None:
        i, n = ref.gate
        h = ref.shape[0] // n
        w, mask = w[i * h:(i + 1) * h].contiguous(), mask[i * h:(i + 1) * h].contiguous()
    return w, mask, {"nan_pruned": n_nan}


def _check_dtype(ref: LayerRef, dtype: torch.dtype) -> None:
    if dtype not in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
        raise ValueError(f"{ref.file}: layer {ref.name!r} ({ref.key}) is stored as {dtype}; the census reads float32, "
                         "float16 and bfloat16 weights (dequantize float8 / integer weights first)")


# ------------------------------------------------------------------ N:M structure
def _block_counts(m: np.ndarray, mm: int) -> np.ndarray:
    """Kept entries per block of ``mm`` consecutive entries of a C-contiguous boolean ``m``
    (``cols % mm == 0``). For 4 and 8 the block's bytes (each 0 or 1) are read as one unsigned
    integer and summed by one multiplication (the top byte of ``v * 0x0101...`` is the byte sum,
    at most 8: no carry reaches it): about 10x faster than a boolean sum over an axis."""
    if mm in (4, 8):
        word, ones, shift = (np.uint32, 0x01010101, 24) if mm == 4 else (np.uint64, 0x0101010101010101, 56)
        v = m.view(np.uint8).reshape(m.shape[0], -1).view(word)
        return (v * word(ones)) >> word(shift)  # wraps modulo 2^32 / 2^64 by design
    return m.reshape(m.shape[0], -1, mm).sum(axis=2)


def nm_pattern(mask: torch.Tensor | np.ndarray, groups: int = 1) -> dict[str, Any]:
    """The N:M pattern of a layer's mask along its input dimension, and the degrees it implies.

    ``mask`` is ``(out, in / groups, *kernel)``; each output's inputs (flattened: channel, then
    kernel taps, as the unfolded graph's rows) are cut into blocks of ``M`` consecutive entries.
    The mask is ``N:M`` when every block keeps at most ``N``; 2:4 is tested before 4:8 (2:4
    implies 4:8). ``exact`` says every block keeps exactly ``N``: then every output has degree
    ``in * N / M`` (the right side of the layer's graph is regular), ``out_degree``.

    >>> import torch
    >>> nm_pattern(torch.tensor([[1, 1, 0, 0, 0, 1, 0, 1]], dtype=torch.bool))
    {'nm': '2:4', 'nm_exact': True, 'out_degree': 4, 'out_degree_max': 4, 'nm_out_degree_bound': 4}
    >>> nm_pattern(torch.tensor([[1, 1, 1, 0]], dtype=torch.bool))["nm"]
    'none'
    """
    m = mask.numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    m = m.reshape(m.shape[0], -1)
    m = np.ascontiguousarray(m) if m.dtype == np.bool_ else m != 0
    deg = np.count_nonzero(m, axis=1)
    out: dict[str, Any] = {"nm": "none", "nm_exact": False,
                           "out_degree": int(deg[0]) if deg.size and (deg == deg[0]).all() else None,
                           "out_degree_max": int(deg.max()) if deg.size else 0, "nm_out_degree_bound": None}
    cols = m.shape[1]
    for n, mm in ((2, 4), (4, 8)):
        if cols == 0 or cols % mm:
            continue
        per_block = _block_counts(m, mm)
        if int(per_block.max(initial=0)) <= n:
            out.update(nm=f"{n}:{mm}", nm_exact=bool((per_block == n).all()), nm_out_degree_bound=cols * n // mm)
            break
    return out
