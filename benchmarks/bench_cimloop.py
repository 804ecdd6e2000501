"""Throughput of both cost-model conventions, measured in ONE run: design-layer evaluations/s.

10,000 designs of the paper's RRAM space (PAPER.md) x the 4 CNNs of paper-4 (resnet18, vgg16,
alexnet, mobilenet_v3; 109 layers), evaluated by ``problems.hardware.cost.evaluate`` under
``physical`` and ``cimloop``, CPU time (process_time, best of --repeat) so a shared machine
inflates it less than wall time. Cases:

- ``random, cold``: a random population, every cache cleared (packing tables, count memo);
- ``random, again``: the same population again (a GA re-evaluating survivors);
- ``random, new``: a fresh random population (new structures, warm packing tables);
- ``enumeration``: --enum-designs consecutive designs of ``rram-paper`` in 20,000-design
  chunks (mixed-radix order, as the exhaustive search evaluates them), cold caches.

Then the start-up cost, separately: the first batch of a process from empty tables, for 1,000,
10,000 and 100,000 designs, and how many packing-table entries it had to compute (a bounded,
one-time cost per process and workload set: the whole rram-paper x paper-4 needs ~87,000).

Target (issue 12): cimloop >= 10 M design-layers/s per core (baseline "0.54-0.75 M": the warm
and new-population cases of this benchmark on the code of the time, 69b77ad, which measures
0.76 M and 0.47 M, and 0.33 M with empty caches), physical no slower than before.
The cimloop counts of new structures come from one compiled loop (`cimloop_kernel`) over
packing tables whose missing entries the compiled rule fills (`packing_kernel`); the per-design
energies and areas are computed once per distinct combination of the fields they depend on.

Usage: python benchmarks/bench_cimloop.py [--designs 10000] [--enum-designs 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

FOUR = ("resnet18", "vgg16", "alexnet", "mobilenet_v3")


def _clear() -> None:
    from problems.hardware.packing import clear_caches

    clear_caches()
    try:
        from problems.hardware.cimloop_counts import DEFAULT_MEMO
    except ImportError:     # older layouts without the count memo
        return
    DEFAULT_MEMO.clear()


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_physical import random_rram_designs

    from problems.hardware.cost import evaluate
    from problems.spaces import SearchSpace
    from problems.workloads.stack import WorkloadStack
    from problems.workloads.zoo import get_workload

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", type=int, default=10_000)
    ap.add_argument("--enum-designs", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    stack = WorkloadStack.of([get_workload(n) for n in FOUR])
    pop = random_rram_designs(a.designs, seed=0)
    space = SearchSpace.load("rram-paper")
    print(f"{a.designs} designs x {stack.n_layers} layers ({', '.join(FOUR)}); "
          f"CPU time, best of {a.repeat}")

    def cpu(fn, cold: bool) -> float:
        best = float("inf")
        for _ in range(a.repeat):
            if cold:
                _clear()
            c0 = time.process_time()
            fn()
            best = min(best, time.process_time() - c0)
        return best

    def enumerate_slice(conv: str) -> None:
        for i in range(0, a.enum_designs, 20_000):
            X = space.index_range(i, min(i + 20_000, a.enum_designs))
            evaluate(space.decode(X), stack, conv)

    seeds = iter(range(1, 10_000))
    cases = {
        "random, cold": (lambda conv: evaluate(pop, stack, conv), True, a.designs),
        "random, again": (lambda conv: evaluate(pop, stack, conv), False, a.designs),
        "random, new": (lambda conv: evaluate(random_rram_designs(a.designs, next(seeds)),
                                              stack, conv), False, a.designs),
        "enumeration": (enumerate_slice, True, a.enum_designs),
    }
    out = {}
    print(f"  {'case':16s} {'physical /s':>14s} {'cimloop /s':>14s} {'cimloop/physical':>17s}")
    for name, (fn, cold, n) in cases.items():
        evaluate(pop.take(slice(0, 50)), stack, "cimloop")   # imports, warm-up
        rate = {}
        for conv in ("physical", "cimloop"):
            if not cold:
                fn(conv)                                     # state the case assumes
            rate[conv] = n * stack.n_layers / cpu(lambda conv=conv, fn=fn: fn(conv), cold)
        out[name] = rate
        print(f"  {name:16s} {rate['physical']:14,.0f} {rate['cimloop']:14,.0f} "
              f"{rate['cimloop'] / rate['physical']:17.2f}")
    steady = [k for k in out if k != "random, cold"]
    short = [k for k in steady if out[k]["cimloop"] < 10e6]
    print(f"target cimloop >= 10,000,000 /s: met in {len(steady) - len(short)} of {len(steady)} "
          f"cases with tables" + (f" (not: {', '.join(short)})" if short else "")
          + f"; empty tables {out['random, cold']['cimloop']:,.0f} /s (see start-up)")
    print("start-up: the first batch of a process, empty tables (cimloop, CPU time, one run)")
    from problems.hardware.packing import DEFAULT_CACHE
    startup = {}
    for n in (1_000, 10_000, 100_000):
        batch = random_rram_designs(n, seed=1_000 + n)
        _clear()
        c0 = time.process_time()
        evaluate(batch, stack, "cimloop")
        cold_s = time.process_time() - c0
        entries = DEFAULT_CACHE.n_entries
        fresh = random_rram_designs(n, seed=2_000 + n)
        c0 = time.process_time()
        evaluate(fresh, stack, "cimloop")
        warm_s = time.process_time() - c0
        startup[n] = {"cold": n * stack.n_layers / cold_s, "entries": entries}
        print(f"  {n:>7,} designs: {startup[n]['cold']:12,.0f} /s ({cold_s:5.2f} s; the next "
              f"random batch of {n:,} {warm_s:5.2f} s), {entries:,} table entries computed")
    out["start-up"] = {f"{n} designs": round(v["cold"]) for n, v in startup.items()}
    print(json.dumps({k: {c: round(v) for c, v in r.items()} for k, r in out.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
