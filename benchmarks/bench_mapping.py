"""Benchmark of the physical convention's deployment options (issue 14): evaluation throughput
with the defaults and with each option on, in ONE run (ratios are what counts on a shared
machine), 10,000 random designs of the paper's RRAM space x the 4 CNNs. Target: every option
within 1.5x of the defaults' time. Best of ``--repeats`` CPU times (process_time).

    PYTHONPATH=. python benchmarks/bench_mapping.py [--designs 10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import time

from bench_physical import FOUR, random_rram_designs

OPTIONS: dict[str, dict[str, object] | None] = {
    "defaults": None,
    "one-per-group": {"packing": "one-per-group"},
    "co-resident": {"residency": "co-resident"},
    "per-workload": {"residency": "per-workload", "requests_between_switches": 100},
    "pipelined-batch16": {"execution": "pipelined", "batch": 16},
    "sequential-batch16": {"batch": 16},
    "all-on": {"residency": "per-workload", "requests_between_switches": 100,
               "execution": "pipelined", "batch": 16},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    from problems.hardware.deployment import Deployment
    from problems.hardware.physical import PhysicalModel
    from problems.workloads import WorkloadStack, load_workloads

    stack = WorkloadStack.of(load_workloads(list(FOUR)))
    designs = random_rram_designs(a.designs)
    out: dict[str, dict[str, float]] = {}
    for name, opts in OPTIONS.items():
        model = PhysicalModel(Deployment.from_dict(opts))
        model.evaluate(designs.take(slice(0, 100)), stack)      # warm-up
        best = float("inf")
        for _ in range(a.repeats):
            t = time.process_time()
            model.evaluate(designs, stack)
            best = min(best, time.process_time() - t)
        out[name] = {"cpu_s": best,
                     "design_layers_per_s": a.designs * stack.n_layers / best}
    base = out["defaults"]["cpu_s"]
    for name, r in out.items():
        r["time_vs_defaults"] = r["cpu_s"] / base
        print(f"{name:>20}: {r['design_layers_per_s']:.3e} design-layers/s CPU, "
              f"{r['time_vs_defaults']:.2f}x the defaults' time")
    worst = max(r["time_vs_defaults"] for r in out.values())
    print(json.dumps({"worst_ratio": worst, "target": 1.5, "ok": worst <= 1.5}))


if __name__ == "__main__":
    main()
