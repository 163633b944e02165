"""``bipartite-expanders census PATH``: the spectral census of any checkpoint, no model class needed.

``PATH`` is a run directory of ``bipartite-expanders lth`` (``--round N``, default the last:
that round's masks with its trained weights, or the rewind weights when those were not kept) or a
torch file holding a ``state_dict`` (or a checkpoint dict with one under ``state_dict`` /
``model_state_dict`` / ``model``), read with ``torch.load(weights_only=True)``. Every 2-D weight
is a linear layer (``(out, in)``, ``B = W^T``) and every 4-D weight a convolution
(``(out, in/groups, kh, kw)``, unfolded as in docs/torch-adapter.md); ``--groups`` gives the
groups of grouped convolutions. ``x.weight_orig`` / ``x.weight_mask`` pairs of
``torch.nn.utils.prune`` are read as the weight and its mask; a plain weight's mask is its
non-zero pattern. Prints a table, or ``--json``.

This module's top level imports no torch (the console script builds its parser from it).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["configure", "run", "state_dict_model", "census_of_path", "parse_groups"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="a run directory, or a torch file holding a state_dict")
    parser.add_argument("--round", type=int, metavar="N", help="round of a run directory (default: the last)")
    parser.add_argument("--groups", action="append", default=[], metavar="[LAYER=]G",
                        help="groups of grouped convolutions: G for every 4-D weight, or LAYER=G for one "
                             "(repeatable; default 1)")
    parser.add_argument("--scope", choices=("largest", "nonisolated", "all"), default="largest",
                        help="which part of each graph the spectra describe (default: largest)")
    uc = parser.add_mutually_exclusive_group()
    uc.add_argument("--universal-cover", choices=("auto", "exact", "off"), default="auto",
                    help="rho(T) of the universal cover, as in analyze: auto (default: exact, but the certified free "
                         "O(E) bracket on layers of more than 200000 edges), exact (always) or off")
    uc.add_argument("--no-universal-cover", "--no-cover", dest="universal_cover", action="store_const", const="off",
                    help="the same as --universal-cover off (faster on large layers)")
    parser.add_argument("--json", action="store_true", help="print the census as JSON")


def parse_groups(values: list[str]) -> tuple[int, dict[str, int]]:
    """``["2", "features.3=32"]`` -> ``(2, {"features.3": 32})``; bad values name ``--groups``.

    >>> parse_groups(["4", "conv.dw=32"])
    (4, {'conv.dw': 32})
    """
    default, per = 1, {}
    for v in values:
        name, _, g = v.rpartition("=")
        if not g.isdigit() or int(g) < 1:
            raise ValueError(f"--groups must be a positive integer G or LAYER=G, got {v!r}")
        if name:
            per[name] = int(g)
        else:
            default = int(g)
    return default, per


def _unwrap(obj: Any, path: Path) -> Mapping[str, Any]:
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner:
                return inner
        return obj
    raise ValueError(f"{path}: holds a {type(obj).__name__}, not a state_dict")


def state_dict_model(state: Mapping[str, Any], groups: tuple[int, dict[str, int]] = (1, {})) -> Any:
    """A module tree mirroring the names of ``state``'s 2-D and 4-D weights (Linear and Conv2d
    layers without biases), masks applied; what :func:`bipartite_expanders.adapters.torch.census` takes."""
    import torch
    from torch import nn

    from .masks import apply_masks, ensure_masks

    default_g, per_g = groups
    root = nn.Module()
    masks: dict[str, Any] = {}
    seen: list[str] = []
    for key, w in state.items():
        if not isinstance(key, str) or not isinstance(w, torch.Tensor):
            continue
        if key.endswith("weight_orig"):
            base = key[: -len("_orig")]
            mask = state.get(base + "_mask")
        elif key.endswith("weight") and key + "_orig" not in state:
            base, mask = key, None
        else:
            continue
        if w.dim() not in (2, 4) or w.numel() == 0:
            continue
        if not w.is_floating_point():
            raise ValueError(f"state_dict[{key!r}]: a weight must be floating point, got {w.dtype}")
        if not bool(torch.isfinite(w).all()):
            raise ValueError(f"state_dict[{key!r}]: has non-finite entries")
        name = base[: -len(".weight")] if base.endswith(".weight") else (base[: -len("weight")] or "(root)")
        parent = root
        parts = name.split(".")
        for part in parts[:-1]:
            if not hasattr(parent, part):
                parent.add_module(part, nn.Module())
            parent = getattr(parent, part)
        w = w.detach().to(torch.float64 if w.dtype == torch.float64 else torch.float32)
        if w.dim() == 2:
            mod: nn.Module = nn.Linear(w.shape[1], w.shape[0], bias=False)
        else:
            g = per_g.get(name, default_g)
            if w.shape[0] % g:
                raise ValueError(f"--groups: layer {name!r} has {w.shape[0]} output channels, not divisible by {g}")
            mod = nn.Conv2d(w.shape[1] * g, w.shape[0], tuple(w.shape[2:]), groups=g, bias=False)
        mod.weight = nn.Parameter(w.clone(), requires_grad=False)
        parent.add_module(parts[-1], mod)
        if mask is not None:
            if not isinstance(mask, torch.Tensor) or tuple(mask.shape) != tuple(w.shape):
                raise ValueError(f"state_dict[{base + '_mask'!r}]: must be a tensor shaped like its weight {tuple(w.shape)}")
            masks[name] = mask
        else:
            masks[name] = w != 0
        seen.append(name)
    unknown = sorted(set(per_g) - set(seen))
    if unknown:
        raise ValueError(f"--groups names no 4-D weight of the file: {unknown[:5]}")
    if not seen:
        raise ValueError("the state_dict holds no 2-D or 4-D weight")
    ensure_masks(root)
    apply_masks(root, {n: m.float() for n, m in masks.items()})
    return root


def census_of_path(path: str | Path, rnd: int | None = None, groups: tuple[int, dict[str, int]] = (1, {}),
                   scope: str = "largest", universal_cover: bool | str = "auto") -> dict[str, Any]:
    """The census of a run directory's round or of a state_dict file, as a JSON-safe dict."""
    
    from bipartite_expanders.files import json_safe

    from .census import census
    from .serialization import load_torch

    path = Path(path)
    info: dict[str, Any] = {"path": str(path)}
    if path.is_dir():
        from .lth.rundir import read_records, weights_path
        from .lth.tickets import load_ticket

        if groups != (1, {}):
            raise ValueError("--groups is for state_dict files; a run directory knows its model")
        records = read_records(path)
        if not records:
            raise FileNotFoundError(f"{path}: no round records (not a run directory?)")
        r = records[-1].round if rnd is None else rnd
        weights = "trained" if weights_path(path, r).is_file() else "rewind"
        model = load_ticket(path, round=r, weights=weights)
        info.update({"round": r, "weights": weights})
    else:
        if rnd is not None:
            raise ValueError("--round is for run directories")
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file or directory")
        if path.suffix == ".safetensors":  # a Hugging Face save_pretrained file: no pickle at all
            from safetensors import SafetensorError
            from safetensors.torch import load_file

            try:
                obj = load_file(path)
            except (SafetensorError, OSError, ValueError) as exc:
                raise ValueError(f"{path}: not a readable safetensors file ({exc})") from None
        else:
            obj = load_torch(path, "torch file loadable with weights_only=True")
        model = state_dict_model(_unwrap(obj, path), groups)
        info["weights"] = "file"
    c = census(model, scope=scope, universal_cover=universal_cover)
    return json_safe({**info, "regime": c.regime, "regime_weighted": c.regime_weighted, "scope": scope,
                      "layers": c.to_records()})


