"""Throughput of the cimloop cost model: design-layer evaluations per second.

10,000 random designs of the paper's RRAM space (PAPER.md) x the 4 CNNs (resnet18, vgg16,
alexnet, mobilenet_v3), cold cache (packing memo cleared) and warm cache (same population
again, then a fresh random population that shares most keys). Needs the reference layer
table (../shared/reference/cimloop_layers.csv) for the layer shapes.

Usage: python benchmarks/bench_cimloop.py [--designs 10000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from problems.hardware.cimloop import evaluate_cimloop
from problems.hardware.design import DesignBatch
from problems.hardware.packing import clear_caches, pack
from problems.hardware.validation import load_layers
from problems.reference import reference_dir
from problems.workloads.stack import WorkloadStack

RRAM_SPACE: dict[str, list[float]] = {
    "voltage_v": [0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85],
    "bits_per_cell": list(range(1, 9)),
    "cycle_time_s": [1e-9, 2e-9, 4e-9, 6e-9, 8e-9, 10e-9],
    "xbar_rows": [32, 64, 128, 256, 512],
    "xbar_cols": [32, 64, 128, 256, 512],
    "router_groups": [1, 2, 4, 8, 16, 32],
    "tiles_per_group": [4, 8, 16, 32, 64],
    "macros_per_tile": [4, 8, 16, 32, 64, 128],
    "glb_bytes": [2**19 * 2**i for i in range(7)],
}
NETWORKS = ("resnet18", "vgg16", "alexnet", "mobilenet_v3")


def random_designs(n: int, rng: np.random.Generator) -> DesignBatch:
    """n designs drawn uniformly from the RRAM space (32 nm, 5-bit ADCs)."""
    params = {k: rng.choice(np.array(v), size=n) for k, v in RRAM_SPACE.items()}
    return DesignBatch.from_dict({"memory": 0, "technology_nm": 32.0, "adc_bits": 5,
                                  "adcs_per_macro": 16, **params})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    ref = reference_dir()
    if ref is None:
        print("reference layer table not found (set IMCOPT_REFERENCE)", file=sys.stderr)
        return 2
    wl = load_layers(ref / "cimloop_layers.csv")
    stack = WorkloadStack.of([wl[n] for n in NETWORKS])
    rng = np.random.default_rng(args.seed)
    designs = random_designs(args.designs, rng)
    pairs = len(designs) * stack.n_layers
    print(f"{len(designs)} designs x {stack.n_layers} layers ({', '.join(NETWORKS)}) "
          f"= {pairs:,} design-layer pairs")
    layers = {k: getattr(stack, k) for k in ("N", "C", "M", "R", "S", "P", "Q", "G")}

    def timed(label: str, fn) -> None:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        print(f"  {label:42s} {dt:7.3f} s   {pairs / dt:14,.0f} design-layers/s")

    def pack_only(d: DesignBatch):
        return lambda: pack(layers, d.is_sram, d.bits_per_cell, d.xbar_rows, d.xbar_cols,
                            d.macros_per_tile, d.tiles_per_group, d.router_groups)

    clear_caches()
    timed("packing only, cold cache", pack_only(designs))
    timed("packing only, warm cache", pack_only(designs))
    clear_caches()
    timed("full evaluate_cimloop, cold cache", lambda: evaluate_cimloop(designs, stack))
    timed("full evaluate_cimloop, warm cache", lambda: evaluate_cimloop(designs, stack))
    fresh = random_designs(args.designs, rng)
    timed("full evaluate_cimloop, new population", lambda: evaluate_cimloop(fresh, stack))
    res = evaluate_cimloop(designs, stack)
    print(f"  valid (all weights placed on every network): {res.valid.all(axis=1).mean():.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
