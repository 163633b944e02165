"""The reports' figures (matplotlib, Agg backend; nothing here imports torch).

Every figure against density shares one layout: a grid of panels, one block of rows per run (or
per group of seeds) titled by configuration and seed, at most four blocks side by side; the
density axis is logarithmic, labelled in percent and shared by every panel; each row kind
(accuracy, ``Delta_S``, ``Delta_R``, a metric) shares its value range across the blocks; the
margin axes are symmetric-log with labelled ticks (``-1, -0.5, 0, 0.5, 1, 2, 5, ...``); a
margin that is ``+inf`` (``t2 = 0``) is a triangle near the top edge, offset per layer so that
every layer's triangles show; legends sit outside the data, right of the last column.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .load import RunData, RunGroup, group_runs, run_label
from .stats import by_round, layer_metric, metric_keys, num, record_metrics

__all__ = ["figure4", "figure4_aggregate", "metric_figure", "overlay_figure", "overlay_styles", "table_figure",
           "noise_styles", "density_ticks",
           "REGIME_COLORS"]

REGIME_COLORS = {"fully": "#2ca02c", "partially": "#ffbf00", "non": "#d62728"}
_DENSITY_TICKS = (100, 50, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01)
_MARGIN_TICKS = (-1000, -100, -20, -10, -5, -2, -1, -0.5, 0, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10000)
_MAX_COLUMNS = 4


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


#: layer colours: matplotlib's tab10 without its grey, which belongs to the noise levels
_LAYER_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")
#: noise levels, lowest sigma first: greys and markers of their own, never a layer's colour
_NOISE_STYLES = (("#6e6e6e", "s"), ("#a8a8a8", "^"), ("#3a3a3a", "v"), ("#c8c8c8", "D"), ("#555555", "P"))


def _colors(names: Sequence[str]) -> dict[str, Any]:
    return {n: _LAYER_PALETTE[i % len(_LAYER_PALETTE)] for i, n in enumerate(names)}


def noise_styles(sigmas: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Colour and marker per noise level, assigned over the sorted union of every run's sigmas,
    so that two levels never share a colour in one figure (also when its runs were evaluated at
    different levels) and no level takes a layer's colour.

    >>> s = noise_styles(["0.3", "0.1", "0.3"])
    >>> list(s), s["0.1"] != s["0.3"]
    (['0.1', '0.3'], True)
    """
    levels = sorted(set(sigmas), key=float)
    if len(levels) > len(_NOISE_STYLES):
        raise ValueError(f"at most {len(_NOISE_STYLES)} noise levels per figure, got {len(levels)}: {levels}")
    return {s: _NOISE_STYLES[i] for i, s in enumerate(levels)}


def _density_limits(all_densities: Sequence[float]) -> tuple[float, float]:
    xs = [100 * d for d in all_densities if d > 0]
    if not xs:
        return (110.0, 1.0)
    return (max(xs) * 1.25, min(xs) / 1.25)  # inverted: pruning proceeds to the right


def _density_axis(ax: Any, xlim: tuple[float, float], label: bool = True) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax.set_xscale("log")
    ax.set_xlim(*xlim)
    hi, lo = xlim
    ticks = density_ticks(lo, hi)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g} %"))
    ax.xaxis.set_minor_locator(NullLocator())
    if label:
        ax.set_xlabel("weights remaining (log)")
    ax.grid(True, which="major", alpha=0.3)


def density_ticks(lo: float, hi: float) -> list[float]:
    """Tick values (percent) for a log density axis from ``lo`` to ``hi``: the 1-2-5 sequence, and
    where fewer than three of those fall inside, a finer one (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 per
    decade, else steps of 0.1 in the mantissa; thinned to at most seven), so that a range spanning
    a factor of 1.3 or more gets three or more labels.

    >>> density_ticks(0.5, 120)
    [100, 50, 20, 10, 5, 2, 1, 0.5]
    >>> density_ticks(0.6, 1.3)
    [1.2, 1, 0.8, 0.6]
    """
    ticks = [t for t in _DENSITY_TICKS if lo <= t <= hi]
    if len(ticks) >= 3 or not (0 < lo < hi):
        return ticks
    for mantissas in ((1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8), tuple(round(1 + 0.1 * i, 1) for i in range(90))):
        fine = sorted({v for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
                       for m in mantissas if lo <= (v := float(f"{m * 10.0 ** e:.6g}")) <= hi}, reverse=True)
        while len(fine) > 7:
            fine = fine[::2]
        if len(fine) >= 3:
            return [int(v) if v == int(v) else v for v in fine]
    return ticks


