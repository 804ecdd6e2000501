"""Lower bounds of the ``physical`` convention over a block of designs (`BlockBounds`).

A block shares its structure (`factored.structure_keys`: memory, crossbar, bits per cell,
macros), hence every action count; voltage, cycle time, node, ADC and GLB size range over a
box. Energy is sum_a count_a x cost_a (+ the GLB spill x DRAM cost) with counts >= 0 and
latency is max(sum_l max(steps x t_bit, io x io_s + spill x dram_s), steps x t_bit) + loads:
both non-decreasing in every per-action cost and time and non-increasing in the GLB size
(spill). So a *synthetic* design holding each cost's minimum over the block and the block's
largest GLB, evaluated by the factored kernels (`factored._energy_latency`, the same
operations), bounds every design of the block from below. The minima are taken over the
probes (`CostModel.block_bounds`), valid because every cost is monotone in each
``monotone_fields`` field (tests/test_bounds.py). Area components are bounded the same way,
each separately (a sum of monotone terms need not be monotone).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from problems.hardware import factored
from problems.hardware.deployment import Deployment
from problems.hardware.design import DesignBatch
from problems.hardware.model import AREA_PREFIX, BlockBounds, area_range_mm2
from problems.hardware.physical_counts import workload_counts
from problems.workloads.stack import WorkloadStack


def block_bounds(probes: DesignBatch, starts: np.ndarray, stack: WorkloadStack,
                 dep: Deployment, q: dict[str, np.ndarray],
                 ACTIONS: tuple[tuple[str, str, str, str], ...],
                 ENERGY_KEYS: tuple[str, ...]) -> BlockBounds:
    """Bounds of the blocks of ``probes`` (rows ``starts[b]:starts[b + 1]``, one structure
    each; checked input, ``factored.supports(dep)``) from their probe quantities ``q``
    (`physical.probe_quantities`) and the convention's action table (passed in, so this
    module does not import it)."""
    lo = np.asarray(starts[:-1], dtype=np.int64)
    reps = probes.take(lo)
    first, inv = factored.structure_keys(reps)
    n = workload_counts(reps.take(first), stack, dep)
    cmin = {k: np.minimum.reduceat(np.asarray(v, float), lo) for k, v in q.items()
            if not k.startswith(AREA_PREFIX)}
    a_min, a_max = area_range_mm2(q, lo)
    # the synthetic design: the block's structure, its largest GLB (the least spill)
    syn = dataclasses.replace(reps, glb_bytes=np.maximum.reduceat(probes.glb_bytes, lo))
    energy_j, lat = factored._energy_latency(syn, inv, n, stack, dep, cmin, ACTIONS,
                                             ENERGY_KEYS)
    latency_s = lat["compute"] + lat["io_stall"] + lat["weight_load"]
    return BlockBounds(energy_j=energy_j, latency_s=latency_s, area_min_mm2=a_min,
                       area_max_mm2=a_max, resident=n["weights_resident"][inv])
