"""Lower bounds of the ``cimloop`` convention over a block of designs (`BlockBounds`).

A block shares its packing structure (`cimloop_counts.structures`: memory, weight slices,
crossbar, macros, tiles, groups), hence every action count; voltage, cycle time, node, GLB
size and ADC bits range over a box. Energy is sum_a count_a x energy_a (the leakage counts
scaled by the cycle time) with counts >= 0, and latency is busy cycles x cycle time, so the
minimum of each per-action energy over the block's probes (`CostModel.block_bounds`) bounds
every design's energy from below, and the shortest cycle time its latency. Minima over probes
are minima over the block because each per-action energy is monotone in each
``monotone_fields`` field (tests/test_bounds.py); area components are bounded separately.
"""

from __future__ import annotations

import numpy as np

from problems.hardware.cimloop_counts import structure_counts
from problems.hardware.design import DesignBatch
from problems.hardware.model import BlockBounds, area_range_mm2
from problems.workloads.stack import WorkloadStack


def block_bounds(probes: DesignBatch, starts: np.ndarray, stack: WorkloadStack,
                 q: dict[str, np.ndarray], actions: dict[str, tuple[str, str]],
                 totals: dict[str, np.ndarray]) -> BlockBounds:
    """Bounds of the blocks of ``probes`` (rows ``starts[b]:starts[b + 1]``, one structure
    each; checked input) from their probe quantities ``q`` (`cimloop.probe_quantities`), the
    convention's actions (action -> (count, feature)) and its design-independent counts per
    workload ``totals`` (passed in, so this module does not import the convention)."""
    lo = np.asarray(starts[:-1], dtype=np.int64)
    reps = probes.take(lo)
    counts = structure_counts(reps, stack)
    inv = counts["inverse"]
    n_b, n_w = lo.size, stack.n_workloads
    energy_j = np.zeros((n_b, n_w))
    for a, (c, _) in actions.items():
        e_min = np.minimum.reduceat(q[a], lo)
        cnt = np.broadcast_to(totals[c], (n_b, n_w)) if c in totals else counts[c][inv]
        energy_j += cnt * e_min[:, None]
    ct_min = np.minimum.reduceat(q["cycle_time_s"], lo)
    a_min, a_max = area_range_mm2(q, lo)
    placed = counts["placed"][inv]
    return BlockBounds(energy_j=energy_j, latency_s=counts["busy_s"][inv] * ct_min[:, None],
                       area_min_mm2=a_min, area_max_mm2=a_max, resident=placed)
