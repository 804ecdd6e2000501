"""What a study directory holds, read back and verified: config, finished runs (summary +
archive checksum), cached optima and baselines. A damaged file is an error naming it (re-run
`imcopt run DIR` to recompute it), never a traceback or a silently missing run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from problems.errors import ImcoptError
from study.backend import scenario_space
from study.config import ScenarioConfig, StudyConfig, parse_study
from study.indicators import nondominated
from study.tasks import (
    RunSpec,
    cached,
    damage_reason,
    read_json,
    run_status,
    scenario_fingerprint,
)


@dataclass
class StudyResults:
    """What a study directory holds: config, finished runs, optimum and baseline caches."""

    out: Path
    config: StudyConfig
    runs: pd.DataFrame                      # one row per finished run
    records: dict[tuple[str, str, int], dict[str, Any]]
    optimum: dict[str, dict[str, Any]]      # scenario -> cached exact optimum
    baselines: dict[str, dict[str, Any]]    # scenario -> cached baselines
    _archives: dict[tuple[str, str, int], Any] = field(default_factory=dict, repr=False)
    _derived: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict,
                                                                  repr=False)

    def scenario(self, name: str) -> ScenarioConfig:
        for s in self.config.scenarios:
            if s.name == name:
                return s
        raise ImcoptError(f"no scenario {name!r} in {self.out}")

    @property
    def scenario_names(self) -> list[str]:
        return [s.name for s in self.config.scenarios]

    @property
    def algorithm_labels(self) -> list[str]:
        return [a.label for a in self.config.algorithms]

    def archive(self, scenario: str, algorithm: str, seed: int) -> Any:
        """The archive of one run (loaded once)."""
        key = (scenario, algorithm, int(seed))
        if key not in self._archives:
            from study.archive import Archive

            rec = self.records[key]
            path = self.out / "runs" / scenario / algorithm / rec.get("archive",
                                                                     f"seed-{seed}.npz")
            self._archives[key] = Archive.load(path)
        return self._archives[key]

    def optimum_score(self, scenario: str) -> float | None:
        opt = self.optimum.get(scenario)
        if opt is None or opt.get("score") is None:
            return None
        return float(opt["score"])

    def reference(self, scenario: str) -> tuple[float | None, str]:
        """(reference score, "exact" | "best-found") for gaps and success rates."""
        opt = self.optimum_score(scenario)
        if opt is not None:
            return opt, "exact"
        sub = self.runs[self.runs["scenario"] == scenario]["best_score_j_s_mm2"]
        sub = sub[np.isfinite(sub.astype(float))]
        return (float(sub.min()), "best-found") if len(sub) else (None, "none")

    def derived(self, scenario: str, algorithm: str, seed: int) -> dict[str, Any]:
        """Archive-derived quantities of one run: best-so-far curve and its (E, L, A) front."""
        key = (scenario, algorithm, int(seed))
        if key not in self._derived:
            arc = self.archive(*key)
            bsf = np.asarray(arc.best_so_far(), float)
            self._derived[key] = {"best_so_far": bsf, "front": _run_front(arc, self.scenario(
                scenario))}
            self._archives.pop(key, None)  # keep memory flat
        return self._derived[key]


def _objective(sc: ScenarioConfig) -> Any:
    from problems.objectives import ObjectiveConfig

    return ObjectiveConfig(kind="multi", aggregate=sc.aggregate,
                           weights=tuple(sc.weights) if sc.weights else None,
                           fabrication_cost=sc.fabrication_cost,
                           area_budget_mm2=sc.area_budget_mm2)


def _run_front(arc: Any, sc: ScenarioConfig) -> np.ndarray:
    """Non-dominated (aggregated E J, aggregated L s, area term) of a run's feasible designs."""
    return nondominated(run_points(arc, sc)[0])


