"""Figures of a study (matplotlib, Agg backend): convergence, Pareto fronts, per-workload EDAP
of the joint design against the baselines, final-score boxplots and design-parameter counts.

Every function writes one PNG and returns its path (None when there is nothing to plot).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import LogFormatterSciNotation, MaxNLocator  # noqa: E402

from study.analysis import (  # noqa: E402
    DESIGN_PARAMS,
    StudyResults,
    algorithm_fronts,
    convergence,
    reference_front,
)

EDAP_LABEL = "aggregated EDAP (J·s·mm²)"
OBJ_LABELS = ("aggregated energy (J)", "aggregated latency (s)", "area (mm²)")
PARAM_LABELS = {"voltage_v": "voltage (V)", "bits_per_cell": "bits per cell",
                "cycle_time_s": "cycle time (s)", "xbar_rows": "crossbar rows",
                "xbar_cols": "crossbar columns", "router_groups": "router groups",
                "tiles_per_group": "tiles per group", "macros_per_tile": "macros per tile",
                "glb_bytes": "global buffer (B)", "technology_nm": "technology (nm)",
                "memory": "memory", "adc_bits": "ADC bits (bit)",
                "adcs_per_macro": "ADCs per macro"}

#: parameters shown in a friendlier unit on tick labels: (divide by, axis label)
DISPLAY_SCALE = {"glb_bytes": (2.0 ** 20, "global buffer (MiB)"),
                 "cycle_time_s": (1e-9, "cycle time (ns)")}


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_SCI_LABEL = re.compile(r"^\$\\mathdefault\{(?:(?P<m>[0-9.]+)\\times\s*)?10\^\{(?P<e>-?\d+)\}\}\$$")


class UnicodeLogFormatter(LogFormatterSciNotation):
    """matplotlib's log-axis tick labels (10⁻⁵, 2×10⁻⁶) as plain text instead of mathtext:
    the same labels, but parsing each distinct mathtext label took ~20 ms (~0.7 s a figure)."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        label = super().__call__(x, pos)
        m = _SCI_LABEL.match(label)
        if m is None:
            return label
        power = "10" + m["e"].translate(_SUPERSCRIPT)
        return f"{m['m']}×{power}" if m["m"] else power


