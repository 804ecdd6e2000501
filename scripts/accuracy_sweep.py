"""Best joint EDAP vs the compute-SNR target, by exact enumeration (configs/accuracy-sweep.yaml).

One pass over each space evaluates every design (`JointIMCProblem.evaluate_batch`, the same
scoring as the optimizers) and keeps the Pareto front of (aggregated EDAP, worst-workload SNR)
of the feasible designs; the best EDAP under a target t is then the front's lowest score with
SNR >= t, for every t at once. Writes results/accuracy/: sweep.csv (one row per space x target
with the optimum design), front_<label>.csv, accuracy_sweep.png, and prints a summary. An
optional ``ga:`` block searches spaces too large to enumerate with a GA per target (ga.csv).

Usage: python scripts/accuracy_sweep.py [configs/accuracy-sweep.yaml] [--chunk 100000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from problems.errors import ImcoptError
from problems.io import atomic_write_text, read_yaml
from problems.objectives import ObjectiveConfig
from problems.problem import JointIMCProblem
from problems.spaces import SearchSpace
from problems.workloads import load_workloads

KEYS = {"name", "workloads", "aggregate", "area_budget_mm2", "snr", "targets_db", "output",
        "spaces", "ga"}
SHOWN = ("memory", "adc_bits", "bits_per_cell", "xbar_rows", "xbar_cols", "voltage_v",
         "cycle_time_s", "router_groups", "tiles_per_group", "macros_per_tile", "glb_bytes")


def pareto_score_snr(score: np.ndarray, snr: np.ndarray) -> np.ndarray:
    """Indices of the (min score, max SNR) non-dominated points, by ascending score."""
    order = np.lexsort((-snr, score))
    best = np.maximum.accumulate(snr[order])
    keep = np.r_[True, best[1:] > best[:-1]]
    return order[keep]


def enumerate_front(space: SearchSpace, problem: JointIMCProblem, chunk: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(flat index, score, worst-workload SNR dB) of the front of ``space``; seconds."""
    flat = np.zeros(0, np.int64)
    score = np.zeros(0)
    snr = np.zeros(0)
    t0 = time.perf_counter()
    for s in tqdm(range(0, space.size, chunk), desc=f"enumerate {space.name}",
                  unit="chunk"):
        e = min(space.size, s + chunk)
        r = problem.evaluate_batch(space.index_range(s, e))
        ok = r["feasible"] & np.isfinite(r["score"])
        flat = np.concatenate([flat, np.arange(s, e)[ok]])
        score = np.concatenate([score, r["score"][ok]])
        snr = np.concatenate([snr, r["snr_db"][ok].min(axis=1)])
        keep = pareto_score_snr(score, snr)
        flat, score, snr = flat[keep], score[keep], snr[keep]
    return flat, score, snr, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default="configs/accuracy-sweep.yaml")
    ap.add_argument("--chunk", type=int, default=100_000)
    ap.add_argument("--plot-only", action="store_true", help="redraw from sweep.csv")
    a = ap.parse_args()
    cfg = read_yaml(a.config, "accuracy sweep config")
    if not isinstance(cfg, dict) or set(cfg) - KEYS:
        raise ImcoptError(f"{a.config}: a mapping with keys {sorted(KEYS)}")
    out = Path(cfg.get("output", "results/accuracy"))
    out.mkdir(parents=True, exist_ok=True)
    if a.plot_only:
        plot(pd.read_csv(out / "sweep.csv"), out / "accuracy_sweep.png", cfg)
        return
    targets = [float(t) for t in cfg["targets_db"]]
    snr = dict(cfg.get("snr") or {})
    objective = ObjectiveConfig(kind="multi", aggregate=cfg.get("aggregate", "max"),
                                area_budget_mm2=float(cfg.get("area_budget_mm2", 800.0)),
                                snr_objective=True,
                                snr_adc_range=snr.get("adc_range", "full-range"),
                                snr_aggregate=snr.get("aggregate", "worst-layer"))
    workloads = load_workloads(cfg["workloads"])
    rows, fronts = [], {}
    for entry in cfg["spaces"]:
        label, space = entry["label"], SearchSpace.load(entry["space"])
        problem = JointIMCProblem(space, workloads, objective)
        flat, score, worst, secs = enumerate_front(space, problem, a.chunk)
        print(f"{label}: {space.name}, {space.size:,} designs in {secs:.0f} s; "
              f"front of {flat.size} designs")
        cards = tuple(int(c) for c in space.cardinalities)
        designs = space.decode(np.stack(np.unravel_index(flat, cards), axis=1))
        front = designs.to_frame()[list(SHOWN)]
        front.insert(0, "worst_snr_db", worst)
        front.insert(0, "edap_j_s_mm2", score)
        fronts[label] = front
        atomic_write_text(out / f"front_{label}.csv", front.to_csv(index=False))
        for t in targets:
            sel = np.flatnonzero(worst >= t)
            row = {"memory_label": label, "space": space.name, "target_snr_db": t}
            if sel.size:
                i = sel[np.argmin(score[sel])]
                row |= {"best_edap_j_s_mm2": score[i], "worst_snr_db": worst[i]}
                row |= front.iloc[i][list(SHOWN)].to_dict()
            else:
                row |= {"best_edap_j_s_mm2": np.inf}
            rows.append(row)
    table = pd.DataFrame(rows)
    atomic_write_text(out / "sweep.csv", table.to_csv(index=False))
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table[["memory_label", "target_snr_db", "best_edap_j_s_mm2", "worst_snr_db",
                     "adc_bits", "bits_per_cell", "xbar_rows", "xbar_cols"]].to_string())
    plot(table, out / "accuracy_sweep.png", cfg)
    if cfg.get("ga"):
        ga_check(cfg, objective, workloads, out)