def _limits(values: Sequence[float], include_zero: bool = False) -> tuple[float, float]:
    vals = [v for v in values if math.isfinite(v)] + ([0.0] if include_zero else [])
    if not vals:
        return (-1.0, 1.0)
    lo, hi = min(vals), max(vals)
    pad = 0.06 * (hi - lo) if hi > lo else 0.5
    return (lo - pad, hi + pad)


def _margin_limits(values: Sequence[float]) -> tuple[float, float]:
    vals = [v for v in values if math.isfinite(v)] + [0.0]
    lo, hi = min(vals), max(vals)

    def out(v: float, up: bool) -> float:  # a step further in the symlog metric
        if abs(v) <= 1:
            return v + (0.3 if up else -0.3)
        return v * 1.4 if (v > 0) == up else v / 1.4

    top = out(hi, True)
    # headroom above the data for the +inf triangles (one band per layer, docs: module docstring)
    return (out(lo, False), top + 1.2 if top <= 1 else top * 2.5)


def _margin_axis(ax: Any, ylim: tuple[float, float], ylabel: str) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_yscale("symlog", linthresh=1.0, linscale=1.0)
    ax.set_ylim(*ylim)
    ax.yaxis.set_major_locator(FixedLocator([t for t in _MARGIN_TICKS if ylim[0] <= t <= ylim[1]]))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_ylabel(ylabel)


def _shade_regimes(ax: Any, densities: Sequence[float], regimes: Sequence[Any]) -> None:
    """Shade each round's stretch of the density axis by its regime; a round reaches halfway (in
    log density) to its neighbours, the first and last rounds as far on their outer side."""
    logs = [math.log(100 * x) for x in densities if x > 0]
    if len(logs) != len(densities) or not logs:
        return
    mids = [(a + b) / 2 for a, b in zip(logs, logs[1:])]
    for i, regime in enumerate(regimes):
        hi = mids[i - 1] if i > 0 else logs[0] + (logs[0] - mids[0] if mids else 0.05)
        lo = mids[i] if i < len(mids) else logs[-1] - (mids[-1] - logs[-1] if mids else 0.05)
        ax.axvspan(math.exp(lo), math.exp(hi), color=REGIME_COLORS.get(str(regime), "#cccccc"), alpha=0.13, lw=0)


def _plot_layers(ax: Any, x: list[float], by_layer: dict[str, list[float]], layers: list[str],
                 colors: dict[str, Any], legend: dict[str, Any]) -> None:
    """One line per layer (finite values) and its ``+inf`` markers (at the layer's own height);
    the first handle of each layer goes into ``legend``."""
    for slot, layer in enumerate(layers):
        ys = by_layer.get(layer)
        if ys is None:
            continue
        pts = [(xv, yv) for xv, yv in zip(x, ys) if math.isfinite(yv)]
        (h,) = ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", ms=3, color=colors[layer])
        legend.setdefault(layer, h)
        _mark_infinite(ax, [xv for xv, yv in zip(x, ys) if yv == math.inf], colors[layer], slot)


def _mark_infinite(ax: Any, xs: Sequence[float], color: Any, slot: int) -> None:
    """t2 = 0 makes a margin +inf: triangles just below the top edge, one height per layer."""
    if xs:
        ax.plot(xs, [0.965 - 0.045 * slot] * len(xs), "^", ms=6, transform=ax.get_xaxis_transform(), clip_on=False,
                color=color, markeredgecolor="black", markeredgewidth=0.4)


