"""Figures of a suite run: runtime ECDFs, performance profile, critical-difference diagram and
empirical attainment surfaces (matplotlib, Agg; every file written atomically)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from problems.io import atomic_write_figure
from study.suite import analytics as an


def _plt():  # noqa: ANN202 - the pyplot module
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _style(algs: list[str]) -> dict[str, dict[str, object]]:
    plt = _plt()
    cmap = plt.get_cmap("tab10")
    lines = ["-", "--", "-.", ":"]
    return {a: {"color": cmap(k % 10), "ls": lines[(k // 10) % 4],
                "lw": 2.6 if a == "imcopt-memetic" else 1.5} for k, a in enumerate(algs)}


def _grid(data: an.SuiteData) -> np.ndarray:
    top = max(r.budget for r in data.runs)
    return np.unique(np.geomspace(1, top, 200).round())


def ecdf_suite(data: an.SuiteData, path: Path) -> Path:
    """Aggregated runtime ECDF over every instance and target (log evaluations)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    grid = _grid(data)
    st = _style(data.algorithms)
    finals = {a: an.ecdf(data, a, grid)[-1] for a in data.algorithms}
    for a in sorted(data.algorithms, key=lambda a: -finals[a]):
        ax.step(grid, an.ecdf(data, a, grid), where="post", label=f"{a} ({finals[a]:.2f})",
                **st[a])
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("evaluations")
    ax.set_ylabel("fraction of (run, target) pairs reached")
    ax.set_title(f"Runtime ECDF, {len(data.instances)} instances, targets "
                 f"{an.TARGETS[0]:.0%}..{an.TARGETS[-1]:.1%} above the exact optimum",
                 fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    atomic_write_figure(path, fig, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def ecdf_instances(data: an.SuiteData, path: Path) -> Path:
    """One runtime-ECDF panel per instance."""
    plt = _plt()
    inst = data.instances
    ncol = 4
    nrow = -(-len(inst) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 2.9 * nrow), squeeze=False)
    st = _style(data.algorithms)
    for ax, iid in zip(axes.ravel(), inst, strict=False):
        budget = max(r.budget for r in data.select(iid))
        grid = np.unique(np.geomspace(1, budget, 120).round())
        for a in data.algorithms:
            ax.step(grid, an.ecdf(data, a, grid, [iid]), where="post", label=a, **st[a])
        ax.set_xscale("log")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{iid} (budget {budget})", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(inst):]:
        ax.axis("off")
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(8, len(labels)), fontsize=9)
    fig.supxlabel("evaluations", y=0.04)
    fig.supylabel("fraction of (run, target) pairs", x=-0.005)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    atomic_write_figure(path, fig, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return path


def profile(data: an.SuiteData, path: Path) -> Path:
    """Dolan-More performance profile of ERT at the 1 % target (log tau)."""
    plt = _plt()
    taus = np.geomspace(1, 1000, 300)
    prof = an.performance_profile(data, taus)
    st = _style(data.algorithms)
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    for a in sorted(prof, key=lambda a: -prof[a][-1]):
        ax.step(taus, prof[a], where="post", label=a, **st[a])
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("tau: ERT / best ERT on the instance (1 % target)")
    ax.set_ylabel("fraction of instances")
    ax.set_title("Performance profile (ERT to reach 1 % above the exact optimum)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    atomic_write_figure(path, fig, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def cd_diagram(data: an.SuiteData, path: Path) -> tuple[Path, dict[str, object]]:
    """Critical-difference diagram (Friedman mean ranks, Nemenyi post-hoc, scikit-posthocs)."""
    import scikit_posthocs as sp
    from matplotlib.colors import to_hex

    plt = _plt()
    fr = an.friedman(data)
    fig, ax = plt.subplots(figsize=(8.5, 3.0))
    style = _style(data.algorithms)  # the same colour per algorithm as the other figures
    sp.critical_difference_diagram(fr["ranks"], fr["posthoc"], ax=ax,
                                   label_fmt_left="{label} ({rank:.2f})",
                                   label_fmt_right="({rank:.2f}) {label}",
                                   color_palette={a: to_hex(style[a]["color"])  # strings
                                                  for a in fr["ranks"].index})
    ax.set_title(f"Mean rank of the final gap over {fr['n_instances']} instances "
                 f"(Friedman p = {fr['p_value']:.1e}; bars: no Nemenyi difference at 0.05)",
                 fontsize=9, pad=28)
    atomic_write_figure(path, fig, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path, fr


def eaf(data: an.SuiteData, instance: str, path: Path) -> Path:
    """Median (50 %) attainment surfaces of each algorithm in (E*L, A), with the exact front."""
    import moocore

    plt = _plt()
    st = _style(data.algorithms)
    fig, ax = plt.subplots(figsize=(7.0, 4.8))
    front = np.log10(np.asarray(data.optima[instance]["front"], float))
    P = np.stack([front[:, 0] + front[:, 1], front[:, 2]], axis=1)
    P = P[moocore.is_nondominated(P)]
    P = P[np.argsort(P[:, 0])]
    ax.step(10 ** P[:, 0], 10 ** P[:, 1], where="post", color="black", lw=2.2,
            label="exact front")
    for a in data.algorithms:
        E = an.eaf_2d(data, instance, a, percentiles=(50,))
        if len(E) == 0:
            continue
        E = E[np.argsort(E[:, 0])]
        ax.step(10 ** E[:, 0], 10 ** E[:, 1], where="post", label=f"{a} (50 % EAF)", **st[a])
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    if x1 / max(x0, 1e-300) > 10:  # log only where values span a decade or more
        ax.set_xscale("log")
    if y1 / max(y0, 1e-300) > 10:
        ax.set_yscale("log")
    ax.set_xlabel("aggregated energy x latency (J*s)")
    ax.set_ylabel("area (mm^2)")
    ax.set_title(f"{instance}: median attainment surfaces (moocore.eaf)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    atomic_write_figure(path, fig, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
