"""Designs out of a study, in forms other tools read back: the exact (E, L, A) front and each
algorithm's final front as CSV tables of designs (unit-suffixed columns), and the study's best
design per scenario as a design YAML that `imcopt evaluate --design FILE` accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from problems.pareto import nondominated_mask
from study.results import StudyResults, run_points


def _objective_columns(res: StudyResults, scenario: str) -> list[str]:
    area = "area_cost_mm2" if res.scenario(scenario).fabrication_cost else "area_mm2"
    return ["aggregated_energy_j", "aggregated_latency_s", area]


def front_files(res: StudyResults) -> list[Path]:
    """The CSV files `front_tables` writes (to check they are writable before computing)."""
    out = res.out
    files = [out / "optimum" / f"{sc}-front.csv" for sc in res.optimum]
    files += [out / "fronts" / sc / f"{alg}.csv" for sc in res.scenario_names
              for alg in res.algorithm_labels]
    return files


def front_tables(res: StudyResults, backend: Any) -> dict[Path, pd.DataFrame]:
    """{file: designs}: DIR/optimum/<scenario>-front.csv (the exact front, from the
    enumeration) and DIR/fronts/<scenario>/<algorithm>.csv (the non-dominated designs of all
    the algorithm's runs, with the seed that found each)."""
    tables: dict[Path, pd.DataFrame] = {}
    for sc in res.scenario_names:
        cols = _objective_columns(res, sc)
        scenario = res.scenario(sc)
        opt = res.optimum.get(sc) or {}
        if opt.get("front_x"):
            X = np.asarray(opt["front_x"], np.int64)
            F = np.asarray(opt["front"], float)
            tables[res.out / "optimum" / f"{sc}-front.csv"] = _table(
                F, backend.designs(scenario, X), cols, {"scenario": sc, "source": "enumeration"})
        for alg in res.algorithm_labels:
            Fs, Xs, seeds = [], [], []
            for (s, a, seed) in sorted(res.records):
                if s != sc or a != alg:
                    continue
                F, X = run_points(res.archive(s, a, seed), scenario)
                res._archives.pop((s, a, seed), None)  # keep memory flat
                Fs.append(F)
                Xs.append(X)
                seeds.append(np.full(len(F), seed))
            if not Fs or not sum(len(f) for f in Fs):
                continue
            F, X, seed = np.vstack(Fs), np.vstack(Xs), np.concatenate(seeds)
            keep = nondominated_mask(F)
            o = np.lexsort(F[keep].T[::-1])
            F, X, seed = F[keep][o], X[keep][o], seed[keep][o]
            df = _table(F, backend.designs(scenario, X), cols, {"scenario": sc,
                                                                "source": alg})
            df.insert(2, "seed", seed)
            tables[res.out / "fronts" / sc / f"{alg}.csv"] = df
    return tables


def _table(F: np.ndarray, designs: list[dict[str, Any]], cols: list[str],
           first: dict[str, Any]) -> pd.DataFrame:
    df = pd.DataFrame(designs)
    for k, v in reversed(list(first.items())):
        df.insert(0, k, v)
    for i, c in enumerate(cols):
        df[c] = F[:, i]
    return df


def best_design(res: StudyResults, scenario: str) -> dict[str, Any] | None:
    """The best design any finished run of the scenario found (ties: lower seed), with its
    source, score and per-workload metrics; None without a finished feasible run."""
    recs = [r for (s, _, _), r in res.records.items() if s == scenario
            and r.get("best_score") is not None and r.get("best_design")]
    if not recs:
        return None
    r = min(recs, key=lambda r: (r["best_score"], r["algorithm"], r["seed"]))
    return {"scenario": scenario, "algorithm": r["algorithm"], "seed": r["seed"],
            "score_j_s_mm2": r["best_score"], "area_mm2": r.get("best_area_mm2"),
            "workloads": r.get("workloads"), "energy_j": r.get("best_energy_j"),
            "latency_s": r.get("best_latency_s"), "design": r["best_design"],
            "optimum_j_s_mm2": res.optimum_score(scenario)}


def design_yaml(best: dict[str, Any], study_dir: Path, workloads: Any, convention: str) -> str:
    """A design file (`design:` mapping) with its provenance as comments."""
    head = [f"# best design of scenario {best['scenario']!r} in study {study_dir}",
            f"# found by {best['algorithm']} (seed {best['seed']}): "
            f"{best['score_j_s_mm2']:.6g} J*s*mm^2",
            f"# evaluate it: imcopt evaluate --design THIS_FILE --workloads "
            f"{','.join(workloads) if isinstance(workloads, list) else workloads} "
            f"--convention {convention}"]
    body = yaml.safe_dump({"design": dict(best["design"])}, sort_keys=False)
    return "\n".join(head) + "\n" + body
