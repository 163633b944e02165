"""``bipartite-expanders census PATH``: the spectral census of any checkpoint, no model class needed.

``PATH`` is a Hugging Face model directory (``config.json`` with ``model.safetensors`` or the
shards of ``model.safetensors.index.json``), a ``.safetensors`` file, a torch file holding a
``state_dict`` (``torch.load(weights_only=True)``, memory-mapped), or a run directory of
``bipartite-expanders lth`` (``--round N``, default the last). Layers are read one at a time
(:mod:`.checkpoints`, :mod:`.checkpoint_census`); their kind and orientation come from the
model's structure where it is known (``config.json`` through transformers, a run directory's
model), else from names and shapes, marked ``assumed`` with a warning for every layer that could
be misread (docs/checkpoints.md). Prints a table, ``--json`` or ``--csv``.

This module's top level imports no torch (the console script builds its parser from it).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["configure", "run", "state_dict_model", "census_of_path", "parse_groups", "census_csv", "study_rule"]


def _positive(kind: type) -> Any:
    def parse(v: str) -> Any:
        try:
            x = kind(v)
        except ValueError:
            x = None
        if x is None or not x > 0 or (kind is float and not math.isfinite(x)):
            raise argparse.ArgumentTypeError(f"must be a positive {'integer' if kind is int else 'number'}, got {v!r}")
        return x
    return parse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="a Hugging Face model directory, a .safetensors file, a torch "
                                                     "state_dict file, or a run directory")
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
    parser.add_argument("--accuracy", choices=("verdict", "full"), default="verdict",
                        help="verdict (default): large dense-enough layers (an LLM's projections) are analysed as "
                             "dense tensors with certified t1/t2 brackets, stopped once they decide every verdict; "
                             "full: t1 and t2 to the 1e-8 contract on every layer (slower on large layers)")
    parser.add_argument("--targets", metavar="REGEX", help="census only the layers whose name matches (re.search; "
                                                            "a leading 're:' is dropped, as in llm-compressor recipes)")
    parser.add_argument("--ignore", metavar="REGEX", help="leave out the layers whose name matches")
    nan = parser.add_mutually_exclusive_group()
    nan.add_argument("--nan-is-pruned", dest="nan_is_pruned", action="store_const", const=True, default=None,
                     help="NaN weights are pruned ones (Cerebras sparse checkpoints); the default when a NaN is met, "
                          "counted in the output")
    nan.add_argument("--no-nan-is-pruned", dest="nan_is_pruned", action="store_const", const=False,
                     help="a NaN weight is an error")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the census as JSON")
    fmt.add_argument("--csv", action="store_true", help="print one CSV row per layer with every report field")
    parser.add_argument("--out", metavar="DIR", help="write one record per layer as it completes, and the census; "
                                                     "rerunning the same command resumes from them")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="local (default: this process, or --workers processes) or ray (one task per layer, "
                             "each reading its own tensor)")
    parser.add_argument("--workers", type=_positive(int), metavar="N",
                        help="local: processes (default: this one below 4M weights, else one per core up to 4); "
                             "ray: CPUs of the local instance")
    parser.add_argument("--address", metavar="ADDR", help="ray: a running cluster (host:port, ray://host:port, auto)")
    parser.add_argument("--timeout", type=_positive(float), default=30.0, metavar="S",
                        help="ray: seconds a cluster at --address has to answer (default 30)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (it shows only on a terminal)")


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
                   scope: str = "largest", universal_cover: bool | str = "auto", **options: Any) -> dict[str, Any]:
    """The census of a checkpoint (any ``PATH`` of the command) as a JSON-safe dict; ``options``
    are those of :func:`~bipartite_expanders.adapters.torch.checkpoint_census.census_checkpoint`
    (``accuracy``, ``targets``, ``ignore``, ``nan_is_pruned``, ``executor``, ``workers``, ``address``, ``out``,
    ``progress``, ``timeout``)."""
    from .checkpoint_census import census_checkpoint

    return census_checkpoint(path, rnd=rnd, groups=groups, scope=scope, universal_cover=universal_cover, **options)


def _value(report: Mapping[str, Any], key: str) -> str:
    """``t1`` / ``t2`` of a stored report: the value, or ``lower..upper`` where only the verdict's
    bracket was computed (``accuracy="verdict"``)."""
    if report.get("accuracy") == "verdict" and report.get(f"{key}_lower") is not None:
        return f"{_f(report[f'{key}_lower'])}..{_f(report[f'{key}_upper'])}"
    return _f(report[key])


def census_csv(res: dict[str, Any]) -> str:
    """The census's layers as CSV: one row per layer, every field (reports as ``mask.t1`` ...)."""
    import csv
    import io

    from .checkpoint_census import flatten_record

    rows = [flatten_record(lay) for lay in res["layers"]]
    head = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=head, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def study_rule(*margins: Any) -> str:
    """:func:`~bipartite_expanders.bounds.study_verdict` as the table shows it: yes, no, undefined.

    >>> study_rule(-0.1, float("nan")), study_rule("nan"), study_rule(-0.2, 0.0)
    ('no', 'undefined', 'yes')
    """
    from bipartite_expanders.bounds import study_verdict

    return {"ramanujan": "yes", "not_ramanujan": "no"}.get(study_verdict(*margins).value, "undefined")


