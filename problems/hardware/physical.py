"""PLACEHOLDER physical convention (to be replaced): crude ceil-based mapping."""

from __future__ import annotations

import numpy as np

from problems.hardware.design import DesignBatch
from problems.hardware.result import CostResult
from problems.workloads.stack import WorkloadStack


def evaluate_physical(designs: DesignBatch, stack: WorkloadStack,
                      breakdown: bool = False) -> CostResult:
    d = designs
    slices = -(-stack.weight_bits[None, :] // np.minimum(d.bits_per_cell[:, None], 8))
    rt = -(-stack.C * stack.R * stack.S // d.xbar_rows[:, None])
    ct = -(-stack.M * slices // d.xbar_cols[:, None])
    arrays = rt * ct * stack.G
    fits_layer = arrays <= d.n_macros[:, None]
    total_arrays = stack.per_workload(arrays.astype(float))
    resident = total_arrays <= d.n_macros[:, None]
    macs = stack.macs[None, :] * slices
    e = macs * 1e-13 * (d.voltage_v[:, None] / 0.7) ** 2 * (d.technology_nm[:, None] / 32)
    reps = np.maximum(1, d.n_macros[:, None] // np.maximum(arrays, 1))
    cyc = -(-(stack.P * stack.Q)[None, :] // reps) * 8 * np.maximum(1, arrays // d.n_macros[:, None])
    lat = cyc * np.maximum(d.cycle_time_s[:, None], 20e-9)
    area = d.n_macros * (d.xbar_rows * d.xbar_cols * 1e-7 + 0.01) * (d.technology_nm / 32) ** 2 \
        + d.glb_bytes / 2**20 * 2.0 * (d.technology_nm / 32) ** 2 + d.router_groups * 0.02
    E = stack.per_workload(e)
    L = stack.per_workload(lat)
    valid = stack.per_workload_all(fits_layer)
    util = np.clip(stack.per_workload(arrays.astype(float)) / d.n_macros[:, None], 0, 1)
    return CostResult("physical", tuple(stack.names), E, L, area, util, resident, valid)
