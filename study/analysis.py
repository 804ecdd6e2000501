"""Analysis of a finished (or partly finished) study directory.

Per scenario and algorithm: median and IQR of the final best aggregated EDAP, gap to the exact
optimum (or, when it is unknown, to the best design any run found: ``reference`` says which),
success rate within 5 % (and 1 %), evaluations needed to get within 5 % / 1 %, hypervolume and
IGD+ of the (aggregated E, aggregated L, A) front in normalised log space, pairwise Mann-Whitney
U tests with Holm correction and Vargha-Delaney A12, and a Friedman test across scenarios.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from study.indicators import hypervolume, igd_plus, nondominated
from study.results import StudyResults, load_results
from study.stats import friedman, pairwise_tests

__all__ = ["StudyResults", "analyse", "load_results"]

SUCCESS_TOL = (0.05, 0.01)
_REL = 1e-9  # float slack when comparing a score with (1 + tol) * reference


# -- per-run and per-algorithm metrics -------------------------------------------------------
def evaluations_to_reach(best_so_far: np.ndarray, target: float) -> float:
    """Evaluations until the running best is <= target (NaN if never)."""
    hit = np.flatnonzero(np.asarray(best_so_far, float) <= target)
    return float(hit[0] + 1) if hit.size else float("nan")


def reference_front(res: StudyResults, scenario: str) -> tuple[np.ndarray, str]:
    """(front, "exact" | "union"): the exact Pareto front if cached, else the union front."""
    opt = res.optimum.get(scenario) or {}
    front = opt.get("front")
    if front:
        F = np.asarray(front, float)
        if F.ndim == 2 and F.shape[1] == 3 and len(F):
            return nondominated(F), "exact"
    parts = [res.derived(scenario, a, s)["front"]
             for (sc, a, s) in res.records if sc == scenario]
    parts = [p for p in parts if len(p)]
    if not parts:
        return np.empty((0, 3)), "none"
    return nondominated(np.vstack(parts)), "union"


def run_metrics(res: StudyResults, indicators: bool = True) -> pd.DataFrame:
    """One row per finished run: final best, gap (%), successes, evaluations-to-target, HV, IGD+."""
    df = res.runs.copy()
    if df.empty:
        return df.assign(gap_pct=[], success_5pct=[], success_1pct=[], evals_to_5pct=[],
                         evals_to_1pct=[], hv=[], igd_plus=[], reference=[])
    gaps, s5, s1, e5, e1, hv, igd, ref_kind = ([] for _ in range(8))
    fronts = {}
    for _, row in df.iterrows():
        sc, alg, seed = row["scenario"], row["algorithm"], int(row["seed"])
        ref, kind = res.reference(sc)
        best = float(row["best_score_j_s_mm2"])
        d = res.derived(sc, alg, seed)
        if ref is None or not np.isfinite(best):
            gaps.append(np.nan if ref is None else np.inf)
            s5.append(False)
            s1.append(False)
            e5.append(np.nan)
            e1.append(np.nan)
        else:
            gaps.append(100.0 * (best / ref - 1.0))
            s5.append(best <= ref * (1 + SUCCESS_TOL[0]) * (1 + _REL))
            s1.append(best <= ref * (1 + SUCCESS_TOL[1]) * (1 + _REL))
            e5.append(evaluations_to_reach(d["best_so_far"], ref * (1 + SUCCESS_TOL[0])
                                           * (1 + _REL)))
            e1.append(evaluations_to_reach(d["best_so_far"], ref * (1 + SUCCESS_TOL[1])
                                           * (1 + _REL)))
        ref_kind.append(kind)
        if indicators:
            if sc not in fronts:
                fronts[sc] = reference_front(res, sc)[0]
            rf = fronts[sc]
            if len(rf) and len(d["front"]):
                hv.append(hypervolume(d["front"], rf))
                igd.append(igd_plus(d["front"], rf))
            else:
                hv.append(np.nan)
                igd.append(np.nan)
        else:
            hv.append(np.nan)
            igd.append(np.nan)
    return df.assign(gap_pct=gaps, success_5pct=s5, success_1pct=s1, evals_to_5pct=e5,
                     evals_to_1pct=e1, hv=hv, igd_plus=igd, reference=ref_kind)


def _q(a: np.ndarray, q: float) -> float:
    a = np.asarray(a, float)
    return float(np.quantile(a, q)) if a.size else float("nan")


def _median_evals(e: np.ndarray) -> float:
    """Median evaluations-to-target, runs that never reached it counted as infinite."""
    e = np.where(np.isnan(e), np.inf, e)
    return float(np.median(e)) if e.size else float("nan")


def algorithm_table(metrics: pd.DataFrame, res: StudyResults) -> pd.DataFrame:
    """Per scenario x algorithm: medians, IQRs, gaps, success rates, evaluations, HV, IGD+."""
    rows = []
    for sc in res.scenario_names:
        ref, kind = res.reference(sc)
        for alg in res.algorithm_labels:
            m = metrics[(metrics["scenario"] == sc) & (metrics["algorithm"] == alg)]
            if m.empty:
                continue
            best = m["best_score_j_s_mm2"].to_numpy(float)
            rows.append({
                "scenario": sc, "algorithm": alg, "runs": len(m),
                "median_best_j_s_mm2": _q(best, 0.5),
                "q1_best_j_s_mm2": _q(best, 0.25), "q3_best_j_s_mm2": _q(best, 0.75),
                "iqr_best_j_s_mm2": _q(best, 0.75) - _q(best, 0.25),
                "min_best_j_s_mm2": float(np.min(best)),
                "median_gap_pct": _q(m["gap_pct"].to_numpy(float), 0.5),
                "success_rate_5pct": float(np.mean(m["success_5pct"])),
                "success_rate_1pct": float(np.mean(m["success_1pct"])),
                "median_evals_to_5pct": _median_evals(m["evals_to_5pct"].to_numpy(float)),
                "median_evals_to_1pct": _median_evals(m["evals_to_1pct"].to_numpy(float)),
                "reached_5pct": int(np.sum(np.isfinite(m["evals_to_5pct"].to_numpy(float)))),
                "reached_1pct": int(np.sum(np.isfinite(m["evals_to_1pct"].to_numpy(float)))),
                "median_hv": _q(m["hv"].dropna().to_numpy(float), 0.5),
                "median_igd_plus": _q(m["igd_plus"].dropna().to_numpy(float), 0.5),
                "median_seconds": _q(m["seconds"].to_numpy(float), 0.5),
                "reference": kind, "reference_j_s_mm2": ref,
            })
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


TABLE_COLUMNS = ["scenario", "algorithm", "runs", "median_best_j_s_mm2", "q1_best_j_s_mm2",
                 "q3_best_j_s_mm2", "iqr_best_j_s_mm2", "min_best_j_s_mm2", "median_gap_pct",
                 "success_rate_5pct", "success_rate_1pct", "median_evals_to_5pct",
                 "median_evals_to_1pct", "reached_5pct", "reached_1pct", "median_hv",
                 "median_igd_plus", "median_seconds", "reference", "reference_j_s_mm2"]


def pairwise(metrics: pd.DataFrame, res: StudyResults) -> dict[str, pd.DataFrame]:
    """Per scenario: pairwise Mann-Whitney U (Holm-corrected) and A12 on final best scores."""
    out = {}
    for sc in res.scenario_names:
        m = metrics[metrics["scenario"] == sc]
        groups = {a: m[m["algorithm"] == a]["best_score_j_s_mm2"].to_numpy(float)
                  for a in res.algorithm_labels}
        groups = {k: v for k, v in groups.items() if v.size}
        if len(groups) >= 2:
            out[sc] = pairwise_tests(groups)
    return out


def friedman_across_scenarios(table: pd.DataFrame) -> dict[str, Any]:
    """Friedman test on median final best per scenario (blocks) x algorithm."""
    if table.empty:
        return friedman(pd.DataFrame())
    wide = table.pivot(index="scenario", columns="algorithm", values="median_best_j_s_mm2")
    return friedman(wide)  # ranks within each scenario: scale-free across scenarios


def _none_if_nan(x: Any) -> Any:
    if x is None:
        return None
    x = float(x)
    return x if np.isfinite(x) else None


def summary_dict(res: StudyResults, table: pd.DataFrame) -> dict[str, Any]:
    """The summary.json content (schema documented in the runner)."""
    scenarios = []
    for sc in res.scenario_names:
        ref, kind = res.reference(sc)
        algs = []
        for _, r in table[table["scenario"] == sc].iterrows() if not table.empty else []:
            algs.append({"name": r["algorithm"], "seeds": int(r["runs"]),
                         "median_best": _none_if_nan(r["median_best_j_s_mm2"]),
                         "iqr_best": _none_if_nan(r["iqr_best_j_s_mm2"]),
                         "median_gap": _none_if_nan(r["median_gap_pct"] / 100.0)
                         if kind == "exact" else None,
                         "success_rate_5pct": float(r["success_rate_5pct"])
                         if kind == "exact" else None})
        scenarios.append({"name": sc, "optimum": res.optimum_score(sc), "algorithms": algs})
    return {"scenarios": scenarios}


# -- curves, fronts, designs ------------------------------------------------------------------
def convergence(res: StudyResults, scenario: str, algorithm: str) -> np.ndarray:
    """Best-so-far score per seed (rows) x evaluation (columns, padded with the last value)."""
    curves = [res.derived(scenario, algorithm, s)["best_so_far"]
              for (sc, a, s) in sorted(res.records) if sc == scenario and a == algorithm]
    curves = [c for c in curves if c.size]
    if not curves:
        return np.empty((0, 0))
    n = max(c.size for c in curves)
    return np.vstack([np.concatenate([c, np.full(n - c.size, c[-1])]) for c in curves])


def algorithm_fronts(res: StudyResults, scenario: str) -> dict[str, np.ndarray]:
    """Per algorithm: non-dominated union of its runs' (E, L, A) fronts."""
    out = {}
    for alg in res.algorithm_labels:
        parts = [res.derived(scenario, alg, s)["front"] for (sc, a, s) in res.records
                 if sc == scenario and a == alg]
        parts = [p for p in parts if len(p)]
        if parts:
            out[alg] = nondominated(np.vstack(parts))
    return out


