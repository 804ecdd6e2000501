"""What the workload asks of each design under the ``physical`` convention: the action counts
(conversions, row activations, buffer bits...) of the weight-stationary mapping
(`problems.hardware.mapping`) under the deployment settings (`problems.hardware.deployment`).
Accounting decisions: `problems.hardware.physical`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from problems.hardware.deployment import Deployment
from problems.hardware.design import DesignBatch
from problems.hardware.mapping import KeyTiling, Mapping, Tiling, map_workloads
from problems.workloads.stack import WorkloadStack

ACCUMULATOR_BITS = 24       # partial-sum word in the output buffer (8b x 8b x up to 256 terms)


def _layer_constants(stack: WorkloadStack) -> dict[str, np.ndarray]:
    """Per-layer quantities that do not depend on the design (float arrays of (n_layers,))."""
    f = float
    N, C, M = stack.N.astype(f), stack.C.astype(f), stack.M.astype(f)
    R, S, P, Q = stack.R.astype(f), stack.S.astype(f), stack.P.astype(f), stack.Q.astype(f)
    G = stack.G.astype(f)
    ib, wb, ob = (stack.input_bits.astype(f), stack.weight_bits.astype(f),
                  stack.output_bits.astype(f))
    h_in = (P - 1) * stack.h_stride + (R - 1) * stack.h_dilation + 1
    w_in = (Q - 1) * stack.w_stride + (S - 1) * stack.w_dilation + 1
    pos = N * P * Q
    rows = C * R * S
    return {
        "rows": rows, "M": M, "G": G, "positions": pos, "input_bits": ib, "weight_bits": wb,
        "macs": stack.macs.astype(f), "weights": stack.weights.astype(f),
        "static": (~stack.dynamic).astype(f), "dynamic": stack.dynamic.astype(f),
        "input_tensor_bits": N * C * G * h_in * w_in * ib,
        "output_tensor_bits": N * M * G * P * Q * ob,
        "input_vector_bits": rows * G * pos * ib,     # im2col input bits, read once per row tile
        "outputs": M * G * pos,                       # output values (per column of weights)
    }


def _sum_w(per_layer: np.ndarray, stack: WorkloadStack) -> np.ndarray:
    """Sum (..., n_layers) over each workload's (contiguous) layers -> (..., n_workloads)."""
    return np.add.reduceat(per_layer, stack.offsets[:-1], axis=-1)


def _key_counts(t: Tiling, lc: dict[str, np.ndarray], stack: WorkloadStack
                ) -> dict[str, np.ndarray]:
    """Per mapping key of the tiling ``t``: the per-workload counts that depend on the key only
    (n_keys, n_workloads)."""
    memb = stack.membership                              # (n_layers, n_workloads)
    memb_static = memb * lc["static"][:, None]
    memb_dyn = memb * lc["dynamic"][:, None]
    slices_k, cols_k, rt_k, ct_k = t.slices, t.cols, t.row_tiles, t.col_tiles
    conv_k = rt_k * cols_k * lc["G"] * lc["positions"] * lc["input_bits"]
    return {
        "cell_reads": (lc["macs"] * lc["input_bits"] * slices_k * t.read_factor) @ memb,
        "conversions": conv_k @ memb,
        "row_activations": (ct_k * lc["input_vector_bits"]) @ memb,
        "psums": (rt_k * lc["outputs"]) @ memb,
        "cells_static": (lc["weights"] * slices_k) @ memb_static,
        "cells_dyn": (lc["weights"] * slices_k) @ memb_dyn,
        "cells_allocated": t.cells_allocated @ memb_static,
        "useful_cell_steps": (lc["rows"] * cols_k * lc["G"] * lc["positions"]
                              * lc["input_bits"]) @ memb,
    }