def _log_scale(ax: Any, which: str = "y") -> None:
    """A log axis ``which`` ("x" or "y") with `UnicodeLogFormatter` labels (as matplotlib's
    own log scale: minor ticks labelled when the axis spans under a decade)."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis.set_major_formatter(UnicodeLogFormatter(10.0))
    axis.set_minor_formatter(UnicodeLogFormatter(10.0, labelOnlyBase=False))


def _save(fig: Any, path: Path) -> Path:
    """Write ``fig`` and close it. A figure with a layout engine (constrained layout) already
    fits its contents, so it skips the extra render that ``bbox_inches="tight"`` costs."""
    from problems.io import atomic_write_figure

    fitted = fig.get_layout_engine() is not None
    try:
        atomic_write_figure(path, fig, dpi=110, **({} if fitted else {"bbox_inches": "tight"}))
    finally:
        plt.close(fig)
    return path


def _spans_decades(values: np.ndarray) -> bool:
    v = np.asarray(values, float)
    v = v[np.isfinite(v) & (v > 0)]
    return v.size > 1 and v.max() / v.min() >= 10


def plot_convergence(res: StudyResults, scenario: str, path: Path) -> Path | None:
    """Best-so-far aggregated EDAP vs evaluations: median and IQR band per algorithm."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    drawn = False
    for alg in res.algorithm_labels:
        C = convergence(res, scenario, alg)
        if C.size == 0:
            continue
        if not np.any(np.isfinite(C)):
            continue
        # inf (nothing feasible yet) sorts last, so quantiles stay defined; not drawn
        x = np.arange(1, C.shape[1] + 1)
        with np.errstate(all="ignore"):
            med, q1, q3 = (np.quantile(C, q, axis=0) for q in (0.5, 0.25, 0.75))
        med, q1, q3 = (np.where(np.isfinite(v), v, np.nan) for v in (med, q1, q3))
        (line,) = ax.plot(x, med, label=f"{alg} (n={C.shape[0]})")
        ax.fill_between(x, q1, q3, color=line.get_color(), alpha=0.2, linewidth=0)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    opt = res.optimum_score(scenario)
    if opt is not None:
        ax.axhline(opt, color="k", ls="--", lw=1, label="exact optimum")
    _log_scale(ax)
    ax.set_xlabel("evaluations")
    ax.set_ylabel(f"best-so-far {EDAP_LABEL}")
    ax.set_title(f"{scenario}: convergence (median, IQR band)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_fronts(res: StudyResults, scenario: str, path: Path) -> Path | None:
    """Pairwise projections of each algorithm's (E, L, A) front with the reference front."""
    fronts = algorithm_fronts(res, scenario)
    ref, kind = reference_front(res, scenario)
    if not fronts and not len(ref):
        return None
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), layout="constrained")
    pairs = ((0, 1), (0, 2), (1, 2))
    for ax, (i, j) in zip(axes, pairs, strict=True):
        if len(ref):
            ax.scatter(ref[:, i], ref[:, j], s=14, c="k", marker="x",
                       label=f"{'exact' if kind == 'exact' else 'union'} front")
        for alg, F in fronts.items():
            ax.scatter(F[:, i], F[:, j], s=10, alpha=0.6, label=alg)
        _log_scale(ax, "x")
        _log_scale(ax, "y")
        labels = list(OBJ_LABELS)
        if res.scenario(scenario).fabrication_cost:
            labels[2] = "fabrication cost (area × k(node))"
        ax.set_xlabel(labels[i])
        ax.set_ylabel(labels[j])
        ax.grid(True, which="both", alpha=0.3)
        # a span under a decade labels the minor ticks too: smaller and slanted, readable
        ax.tick_params(axis="both", which="minor", labelsize=7)
        for t in ax.get_xticklabels(minor=True):
            t.set_rotation(35)
            t.set_horizontalalignment("right")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{scenario}: non-dominated designs (projections of E, L, A)")
    return _save(fig, path)


def plot_boxplots(res: StudyResults, path: Path) -> Path | None:
    """Boxplots of final best aggregated EDAP per algorithm, one panel per scenario."""
    df = res.runs
    if df.empty:
        return None
    scen = [s for s in res.scenario_names if (df["scenario"] == s).any()]
    fig, axes = plt.subplots(1, len(scen), figsize=(max(5, 4.5 * len(scen)), 4.5),
                             squeeze=False)
    for ax, sc in zip(axes[0], scen, strict=True):
        sub = df[df["scenario"] == sc]
        labels, data = [], []
        for alg in res.algorithm_labels:
            v = sub[sub["algorithm"] == alg]["best_score_j_s_mm2"].to_numpy(float)
            v = v[np.isfinite(v)]
            if v.size:
                labels.append(alg)
                data.append(v)
        if not data:
            continue
        ax.boxplot(data, showmeans=False)
        ax.set_xticks(range(1, len(labels) + 1), labels, rotation=30, ha="right")
        for k, v in enumerate(data, start=1):
            ax.scatter(np.full(v.size, k) + np.linspace(-0.08, 0.08, v.size), v, s=8,
                       c="k", alpha=0.5, zorder=3)
        opt = res.optimum_score(sc)
        if opt is not None:
            ax.axhline(opt, color="k", ls="--", lw=1, label="exact optimum")
            ax.legend(fontsize=8)
        if _spans_decades(np.concatenate(data)):
            _log_scale(ax)
        ax.set_ylabel(f"final best {EDAP_LABEL}")
        ax.set_title(sc)
        ax.grid(True, axis="y", which="both", alpha=0.3)
    return _save(fig, path)