def _f(v: Any, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return f"{v:.{digits}g}"


def run(args: argparse.Namespace) -> int:
    from bipartite_expanders.files import dumps

    groups = parse_groups(args.groups)
    if args.round is not None and args.round < 0:
        raise ValueError(f"--round must be a non-negative integer, got {args.round}")
    res = census_of_path(args.path, args.round, groups, scope=args.scope, universal_cover={"auto": "auto", "exact": True, "off": False}[args.universal_cover])
    if args.json:
        print(dumps(res, indent=2))
        return 0
    from .lth.report.markdown import md_table

    where = f"round {res['round']}, {res['weights']} weights" if "round" in res else "state_dict"
    print(f"{res['path']} ({where}): regime {res['regime']} (mask rule), {res['regime_weighted']} (|W| rule); "
          "t1 ... Delta_R of the mask graph, weight Delta_S of |W|\n")
    head = ["layer", "shape", "graph", "density %", "t1", "t2", "eb", "db", "Delta_S", "Delta_R", "weight Delta_S",
            "Ramanujan (mask / weight)"]
    rows = []
    for lay in res["layers"]:
        m, w = lay["mask"], lay["weight"] or {}
        rows.append([lay["name"], "x".join(map(str, lay["shape"])), "x".join(map(str, lay["graph_shape"])),
                     f"{100 * lay['density']:.2f}", _f(m["t1"]), _f(m["t2"]), _f(m["eb"]), _f(m["db"]),
                     _f(m["delta_s"]), _f(m["delta_r"]), _f(w.get("delta_s")),
                     f"{'yes' if lay['is_ramanujan'] else 'no'} / {'yes' if lay['is_ramanujan_weighted'] else 'no'}"])
    print(md_table(head, rows))
    return 0
