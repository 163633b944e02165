"""Born sparse against IMP at matched density (issue 17's experiment; docs/results.md, "Born Ramanujan").

Reads born-sparse runs (``pruning.init_masks`` set, one round) and IMP runs, and compares each
born network with the IMP ticket of the same seed at the born network's total density: IMP's
clean and noisy accuracies are interpolated linearly in ``log density`` between the two rounds
that bracket it (:func:`~bipartite_expanders.adapters.torch.lth.report.stats.accuracy_at_density`). The census columns
count, per layer, the networks whose mask graph is Ramanujan by Hoory's bound ``db``
(``verdict_r``) and by the exact universal-cover test ``t2 <= rho(T)`` (``verdict_uc``); for IMP
they are of the round nearest the density in ``log density``. Torch-free.

    python -m bipartite_expanders.adapters.torch.lth.report.born docs/results/born-ramanujan --out docs/results/born-ramanujan

writes ``table.md`` (the comparison) and ``census.md`` (every network's layers).

>>> born_rows([])
[]
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bipartite_expanders.files import atomic_write

from ..rundir import RunDirError
from .load import RunData, load_runs
from .markdown import ci_cell, md_table, pm
from .stats import accuracy_at_density, mean_sd, num, t_interval

__all__ = ["FAMILY_ORDER", "born_rows", "born_markdown", "census_markdown", "main"]

#: the born families in table order
FAMILY_ORDER = ("ramanujan", "random-biregular", "erdos-renyi")
ACCURACIES = ("clean", "0.1", "0.3")


def _family(run: RunData) -> str | None:
    return run.hparams.get("pruning", {}).get("init_masks") if run.hparams else None


def _is_imp(run: RunData) -> bool:
    pr = run.hparams.get("pruning", {}) if run.hparams else {}
    return (pr.get("pruner") == "imp" and not pr.get("bound") and pr.get("init_masks", "none") == "none"
            and pr.get("p_fc") == 0.2 and pr.get("p_out") == 0.1)


def _acc(record: Mapping[str, Any], key: str) -> float:
    return float(record["accuracy"]["clean"] if key == "clean" else record["accuracy"]["noisy"][key])


def _nearest(run: RunData, density: float) -> Mapping[str, Any]:
    return min(run.records, key=lambda r: abs(math.log(float(r["density"]["total"])) - math.log(density)))


def _verdicts(record: Mapping[str, Any], field: str) -> dict[str, bool]:
    return {c["name"]: (c.get("mask") or {}).get(field) == "ramanujan" for c in record["census"]}


def born_rows(runs: Sequence[RunData]) -> list[dict[str, Any]]:
    """One row per (target density, family), highest density first, families in
    :data:`FAMILY_ORDER`, then one IMP row per density: accuracies over seeds
    (:func:`~bipartite_expanders.adapters.torch.lth.report.stats.mean_sd`), the paired difference born - IMP per
    seed with its Student-t interval (:func:`~bipartite_expanders.adapters.torch.lth.report.stats.t_interval`), and per layer how many networks are Ramanujan by ``db`` and by ``rho(T)``."""
    born = [r for r in runs if _family(r) not in (None, "none")]
    imp = {r.seed: r for r in runs if _is_imp(r)}
    targets = sorted({float(r.hparams["pruning"]["init_density"]) for r in born}, reverse=True)
    rows: list[dict[str, Any]] = []
    for d in targets:
        for fam in FAMILY_ORDER:
            group = sorted((r for r in born if _family(r) == fam and float(r.hparams["pruning"]["init_density"]) == d),
                           key=lambda r: r.seed)
            if not group:
                continue
            recs = [g.records[0] for g in group]
            row: dict[str, Any] = {"density": d, "family": fam, "seeds": [g.seed for g in group],
                                   "actual": mean_sd(float(r["density"]["total"]) for r in recs),
                                   "skipped": sorted({n for r in recs for n in (r.get("init_masks") or {}).get("skipped", {})})}
            for key in ACCURACIES:
                row[key] = mean_sd(_acc(r, key) for r in recs)
                diffs = []
                for g, r in zip(group, recs):
                    ticket = imp.get(g.seed)
                    ref = accuracy_at_density(ticket.records, float(r["density"]["total"]), key) if ticket else None
                    if ref is not None:
                        diffs.append(_acc(r, key) - ref)
                row[f"diff_{key}"] = t_interval(diffs)  # paired by seed: a 95 % Student-t interval, n stated
            row["db"] = _count(recs, "verdict_r")
            row["uc"] = _count(recs, "verdict_uc")
            rows.append(row)
        tickets = [imp[s] for s in sorted(imp)]
        if tickets:
            row = {"density": d, "family": "imp", "seeds": [t.seed for t in tickets]}
            for key in ACCURACIES:
                row[key] = mean_sd(accuracy_at_density(t.records, d, key) for t in tickets)
                row[f"diff_{key}"] = None
            near = [_nearest(t, d) for t in tickets]
            row["actual"] = mean_sd(float(r["density"]["total"]) for r in near)
            row["skipped"] = []
            row["db"] = _count(near, "verdict_r")
            row["uc"] = _count(near, "verdict_uc")
            rows.append(row)
    return rows


def _count(records: Sequence[Mapping[str, Any]], field: str) -> dict[str, tuple[int, int]]:
    out: dict[str, list[int]] = {}
    for r in records:
        for name, ok in _verdicts(r, field).items():
            out.setdefault(name, [0, 0])
            out[name][0] += int(ok)
            out[name][1] += 1
    return {n: (k, t) for n, (k, t) in out.items()}


def _counts(c: Mapping[str, tuple[int, int]]) -> str:
    return " ".join(f"{k}/{t}" for k, t in c.values())


_LABELS = {"ramanujan": "Ramanujan (certified)", "random-biregular": "random biregular", "erdos-renyi": "Erdos-Renyi",
           "imp": "IMP ticket (interp.)"}


def born_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """The comparison table (accuracies in percent, mean ± sd over seeds; differences born - IMP
    paired by seed at the same total density, as the mean with its 95 % Student-t interval and
    the per-seed values; "left dense": layers that got no born mask,
    see ``init_masks.skipped``; IMP's "actual density" and verdicts are of its nearest round)."""
    head = ["density", "network", "seeds", "actual density %", "clean", "sigma 0.1", "sigma 0.3", "clean - IMP",
            "0.1 - IMP", "0.3 - IMP", "Ramanujan by db (fc1 fc2 fc3)", "by rho(T) (fc1 fc2 fc3)", "left dense"]
    body = []
    for r in rows:
        body.append([f"{100 * r['density']:g} %", _LABELS[r["family"]], len(r["seeds"]), pm(r["actual"], 3),
                     pm(r["clean"]), pm(r["0.1"]), pm(r["0.3"]),
                     *("" if r[f"diff_{k}"] is None else ci_cell(r[f"diff_{k}"]) for k in ACCURACIES),
                     _counts(r["db"]), _counts(r["uc"]), " ".join(r["skipped"]) or "-"])
    return md_table(head, body)


def census_markdown(runs: Sequence[RunData], densities: Sequence[float] = ()) -> str:
    """Every born network's layers (and, at ``densities``, each IMP ticket's nearest round):
    ``t2``, Hoory's ``db``, the universal-cover radius's lower end, both verdicts."""
    head = ["network", "seed", "density %", "layer", "n_kept", "t2", "db", "rho(T) lower", "by db", "by rho(T)"]
    body = []
    entries: list[tuple[str, Any, Mapping[str, Any]]] = []
    for fam in FAMILY_ORDER:
        for r in sorted((r for r in runs if _family(r) == fam),
                        key=lambda r: (-float(r.hparams["pruning"]["init_density"]), r.seed)):
            entries.append((_LABELS[fam], r.seed, r.records[0]))
    for d in densities:
        for r in sorted((r for r in runs if _is_imp(r)), key=lambda r: r.seed):
            entries.append((f"IMP round nearest {100 * d:g} %", r.seed, _nearest(r, d)))
    for label, seed, rec in entries:
        for c in rec["census"]:
            m = c.get("mask") or {}
            body.append([label, seed, f"{100 * float(rec['density']['total']):.3f}", c["name"], c["n_kept"],
                         _g(m.get("t2")), _g(m.get("db")), _g(m.get("rho_uc_lower")), m.get("verdict_r"),
                         m.get("verdict_uc")])
    return md_table(head, body)


def _g(v: Any) -> str:
    x = num(v)
    return "-" if math.isnan(x) else f"{x:.4g}"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bipartite_expanders.adapters.torch.lth.report.born RUN_DIR ... --out DIR``: writes ``table.md`` and ``census.md``."""
    p = argparse.ArgumentParser(prog="python -m bipartite_expanders.adapters.torch.lth.report.born", description=__doc__.split("\n\n")[0])
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="born-sparse and IMP run directories, or directories of them")
    p.add_argument("--out", required=True, help="directory for table.md and census.md")
    args = p.parse_args(argv)
    try:
        runs = load_runs(args.run_dirs)
    except (FileNotFoundError, RunDirError) as exc:  # a missing or damaged run directory, named
        p.error(str(exc))
    rows = born_rows(runs)
    if not rows:
        p.error("no born-sparse runs (pruning.init_masks) among the run directories")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = born_markdown(rows)
    atomic_write(out / "table.md", table + "\n")
    densities = sorted({r["density"] for r in rows}, reverse=True)
    atomic_write(out / "census.md", census_markdown(runs, densities) + "\n")
    print(table)
    print(f"\nwrote {os.path.join(str(out), 'table.md')} and census.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
