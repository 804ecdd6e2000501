"""Fixed-target analytics of a suite run (COCO / IOHanalyzer style).

A suite run directory holds one study per instance (``DIR/<id>/runs/<id>/<alg>/seed-k.npz``)
and the exact optima it was scored against (``DIR/optima/<id>.json``). From every run's
best-so-far curve this module computes, for targets ``opt * (1 + eps)`` with eps from 10 % down
to 0.1 %: the first evaluation reaching each target (the runtime), runtime ECDFs, the expected
running time (ERT, Auger & Hansen 2005: evaluations spent over all runs / successes), success
rates with seeded bootstrap confidence intervals (scipy.stats.bootstrap), Dolan-More
performance profiles over instances, Friedman + Nemenyi statistics (scikit-posthocs) and, for
multi-objective instances, hypervolume ratios to the exact front (moocore).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from problems.errors import ImcoptError
from study.tasks import read_json

#: relative targets above the exact optimum, 10 % down to 0.1 %
TARGETS: tuple[float, ...] = (0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001)
SUCCESS_EPS = 0.01  # "within 1 % of the exact optimum"
REL_TOL = 1e-12     # floating-point slack when comparing with a target


@dataclass
class Run:
    """One run: its best-so-far score after each evaluation and its facts."""

    instance: str
    algorithm: str
    seed: int
    budget: int
    best_so_far: np.ndarray
    seconds: float
    final_f: np.ndarray | None = None  # (k, 3) log10 (E, L, A) of its feasible designs

    def hits(self, optimum: float, targets: tuple[float, ...] = TARGETS) -> np.ndarray:
        """First evaluation (1-based) reaching each target; inf when never reached."""
        out = np.full(len(targets), np.inf)
        for k, eps in enumerate(targets):
            ok = np.nonzero(self.best_so_far <= optimum * (1 + eps) * (1 + REL_TOL))[0]
            if ok.size:
                out[k] = ok[0] + 1
        return out

    def gap(self, optimum: float) -> float:
        """Final relative gap to the optimum (0.01 = 1 % above)."""
        b = float(self.best_so_far[-1]) if self.best_so_far.size else np.inf
        return max(0.0, b / optimum - 1.0) if np.isfinite(b) else np.inf


@dataclass
class SuiteData:
    """All runs of a suite directory, with each instance's optimum and definition."""

    root: Path
    optima: dict[str, dict[str, Any]]
    runs: list[Run] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)  # instances left out (runs missing)

    @property
    def instances(self) -> list[str]:
        return [i for i in self.optima if any(r.instance == i for r in self.runs)]

    @property
    def algorithms(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.runs:
            seen.setdefault(r.algorithm, None)
        return list(seen)

    def select(self, instance: str | None = None, algorithm: str | None = None) -> list[Run]:
        return [r for r in self.runs if (instance is None or r.instance == instance)
                and (algorithm is None or r.algorithm == algorithm)]

    def optimum(self, instance: str) -> float:
        return float(self.optima[instance]["score"])


def _multi_objectives(archive: Any, definition: dict[str, Any]) -> np.ndarray:
    """log10 (aggregated E, aggregated L, A) of an archive's feasible designs."""
    from problems.objectives import ObjectiveConfig, aggregate_parts_log10

    ok = np.asarray(archive.feasible, bool) & np.isfinite(np.asarray(archive.score, float))
    if not ok.any():
        return np.empty((0, 3))
    agg = definition.get("aggregate", "max")
    cfg = ObjectiveConfig(aggregate=agg if agg != "normalized" else "max")
    lE, lL = aggregate_parts_log10(np.asarray(archive.energy_j)[ok],
                                   np.asarray(archive.latency_s)[ok], cfg)
    return np.stack([lE, lL, np.log10(np.asarray(archive.area_mm2)[ok])], axis=1)


def load_suite_run(root: str | Path, complete_only: bool = False) -> SuiteData:
    """Read every finished run of a suite directory (the runner's run JSON marks it); with
    ``complete_only`` keep only instances where every algorithm has all its seeds."""
    from study.archive import Archive

    root = Path(root)
    odir = root / "optima"
    if not odir.is_dir():
        raise ImcoptError(f"{root}: not a suite run directory (no optima/ folder); run "
                          f"'imcopt suite run --out {root}' first")
    optima = {}
    for p in sorted(odir.glob("*.json")):
        d = json.loads(p.read_text())
        if d.get("score") is not None:
            optima[d["id"]] = d
    meta = read_json(root / "suite.json")[0] or {}
    order = meta.get("instances") or list(optima)
    optima = {i: optima[i] for i in order if i in optima}
    data = SuiteData(root, optima)
    for iid, opt in optima.items():
        multi = opt.get("definition", {}).get("objective", "single") != "single"
        base = root / iid / "runs" / iid
        if not base.is_dir():
            continue
        for adir in sorted(base.iterdir()):
            for js in sorted(adir.glob("seed-*.json"), key=lambda p: int(p.stem[5:])):
                summary = read_json(js)[0]
                npz = js.with_suffix(".npz")
                if summary is None or not npz.is_file():
                    continue
                arch = Archive.load(npz)
                bsf = arch.best_so_far()
                data.runs.append(Run(
                    instance=iid, algorithm=adir.name, seed=int(js.stem[5:]),
                    budget=int(summary.get("budget", len(bsf))), best_so_far=bsf,
                    seconds=float(summary.get("seconds", np.nan)),
                    final_f=_multi_objectives(arch, opt.get("definition", {})) if multi else None))
    if not data.runs:
        raise ImcoptError(f"{root}: no finished runs found")
    order = {a: k for k, a in enumerate(meta.get("algorithms") or [])}
    data.runs.sort(key=lambda r: (order.get(r.algorithm, len(order)), r.algorithm))
    if complete_only:  # compare on instances where every algorithm has every seed
        algs = set(data.algorithms)
        counts: dict[tuple[str, str], int] = {}
        for r in data.runs:
            counts[(r.instance, r.algorithm)] = counts.get((r.instance, r.algorithm), 0) + 1
        full = max(counts.values())
        keep = {i for i in data.optima
                if all(counts.get((i, a), 0) == full for a in algs)}
        data.incomplete = [i for i in data.optima if i not in keep
                           and any(r.instance == i for r in data.runs)]
        data.runs = [r for r in data.runs if r.instance in keep]
    return data


# -- fixed-target measures -------------------------------------------------------------------
def hit_matrix(data: SuiteData, instance: str, algorithm: str) -> tuple[np.ndarray, np.ndarray]:
    """(runs x targets) first-hit evaluations and the runs' evaluation counts."""
    runs = data.select(instance, algorithm)
    opt = data.optimum(instance)
    H = np.array([r.hits(opt) for r in runs]).reshape(len(runs), len(TARGETS))
    n = np.array([len(r.best_so_far) for r in runs], float)
    return H, n


def ecdf(data: SuiteData, algorithm: str, grid: np.ndarray,
         instances: list[str] | None = None) -> np.ndarray:
    """Fraction of (run, target) pairs reached within each evaluation count of ``grid``."""
    hits = [hit_matrix(data, i, algorithm)[0].ravel() for i in (instances or data.instances)]
    h = np.concatenate(hits) if hits else np.empty(0)
    if h.size == 0:
        return np.zeros(len(grid))
    return (h[None, :] <= np.asarray(grid, float)[:, None]).mean(axis=1)


def ert(data: SuiteData, instance: str, algorithm: str) -> np.ndarray:
    """Expected running time per target: evaluations of all runs (up to the hit) / successes."""
    H, n = hit_matrix(data, instance, algorithm)
    spent = np.where(np.isfinite(H), H, n[:, None]).sum(axis=0)
    succ = np.isfinite(H).sum(axis=0)
    with np.errstate(divide="ignore"):
        return np.where(succ > 0, spent / np.maximum(succ, 1), np.inf)


def success(data: SuiteData, instance: str, algorithm: str, eps: float = SUCCESS_EPS
            ) -> np.ndarray:
    """Per-run booleans: final best within ``eps`` of the optimum."""
    opt = data.optimum(instance)
    return np.array([r.gap(opt) <= eps * (1 + REL_TOL) for r in data.select(instance, algorithm)])


def bootstrap_ci(x: np.ndarray, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of a success rate (scipy.stats.bootstrap, seeded)."""
    from scipy.stats import bootstrap

    x = np.asarray(x, float)
    if x.size == 0:
        return (np.nan, np.nan)
    if np.all(x == x[0]):  # no resample can differ
        return (float(x[0]), float(x[0]))
    res = bootstrap((x,), np.mean, confidence_level=level, method="percentile",
                    n_resamples=2000, rng=np.random.default_rng(seed))
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


def performance_profile(data: SuiteData, taus: np.ndarray, target_index: int | None = None
                        ) -> dict[str, np.ndarray]:
    """Dolan-More profile of ERT at one target (default 1 %): per algorithm, the fraction of
    instances whose ERT is within a factor tau of the best algorithm's."""
    k = TARGETS.index(SUCCESS_EPS) if target_index is None else target_index
    algs = data.algorithms
    E = np.array([[ert(data, i, a)[k] for a in algs] for i in data.instances])
    best = np.min(E, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        R = np.where(np.isfinite(E), E / best, np.inf)
    return {a: (R[:, j][None, :] <= np.asarray(taus)[:, None]).mean(axis=1)
            for j, a in enumerate(algs)}


def final_gaps(data: SuiteData) -> Any:
    """DataFrame instances x algorithms of the mean final relative gap over seeds."""
    import pandas as pd

    rows = {i: {a: float(np.mean([min(r.gap(data.optimum(i)), 10.0)
                                  for r in data.select(i, a)]))
                for a in data.algorithms if data.select(i, a)} for i in data.instances}
    return pd.DataFrame.from_dict(rows, orient="index")[data.algorithms]


def friedman(data: SuiteData) -> dict[str, Any]:
    """Mean ranks (1 = best) of the mean final gap per instance, the Friedman test and the
    Nemenyi post-hoc p-values (scikit-posthocs)."""
    import scikit_posthocs as sp
    from scipy.stats import friedmanchisquare

    G = final_gaps(data).dropna(axis=0)
    ranks = G.rank(axis=1, method="average").mean(axis=0).sort_values()
    stat, p = (np.nan, np.nan)
    if G.shape[1] >= 3 and G.shape[0] >= 2:
        stat, p = friedmanchisquare(*[G[c].to_numpy() for c in G.columns])
    nemenyi = sp.posthoc_nemenyi_friedman(G.to_numpy())
    nemenyi.index = nemenyi.columns = list(G.columns)
    return {"ranks": ranks, "statistic": float(stat), "p_value": float(p), "posthoc": nemenyi,
            "n_instances": int(G.shape[0])}


def hypervolume_ratios(data: SuiteData, instance: str, algorithm: str) -> np.ndarray:
    """Per run: hypervolume of its feasible (E, L, A) set over the exact front's (log10 space,
    reference point 0.1 decade beyond the exact front's worst value of each objective)."""
    import moocore

    front = np.log10(np.asarray(data.optima[instance]["front"], float))
    ref = front.max(axis=0) + 0.1
    hv_exact = moocore.hypervolume(front, ref=ref)
    out = []
    for r in data.select(instance, algorithm):
        F = r.final_f if r.final_f is not None else np.empty((0, 3))
        F = F[np.all(ref > F, axis=1)]
        out.append(moocore.hypervolume(F, ref=ref) / hv_exact if len(F) else 0.0)
    return np.array(out)


def eaf_2d(data: SuiteData, instance: str, algorithm: str,
           percentiles: tuple[float, ...] = (0, 50, 100)) -> np.ndarray:
    """Empirical attainment function (moocore.eaf) of the runs' final sets projected to
    (log10 E*L, log10 A): rows (x, y, percentile)."""
    import moocore

    pts, sets = [], []
    for k, r in enumerate(data.select(instance, algorithm)):
        F = r.final_f if r.final_f is not None else np.empty((0, 3))
        if len(F):
            P = np.stack([F[:, 0] + F[:, 1], F[:, 2]], axis=1)
            P = P[moocore.is_nondominated(P)]
            pts.append(P)
            sets.append(np.full(len(P), k + 1))
    if not pts:
        return np.empty((0, 3))
    return np.asarray(moocore.eaf(np.vstack(pts), sets=np.concatenate(sets),
                                  percentiles=list(percentiles)))