class _Grid:
    """Blocks of ``rows`` panel rows, one block per item, at most ``_MAX_COLUMNS`` blocks a row."""

    def __init__(self, n_items: int, rows: int, height: float = 2.7, width: float = 4.4) -> None:
        plt = _pyplot()
        self.cols = max(1, min(n_items, _MAX_COLUMNS))
        self.block_rows = max(1, math.ceil(n_items / self.cols))
        self.rows = rows
        self.fig, self.axes = plt.subplots(rows * self.block_rows, self.cols, squeeze=False,
                                           figsize=(width * self.cols + 2.2, height * rows * self.block_rows + 0.8))
        self.used: set[tuple[int, int]] = set()

    def ax(self, item: int, row: int) -> Any:
        b, c = divmod(item, self.cols)
        self.used.add((b * self.rows + row, c))
        return self.axes[b * self.rows + row][c]

    def legend_axes(self, row: int) -> Any:
        """The panel right of which row kind ``row``'s legend goes: the first block's last column."""
        return self.axes[row][self.cols - 1]

    def save(self, path: str | os.PathLike, regime_legend: bool = True) -> Path:
        from matplotlib.patches import Patch

        plt = _pyplot()
        for i, row in enumerate(self.axes):
            for j, ax in enumerate(row):
                if (i, j) not in self.used:
                    ax.set_visible(False)
        if regime_legend:
            handles = [Patch(color=c, alpha=0.3, label=f"{k} Ramanujan") for k, c in REGIME_COLORS.items()]
            self.fig.legend(handles=handles, loc="upper center", ncol=3, fontsize=9, frameon=False,
                            title="round's regime (mask rule)", title_fontsize=8)
        self.fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / self.fig.get_figheight()))
        out = Path(path)
        self.fig.savefig(out, dpi=100, bbox_inches="tight")
        plt.close(self.fig)
        return out


def _legend_outside(ax: Any, entries: dict[str, Any], title: str = "") -> None:
    if entries:
        ax.legend(list(entries.values()), list(entries), loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7,
                  title=title or None, title_fontsize=7, frameon=False)


def _layer_names(runs: Sequence[RunData]) -> list[str]:
    names: dict[str, None] = {}
    for run in runs:
        for rec in run.records[:1]:
            for c in rec.get("census", []):
                names[c["name"]] = None
    return list(names)


_MARGINS = (("delta_s", "Delta_S"), ("delta_r", "Delta_R"))


def figure4(runs: Sequence[RunData], path: str | os.PathLike, kind: str = "mask") -> Path:
    """Figure 4 analog: per run a block of three panels, test accuracy (clean and every noisy
    set), ``Delta_S`` and ``Delta_R`` of every layer's ``kind`` graph (``mask``, ``weight``,
    ``score``) against density, each round's regime shaded; titled by configuration and seed."""
    grid = _Grid(len(runs), 3)
    xlim = _density_limits([d for r in runs for d in r.densities])
    acc = [100 * a for r in runs for rec in r.records for a in [rec["accuracy"]["clean"], *rec["accuracy"]["noisy"].values()]]
    acc_lim = _limits(acc)
    layers = _layer_names(runs)
    colors = _colors(layers)
    series = {name: {r.path: layer_metric(r, f"{kind}.{name}") for r in runs} for name, _ in _MARGINS}
    lims = {name: _margin_limits([v for per in series[name].values() for vs in per.values() for v in vs])
            for name, _ in _MARGINS}
    legends: list[dict[str, Any]] = [{}, {}, {}]
    noise = noise_styles([s for r in runs for s in r.sigmas])
    for j, run in enumerate(runs):
        x = [100 * d for d in run.densities]
        regimes = [rec.get("regime") for rec in run.records]
        ax = grid.ax(j, 0)
        _shade_regimes(ax, run.densities, regimes)
        (h,) = ax.plot(x, [100 * r["accuracy"]["clean"] for r in run.records], "o-", color="black", ms=3)
        legends[0]["clean"] = h
        for s in run.sigmas:
            color, marker = noise[s]
            (h,) = ax.plot(x, [100 * r["accuracy"]["noisy"][s] for r in run.records], "--", marker=marker, ms=3,
                           color=color)
            legends[0].setdefault(f"noise σ={s}", h)
        ax.set_ylim(*acc_lim)
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(run.title, fontsize=9)
        _density_axis(ax, xlim, label=False)
        for i, (name, sym) in enumerate(_MARGINS):
            ax = grid.ax(j, 1 + i)
            _shade_regimes(ax, run.densities, regimes)
            _plot_layers(ax, x, series[name][run.path], layers, colors, legends[1 + i])
            _margin_axis(ax, lims[name], f"{sym} ({kind} graph)")
            _density_axis(ax, xlim, label=i == 1)
    _legend_outside(grid.legend_axes(0), legends[0], "accuracy")
    for i in (1, 2):
        _legend_outside(grid.legend_axes(i), legends[i], "layer (▲: +inf, t2 = 0)")
    return grid.save(path)


