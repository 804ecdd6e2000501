"""Benchmark of the ``physical`` cost model.

1. Speed: design-layer evaluations per second for 10,000 random designs of the paper's RRAM
   space (PAPER.md) x the 4 CNNs (ResNet18, VGG16, AlexNet, MobileNetV3), physical and cimloop
   in the same run; target >= 5e6 / s on one core. CPU time (process_time) is reported beside
   wall time, since a shared machine inflates the latter.
2. Memory: peak memory of 100,000 designs x the 9 networks through
   ``problems.hardware.cost.evaluate_chunked``; target < 2 GB (tracemalloc peak of numpy
   allocations, and the process's maximum resident set size).

    python benchmarks/bench_physical.py [--designs 10000] [--memory-designs 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
import tracemalloc

FOUR = ("resnet18", "vgg16", "alexnet", "mobilenet_v3")
NINE = FOUR + ("gpt2_medium", "mobilebert", "densenet201", "resnet50", "vit_b16")


def random_rram_designs(n: int, seed: int = 0):
    """``n`` random designs of the paper's RRAM space (PAPER.md, search-space table)."""
    import numpy as np

    from problems.hardware.design import DesignBatch

    rng = np.random.default_rng(seed)
    return DesignBatch.from_dict(dict(
        memory="RRAM", technology_nm=32.0,
        voltage_v=rng.choice(np.round(np.arange(0.50, 0.851, 0.05), 2), n),
        bits_per_cell=rng.integers(1, 9, n),
        cycle_time_s=rng.choice([1, 2, 4, 6, 8, 10], n) * 1e-9,
        xbar_rows=rng.choice([32, 64, 128, 256, 512], n),
        xbar_cols=rng.choice([32, 64, 128, 256, 512], n),
        router_groups=rng.choice([1, 2, 4, 8, 16, 32], n),
        tiles_per_group=rng.choice([4, 8, 16, 32, 64], n),
        macros_per_tile=rng.choice(np.arange(4, 129, 4), n),
        glb_bytes=(rng.choice(np.arange(1, 65), n) * 2**19).astype(np.int64),
    ))


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print them (plus one JSON line)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    from problems.hardware.cost import evaluate, evaluate_chunked
    from problems.workloads.stack import WorkloadStack
    from problems.workloads.zoo import get_workload

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", type=int, default=10_000)
    ap.add_argument("--memory-designs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args(argv)

    four = WorkloadStack.of([get_workload(n) for n in FOUR])
    designs = random_rram_designs(a.designs)
    pairs = a.designs * four.n_layers
    speed = {}
    print(f"speed: {a.designs} designs x {four.n_layers} layers ({', '.join(FOUR)}), both "
          f"conventions in this run (cimloop: warm caches, see bench_cimloop.py for more)")
    for conv in ("physical", "cimloop"):
        evaluate(designs, four, conv)                       # warm-up (and cimloop's caches)
        best_cpu = best_wall = float("inf")
        for _ in range(a.repeat):
            c0, w0 = time.process_time(), time.perf_counter()
            evaluate(designs, four, conv)
            best_cpu = min(best_cpu, time.process_time() - c0)
            best_wall = min(best_wall, time.perf_counter() - w0)
        speed[conv] = (pairs / best_cpu, pairs / best_wall)
        print(f"  {conv:9s} {pairs / best_cpu:14,.0f} design-layer evaluations / s of CPU time "
              f"({best_cpu:.3f} s); {pairs / best_wall:,.0f} / s wall ({best_wall:.3f} s)")
    print(f"  cimloop / physical: {speed['cimloop'][0] / speed['physical'][0]:.2f} (CPU); "
          f"target physical >= 5,000,000")

    nine = WorkloadStack.of([get_workload(n) for n in NINE])
    big = random_rram_designs(a.memory_designs, seed=1)
    tracemalloc.start()
    w0 = time.perf_counter()
    res = evaluate_chunked(big, nine, "physical")
    wall = time.perf_counter() - w0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    print(f"memory: {a.memory_designs} designs x {nine.n_layers} layers ({len(NINE)} networks) "
          f"via evaluate_chunked in {wall:.1f} s")
    print(f"  tracemalloc peak {peak / 2**20:,.0f} MiB; max RSS {rss / 2**20:,.0f} MiB; "
          f"target < 2048 MiB; result {res.energy_j.shape}")
    print(json.dumps({"evals_per_cpu_s": speed["physical"][0],
                      "evals_per_wall_s": speed["physical"][1],
                      "cimloop_evals_per_cpu_s": speed["cimloop"][0],
                      "peak_tracemalloc_mib": peak / 2**20, "max_rss_mib": rss / 2**20}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