DESIGN_PARAMS = ("memory", "technology_nm", "voltage_v", "bits_per_cell", "cycle_time_s",
                 "xbar_rows", "xbar_cols", "adc_bits", "adcs_per_macro", "router_groups",
                 "tiles_per_group", "macros_per_tile", "glb_bytes")


def best_designs_table(res: StudyResults) -> pd.DataFrame:
    """Per scenario: the best design of each algorithm (over seeds), the exact optimum and the
    baselines, one row per workload with per-workload energy / latency / EDAP."""
    rows: list[dict[str, Any]] = []
    for sc in res.scenario_names:
        recs = [r for (s, _, _), r in res.records.items() if s == sc and r.get("best_score")
                is not None]
        for alg in res.algorithm_labels:
            mine = [r for r in recs if r["algorithm"] == alg]
            if mine:
                best = min(mine, key=lambda r: (r["best_score"], r["seed"]))
                rows += _design_rows(sc, alg, f"seed {best['seed']}", best)
        opt = res.optimum.get(sc)
        if opt and opt.get("metrics"):
            rows += _design_rows(sc, "exact-optimum", "enumeration", opt["metrics"])
        base = res.baselines.get(sc) or {}
        for name, m in (base.get("designs") or {}).items():
            rows += _design_rows(sc, name, "baseline", m)
        for w, m in (base.get("specialists") or {}).items():  # each on its own workload
            rows += [r for r in _design_rows(sc, "specialist", f"optimised for {w}", m)
                     if r["workload"] == w]
    return pd.DataFrame(rows)