def figure4_aggregate(groups: Sequence[RunGroup], path: str | os.PathLike, kind: str = "mask") -> Path:
    """Figure 4 over seeds: per group of seeds a block of three panels, each the per-round mean
    with ± sd bars against the per-round mean density, shaded by the most common regime. The
    accuracy means are solid only over the rounds every seed reached; past them, the mean of the
    seeds left is dotted with open markers (the legend says so). A margin that is ``+inf`` for
    every seed is a triangle; otherwise the mean is over the finite seeds."""
    from collections import Counter

    grid = _Grid(len(groups), 3)
    all_runs = [r for g in groups for r in g.runs]
    xlim = _density_limits([d for r in all_runs for d in r.densities])
    acc_lim = _limits([100 * a for r in all_runs for rec in r.records
                       for a in [rec["accuracy"]["clean"], *rec["accuracy"]["noisy"].values()]])
    layers = _layer_names(all_runs)
    colors = _colors(layers)
    noise = noise_styles([s for r in all_runs for s in r.sigmas])

    def layer_value(rec: dict[str, Any], layer: str, name: str) -> float | None:
        for c in rec.get("census", []):
            if c.get("name") == layer:
                v = num((c.get(kind) or {}).get(name))
                return None if math.isnan(v) else v
        return None

    lims = {name: _margin_limits([v for r in all_runs for rec in r.records for layer in layers
                                  if (v := layer_value(rec, layer, name)) is not None]) for name, _ in _MARGINS}
    legends: list[dict[str, Any]] = [{}, {}, {}]
    for j, g in enumerate(groups):
        dens = [m["mean"] for m in by_round(g.runs, lambda r: r["density"]["total"])]
        n = len(dens)
        regimes = [Counter(run.records[i].get("regime") for run in g.runs if i < len(run.records)).most_common(1)[0][0]
                   for i in range(n)]
        x = [100 * d for d in dens]
        ax = grid.ax(j, 0)
        _shade_regimes(ax, dens, regimes)
        sigmas = g.runs[0].sigmas
        series: list[tuple[str, Callable[[Any], Any], str, str, Any]] = [
            ("clean", lambda r: r["accuracy"]["clean"], "-", "o", "black")]
        series += [(f"noise σ={s}", lambda r, s=s: r["accuracy"]["noisy"].get(s), "--", noise[s][1], noise[s][0])
                   for s in sigmas]
        for name, fn, style, marker, color in series:
            ms = by_round(g.runs, fn)
            full = [i for i, m in enumerate(ms) if m["n"] == len(g.runs)]
            h = ax.errorbar([x[i] for i in full], [100 * ms[i]["mean"] for i in full],
                            yerr=[100 * (ms[i]["sd"] if ms[i]["n"] > 1 else 0) for i in full],
                            fmt=style, marker=marker, ms=3, capsize=2, color=color)
            legends[0].setdefault(name, h)
            # rounds some seeds never reached: the mean of fewer seeds, dotted with open markers
            part = [i for i, m in enumerate(ms) if 0 < m["n"] < len(g.runs)]
            if part:
                lo = [full[-1]] if full and full[-1] + 1 == part[0] else []
                (h,) = ax.plot([x[i] for i in lo + part], [100 * ms[i]["mean"] for i in lo + part], ":", marker=marker,
                               ms=3, mfc="white", color=color)
                legends[0].setdefault("mean of fewer seeds (dotted, open)", h)
        ax.set_ylim(*acc_lim)
        ax.set_ylabel("test accuracy (%), mean ± sd")
        ax.set_title(f"{g.title}\nseeds {', '.join(map(str, g.seeds))}", fontsize=9)
        _density_axis(ax, xlim, label=False)
        for i, (name, sym) in enumerate(_MARGINS):
            ax = grid.ax(j, 1 + i)
            _shade_regimes(ax, dens, regimes)
            for slot, layer in enumerate(layers):
                vals = [[layer_value(run.records[k], layer, name) for run in g.runs if k < len(run.records)]
                        for k in range(n)]
                finite = [[v for v in vs if v is not None and math.isfinite(v)] for vs in vals]
                pts = [(xv, fs) for xv, fs in zip(x, finite) if fs]
                means = [sum(fs) / len(fs) for _, fs in pts]
                sds = [math.sqrt(sum((v - m) ** 2 for v in fs) / (len(fs) - 1)) if len(fs) > 1 else 0.0
                       for (_, fs), m in zip(pts, means)]
                h = ax.errorbar([p[0] for p in pts], means, yerr=sds, fmt="o-", ms=3, capsize=2, color=colors[layer])
                legends[1 + i].setdefault(layer, h)
                all_inf = [xv for xv, vs in zip(x, vals) if vs and all(v == math.inf for v in vs)]
                _mark_infinite(ax, all_inf, colors[layer], slot)
            _margin_axis(ax, lims[name], f"{sym} ({kind}), mean ± sd")
            _density_axis(ax, xlim, label=i == 1)
    _legend_outside(grid.legend_axes(0), legends[0], "accuracy")
    for i in (1, 2):
        _legend_outside(grid.legend_axes(i), legends[i], "layer (▲: +inf for every seed)")
    return grid.save(path)


