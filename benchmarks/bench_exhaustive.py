"""Benchmark: exhaustive enumeration of a space (default: all of rram-paper x paper-4 x max).

Target: the whole rram-paper space (12,096,000 designs) x paper-4 x max in <= 10 min on one
core. ``--limit N`` enumerates only the first N designs (quick check); the time for the whole
space is then extrapolated linearly and printed as an estimate.

    python benchmarks/bench_exhaustive.py [--space rram-paper] [--workloads paper-4]
        [--aggregate max] [--convention physical] [--chunk 200000] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print wall time and designs/s (and a JSON line)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the target says
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    from problems.exhaustive import exhaustive_search
    from problems.objectives import ObjectiveConfig
    from problems.spaces import SearchSpace
    from problems.workloads import load_workloads

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="rram-paper")
    ap.add_argument("--workloads", default="paper-4")
    ap.add_argument("--aggregate", default="max")
    ap.add_argument("--convention", default="physical")
    ap.add_argument("--chunk", type=int, default=200_000)
    ap.add_argument("--limit", type=int, default=None, help="enumerate only the first N designs")
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)

    space = SearchSpace.load(a.space)
    workloads = load_workloads(a.workloads)
    stop = space.size if a.limit is None else min(space.size, a.limit)
    cpu0 = time.process_time()
    res = exhaustive_search(space, workloads, ObjectiveConfig(aggregate=a.aggregate),
                            a.convention, top_k=10, chunk=a.chunk, progress=not a.no_progress,
                            flat_range=(0, stop))
    cpu_s = time.process_time() - cpu0
    rate = res.n_designs / res.seconds
    full_s = space.size / rate
    print(f"space {space.name} ({space.size:,} designs) x {a.workloads} "
          f"({sum(w.n_layers for w in workloads)} layers) x {a.aggregate}, {a.convention}")
    print(f"enumerated {res.n_designs:,} designs in {res.seconds:.1f} s = {rate:,.0f} designs/s"
          f" (process CPU {cpu_s:.1f} s); feasible {res.n_feasible:,}; "
          f"front {res.front_x.shape[0]}")
    if stop < space.size:
        print(f"estimated whole space: {full_s:.0f} s ({full_s / 60:.1f} min)")
    print(f"best score {res.best_score:.6g}: {res.best_design}")
    print(json.dumps({"space": space.name, "workloads": a.workloads, "aggregate": a.aggregate,
                      "convention": a.convention, "n_designs": res.n_designs,
                      "seconds": round(res.seconds, 2),
                      "cpu_seconds": round(cpu_s, 2), "designs_per_s": round(rate),
                      "estimated_full_s": round(full_s, 1), "n_feasible": res.n_feasible,
                      "front_size": int(res.front_x.shape[0]), "best_score": res.best_score,
                      "python": platform.python_version()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
