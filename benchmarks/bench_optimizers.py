"""Benchmark: optimizer quality against the exact optimum (rram-paper x paper-4 x max).

For every registered algorithm, ``--seeds`` runs of ``--budget`` evaluations each: median and
IQR of the gap to the exact optimum (``best / optimum - 1``), the share of seeds within 5 %,
and one-sided Mann-Whitney U tests of paper-ga (and tuned-ga) against ga and random-search.
Target: paper-ga (or the documented tuned-ga) within 5 % of the optimum in >= 80 % of seeds and
better than ga and random-search.

The exact optimum comes from `problems.exhaustive.exhaustive_search` (split over ``--jobs``
processes) and is cached in ``<cache_dir()>/optimum/`` (``$IMCOPT_CACHE_DIR`` or the user
cache folder).

    python benchmarks/bench_optimizers.py [--convention physical] [--seeds 20] [--budget 2800]
        [--jobs 2] [--algorithms paper-ga,ga,...] [--optimum VALUE] [--out results/...json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

_CTX: dict[str, Any] = {}


def _problem(space: str, workloads: str, aggregate: str, convention: str) -> Any:
    from problems.objectives import ObjectiveConfig
    from problems.problem import JointIMCProblem
    from problems.spaces import SearchSpace
    from problems.workloads import load_workloads

    return JointIMCProblem(SearchSpace.load(space), load_workloads(workloads),
                           ObjectiveConfig(aggregate=aggregate), convention=convention)


def _init(args: tuple[str, str, str, str]) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _CTX["problem"] = _problem(*args)


def _exhaustive_slice(bounds: tuple[int, int]) -> dict[str, Any]:
    from problems.exhaustive import exhaustive_search

    p = _CTX["problem"]
    res = exhaustive_search(p.space, p.stack, p.objective, p.convention, top_k=20,
                            progress=False, flat_range=bounds)
    return {"best": float(res.best_score),
            "x": None if res.best_x is None else res.best_x.tolist(),
            "top": [float(s) for s in res.top_scores], "n_feasible": int(res.n_feasible),
            "seconds": float(res.seconds)}


def _optimum_path(args: argparse.Namespace, problem: Any) -> Path:
    from problems.specialists import cache_dir, cache_key

    key = cache_key(problem.space, problem.stack, problem.objective, problem.convention)
    return Path(cache_dir()) / "optimum" / f"{args.aggregate}-{key}.json"


def _cached_optimum(args: argparse.Namespace, problem: Any) -> dict[str, Any] | None:
    path = _optimum_path(args, problem)
    return json.loads(path.read_text()) if path.is_file() else None


def exact_optimum(args: argparse.Namespace, problem: Any) -> dict[str, Any]:
    """The exact optimum (cached): {"best", "x", "top", "n_feasible", "seconds"}."""
    path = _optimum_path(args, problem)
    if path.is_file():
        return json.loads(path.read_text())
    size = problem.space.size
    n_slices = max(1, args.jobs) * 8
    bounds = [(k * size // n_slices, (k + 1) * size // n_slices) for k in range(n_slices)]
    t0 = time.time()
    init = (args.space, args.workloads, args.aggregate, args.convention)
    with Pool(args.jobs, initializer=_init, initargs=(init,)) as pool:
        parts = []
        for part in pool.imap_unordered(_exhaustive_slice, bounds):
            parts.append(part)
            print(f"  exhaustive: {len(parts)}/{n_slices} slices, {time.time() - t0:.0f} s",
                  file=sys.stderr, flush=True)
    best = min(parts, key=lambda d: d["best"])
    out = {"best": best["best"], "x": best["x"],
           "top": sorted(s for d in parts for s in d["top"])[:20],
           "n_feasible": sum(d["n_feasible"] for d in parts), "n_designs": size,
           "seconds": time.time() - t0, "space": args.space, "workloads": args.workloads,
           "aggregate": args.aggregate, "convention": args.convention}
    from problems.specialists import write_json_atomic

    write_json_atomic(path, out)
    return out


def _run_one(task: tuple[str, int, int]) -> dict[str, Any]:
    from study.algorithms import run_algorithm

    name, seed, budget = task
    t0 = time.time()
    arch = run_algorithm(name, _CTX["problem"], budget=budget, seed=seed)
    curve = arch.best_so_far()
    marks = [m for m in (budget // 4, budget // 2, 3 * budget // 4, budget) if m >= 1]
    return {"algorithm": name, "seed": seed, "n_eval": len(arch),
            "best": float(arch.best_score), "best_x": arch.X[arch.best()].tolist(),
            "curve": {str(m): float(curve[m - 1]) for m in marks},
            "seconds": time.time() - t0}


def _summary(runs: list[dict[str, Any]], optimum: float) -> dict[str, Any]:
    best = np.array([r["best"] for r in runs])
    gap = best / optimum - 1.0
    # a run without any feasible design has gap inf: keep it inf through the interpolation
    big = np.finfo(float).max / 4
    q25, q50, q75 = (float(np.inf) if q >= big else float(q)
                     for q in np.percentile(np.minimum(gap, big), [25, 50, 75]))
    return {"n_seeds": len(runs), "median_gap": float(q50), "iqr_gap": [float(q25), float(q75)],
            "within_5pct": float(np.mean(gap <= 0.05)), "exact_hits": float(np.mean(gap <= 1e-9)),
            "median_best": float(np.median(best)),
            "median_seconds": float(np.median([r["seconds"] for r in runs]))}


def _mannwhitney(by_algo: dict[str, list[dict[str, Any]]], a: str, b: str) -> dict[str, Any]:
    from scipy.stats import mannwhitneyu

    if a not in by_algo or b not in by_algo:
        return {}
    x = [r["best"] for r in by_algo[a]]
    y = [r["best"] for r in by_algo[b]]
    res = mannwhitneyu(x, y, alternative="less")
    return {"a": a, "b": b, "alternative": f"{a} < {b}", "U": float(res.statistic),
            "p_value": float(res.pvalue)}


def _finite(obj: Any) -> Any:
    """JSON-safe copy: non-finite floats (a run without a feasible design) become None."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON results."""
    from study.algorithms import ALGORITHMS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="rram-paper")
    ap.add_argument("--workloads", default="paper-4")
    ap.add_argument("--aggregate", default="max")
    ap.add_argument("--convention", default="physical")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budget", type=int, default=2800)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--algorithms", default=",".join(n for n in ALGORITHMS if n != "exhaustive"))
    ap.add_argument("--optimum", type=float, default=None, help="skip the enumeration")
    ap.add_argument("--optimum-only", action="store_true", help="only compute / cache it")
    ap.add_argument("--no-exhaustive", action="store_true",
                    help="without a cached exact optimum, score against the best design any "
                         "run found (labelled 'best-known', not an exact optimum)")
    ap.add_argument("--out", default="results/bench_optimizers.json")
    a = ap.parse_args(argv)
    names = [n for n in a.algorithms.split(",") if n]
    unknown = [n for n in names if n not in ALGORITHMS]
    if unknown:
        ap.error(f"unknown algorithm(s) {unknown}; allowed: {sorted(ALGORITHMS)}")

    init = (a.space, a.workloads, a.aggregate, a.convention)
    problem = _problem(*init)
    cached = _cached_optimum(a, problem)
    if a.optimum is not None:
        opt: dict[str, Any] | None = {"best": a.optimum, "x": None, "source": "--optimum"}
    elif cached is not None:
        opt = {**cached, "source": "exhaustive (cached)"}
    elif a.no_exhaustive:
        opt = None  # best-known, after the runs
    else:
        print(f"exact optimum of {a.space} x {a.workloads} x {a.aggregate} ({a.convention}) ...",
              file=sys.stderr)
        opt = {**exact_optimum(a, problem), "source": "exhaustive"}
    if opt is not None:
        print(f"optimum {opt['best']:.6g} at {opt.get('x')}", file=sys.stderr)
        if not np.isfinite(opt["best"]) or opt["best"] <= 0:
            print("no feasible design in the space: nothing to benchmark", file=sys.stderr)
            return 1
    if a.optimum_only:
        return 0

    tasks = [(n, s, a.budget) for n in names for s in range(a.seeds)]
    t0 = time.time()
    with Pool(a.jobs, initializer=_init, initargs=(init,)) as pool:
        runs = []
        for r in pool.imap_unordered(_run_one, tasks):
            runs.append(r)
            if len(runs) % 20 == 0:
                print(f"  {len(runs)}/{len(tasks)} runs, {time.time() - t0:.0f} s",
                      file=sys.stderr, flush=True)
    if opt is None:
        top = min(runs, key=lambda r: r["best"])
        opt = {"best": top["best"], "x": top["best_x"],
               "source": "best-known (min over all runs; NOT an exact optimum)"}
    optimum = float(opt["best"])
    by_algo: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for r in sorted(runs, key=lambda r: (r["algorithm"], r["seed"])):
        by_algo[r["algorithm"]].append(r)
    summary = {n: _summary(by_algo[n], optimum) for n in names}
    tests = [t for t in (_mannwhitney(by_algo, g, b) for g in ("paper-ga", "tuned-ga")
                         for b in ("ga", "random-search")) if t]

    print(f"\n{a.space} x {a.workloads} x {a.aggregate} ({a.convention}); reference "
          f"{optimum:.6g} [{opt['source']}]; {a.seeds} seeds x {a.budget} evaluations")
    print(f"{'algorithm':<15}{'median gap':>12}{'IQR':>22}{'<=5%':>7}{'exact':>7}{'s/run':>8}")
    for n in sorted(names, key=lambda n: summary[n]["median_gap"]):
        s = summary[n]
        iqr = f"[{100 * s['iqr_gap'][0]:.2f}, {100 * s['iqr_gap'][1]:.2f}]%"
        print(f"{n:<15}{100 * s['median_gap']:>11.2f}%{iqr:>22}{100 * s['within_5pct']:>6.0f}%"
              f"{100 * s['exact_hits']:>6.0f}%{s['median_seconds']:>8.1f}")
    for t in tests:
        print(f"Mann-Whitney {t['alternative']}: U = {t['U']:.0f}, p = {t['p_value']:.3g}")

    out = {"space": a.space, "workloads": a.workloads, "aggregate": a.aggregate,
           "convention": a.convention, "seeds": a.seeds, "budget": a.budget,
           "optimum": opt, "summary": summary, "mann_whitney": tests, "runs": runs,
           "wall_seconds": time.time() - t0}
    path = Path(a.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    from problems.specialists import write_json_atomic

    write_json_atomic(path, _finite(out))
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