def metric_figure(runs: Sequence[RunData], metric: str, path: str | os.PathLike) -> tuple[Path, list[str]]:
    """Every census field that ``metric`` names, per layer, against density: per run a block of
    one panel per field. Returns the path and the fields drawn."""
    keys = metric_keys(runs, metric)
    grid = _Grid(len(runs), len(keys))
    xlim = _density_limits([d for r in runs for d in r.densities])
    layers = _layer_names(runs)
    colors = _colors(layers)
    values = {k: {r.path: layer_metric(r, k) for r in runs} for k in keys}
    lims = {k: _limits([v for per in values[k].values() for vs in per.values() for v in vs]) for k in keys}
    legend: dict[str, Any] = {}
    for j, run in enumerate(runs):
        x = [100 * d for d in run.densities]
        for i, key in enumerate(keys):
            ax = grid.ax(j, i)
            _shade_regimes(ax, run.densities, [rec.get("regime") for rec in run.records])
            _plot_layers(ax, x, values[key][run.path], layers, colors, legend)
            ax.set_ylim(*lims[key])
            ax.set_ylabel(key)
            if i == 0:
                ax.set_title(run.title, fontsize=9)
            _density_axis(ax, xlim, label=i == len(keys) - 1)
    _legend_outside(grid.legend_axes(0), legend, "layer")
    return grid.save(path), keys


#: overlay line style and marker per configuration variant (the label without its pruner)
_VARIANT_STYLES: dict[str, tuple[Any, str]] = {"": ("-", "."), "(p/2)": (":", "+"), "-Bound": ("--", "x")}
#: the other variants (controls, scoring variants), in order of appearance
_EXTRA_STYLES: list[tuple[Any, str]] = [("-.", "^"), ((0, (1, 1)), "s"), ((0, (5, 1, 1, 1, 1, 1)), "d"),
                                        ((0, (3, 2)), "v"), ((0, (1, 2, 4, 2)), "o"), ((0, (6, 2)), "*")]


#: one sequential colour map per pruner family (overlay_styles): its configurations are shades of it
_FAMILY_MAPS = ("Blues", "Oranges", "Greens", "Purples", "Reds", "Greys")


