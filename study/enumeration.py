"""The exact optimum of a scenario by enumeration in slices (`study.tasks.optimum_parts`, each
computed by `problems.exhaustive.exhaustive_search` through the backend) and their merge into
``optimum/<scenario>.json`` (best design, exact (E, L, A) front) and the enumeration baselines.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from problems.pareto import nondominated_mask
from study.config import ScenarioConfig
from study.session import StudySession
from study.tasks import scenario_fingerprint

PROBE_DESIGNS = 50_000  # designs per timed slice (one chunk of the enumeration)


def estimate_seconds(session: StudySession, scenario: ScenarioConfig, convention: str,
                     size: int, workers: int) -> float:
    """Wall time to enumerate ``size`` designs on ``workers``, from timing two slices of a
    real chunk's size after a warm-up one (a cold first slice, or a small one, which maps
    nearly every design's structure anew, overestimated 20-50x). 0 where the search is a
    branch and bound (not estimated: slices say little about its pruning)."""
    from problems.branch_bound import applies
    from problems.problem import JointIMCProblem

    problem = session.problem(scenario, convention)
    if isinstance(problem, JointIMCProblem) and applies(problem) is None:
        return 0.0   # a branch and bound: its time follows the bounds, not the design count
    total = session.backend.space_size(scenario)
    n = min(total, PROBE_DESIGNS)
    session.backend.optimum_part(problem, 0, min(n, 2_000))
    starts = sorted({int(f * (total - n)) for f in (1 / 3, 2 / 3)})
    t0 = time.perf_counter()
    for a in starts:
        session.backend.optimum_part(problem, a, a + n)
    return (time.perf_counter() - t0) * size / (n * len(starts)) / max(1, workers)


def merge_optimum(parts: list[dict[str, Any]], session: StudySession, scenario: ScenarioConfig,
                  convention: str, identity: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """Combine enumeration slices into the optimum JSON and the baselines JSON."""
    parts = sorted(parts, key=lambda p: p["part"][0])
    fp = scenario_fingerprint(scenario, convention, identity)
    best = None
    for p in parts:  # first minimum in enumeration order (ties -> lower index)
        if p["best_log10"] is not None and (best is None or p["best_log10"] < best["best_log10"]):
            best = p
    fl = [np.asarray(p["front_log10"], float).reshape(-1, 3) for p in parts]
    # a slice without a feasible design has an empty front (no row length to reshape to)
    fx = [np.asarray(p["front_x"], np.int64).reshape(len(f), -1)
          for p, f in zip(parts, fl, strict=True) if len(f)]
    fl = [f for f in fl if len(f)]
    F = np.vstack(fl) if fl else np.empty((0, 3))
    FX = np.vstack(fx) if fx else np.empty((0, 0), np.int64)
    keep = nondominated_mask(F)  # identical vectors: the first (lowest enumeration index)
    F, FX = F[keep], FX[keep]
    o = np.lexsort((F[:, 2], F[:, 1], F[:, 0])) if len(F) else np.empty(0, int)
    F, FX = F[o], FX[o]
    n_w = len(parts[0]["workload_best_log10"])
    wbest: list[tuple[float, list[int]] | None] = [None] * n_w
    for p in parts:
        for w in range(n_w):
            v = p["workload_best_log10"][w]
            if v is not None and (wbest[w] is None or v < wbest[w][0]):
                wbest[w] = (v, p["workload_best_x"][w])
    opt: dict[str, Any] = {
        "scenario": scenario.name, "fingerprint": fp,
        "n_designs": int(sum(p["n_designs"] for p in parts)),
        "n_feasible": int(sum(p["n_feasible"] for p in parts)),
        "n_evaluated": int(sum(p.get("n_evaluated", p["n_designs"]) for p in parts)),
        "seconds": float(sum(p["seconds"] for p in parts)),
        "score": None, "x": None, "design": None, "metrics": None,
        "front": (10.0 ** F).tolist(), "front_x": FX.tolist(),
    }
    if best is not None:
        m = session.metrics(scenario, convention, np.asarray([best["best_x"]]))[0]
        opt.update(score=m["score"], x=best["best_x"], design=m["design"], metrics=m)
    base: dict[str, Any] = {"scenario": scenario.name, "fingerprint": fp,
                            "source": "enumeration", "designs": {}, "specialists": {}}
    names = None
    for w, item in enumerate(wbest):
        if item is None:
            continue
        m = session.metrics(scenario, convention, np.asarray([item[1]]))[0]
        names = m["workloads"]
        base["specialists"][names[w]] = m
    if names is not None:
        sizes = session.workload_sizes(scenario, convention)
        largest = names[int(np.argmax(sizes))]
        if largest in base["specialists"]:
            base["largest_workload"] = largest
            base["designs"][f"largest-workload ({largest})"] = base["specialists"][largest]
    return opt, base