def _design_rows(scenario: str, source: str, detail: str, rec: dict[str, Any]
                 ) -> list[dict[str, Any]]:
    design = rec.get("best_design") or rec.get("design") or {}
    names = rec.get("workloads") or []
    out = []
    for i, w in enumerate(names):
        row = {"scenario": scenario, "source": source, "detail": detail, "workload": w,
               "score_j_s_mm2": rec.get("best_score", rec.get("score")),
               "area_mm2": rec.get("best_area_mm2", rec.get("area_mm2")),
               "energy_j": _at(rec.get("best_energy_j", rec.get("energy_j")), i),
               "latency_s": _at(rec.get("best_latency_s", rec.get("latency_s")), i),
               "edap_j_s_mm2": _at(rec.get("best_edap_j_s_mm2", rec.get("edap_j_s_mm2")), i)}
        row.update({k: design.get(k) for k in DESIGN_PARAMS if k in design})
        out.append(row)
    return out


def _at(v: Any, i: int) -> Any:
    if v is None:
        return None
    return v[i] if i < len(v) else None


def best_designs_params(res: StudyResults) -> pd.DataFrame:
    """Design parameters of every run's best design (for parameter-distribution plots)."""
    df = res.runs
    cols = [c for c in DESIGN_PARAMS if c in df.columns]
    return df[["scenario", "algorithm", "seed", *cols]] if not df.empty else df


def analyse(out: str | Path | StudyResults, indicators: bool = True) -> dict[str, Any]:
    """Load a study directory (or take loaded results) and compute every table (used by
    report, plots and CLI)."""
    res = out if isinstance(out, StudyResults) else load_results(out)
    metrics = run_metrics(res, indicators=indicators)
    table = algorithm_table(metrics, res)
    return {"results": res, "metrics": metrics, "table": table,
            "pairwise": pairwise(metrics, res),
            "friedman": friedman_across_scenarios(table),
            "summary": summary_dict(res, table)}