def overlay_styles(labels: Sequence[str], palette: Sequence[str] | None = None) -> dict[str, tuple[Any, str, tuple[float, ...]]]:
    """Line style, marker and RGB colour per configuration label: one sequential colour map per
    pruner family (blues, oranges, greens, ...; ``palette``, if given, names the maps instead),
    each configuration of the family a shade of it spread from mid to dark, and its own line
    style and marker: plain solid, ``p/2`` dotted, -Bound dashed, every other variant (the
    controls) a style and marker of its own.

    >>> s = overlay_styles(["IMP", "IMP-Bound", "IMP-Bound (p first)", "SNIP"])
    >>> s["IMP"][:2], s["IMP-Bound"][:2], s["IMP-Bound (p first)"][:2], s["SNIP"][2] == s["IMP"][2]
    (('-', '.'), ('--', 'x'), ('-.', '^'), False)
    >>> len({s[k][2] for k in ("IMP", "IMP-Bound", "IMP-Bound (p first)")})  # three shades of one map
    3
    """
    import matplotlib

    maps = list(palette) if palette else list(_FAMILY_MAPS)
    family: dict[str, list[str]] = {}
    for label in labels:
        family.setdefault(label.split(" ")[0].replace("-Bound", ""), []).append(label)
    extras: dict[str, int] = {}
    out = {}
    for f, (base, members) in enumerate(family.items()):
        cmap = matplotlib.colormaps[maps[f % len(maps)]]
        # plain first, then its half-rate control, then the rest in order: darkest to lighter
        members = sorted(members, key=lambda m: (m[len(base):].strip() not in ("",), m[len(base):].strip() != "(p/2)"))
        for k, label in enumerate(members):
            variant = label[len(base):].strip()  # "", "(p/2)", "-Bound", "-Bound (p first)", "(scored once)", ...
            if variant in _VARIANT_STYLES:
                style, marker = _VARIANT_STYLES[variant]
            else:
                i = extras.setdefault(variant, len(extras))
                style, marker = _EXTRA_STYLES[i % len(_EXTRA_STYLES)]
            shade = 0.95 - (0.55 * k / (len(members) - 1) if len(members) > 1 else 0.0)
            out[label] = (style, marker, tuple(float(c) for c in cmap(shade)[:3]))
    return {label: out[label] for label in labels}


def _round_series(runs: Sequence[RunData], f: Callable[[Any], float]) -> tuple[list[float], list[list[float]]]:
    """Per round index: the mean density (percent) over the runs that reached it and the values of ``f``."""
    n = max(len(r.records) for r in runs)
    xs, vals = [], []
    for i in range(n):
        recs = [r.records[i] for r in runs if i < len(r.records)]
        xs.append(100 * math.fsum(x["density"]["total"] for x in recs) / len(recs))
        vals.append([f(x) for x in recs])
    return xs, vals


def _same_records(a: RunGroup, b: RunGroup) -> bool:
    """Two configurations whose runs have identical densities and accuracies round by round."""
    def key(g: RunGroup) -> list[Any]:
        return [(r.seed, [(x["density"]["total"], x["accuracy"]["clean"], sorted(x["accuracy"]["noisy"].items()))
                          for x in r.records]) for r in g.runs]

    return key(a) == key(b)