def workload_counts(designs: DesignBatch, stack: WorkloadStack,
                    deployment: Deployment | None = None,
                    mapping: Mapping | None = None,
                    tiling: KeyTiling | None = None) -> dict[str, np.ndarray]:
    """What the workload asks of each design under its mapping (`map_workloads`): action counts.

    Per-workload counts have shape (n_designs, n_workloads); per-layer ones carry the suffix
    ``_layer`` and have shape (n_designs, n_layers), or (n_layers,) when design-independent.
    The tiling depends only on (xbar_rows, xbar_cols, bits_per_cell), so it is tabulated once
    per unique combination and gathered. Keys: copies_layer, bit_steps_layer, bit_steps,
    spill_designs (designs whose GLB is smaller than some layer's input + output tensors, x the
    batch) and spill_bits_layer (their DRAM activation traffic), dram_spill_bits (n_d, n_w),
    written_designs (designs with a non-resident workload) and write_rows_static_layer (their
    sequential row writes per macro, static layers), dynamic_layers and
    write_rows_dynamic_layer (n_d, n_dynamic), dram_bits_layer, io_bits_layer, cell_reads,
    row_activations, conversions, shift_adds, psum_adds, input_buffer_read_bits,
    input_buffer_write_bits, output_buffer_bits, glb_read_bits, glb_write_bits, router_bits,
    dram_bits, cells_written_static, cells_written_dynamic, cells_written, arrays_needed,
    weights_resident, cell_utilisation (MAC utilisation: useful cell-steps / (cells on chip x
    bit steps), the value reported as ``CostResult.utilisation``), cell_occupancy (cells holding
    static weights, replicas included, / cells on chip; 1 when not resident), cells_allocated
    (crossbar cells of one copy of the static layers, wasted cells of packed groups included),
    switch_rows (per-workload residency: row writes per macro of one switch, (n_d, n_w)).
    Weight writes of not-resident static layers count once per ``deployment.batch``;
    ``per-workload`` switches add their writes / ``requests_between_switches``.
    ``tiling``: see `map_workloads` (ignored when ``mapping`` is given).
    """
    dep = deployment or Deployment()
    shared = tiling if mapping is None else None         # a block of a batch: derived once

    def derived(name: str, compute: Callable[[], dict[str, np.ndarray]]
                ) -> dict[str, np.ndarray]:
        return compute() if shared is None else shared.derive(name, compute)
    lc = derived("layer_constants", lambda: _layer_constants(stack))
    memb = stack.membership                              # (n_layers, n_workloads)
    static, dynamic = lc["static"], lc["dynamic"]
    memb_static = memb * static[:, None]
    d = designs
    mp = mapping if mapping is not None else map_workloads(d, stack, dep, tiling)
    t, inv = mp.tiling, mp.key
    tables = derived("key_counts", lambda: _key_counts(t, lc, stack))
    per_w = {k: v[inv] for k, v in tables.items()}       # (n_d, n_w)

    # ---- per design: residency, replication, passes, bit-serial steps ----------------------
    arrays_w, resident_w, copies_w, copies = mp.arrays_w, mp.resident_w, mp.copies_w, \
        mp.copies_layer
    dyn_idx = np.flatnonzero(dynamic > 0)
    q = np.ceil(lc["positions"] / copies)                # sequential MVMs per copy
    bit_steps = q * lc["input_bits"]
    big, passes_big = mp.big, mp.passes_big
    bit_steps[big] *= passes_big
    not_res = ~resident_w
    is_sram = d.is_sram[:, None]
    cells_static_w = per_w["cells_static"] * not_res
    glb_read = _sum_w(lc["input_tensor_bits"], stack)
    glb_write = _sum_w(lc["output_tensor_bits"], stack)
    # share of the chip's cells doing useful MACs, averaged over the bit steps:
    # sum(cells per copy x positions x input bits) / (cells on chip x sum(bit steps))
    steps_w = _sum_w(bit_steps, stack)
    util = per_w["useful_cell_steps"] / np.maximum(steps_w, 1.0) / d.n_cells[:, None]
    # sequential row writes per macro of the layers written at run time: static layers of
    # non-resident workloads (only on the designs that have one) and dynamic layers (all)
    min_rows_k = t.rows_per_array
    written_designs = np.flatnonzero(not_res.any(axis=1))
    wr_static = min_rows_k[inv[written_designs]] * static
    wr_dyn = min_rows_k[:, dyn_idx][inv]
    if big.size:
        passes_full = np.ones((len(d), stack.n_layers))
        passes_full[big] = passes_big
        wr_static *= passes_full[written_designs]
        wr_dyn *= passes_full[:, dyn_idx]

    # activations that do not fit in the GLB spill to DRAM: the excess of a layer's input +
    # output tensors is written out and read back (2 x excess bits); designs with a small GLB only
    io_bits = lc["input_tensor_bits"] + lc["output_tensor_bits"]
    # a sequential batch holds every request's tensors at once; a pipeline one per stage
    sequential_batch = dep.batch > 1 and dep.execution == "sequential"
    batch_io = io_bits * dep.batch if sequential_batch else io_bits
    glb_bits = d.glb_bytes.astype(float) * 8.0
    spill_designs = np.flatnonzero(glb_bits < batch_io.max())
    spill_layer = 2.0 * np.maximum(batch_io - glb_bits[spill_designs, None], 0.0)
    if sequential_batch:
        spill_layer /= dep.batch                         # per inference
    spill_w = np.zeros_like(arrays_w)
    spill_w[spill_designs] = _sum_w(spill_layer, stack)

    def row(x: np.ndarray) -> np.ndarray:                # design-independent (1, n_w)
        return np.asarray(x, dtype=float)[None, :]
    weight_bits_w = row(lc["weights"] * lc["weight_bits"] @ memb_static)
    dram_w = weight_bits_w * (not_res & is_sram)
    if dep.batch > 1:                                    # run-time weight loads per batch
        cells_static_w = cells_static_w / dep.batch
        dram_w = dram_w / dep.batch
    # per-workload residency: each switch to a resident workload rewrites all its copies
    # (layer after layer, every macro one row at a time), amortised over the requests
    switch_rows = np.zeros_like(arrays_w)
    switch_dram = np.zeros_like(arrays_w)
    cells_switch = np.zeros_like(arrays_w)
    if dep.residency == "per-workload" and stack.n_workloads > 1:
        per_req = 1.0 / dep.requests_per_switch(stack.names)[None, :]
        sw = resident_w * per_req
        cells_switch = per_w["cells_static"] * copies_w * sw
        switch_dram = weight_bits_w * sw              # new weights come from LPDDR4
        switch_rows = (min_rows_k * static) @ memb_static
        switch_rows = switch_rows[inv] * sw
    return {
        "copies_layer": copies, "bit_steps_layer": bit_steps, "bit_steps": steps_w,
        "written_designs": written_designs, "write_rows_static_layer": wr_static,
        "dynamic_layers": dyn_idx, "write_rows_dynamic_layer": wr_dyn,
        "dram_bits_layer": lc["weights"] * lc["weight_bits"] * static,
        "io_bits_layer": io_bits, "spill_designs": spill_designs,
        "spill_bits_layer": spill_layer, "dram_spill_bits": spill_w,
        "cell_reads": per_w["cell_reads"], "row_activations": per_w["row_activations"],
        "conversions": per_w["conversions"], "shift_adds": per_w["conversions"],
        "psum_adds": per_w["psums"] - row(lc["outputs"] @ memb),
        "input_buffer_read_bits": row(lc["input_vector_bits"] @ memb),
        "input_buffer_write_bits": row(glb_read),
        "output_buffer_bits": per_w["psums"] * ACCUMULATOR_BITS,
        "glb_read_bits": row(glb_read), "glb_write_bits": row(glb_write),
        "router_bits": row(glb_read + glb_write),
        "dram_bits": dram_w + switch_dram if switch_dram.any() else dram_w,
        "cells_written_static": cells_static_w, "cells_written_dynamic": per_w["cells_dyn"],
        "cells_written": cells_static_w + per_w["cells_dyn"] + cells_switch
        if cells_switch.any() else cells_static_w + per_w["cells_dyn"],
        "cells_written_switch": cells_switch, "switch_rows": switch_rows,
        "switch_dram_bits": switch_dram, "cells_allocated": per_w["cells_allocated"],
        "arrays_needed": arrays_w, "weights_resident": resident_w,
        "cell_utilisation": np.clip(util, 0.0, 1.0),
        "cell_occupancy": np.minimum(per_w["cells_static"] * copies_w / d.n_cells[:, None], 1.0),
    }