def run_points(arc: Any, sc: ScenarioConfig) -> tuple[np.ndarray, np.ndarray]:
    """(F, X) of a run's feasible designs: F = (aggregated E J, aggregated L s, area term),
    the area term A in mm^2, or A * k(node) with a fabrication cost (as the enumeration)."""
    from problems.objectives import aggregate_parts_log10, log10_area_term

    ok = np.asarray(arc.feasible, bool) & np.isfinite(np.asarray(arc.score, float))
    X = np.asarray(arc.X)[ok]
    if not np.any(ok):
        return np.empty((0, 3)), X
    cfg = _objective(sc)
    lE, lL = aggregate_parts_log10(np.asarray(arc.energy_j)[ok], np.asarray(arc.latency_s)[ok],
                                   cfg)
    A = np.asarray(arc.area_mm2, float)[ok]
    if sc.fabrication_cost:
        tech = scenario_space(sc).decode(X).technology_nm
        A = 10.0 ** log10_area_term(A, cfg, tech)
    return np.column_stack([10.0 ** lE, 10.0 ** lL, A]), X


# -- loading ----------------------------------------------------------------------------------
def load_results(out: str | Path) -> StudyResults:
    """Read a study directory written by `study.runner.run_study`."""
    out = Path(out)
    cfg_path = out / "study.json"
    if not cfg_path.is_file():
        raise ImcoptError(f"{out} is not a study directory (no study.json); run "
                          f"`imcopt run CONFIG --out {out}` first")
    data, status = read_json(cfg_path)
    if data is None:
        raise ImcoptError(f"{cfg_path}: {status}")
    if "config" not in data:
        raise ImcoptError(f"{cfg_path}: not a study record (no 'config')")
    identities = data.get("identities") or {}
    config = parse_study(data["config"], source=str(cfg_path), check_names=False,
                         check_output=False)
    rows: list[dict[str, Any]] = []
    records: dict[tuple[str, str, int], dict[str, Any]] = {}
    for sc in config.scenarios:
        for alg in config.algorithms:
            for seed in config.seeds:
                spec = RunSpec(sc, alg, seed, config.budget, config.convention,
                               identities.get(sc.name, ""))
                rec, status, path = run_status(spec, out)
                if status.startswith("damaged"):
                    raise _damaged(out, path, status, "run file")
                if rec is None:
                    continue
                records[spec.key] = rec
                rows.append(_run_row(rec))
    runs = pd.DataFrame(rows, columns=None if rows else RUN_COLUMNS)
    optimum, baselines = {}, {}
    for sc in config.scenarios:
        fp = scenario_fingerprint(sc, config.convention, identities.get(sc.name, ""))
        for folder, store in (("optimum", optimum), ("baselines", baselines)):
            path = out / folder / f"{sc.name}.json"
            d, status = cached(path, fp)
            if status.startswith("damaged"):
                raise _damaged(out, path, status, f"{folder} file")
            if d is not None:
                store[sc.name] = d
    return StudyResults(out, config, runs, records, optimum, baselines)


RUN_COLUMNS = ["scenario", "algorithm", "algorithm_name", "seed", "best_score_j_s_mm2",
               "evaluations", "seconds", "feasible", "best_eval", "best_area_mm2"]


def _run_row(rec: dict[str, Any]) -> dict[str, Any]:
    score = rec.get("best_score")
    row = {"scenario": rec["scenario"], "algorithm": rec["algorithm"],
           "algorithm_name": rec.get("algorithm_name", rec["algorithm"]),
           "seed": int(rec["seed"]),
           "best_score_j_s_mm2": float("inf") if score is None else float(score),
           "evaluations": int(rec.get("evaluations", 0)), "seconds": rec.get("seconds"),
           "feasible": bool(rec.get("feasible", False)), "best_eval": rec.get("best_eval"),
           "best_area_mm2": rec.get("best_area_mm2")}
    for k, v in (rec.get("best_design") or {}).items():
        row[k] = v
    return row


def _damaged(out: Path, path: Path, status: str, what: str) -> ImcoptError:
    return ImcoptError(f"damaged {what} {path} ({damage_reason(status)}); re-run imcopt run "
                       f"{out} to recompute")
