"""Reports from run directories: the seed paper's Figure 4 and Table 2, across seeds, the
Spearman counter-check, any census metric. ``bipartite-expanders report`` calls :func:`render_report`.

Layered, each piece a module, none importing torch (the reports read JSON only):
:mod:`~.load` (run directories -> :class:`RunData`, groups over seeds), :mod:`~.stats` (Table 2
at matched density, the banded Spearman, the study's comparisons), :mod:`~.markdown` (one table
writer and the tables), :mod:`~.figures` (the PNGs), :mod:`~.study` (``reproduce report``).

>>> table2([], alphas=(1.5, 2.0))
[]
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

from bipartite_expanders.files import atomic_write, write_json

from .figures import REGIME_COLORS, figure4, figure4_aggregate, metric_figure, overlay_figure, table_figure
from .load import RunData, RunGroup, group_runs, load_run, load_runs, run_label
from .markdown import (hparams_markdown, layers_markdown, md_table, provenance_markdown, rounds_markdown,
                       spearman_markdown, table2_aggregate_markdown, table2_markdown)
from .stats import (DEFAULT_BANDS, SPEARMAN_METRICS, accuracy_at_density, banded_spearman, flatten, layer_metric,
                    mean_sd, metric_keys, num, record_metrics, table2, table2_aggregate)

__all__ = ["RunData", "RunGroup", "load_run", "load_runs", "group_runs", "run_label", "table2", "table2_aggregate",
           "table2_markdown", "table2_aggregate_markdown", "rounds_markdown", "layers_markdown", "banded_spearman",
           "spearman_markdown", "accuracy_at_density", "record_metrics", "mean_sd", "flatten", "layer_metric",
           "metric_keys", "num", "md_table", "figure4", "figure4_aggregate", "metric_figure", "overlay_figure",
           "render_report", "REGIME_COLORS", "DEFAULT_BANDS", "SPEARMAN_METRICS"]


def _cells(md: str) -> tuple[list[str], list[list[str]]]:
    lines = md.splitlines()
    split = [[c.strip().replace("\\|", "|") for c in line.strip().strip("|").split(" | ")] for line in lines]
    return split[0], split[2:]


def render_report(run_dirs: Sequence[str | os.PathLike], out: str | os.PathLike,
                  alphas: Sequence[float] = (1.5, 2.0), metrics: Sequence[str] = (), kind: str = "mask",
                  bands: Sequence[float] | None = None) -> Path:
    """Write ``figure4.png``, ``table2.png``, ``table2.json``, one ``metric_<name>.png`` per
    metric, ``spearman.json`` and (when a configuration has several seeds) ``figure4_mean.png``,
    ``table2_mean.json``, and ``report.md`` linking them, into ``out``; returns the markdown's path.
    ``report.md`` opens with the package version, the commit and the hyperparameters."""
    if kind not in ("mask", "weight", "score"):
        raise ValueError(f"kind must be 'mask', 'weight' or 'score', got {kind!r}")
    alphas = [float(a) for a in alphas]
    if any(not math.isfinite(a) or a < 0 for a in alphas):
        raise ValueError(f"alphas must be finite and non-negative, got {alphas!r}")
    bands = DEFAULT_BANDS if bands is None else tuple(bands)
    runs = load_runs(run_dirs)
    # plain beside its -Bound run, plain first, seeds in order
    runs.sort(key=lambda r: (r.path.name.replace("-bound", "").rsplit("_", 1)[0], r.config_label.replace("-Bound", ""),
                             "-Bound" in r.config_label, str(r.seed)))
    banded_spearman(runs, bands=bands, kind=kind)  # bad bands fail before any file is written
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figure4(runs, out / "figure4.png", kind=kind)
    rows = table2(runs, alphas)
    t2 = table2_markdown(rows, alphas)
    table_figure(*_cells(t2), out / "table2.png", "Table 2 analog (densities and accuracies in %; Bound − plain at "
                                                  "matched density, interpolated on log density, same seed)")
    write_json(out / "table2.json", rows, indent=1)
    parts = ["# Lottery-ticket report", "", provenance_markdown(runs), "",
             "## Hyperparameters", "", hparams_markdown(runs), "",
             "## Figure 4 analog", "",
             f"Per run (titled by configuration and seed): accuracy (clean and noisy) and the {kind} graphs' margins "
             "Delta_S, Delta_R per layer against the fraction of weights remaining (log axis, shared by all panels; "
             "each row shares its value range); background: the round's regime (green fully, amber partially, red "
             "non-Ramanujan, by the unweighted rule on the masks). Triangles near the top edge: t2 = 0 (margin +inf), "
             "one height per layer.", "", "![Figure 4](figure4.png)", "",
             "## Table 2 analog", "",
             "alpha = tolerated drop of clean test accuracy, in percentage points, below the dense round: the sparsest "
             "round within it. The stopping point is the run's last round (for -Bound runs: where Algorithm 1 changes "
             "no layer any more, unless the round limit came first). **Bound − plain** compares a -Bound run's "
             "stopping point with the plain run of the same pruner and seed at the same density: the plain run's "
             "clean accuracy interpolated linearly in log density between its two rounds that bracket that density.",
             "", t2, "", "![Table 2](table2.png)", ""]
    for metric in metrics:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in metric)
        _, keys = metric_figure(runs, metric, out / f"metric_{safe}.png")
        parts += [f"## Metric `{metric}`", "", "Fields: " + ", ".join(f"`{k}`" for k in keys), "",
                  f"![{metric}](metric_{safe}.png)", ""]
    groups = group_runs(runs)
    if any(len(g.runs) > 1 for g in groups):
        figure4_aggregate(groups, out / "figure4_mean.png", kind=kind)
        agg = table2_aggregate(groups, alphas, runs)
        write_json(out / "table2_mean.json", agg, indent=1)
        parts += ["## Across seeds: Table 2 analog (mean ± sd)", "",
                  "Each row: the runs whose hyperparameters differ only in the seed (the seeds listed); each cell the "
                  "mean ± sample standard deviation over the seeds (in percent; `(k/n)`: only k of the n seeds reach a "
                  "round within α, or have a plain run to compare at matched density).", "",
                  table2_aggregate_markdown(agg, alphas), "",
                  "## Across seeds: Figure 4 analog (mean ± sd)", "",
                  "Round by round, the mean over the seeds that reached the round, with ± sd bars.", "",
                  "![Figure 4, mean over seeds](figure4_mean.png)", ""]
    sp = banded_spearman(runs, bands=bands, kind=kind)
    write_json(out / "spearman.json", {"kind": kind, "accuracy": "clean", "bands": list(bands), "rows": sp}, indent=1)
    parts += ["## Counter-check: Spearman rank correlation with clean accuracy", "",
              f"Over all {sp[0]['n']} rounds of {len(runs)} run{'s' if len(runs) != 1 else ''} pooled, per density band: "
              f"Spearman's rho (in brackets: the partial rank correlation given density), p-value and rounds, of each "
              f"metric with clean test accuracy; margins of the {kind} graphs, layers averaged. Inside a band density "
              "barely varies, so a spectral metric that predicts accuracy beyond density shows up there.", "",
              spearman_markdown(sp), ""]
    for run in runs:
        parts += [f"## Rounds of `{run.path.name}` ({run.seed_label})", "", rounds_markdown(run), "",
                  "<details><summary>Per layer: density, t1, t2, bounds and margins of the mask graph</summary>", "",
                  layers_markdown(run), "", "</details>", ""]
    md = out / "report.md"
    atomic_write(md, "\n".join(parts))
    return md
