"""Benchmark of the exact enumeration (issue 12 targets), one run, ratios in that run.

For every target case it searches a slice of the space (``--limit`` designs, default 400,000;
``--full`` the whole space) twice: with the plain evaluation of every design
(`JointIMCProblem.factored = False`, the brute-force reference) and with the default search
(the branch and bound of `problems.branch_bound` on the factored evaluation); prints
designs/s, the ratio, the designs the branch and bound evaluated, whether both found the same
top-k, front and specialists, the CPU time of the slice and the extrapolated time of the whole
space (linear in the number of designs: pessimistic for the branch and bound, whose bounds
cost the same for a slice as for the space), and the peak RSS of the process.
``--jobs N`` with ``--full`` also times the default search on N processes (wall time).

Targets: rram-paper x paper-4 x max <= 5 s physical, <= 10 s cimloop; sram-paper-9 x paper-9 x
mean <= 10 s in both conventions; extended x paper-4 <= 10 min physical; peak memory <= 2 GB.

    python benchmarks/bench_exhaustive.py [--limit 400000] [--full] [--jobs 2] [--case NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

CASES = {  # name -> (space, workloads, aggregate, convention, target seconds)
    "rram4-max-physical": ("rram-paper", "paper-4", "max", "physical", 5.0),
    "rram4-max-cimloop": ("rram-paper", "paper-4", "max", "cimloop", 10.0),
    "sram9-mean-physical": ("sram-paper-9", "paper-9", "mean", "physical", 10.0),
    "sram9-mean-cimloop": ("sram-paper-9", "paper-9", "mean", "cimloop", 10.0),
    "extended4-max-physical": ("extended", "paper-4", "max", "physical", 600.0),
}


def _run(space, stack, cfg, convention: str, stop: int, factored: bool) -> tuple[float, float,
                                                                               object]:
    """(wall s, CPU s, result) of the enumeration of designs [0, stop)."""
    import problems.exhaustive as ex
    from problems.hardware.cimloop_counts import DEFAULT_MEMO
    from problems.problem import JointIMCProblem

    DEFAULT_MEMO.clear()                                 # both runs start cold

    old = JointIMCProblem.factored
    JointIMCProblem.factored = factored
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        res = ex.exhaustive_search(space, stack, cfg, convention, top_k=10, progress=False,
                                   flat_range=(0, stop))
        return time.perf_counter() - t0, time.process_time() - c0, res
    finally:
        JointIMCProblem.factored = old


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print one line per case and a JSON summary."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import numpy as np

    from problems.exhaustive import exhaustive_parallel
    from problems.objectives import ObjectiveConfig
    from problems.spaces import SearchSpace
    from problems.workloads import WorkloadStack, load_workloads

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=400_000)
    ap.add_argument("--full", action="store_true", help="enumerate the whole spaces")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--case", action="append", choices=sorted(CASES), default=None)
    ap.add_argument("--no-plain", action="store_true", help="skip the plain reference")
    a = ap.parse_args(argv)
    out = []
    for name in a.case or list(CASES):
        sp, wl, agg, conv, target = CASES[name]
        space = SearchSpace.load(sp)
        stack = WorkloadStack.of(load_workloads(wl))
        cfg = ObjectiveConfig(aggregate=agg)
        stop = space.size if a.full else min(space.size, a.limit)
        _run(space, stack, cfg, conv, min(stop, 2000), True)      # compile / warm caches
        row = {"case": name, "designs": stop, "space_size": space.size,
               "layers": stack.n_layers, "target_s": target}
        if not a.no_plain:
            wp, cp, rp = _run(space, stack, cfg, conv, stop, False)
        wf, cf, rf = _run(space, stack, cfg, conv, stop, True)
        row.update(factored_s=round(wf, 2), factored_cpu_s=round(cf, 2),
                   evaluated=rf.n_evaluated,
                   factored_designs_per_s=round(stop / wf),
                   design_layers_per_s=round(stop * stack.n_layers / wf),
                   est_full_cpu_s=round(cf * space.size / stop, 1))
        if not a.no_plain:
            same = (np.array_equal(rp.top_x, rf.top_x)
                    and np.array_equal(rp.top_scores, rf.top_scores)
                    and np.array_equal(rp.front_x, rf.front_x)
                    and np.array_equal(rp.workload_best_x, rf.workload_best_x)
                    and rp.n_feasible == rf.n_feasible)
            row.update(plain_s=round(wp, 2), speedup=round(wp / wf, 2), same_result=same)
        if a.jobs > 1:
            sub = space if stop == space.size else None
            if sub is not None:
                t0 = time.perf_counter()
                exhaustive_parallel(space, stack, cfg, conv, jobs=a.jobs, progress=False)
                row.update(parallel_wall_s=round(time.perf_counter() - t0, 2), jobs=a.jobs)
        row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        out.append(row)
        print(f"{name:28s} {stop:>12,} designs  search {wf:7.2f} s "
              f"({stop / wf:>10,.0f}/s, CPU {cf:6.2f} s, {rf.n_evaluated:,} evaluated)  "
              + (f"plain {row['plain_s']:7.2f} s  x{row['speedup']:.2f} same={row['same_result']}  "
                 if not a.no_plain else "")
              + f"whole space ~{row['est_full_cpu_s']:.0f} CPU-s (target {target:.0f} s)  "
              f"RSS {row['peak_rss_mb']} MB", flush=True)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