def plot_baselines(res: StudyResults, best_designs: pd.DataFrame, scenario: str,
                   path: Path) -> Path | None:
    """Per-workload EDAP of the best joint design vs the largest-workload and specialist
    designs (and the exact optimum when known)."""
    if best_designs.empty:
        return None
    sub = best_designs[best_designs["scenario"] == scenario]
    if sub.empty:
        return None
    joint = sub[sub["detail"].astype(str).str.startswith("seed")]
    if joint.empty:
        return None
    # ties (several algorithms at the optimum): the first in the config order, not alphabetical
    best_src = joint.groupby("source", sort=False)["score_j_s_mm2"].first().astype(float).idxmin()
    sources = [best_src] + [s for s in sub["source"].unique()
                            if s != best_src and (s == "exact-optimum"
                                                  or not str(sub[sub["source"] == s]["detail"]
                                                             .iloc[0]).startswith("seed"))]
    workloads = list(dict.fromkeys(sub["workload"]))
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(workloads) * len(sources) / 2), 4.5))
    width = 0.8 / len(sources)
    for k, src in enumerate(sources):
        s = sub[sub["source"] == src].set_index("workload")
        vals = np.array([float(s.loc[w, "edap_j_s_mm2"]) if w in s.index
                         and s.loc[w, "edap_j_s_mm2"] is not None else np.inf
                         for w in workloads])
        label = f"joint ({src})" if src == best_src else src
        xs = np.arange(len(workloads)) + (k - (len(sources) - 1) / 2) * width
        ok = np.isfinite(vals) & (vals > 0)
        ax.bar(xs[ok], vals[ok], width, label=label, color=f"C{k}")
        # a design that cannot serve a workload (G[2 + w] > 0 in JointIMCProblem): shown as a
        # hatched stub with the reason, not as a missing bar (log axis: inf is not drawable)
        for j, x in enumerate(xs[~ok]):
            ax.axvspan(x - width / 2, x + width / 2, ymax=0.3, fill=False, hatch="//",
                       edgecolor=f"C{k}", label=label if j == 0 and not ok.any() else None)
            ax.text(x, 0.02, "infeasible: weights not resident / not mappable",
                    transform=ax.get_xaxis_transform(), rotation=90, ha="center",
                    va="bottom", fontsize=6, color=f"C{k}")
    ax.set_xticks(range(len(workloads)), workloads, rotation=20, ha="right")
    _log_scale(ax)
    ax.set_ylabel("per-workload EDAP (J·s·mm²)")
    ax.set_title(f"{scenario}: joint design vs baselines")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_parameters(res: StudyResults, scenario: str, path: Path) -> Path | None:
    """Distribution of each design parameter among the runs' best designs (all algorithms)."""
    df = res.runs
    if df.empty:
        return None
    sub = df[(df["scenario"] == scenario) & np.isfinite(df["best_score_j_s_mm2"].astype(float))]
    searched = _searched(res, scenario)
    params = [p for p in DESIGN_PARAMS if p in sub.columns and sub[p].nunique(dropna=True) > 0]
    params = [p for p in params if p in searched] if searched else \
        [p for p in params if sub[p].nunique() > 1]
    if sub.empty or not params:
        return None
    ncol = min(3, len(params))
    nrow = int(np.ceil(len(params) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 2.8 * nrow), squeeze=False,
                             layout="constrained")
    for ax, p in zip(axes.ravel(), params, strict=False):
        counts = sub.groupby([p, "algorithm"]).size().unstack(fill_value=0).sort_index()
        if p in searched:  # every allowed value, zero counts included
            counts = counts.reindex(searched[p], fill_value=0)
        x = np.arange(len(counts.index))
        bottom = np.zeros(x.size)
        for k, alg in enumerate(counts.columns):   # stacked, one colour per algorithm
            v = counts[alg].to_numpy(float)
            ax.bar(x, v, width=0.8, bottom=bottom, color=f"C{k}", label=alg)
            bottom += v
        ax.set_ylim(0, max(1.0, float(bottom.max())) * 1.08)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))   # counts of runs
        scale, label = DISPLAY_SCALE.get(p, (1.0, PARAM_LABELS.get(p, p)))
        ax.set_xlabel(label)
        ax.set_ylabel("best designs")
        ax.set_xticks(x)
        ax.set_xticklabels([f"{v / scale:g}" if isinstance(v, int | float) else str(v)
                            for v in counts.index], rotation=0, fontsize=7)
    for ax in axes.ravel()[len(params):]:
        ax.axis("off")
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.suptitle(f"{scenario}: parameters of the best design of every run")
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=8)
    return _save(fig, path)


