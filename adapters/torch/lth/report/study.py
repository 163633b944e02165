"""``reproduce report``: the study's comparisons over a grid's run directories (torch-free).

:func:`render_study` writes ``study.json``, ``spearman_partial.json``, ``overlay.png`` and
``study.md``: per configuration the accuracy at the study's density points, each -Bound
configuration against the plain run and the half-rate control at the same density, and the
banded Spearman counter-check (clean and noisiest sigma).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from bipartite_expanders.files import atomic_write, write_json

from .figures import overlay_figure
from .load import load_runs
from .markdown import spearman_markdown, study_markdown
from .stats import DEFAULT_BANDS, banded_spearman, study_table

__all__ = ["render_study"]


def render_study(run_dirs: Sequence[str | os.PathLike], out: str | os.PathLike, title: str = "",
                 bands: Sequence[float] = DEFAULT_BANDS) -> Path:
    """Write the study's files into ``out``; returns ``study.md``."""
    runs = load_runs(run_dirs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = study_table(runs)
    sp = banded_spearman(runs, bands)
    sigmas = runs[0].sigmas
    noisy = max(sigmas, key=float) if sigmas else None
    sp_noisy = banded_spearman(runs, bands, accuracy=noisy) if noisy else []
    write_json(out / "study.json", rows, indent=1)
    write_json(out / "spearman_partial.json", {"clean": sp, f"noise {noisy}": sp_noisy}, indent=1)
    overlay_figure(runs, out / "overlay.png", title=title)
    n_rounds = sum(len(r.records) for r in runs)
    parts = [f"# {title or 'Study'}", "", f"{len(runs)} runs, {n_rounds} rounds.", "",
             "## Study points and the controls (mean ± sd over seeds, percent)", "",
             "A -Bound configuration is compared with the plain run of the same pruner and seed at its stopping "
             "density: the plain clean accuracy interpolated linearly in log density between the two bracketing "
             "rounds (n = seeds with such a plain run).", "", study_markdown(rows), "",
             "![overlay](overlay.png)", "",
             "## Counter-check: Spearman rho with clean accuracy (partial rho given density), p", "",
             spearman_markdown(sp)]
    if sp_noisy:
        parts += ["", f"## The same with accuracy at noise σ={noisy}", "", spearman_markdown(sp_noisy)]
    md = out / "study.md"
    atomic_write(md, "\n".join(parts) + "\n")
    return md
