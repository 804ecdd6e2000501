"""Residency study (issue 14): exact optimum and joint-vs-largest-workload gain per deployment.

For every scenario of a study YAML (default configs/studies/residency.yaml) the space is
enumerated exactly (`problems.exhaustive.exhaustive_search`): the joint optimum, its feasible
count; the largest workload's (most weights) own optimum is found on that workload alone (a
device dedicated to it never switches) and scored on the joint objective under the scenario's
deployment: gain = that score / the joint optimum (inf: the specialist cannot serve every
workload). Writes residency.csv, residency.png and REPORT.md to the output folder (atomic).

    PYTHONPATH=. python scripts/residency_study.py [--study F] [--out results/residency]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from problems.exhaustive import exhaustive_search
from problems.hardware.deployment import Deployment, lifetime_inferences
from problems.io import atomic_write_figure, atomic_write_text
from problems.objectives import ObjectiveConfig
from problems.problem import JointIMCProblem
from problems.spaces import SearchSpace
from problems.workloads import load_workloads
from study.config import ScenarioConfig, load_study

SHOWN = ("bits_per_cell", "cycle_time_s", "xbar_rows", "xbar_cols", "router_groups",
         "tiles_per_group", "macros_per_tile", "glb_bytes")


def _objective(sc: ScenarioConfig) -> ObjectiveConfig:
    return ObjectiveConfig(kind="single", aggregate=sc.aggregate,
                           area_budget_mm2=sc.area_budget_mm2, deployment=sc.deployment)


def _scenario_row(sc: ScenarioConfig, specialist_cache: dict) -> dict[str, object]:
    space = SearchSpace.load(sc.space)
    ws = load_workloads(sc.workloads)
    obj = _objective(sc)
    dep = Deployment.from_dict(sc.deployment)
    joint = exhaustive_search(space, ws, obj, progress=False)
    largest = max(ws, key=lambda w: float(w.weights.sum()))
    # the dedicated device of the largest workload: no switches, its own execution settings
    key = (sc.space, largest.name, dep.execution, dep.batch, dep.packing)
    if key not in specialist_cache:
        alone = {**dep.to_dict(), "residency": "all-resident"}
        r = exhaustive_search(space, [largest], ObjectiveConfig(
            kind="single", aggregate=sc.aggregate, area_budget_mm2=sc.area_budget_mm2,
            deployment=alone), progress=False)
        specialist_cache[key] = r.best_x
    x = specialist_cache[key]
    problem = JointIMCProblem(space, ws, obj)
    out = problem.evaluate_batch(x[None, :])
    spec_score = float(out["score"][0])
    reason = ""
    if not np.isfinite(spec_score):
        bad = [w for w, g in zip(problem.workload_names, out["G"][0, 2:2 + len(ws)],
                                 strict=True) if g > 0]
        reason = f"{largest.name} specialist cannot hold {', '.join(bad)}" if bad else \
            "area budget"
    rps = dep.requests_per_switch([w.name for w in ws])
    life = lifetime_inferences(rps, np.array([True]), dep.residency)[0, 0]
    row: dict[str, object] = {
        "scenario": sc.name, "aggregate": sc.aggregate, "residency": dep.residency,
        "requests_between_switches": float(rps.mean()) if dep.residency == "per-workload"
        else math.inf, "execution": dep.execution, "batch": dep.batch,
        "n_designs": joint.n_designs, "n_feasible": joint.n_feasible,
        "feasible_pct": 100.0 * joint.n_feasible / joint.n_designs,
        "optimum_j_s_mm2": joint.best_score, "largest_workload": largest.name,
        "largest_specialist_j_s_mm2": spec_score, "gain_joint_vs_largest": spec_score
        / joint.best_score, "gain_note": reason, "rram_lifetime_inferences": life,
    }
    row.update({f"opt_{k}": joint.best_design[k] for k in SHOWN} if joint.best_design else {})
    print(f"{sc.name}: feasible {joint.n_feasible:,} ({row['feasible_pct']:.2f} %), optimum "
          f"{joint.best_score:.4e}, gain {row['gain_joint_vs_largest']:.3g} {reason}",
          flush=True)
    return row


def _plot(df: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    for ai, (agg, sub) in enumerate(df.groupby("aggregate", sort=False)):
        per = sub[sub.residency == "per-workload"].sort_values("requests_between_switches")
        fixed = sub[sub.residency != "per-workload"]
        marker = "os"[ai % 2]
        for ax, col in ((axes[0], "optimum_j_s_mm2"), (axes[1], "gain_joint_vs_largest")):
            ok = np.isfinite(per[col].to_numpy(float))
            ax.plot(per.requests_between_switches[ok], per[col][ok], f"{marker}-",
                    color=f"C{3 + ai}", label=f"{agg}: per-workload (reprogram per switch)")
            for i, (_, r) in enumerate(fixed.iterrows()):
                v = float(r[col])
                ls = ("--", ":", "-.")[i % 3]
                if np.isfinite(v):
                    ax.axhline(v, ls=ls, color=f"C{6 * ai + i}",
                               label=f"{agg}: {r.scenario}")
                else:                           # shown with its reason, never dropped
                    ax.plot([], [], ls="none", label=f"{agg}: {r.scenario} infeasible "
                                                     f"({r.gain_note})")
            for _, r in per[~ok].iterrows():
                ax.annotate(f"infeasible: {r.gain_note}", (r.requests_between_switches, 1.0),
                            fontsize=7, rotation=90)
    for ax, label in ((axes[0], "exact optimum score (J s mm$^2$)"),
                      (axes[1], "largest-workload specialist / joint optimum")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("inferences of each workload between switches")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=6)
    axes[0].set_title("paper-4 on RRAM (rram-paper at 0.5 V): exact optimum", fontsize=9)
    axes[1].set_title("gain of the joint optimum over the vgg16 specialist", fontsize=9)
    fig.tight_layout()
    atomic_write_figure(path, fig, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", default="configs/studies/residency.yaml")
    ap.add_argument("--out", default="results/residency")
    ap.add_argument("--plot-only", action="store_true", help="redraw from OUT/residency.csv")
    a = ap.parse_args()
    if a.plot_only:
        _plot(pd.read_csv(Path(a.out) / "residency.csv"), Path(a.out) / "residency.png")
        return
    study = load_study(a.study)
    cache: dict = {}
    df = pd.DataFrame([_scenario_row(sc, cache) for sc in study.scenarios])
    out = Path(a.out)
    atomic_write_text(out / "residency.csv", df.to_csv(index=False))
    _plot(df, out / "residency.png")
    cols = ["scenario", "aggregate", "feasible_pct", "optimum_j_s_mm2", "gain_joint_vs_largest",
            "rram_lifetime_inferences"] + [f"opt_{k}" for k in SHOWN]
    table = df[cols].to_markdown(index=False, floatfmt=".4g") if _has_tabulate() else \
        df[cols].to_string(index=False)
    atomic_write_text(out / "REPORT.md", f"# Residency study ({study.name})\n\nGenerated by "
                      f"`scripts/residency_study.py --study {a.study}`.\n\n{table}\n\n"
                      f"![residency](residency.png)\n")


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