def _searched(res: StudyResults, scenario: str) -> dict[str, list[Any]]:
    """The scenario's searched variables and their allowed values ({} if unavailable)."""
    try:
        from study.backend import scenario_space

        space = scenario_space(res.scenario(scenario))
        return {v.name: v.to_list() for v in space.variables}
    except Exception:  # noqa: BLE001 - only used to choose which panels to draw
        return {}


def figure_files(res: StudyResults, out_dir: Path) -> list[Path]:
    """Every figure `plot_all` may write (to check they are writable before computing)."""
    return [args[-1] for _, args in _plot_calls(res, None, out_dir)]


def _plot_calls(res: StudyResults, best_designs: pd.DataFrame | None, out_dir: Path
                ) -> list[tuple[Callable[..., Path | None], tuple[Any, ...]]]:
    """(figure function, its arguments, the output path last) of every figure of a study."""
    calls: list[tuple[Callable[..., Path | None], tuple[Any, ...]]] = [
        (plot_boxplots, (res, out_dir / "final_scores.png"))]
    for sc in res.scenario_names:
        calls += [(plot_convergence, (res, sc, out_dir / f"convergence_{sc}.png")),
                  (plot_fronts, (res, sc, out_dir / f"fronts_{sc}.png")),
                  (plot_baselines, (res, best_designs, sc, out_dir / f"baselines_{sc}.png")),
                  (plot_parameters, (res, sc, out_dir / f"parameters_{sc}.png"))]
    return calls


class PlotJob:
    """Every figure of a study, drawn in ``jobs`` forked processes while the caller goes on
    (one figure per task; in this process when ``jobs`` is 1 or fork is unavailable)."""

    def __init__(self, res: StudyResults, best_designs: pd.DataFrame, out_dir: Path,
                 jobs: int = 1) -> None:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        self._calls = _plot_calls(res, best_designs, out_dir)
        self._pool = None
        if jobs > 1 and "fork" in mp.get_all_start_methods():
            self._pool = ProcessPoolExecutor(max_workers=min(jobs, len(self._calls)),
                                             mp_context=mp.get_context("fork"))
            # the two slowest figures (~2 s each) first, so neither ends last
            order = sorted(range(len(self._calls)),
                           key=lambda i: self._calls[i][0] not in (plot_fronts, plot_parameters))
            futures = {i: self._pool.submit(self._calls[i][0], *self._calls[i][1])
                       for i in order}
            self._futures = [futures[i] for i in range(len(self._calls))]

    def close(self) -> None:
        """Stop drawing (figures not started are cancelled); for a caller that failed."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._calls = []

    def result(self) -> list[Path]:
        """The written paths, in figure order (waits for the workers)."""
        if self._pool is None:
            paths = [fn(*args) for fn, args in self._calls]
        else:
            try:
                paths = [f.result() for f in self._futures]
            finally:
                self._pool.shutdown(wait=True, cancel_futures=True)
        return [p for p in paths if p is not None]


def plot_all(res: StudyResults, best_designs: pd.DataFrame, out_dir: Path,
             jobs: int = 1) -> list[Path]:
    """Every figure of a study into ``out_dir`` (on ``jobs`` processes); the written paths."""
    return PlotJob(res, best_designs, out_dir, jobs).result()
