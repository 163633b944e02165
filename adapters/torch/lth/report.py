"""Figures and tables from run directories: the seed paper's Figure 4 and Table 2, any metric.

- :func:`figure4`: per run, accuracy (clean and every noisy test set) against density on a
  log axis, then ``Delta_S`` and ``Delta_R`` of every layer's mask graph against density, with the
  rounds' network regime shaded (fully / partially / non-Ramanujan).
- :func:`table2`: per run, the dense accuracy; the sparsest round whose clean accuracy is within
  ``alpha`` percentage points of the dense round (``alpha`` = 1.5 and 2 by default), its density and
  accuracy; and the stopping point (the -Bound run's last round: where no layer changes any more).
- :func:`metric_figure`: any numeric field of the layers' census records (e.g. ``mask.t2``,
  ``weight.delta_s``, or a bare name such as ``rho_uc`` that matches ``mask.rho_uc`` and
  ``weight.rho_uc``) against density.

Only matplotlib's Agg backend is used; nothing here imports torch.

>>> runs = []                      # RunData from load_run(path)
>>> table2(runs, alphas=(1.5, 2.0))[:1]
[]
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RunData", "load_run", "flatten", "layer_metric", "table2", "table2_markdown", "rounds_markdown",
           "figure4", "metric_figure", "metric_keys", "render_report", "REGIME_COLORS"]

REGIME_COLORS = {"fully": "#2ca02c", "partially": "#ffbf00", "non": "#d62728"}


@dataclass
class RunData:
    """A run directory's hyperparameters and records (round order)."""

    path: Path
    hparams: dict[str, Any]
    records: list[dict[str, Any]]

    @property
    def label(self) -> str:
        if self.records:
            return str(self.records[0].get("label", self.path.name))
        return self.path.name

    @property
    def title(self) -> str:
        h = self.hparams
        return f"{self.label}: {h['model']['name']} / {h['dataset']['name']}"

    @property
    def densities(self) -> list[float]:
        return [float(r["density"]["total"]) for r in self.records]

    @property
    def sigmas(self) -> list[str]:
        return list(self.records[0]["accuracy"]["noisy"]) if self.records else []


def load_run(path: str | os.PathLike) -> RunData:
    """Read ``hparams.json`` and the contiguous ``round_NN.json`` records of a run directory."""
    import json

    from .runner import load_records

    path = Path(path)
    records = load_records(path)
    if not records:
        raise FileNotFoundError(f"run directory {str(path)!r} holds no round_00.json")
    hp_file = path / "hparams.json"
    hparams = json.loads(hp_file.read_text())["hparams"] if hp_file.is_file() else {}
    return RunData(path, hparams, records)


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys: ``{"mask": {"t1": 2}} -> {"mask.t1": 2}``.

    >>> flatten({"name": "fc1", "mask": {"t1": 2.0, "t2": 1.0}})
    {'name': 'fc1', 'mask.t1': 2.0, 'mask.t2': 1.0}
    """
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def metric_keys(runs: Sequence[RunData], metric: str) -> list[str]:
    """The census keys ``metric`` names: itself if present, else every numeric key whose last
    dotted component equals it (``rho_uc`` -> ``mask.rho_uc``, ``weight.rho_uc``)."""
    keys: dict[str, None] = {}
    for run in runs:
        for rec in run.records:
            for layer in rec.get("census", []):
                for k, v in flatten(layer).items():
                    if _is_number(v) or v is None:
                        keys[k] = None
    if metric in keys:
        return [metric]
    found = [k for k in keys if k.split(".")[-1] == metric or k.endswith("." + metric)]
    if not found:
        numeric = sorted(k for k in keys if "." in k)[:12]
        raise ValueError(f"metric {metric!r} is in no layer record; numeric fields include {numeric}")
    return found


def layer_metric(run: RunData, key: str) -> dict[str, list[float]]:
    """layer name -> the value of census field ``key`` per round (NaN where absent or null)."""
    series: dict[str, list[float]] = {}
    for i, rec in enumerate(run.records):
        for layer in rec.get("census", []):
            v = flatten(layer).get(key)
            vals = series.setdefault(layer["name"], [math.nan] * len(run.records))
            vals[i] = float(v) if _is_number(v) else math.nan
    return series


# ------------------------------------------------------------------ Table 2
def _at_alpha(run: RunData, alpha: float) -> dict[str, Any] | None:
    recs = run.records
    dense = recs[0]["accuracy"]["clean"]
    ok = [r for r in recs if r["accuracy"]["clean"] >= dense - alpha / 100.0]
    if not ok:
        return None
    best = min(ok, key=lambda r: (r["density"]["total"], -r["round"]))
    return best


def table2(runs: Sequence[RunData], alphas: Iterable[float] = (1.5, 2.0)) -> list[dict[str, Any]]:
    """One row per run: dense accuracy; density, clean and noisy accuracy of the sparsest round
    within ``alpha`` points of the dense accuracy, per alpha; and at the run's stopping point."""
    rows = []
    for run in runs:
        recs = run.records
        last = recs[-1]
        row: dict[str, Any] = {"run": run.path.name, "label": run.label, "rounds": len(recs) - 1,
                               "dense_accuracy": recs[0]["accuracy"]["clean"]}
        for a in alphas:
            r = _at_alpha(run, a)
            row[f"alpha={a:g}"] = None if r is None else {
                "round": r["round"], "density": r["density"]["total"], "accuracy": r["accuracy"]["clean"],
                "noisy": r["accuracy"]["noisy"]}
        row["stop"] = {"round": last["round"], "reason": last.get("stop"), "density": last["density"]["total"],
                       "accuracy": last["accuracy"]["clean"], "noisy": last["accuracy"]["noisy"],
                       "regime": last.get("regime")}
        rows.append(row)
    return rows