def overlay_figure(runs: Sequence[RunData], path: str | os.PathLike, title: str = "") -> Path:
    """Accuracy (clean, noisiest sigma) and the fraction of Ramanujan layers vs density, per
    configuration the mean over seeds per round with a ± sd band, drawn only over the rounds
    *every* seed reached; past that point each remaining seed is a thin line of its own (so a
    mean never jumps when seeds drop out). One hue per pruner family, a shade, line style and
    marker per configuration (:func:`overlay_styles`); a configuration whose records equal an
    earlier one's is not drawn again but named in the legend (``= X, identical records``)."""
    import numpy as np

    plt = _pyplot()
    groups = group_runs(runs)
    sigmas = runs[0].sigmas if runs else []
    noisy = max(sigmas, key=float) if sigmas else None
    panels: list[tuple[str, Callable[[Any], float]]] = [("clean test accuracy (%)", lambda rec: 100 * rec["accuracy"]["clean"])]
    if noisy is not None:
        panels.append((f"accuracy (%) at noise σ={noisy}", lambda rec: 100 * rec["accuracy"]["noisy"][noisy]))
    panels.append(("fraction of Ramanujan layers (mask)", lambda rec: record_metrics(rec)["frac_ramanujan"]))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.8 * len(panels) + 2.4, 4.3), squeeze=False)
    axes = axes[0]
    xlim = _density_limits([d for r in runs for d in r.densities])
    styles = overlay_styles([run_label(g.runs[0]) for g in groups])
    handles: dict[str, Any] = {}
    drawn: list[RunGroup] = []
    partial = False
    for g in groups:
        label = run_label(g.runs[0])
        style, marker, color = styles[label]
        twin = next((d for d in drawn if _same_records(d, g)), None)
        if twin is not None:
            from matplotlib.lines import Line2D

            handles[f"{label} (n={len(g.runs)}) = {run_label(twin.runs[0])}, identical records"] = Line2D(
                [], [], linestyle=style, marker=marker, color=color)
            continue
        drawn.append(g)
        for ax, (ylabel, f) in zip(axes, panels):
            xs, vals = _round_series(g.runs, f)
            full = [i for i, v in enumerate(vals) if len(v) == len(g.runs)]
            xa = np.asarray([xs[i] for i in full])
            ma = np.asarray([float(np.mean(vals[i])) for i in full])
            sa = np.asarray([float(np.std(vals[i], ddof=1)) if len(vals[i]) > 1 else 0.0 for i in full])
            (h,) = ax.plot(xa, ma, linestyle=style, color=color, marker=marker, ms=4)
            ax.fill_between(xa, ma - sa, ma + sa, color=color, alpha=0.08, lw=0)
            handles.setdefault(f"{label} (n={len(g.runs)})", h)
            last = full[-1] if full else -1
            for r in g.runs:  # past the last round every seed reached: each seed on its own
                if len(r.records) > last + 1:
                    tail = r.records[max(last, 0):]
                    ax.plot([100 * x["density"]["total"] for x in tail], [f(x) for x in tail], linestyle=style,
                            color=color, lw=0.7, alpha=0.8)
                    partial = True
            ax.set_ylabel(ylabel)
    for ax in axes:
        _density_axis(ax, xlim)
    if partial:
        from matplotlib.lines import Line2D

        handles["thin: single seeds, past the last round all seeds reached (no mean there)"] = Line2D(
            [], [], color="grey", lw=0.7)
    axes[-1].legend(list(handles.values()), list(handles), loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7,
                    frameon=False, title="configuration (seeds); line: mean over seeds, band: ± sd", title_fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return out


def table_figure(head: Sequence[str], body: Sequence[Sequence[Any]], path: str | os.PathLike, title: str) -> Path:
    """A table as a PNG (for slides; the markdown is the reference)."""
    import textwrap

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(min(2 + 1.3 * len(head), 26), 1.4 + 0.4 * max(len(body), 1)))
    ax.axis("off")
    cells = [[str(c) for c in row] for row in body] or [["-"] * len(head)]
    labels = [textwrap.fill(str(h), 16) for h in head]
    tab = ax.table(cellText=cells, colLabels=labels, loc="center", cellLoc="center")
    tab.auto_set_font_size(False)
    tab.set_fontsize(7)
    tab.auto_set_column_width(list(range(len(head))))
    lines = max(lab.count("\n") + 1 for lab in labels)
    for (row, _), cell in tab.get_celld().items():
        cell.set_height(cell.get_height() * (1.1 * lines if row == 0 else 1.5))
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    # crop to the table and its title: the axes around an auto-sized table are mostly empty
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    from matplotlib.transforms import Bbox

    box = Bbox.union([tab.get_window_extent(renderer), ax.title.get_window_extent(renderer)])
    box = box.expanded(1.0, 1.0).padded(6).transformed(fig.dpi_scale_trans.inverted())
    out = Path(path)
    fig.savefig(out, dpi=130, bbox_inches=box)
    plt.close(fig)
    return out