def ga_check(cfg: dict, objective: ObjectiveConfig, workloads: list, out: Path) -> None:
    """Spaces too large to enumerate: ``ga.algorithm`` (paper-ga) per target and seed, budget
    ``ga.budget``; best of the seeds and their spread -> ga.csv."""
    import dataclasses

    from study.algorithms import run_algorithm

    g = cfg["ga"]
    rows = []
    for entry in g["spaces"]:
        space = SearchSpace.load(entry["space"])
        for t in g["targets_db"]:
            obj = dataclasses.replace(objective, kind="single", min_snr_db=float(t),
                                      snr_objective=False)
            problem = JointIMCProblem(space, workloads, obj)
            runs = [run_algorithm(g.get("algorithm", "paper-ga"), problem,
                                  budget=int(g.get("budget", 2800)), seed=seed)
                    for seed in range(int(g.get("seeds", 5)))]
            scores = np.array([r.best_score for r in runs])
            best = runs[int(np.argmin(scores))]
            design = space.decode(best.X[best.best()][None, :]).to_records()[0]
            rows.append({"memory_label": entry["label"], "space": space.name,
                         "target_snr_db": float(t), "best_edap_j_s_mm2": scores.min(),
                         "median_edap_j_s_mm2": float(np.median(scores)),
                         "technology_nm": design["technology_nm"]}
                        | {k: design[k] for k in SHOWN})
            print(f"GA {entry['label']} {space.name} >= {t} dB: best {scores.min():.4g}, "
                  f"median {np.median(scores):.4g} ({len(runs)} seeds): "
                  + ", ".join(f"{k}={design[k]}" for k in ("technology_nm", *SHOWN[1:5])))
    atomic_write_text(out / "ga.csv", pd.DataFrame(rows).to_csv(index=False))


def plot(table: pd.DataFrame, path: Path, cfg: dict) -> None:
    """Best EDAP vs SNR target per memory, ADC bits of the optimum annotated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for label, g in table.groupby("memory_label", sort=False):
        g = g[np.isfinite(g.best_edap_j_s_mm2)]
        ax.semilogy(g.target_snr_db, g.best_edap_j_s_mm2, "o-", label=label)
        for _, r in g.iterrows():
            ax.annotate(f"{int(r.adc_bits)}b/{int(r.bits_per_cell)}c/{int(r.xbar_rows)}r",
                        (r.target_snr_db, r.best_edap_j_s_mm2), textcoords="offset points",
                        xytext=(0, 6), ha="center", fontsize=6.5)
    ax.set_xlabel("minimum output SNR of every workload (dB, worst layer)")
    ax.set_ylabel(f"best {cfg.get('aggregate', 'max')}-aggregated EDAP (J·s·mm²)")
    policy = (cfg.get("snr") or {}).get("adc_range", "full-range")
    ax.set_title(f"Exact joint optimum vs accuracy target, {cfg['workloads']}, {policy} ADC\n"
                 f"(labels: ADC bits / bits per cell / rows)", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=130)
    plt.close(fig)
    tmp.replace(path)


if __name__ == "__main__":
    main()