def _pct(x: float | None, digits: int = 2) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f}"


def table2_markdown(rows: Sequence[dict[str, Any]], alphas: Iterable[float] = (1.5, 2.0)) -> str:
    """Markdown of :func:`table2` (densities and accuracies in percent)."""
    alphas = list(alphas)
    head = ["run", "dense acc"]
    for a in alphas:
        head += [f"density @ α={a:g}", f"acc @ α={a:g}"]
    head += ["stop round (reason)", "density @ stop", "acc @ stop", "noisy acc @ stop"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["label"], _pct(r["dense_accuracy"])]
        for a in alphas:
            v = r[f"alpha={a:g}"]
            cells += ["-", "-"] if v is None else [_pct(v["density"], 3), _pct(v["accuracy"])]
        s = r["stop"]
        noisy = ", ".join(f"{k}: {_pct(v)}" for k, v in s["noisy"].items())
        cells += [f"{s['round']} ({s['reason'] or 'running'})", _pct(s["density"], 3), _pct(s["accuracy"]), noisy]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rounds_markdown(run: RunData) -> str:
    """Per round: density, accuracies, regime and the count of Ramanujan layers."""
    sig = run.sigmas
    head = ["round", "density %", "acc %"] + [f"acc sigma={s} %" for s in sig] + ["regime", "regime weighted",
                                                                                "Ramanujan layers", "train s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in run.records:
        cen = r.get("census", [])
        n_ram = sum(bool(layer.get("is_ramanujan")) for layer in cen)
        cells = [str(r["round"]), _pct(r["density"]["total"], 3), _pct(r["accuracy"]["clean"])]
        cells += [_pct(r["accuracy"]["noisy"][s]) for s in sig]
        cells += [str(r.get("regime")), str(r.get("regime_weighted")), f"{n_ram}/{len(cen)}",
                  f"{r.get('timing', {}).get('train_s', math.nan):.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------ figures
def _shade_regimes(ax: Any, run: RunData) -> None:
    """Shade each round's stretch of the density axis by its regime; a round reaches halfway (in
    log density) to its neighbours, the first and last rounds as far on their outer side."""
    logs = [math.log(100 * x) for x in run.densities]
    if not logs:
        return
    mids = [(a + b) / 2 for a, b in zip(logs, logs[1:])]
    for i, rec in enumerate(run.records):
        hi = mids[i - 1] if i > 0 else logs[0] + (logs[0] - mids[0] if mids else 0.05)
        lo = mids[i] if i < len(mids) else logs[-1] - (mids[-1] - logs[-1] if mids else 0.05)
        color = REGIME_COLORS.get(str(rec.get("regime")), "#cccccc")
        ax.axvspan(math.exp(lo), math.exp(hi), color=color, alpha=0.13, lw=0)


def _density_axis(ax: Any) -> None:
    ax.set_xscale("log")
    ax.invert_xaxis()  # pruning proceeds to the right
    ax.set_xlabel("weights remaining (%)")
    ax.grid(True, which="both", alpha=0.3)


def _finite(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
    pts = [(x, y) for x, y in zip(xs, ys) if math.isfinite(y)]
    return [p[0] for p in pts], [p[1] for p in pts]


def figure4(runs: Sequence[RunData], path: str | os.PathLike, kind: str = "mask") -> Path:
    """Figure 4 analog as a PNG: one column per run; rows accuracy, ``Delta_S``, ``Delta_R``
    (of the ``kind`` graph: ``mask``, ``weight`` or ``score``) against density (log axis)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    n = len(runs)
    fig, axes = plt.subplots(3, n, figsize=(5.2 * n, 11), squeeze=False)
    for j, run in enumerate(runs):
        x = [100 * d for d in run.densities]
        ax = axes[0][j]
        _shade_regimes(ax, run)
        ax.plot(x, [100 * r["accuracy"]["clean"] for r in run.records], "o-", color="black", label="clean", ms=3)
        for s in run.sigmas:
            ax.plot(x, [100 * r["accuracy"]["noisy"][s] for r in run.records], "o--", ms=3, label=f"noise sigma={s}")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(run.title, fontsize=10)
        _density_axis(ax)
        ax.legend(fontsize=7, loc="lower left")
        for i, (name, sym) in enumerate((("delta_s", "Delta_S"), ("delta_r", "Delta_R"))):
            ax = axes[1 + i][j]
            _shade_regimes(ax, run)
            for layer, ys in layer_metric(run, f"{kind}.{name}").items():
                xx, yy = _finite(x, ys)
                ax.plot(xx, yy, "o-", ms=3, label=layer)
                inf = [xv for xv, yv in zip(x, ys) if yv == math.inf]
                if inf:  # t2 = 0: the margin is +inf; drawn as triangles on the top edge
                    ax.plot(inf, [1.0] * len(inf), "^", ms=5, transform=ax.get_xaxis_transform(), clip_on=False,
                            color=ax.lines[-1].get_color())
            ax.axhline(0.0, color="black", lw=0.8)
            ax.set_yscale("symlog", linthresh=1.0)
            ax.set_ylabel(f"{sym} ({kind} graph)")
            _density_axis(ax)
            ax.legend(fontsize=7, loc="best")
    handles = [Patch(color=c, alpha=0.3, label=f"{k} Ramanujan") for k, c in REGIME_COLORS.items()]
    fig.legend(handles=handles, loc="upper center", ncol=3, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def metric_figure(runs: Sequence[RunData], metric: str, path: str | os.PathLike) -> tuple[Path, list[str]]:
    """Every census field that ``metric`` names, per layer, against density: one row per field,
    one column per run. Returns the path and the fields drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = metric_keys(runs, metric)
    fig, axes = plt.subplots(len(keys), len(runs), figsize=(5.2 * len(runs), 3.6 * len(keys)), squeeze=False)
    for j, run in enumerate(runs):
        x = [100 * d for d in run.densities]
        for i, key in enumerate(keys):
            ax = axes[i][j]
            _shade_regimes(ax, run)
            for layer, ys in layer_metric(run, key).items():
                xx, yy = _finite(x, ys)
                ax.plot(xx, yy, "o-", ms=3, label=layer)
            ax.set_ylabel(key)
            ax.set_title(run.title, fontsize=10)
            _density_axis(ax)
            ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path, keys


def _table_png(rows: Sequence[dict[str, Any]], alphas: Sequence[float], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    md = table2_markdown(rows, alphas).splitlines()
    header = [c.strip() for c in md[0].strip("|").split("|")]
    body = [[c.strip() for c in line.strip("|").split("|")] for line in md[2:]]
    fig, ax = plt.subplots(figsize=(min(2 + 1.45 * len(header), 24), 0.9 + 0.45 * max(len(body), 1)))
    ax.axis("off")
    tab = ax.table(cellText=body or [["-"] * len(header)], colLabels=header, loc="center", cellLoc="center")
    tab.auto_set_font_size(False)
    tab.set_fontsize(7)
    tab.scale(1, 1.4)
    ax.set_title("Table 2 analog: plain vs -Bound (densities and accuracies in %)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def render_report(run_dirs: Sequence[str | os.PathLike], out: str | os.PathLike,
                  alphas: Sequence[float] = (1.5, 2.0), metrics: Sequence[str] = (), kind: str = "mask",
                  bands: Sequence[float] | None = None) -> Path:
    """Write ``figure4.png``, ``table2.png``, one ``metric_<name>.png`` per metric and
    ``report.md`` (which links them) into ``out``; returns the markdown's path. Runs that differ
    only in the seed are also aggregated (``figure4_mean.png``, ``table2_mean.json``) and every
    round of every run enters the Spearman counter-check (``spearman.json``, density ``bands``):
    see :mod:`adapters.torch.lth.sweep_report`."""
    from .runner import find_run_dirs, write_json_atomic

    if kind not in ("mask", "weight", "score"):
        raise ValueError(f"kind must be 'mask', 'weight' or 'score', got {kind!r}")
    alphas = [float(a) for a in alphas]
    if any(not math.isfinite(a) or a < 0 for a in alphas):
        raise ValueError(f"alphas must be finite and non-negative, got {alphas!r}")
    runs = [load_run(p) for p in find_run_dirs(run_dirs)]
    # plain beside its -Bound run, plain first
    runs.sort(key=lambda r: (r.path.name.replace("-bound", ""), "-bound" in r.path.name))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figure4(runs, out / "figure4.png", kind=kind)
    rows = table2(runs, alphas)
    _table_png(rows, alphas, out / "table2.png")
    write_json_atomic(out / "table2.json", rows)
    parts = ["# Lottery-ticket report", "",
             "Runs: " + ", ".join(f"`{r.path.name}`" for r in runs), "",
             "## Figure 4 analog", "",
             f"Accuracy (clean and noisy) and the {kind} graphs' margins Delta_S, Delta_R per layer against the "
             "fraction of weights remaining (log axis); background: the round's regime (green fully, amber "
             "partially, red non-Ramanujan, by the unweighted rule on the masks). Triangles on the top edge: "
             "t2 = 0 (margin +inf).", "", "![Figure 4](figure4.png)", "",
             "## Table 2 analog", "",
             "alpha = tolerated drop of clean test accuracy, in percentage points, below the dense round: "
             "the sparsest round within it. The stopping point is the run's last round (for -Bound runs: "
             "where Algorithm 1 changes no layer any more, unless the round limit came first).", "",
             table2_markdown(rows, alphas), "", "![Table 2](table2.png)", ""]
    for metric in metrics:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in metric)
        _, keys = metric_figure(runs, metric, out / f"metric_{safe}.png")
        parts += [f"## Metric `{metric}`", "", "Fields: " + ", ".join(f"`{k}`" for k in keys), "",
                  f"![{metric}](metric_{safe}.png)", ""]
    from .sweep_report import DEFAULT_BANDS, aggregate_sections  # across seeds, and the Spearman counter-check

    parts += aggregate_sections(runs, out, alphas, kind=kind, bands=DEFAULT_BANDS if bands is None else bands)
    for run in runs:
        parts += [f"## Rounds of `{run.path.name}` ({run.label})", "", rounds_markdown(run), ""]
    md = out / "report.md"
    tmp = md.with_suffix(".md.tmp")
    tmp.write_text("\n".join(parts))
    os.replace(tmp, md)
    return md