def _f(v: Any, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return f"{v:.{digits}g}"


def validate(args: argparse.Namespace) -> None:
    """The flags, before any file is read (a bad value exits 2)."""
    parse_groups(args.groups)
    if args.round is not None and args.round < 0:
        raise ValueError(f"--round must be a non-negative integer, got {args.round}")


def run(args: argparse.Namespace) -> int:
    import sys

    from bipartite_expanders.files import dumps

    groups = parse_groups(args.groups)
    if args.round is not None and args.round < 0:
        raise ValueError(f"--round must be a non-negative integer, got {args.round}")
    workers = args.workers if args.workers is not None or args.executor == "ray" else "auto"
    res = census_of_path(args.path, args.round, groups, scope=args.scope,
                         universal_cover={"auto": "auto", "exact": True, "off": False}[args.universal_cover],
                         accuracy=args.accuracy, targets=args.targets, ignore=args.ignore, nan_is_pruned=args.nan_is_pruned,
                         executor=args.executor, workers=workers, address=args.address, out=args.out,
                         timeout=args.timeout, progress=not args.no_progress and sys.stderr.isatty())
    for w in res["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    if res["nan_pruned"]:
        print(f"note: {res['nan_pruned']} NaN weights read as pruned (--nan-is-pruned)", file=sys.stderr)
    if args.json:
        print(dumps(res, indent=2))
        return 0
    if args.csv:
        sys.stdout.write(census_csv(res))
        return 0
    from .lth.report.markdown import md_table

    where = f"round {res['round']}, {res['weights']} weights" if "round" in res else res["format"]
    print(f"{res['path']} ({where}; layers from {res['structure']}): regime {res['regime']} (mask rule), "
          f"{res['regime_weighted']} (|W| rule); t1 ... Delta_R of the mask graph, weight Delta_S of |W|\n")
    head = ["layer", "verdict", "shape", "graph", "density %", "t1", "t2", "eb", "db", "Delta_S", "Delta_R",
            "weight Delta_S", "study rule (mask / weight)", "N:M", "assumed"]
    rows = []
    for lay in res["layers"]:
        m, w = lay["mask"], lay["weight"] or {}
        rule_mask = study_rule(m.get("delta_s"), m.get("delta_r"))
        rule_weight = study_rule(w.get("delta_s"))
        rows.append([lay["name"], m.get("verdict", "-"), "x".join(map(str, lay["shape"])),
                     "x".join(map(str, lay["graph_shape"])),
                     f"{100 * lay['density']:.2f}", _value(m, "t1"), _value(m, "t2"), _f(m["eb"]), _f(m["db"]),
                     _f(m["delta_s"]), _f(m["delta_r"]), _f(w.get("delta_s")), f"{rule_mask} / {rule_weight}",
                     lay["nm"], "yes" if lay["assumed"] else ""])
    print(md_table(head, rows))
    print("\nverdict: the mask graph's one verdict (exact test t2 <= rho(T) when decided, else db where Hoory's "
          "theorem holds, else undecided; docs/bounds.md). study rule: yes when a margin is >= 0 (mask: Delta_S or "
          "Delta_R; weight: Delta_S of |W|), no when the defined ones are < 0, undefined when none is defined (NaN).")
    if any(lay["mask"].get("accuracy") == "verdict" for lay in res["layers"]):
        print("\nt1, t2 shown as lower..upper: the certified brackets of --accuracy verdict (large dense layers), "
              "stopped once they decide every verdict; eb and the margins use the lower ends (Ritz values). "
              "--accuracy full gives t1 and t2 to 1e-8.")
    if res["assumed"]:
        print(f"\n{res['assumed']} layers' kind and orientation are assumed from names and shapes (see the warnings)")
    if res["skipped"]:
        kinds = sorted({why for _, why in res["skipped"]})
        print(f"\nnot layers: {len(res['skipped'])} tensors ({'; '.join(kinds)[:300]})")
    return 0

