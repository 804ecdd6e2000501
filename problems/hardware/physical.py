"""The ``physical`` accounting convention: what the hardware must do (default for new studies).

Two halves, kept apart:
- `workload_counts` - what the workload asks: the weight-stationary mapping of every layer onto
  the crossbars and the resulting action counts (conversions, row activations, buffer bits...);
- `action_costs` - what each action costs on each design (from `components`).
`evaluate_physical` multiplies the two. Everything is vectorized over designs x layers (arrays
of shape (n_designs, n_layers)); sums over layers go through ``stack.membership``.

Mapping and accounting decisions (the differences to the ``cimloop`` convention, CIMLOOP_MODEL §6):
- Each of a layer's G matrices (C*R*S rows x M*slices columns, slices = ceil(weight_bits /
  bits_per_cell)) is tiled onto ceil(rows/xbar_rows) x ceil(cols/xbar_cols) crossbars.
- Inputs are bit-serial: input_bits 1-bit steps per output position. One step takes
  max(cycle_time_s, ceil(xbar_cols / adcs_per_macro) x ADC conversion time): the macro's
  ``adcs_per_macro`` ADCs are shared by its columns; the cell read pulse lasts cycle_time_s and
  sample-and-hold lets the conversions of a step overlap the next read.
- Every converted column result is shifted and added (weight slices x input bits); partial sums
  of the row tiles are accumulated in the tile output buffer. Inputs are read once per row tile
  from the tile input buffer; the GLB holds activations (input and output tensors, once each);
  every GLB bit crosses one router.
- Residency: a workload's weights are resident when all its static layers' crossbars fit on the
  chip at once. Spare macros then hold ``floor(n_macros / arrays_needed)`` copies of every static
  layer (capped by its output positions) to process output positions in parallel.
  Resident weights (RRAM, or SRAM) are written once and amortised: no per-inference cost.
- Not resident: every static layer is (re)written each inference, without replication, in
  ceil(arrays / n_macros) passes when a single layer exceeds the chip. RRAM pays write-verify
  programming (energy and time); SRAM streams weights from LPDDR4 (8 pJ/bit, 12.8 GB/s) and
  writes the arrays; the DRAM transfer and the row-by-row array writes are pipelined
  (time = max of the two) but NOT overlapped with compute (the arrays being written are the
  ones computing). Such designs stay ``valid`` (finite costs); ``weights_resident`` is False and
  a problem definition decides whether that is infeasible (the RRAM problem does).
- Dynamic (attention) layers are written at run time from on-chip activations: RRAM programming
  or SRAM array writes, every inference, no DRAM traffic, no replication.
- Activations live in the GLB; when a layer's input + output tensors exceed it, the excess
  spills to LPDDR4 (written and read back: 2 x excess bits, energy and bandwidth).
- Latency of a layer = weight load + compute + the part of the GLB/router (and spill DRAM)
  transfer time that exceeds compute (activation traffic is otherwise overlapped).
  Latency of a workload = sum over its layers (layers run one after another, batch 1).
- Not modelled: leakage (NeuroSim SRAM cell leakage ~9 pW/cell is negligible at these
  latencies), activation functions / pooling, control, off-chip activation I/O, RRAM endurance.
"""

from __future__ import annotations

import numpy as np

from problems.errors import ImcoptError
from problems.hardware import components as comp
from problems.hardware.design import DesignBatch
from problems.hardware.result import CostResult
from problems.hardware.technology import check_node, check_voltage
from problems.workloads.stack import WorkloadStack

CONVENTION = "physical"
SHIFT_ADD_EXTRA_BITS = 16   # shift-add width = adc_bits + 16 (covers 8-b input x 8-b weight shifts)
ACCUMULATOR_BITS = 24       # partial-sum word in the output buffer (8b x 8b x up to 256 terms)

ENERGY_KEYS = ("cells", "row_drivers", "columns", "adc", "shift_add", "input_buffer",
               "output_buffer", "glb", "router", "dram", "weight_write")
AREA_KEYS = ("cells", "adc", "row_drivers", "column_periphery", "shift_add", "tile_buffers",
             "glb", "routers")
LATENCY_KEYS = ("compute", "io_stall", "weight_load")
BLOCK_ELEMENTS = 1 << 16    # design x layer pairs per block (~1 MB per float64 temporary)


def check_inputs(designs: DesignBatch, stack: WorkloadStack) -> None:
    """Checks beyond DesignBatch's: node range, supply range, bits_per_cell <= weight bits."""
    check_node(designs.technology_nm)
    check_voltage(designs.voltage_v)
    wb_min = int(stack.weight_bits.min())
    if np.any(designs.bits_per_cell > wb_min):
        bad = int(designs.bits_per_cell[designs.bits_per_cell > wb_min][0])
        raise ImcoptError(f"design parameter bits_per_cell = {bad} exceeds the workloads' "
                          f"weight bits; allowed range [1, {wb_min}]")


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


def _mapping_keys(designs: DesignBatch) -> tuple[np.ndarray, np.ndarray]:
    """Unique (xbar_rows, xbar_cols, bits_per_cell) combinations and each design's index."""
    d = designs
    key = (d.xbar_rows * 8193 + d.xbar_cols) * 9 + d.bits_per_cell
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    return first, inv.reshape(-1)


def workload_counts(designs: DesignBatch, stack: WorkloadStack) -> dict[str, np.ndarray]:
    """What the workload asks of each design: mapping and action counts.

    Per-workload counts have shape (n_designs, n_workloads); per-layer ones carry the suffix
    ``_layer`` and have shape (n_designs, n_layers), or (n_layers,) when design-independent.
    The tiling depends only on (xbar_rows, xbar_cols, bits_per_cell), so it is tabulated once
    per unique combination and gathered. Keys: copies_layer, bit_steps_layer, bit_steps,
    spill_designs (designs whose GLB is smaller than some layer's input + output tensors) and
    spill_bits_layer (their DRAM activation traffic), dram_spill_bits (n_d, n_w),
    written_designs (designs with a non-resident workload) and write_rows_static_layer (their
    sequential row writes per macro, static layers), dynamic_layers and
    write_rows_dynamic_layer (n_d, n_dynamic), dram_bits_layer, io_bits_layer, cell_reads,
    row_activations, conversions, shift_adds, psum_adds, input_buffer_read_bits,
    input_buffer_write_bits, output_buffer_bits, glb_read_bits, glb_write_bits, router_bits,
    dram_bits, cells_written_static, cells_written_dynamic, cells_written, arrays_needed,
    weights_resident, cell_utilisation (MAC utilisation: useful cell-steps / (cells on chip x
    bit steps), the value reported as ``CostResult.utilisation``), cell_occupancy (cells holding
    static weights, replicas included, / cells on chip; 1 when not resident).
    """
    lc = _layer_constants(stack)
    memb = stack.membership                              # (n_layers, n_workloads)
    static, dynamic = lc["static"], lc["dynamic"]
    memb_static = memb * static[:, None]
    memb_dyn = memb * dynamic[:, None]
    d = designs
    # ---- per mapping key k: tiling of every layer, (n_keys, n_layers) -------------------------
    first, inv = _mapping_keys(d)
    xr_k = d.xbar_rows[first].astype(float)[:, None]
    xc_k = d.xbar_cols[first].astype(float)[:, None]
    slices_k = np.ceil(lc["weight_bits"] / d.bits_per_cell[first].astype(float)[:, None])
    cols_k = lc["M"] * slices_k                          # columns of one group's matrix
    rt_k = np.ceil(lc["rows"] / xr_k)                    # row tiles
    ct_k = np.ceil(cols_k / xc_k)                        # column tiles
    arrays_k = rt_k * ct_k * lc["G"]                     # crossbars of one copy of the layer
    conv_k = rt_k * cols_k * lc["G"] * lc["positions"] * lc["input_bits"]
    tables = {
        "arrays_w": arrays_k @ memb_static,
        "cell_reads": (lc["macs"] * lc["input_bits"] * slices_k) @ memb,
        "conversions": conv_k @ memb,
        "row_activations": (ct_k * lc["input_vector_bits"]) @ memb,
        "psums": (rt_k * lc["outputs"]) @ memb,
        "cells_static": (lc["weights"] * slices_k) @ memb_static,
        "cells_dyn": (lc["weights"] * slices_k) @ memb_dyn,
        "useful_cell_steps": (lc["rows"] * cols_k * lc["G"] * lc["positions"]
                              * lc["input_bits"]) @ memb,
    }
    per_w = {k: v[inv] for k, v in tables.items()}       # (n_d, n_w)

    # ---- per design: residency, replication, passes, bit-serial steps ----------------------
    nm = d.n_macros.astype(float)[:, None]
    arrays_w = per_w["arrays_w"]
    resident_w = arrays_w <= nm
    copies_w = np.where(resident_w, np.floor(nm / np.maximum(arrays_w, 1.0)), 1.0)
    # copies of each static layer process output positions in parallel; dynamic layers have one
    copies = np.take(copies_w, stack.workload_index, axis=1)
    dyn_idx = np.flatnonzero(dynamic > 0)
    copies[:, dyn_idx] = 1.0
    q = np.ceil(lc["positions"] / copies)                # sequential MVMs per copy
    bit_steps = q * lc["input_bits"]
    # a layer larger than the whole chip runs in ceil(arrays / n_macros) passes (rare: done on
    # the affected designs only)
    big = np.flatnonzero(arrays_k.max(axis=1)[inv] > nm[:, 0])
    passes_big = np.ceil(arrays_k[inv[big]] / nm[big])
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
    min_rows_k = np.minimum(lc["rows"], xr_k)
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
    glb_bits = d.glb_bytes.astype(float) * 8.0
    spill_designs = np.flatnonzero(glb_bits < io_bits.max())
    spill_layer = 2.0 * np.maximum(io_bits - glb_bits[spill_designs, None], 0.0)
    spill_w = np.zeros_like(arrays_w)
    spill_w[spill_designs] = _sum_w(spill_layer, stack)

    def row(x: np.ndarray) -> np.ndarray:                # design-independent (1, n_w)
        return np.asarray(x, dtype=float)[None, :]
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
        "dram_bits": row(lc["weights"] * lc["weight_bits"] @ memb_static) * (not_res & is_sram),
        "cells_written_static": cells_static_w, "cells_written_dynamic": per_w["cells_dyn"],
        "cells_written": cells_static_w + per_w["cells_dyn"],
        "arrays_needed": arrays_w, "weights_resident": resident_w,
        "cell_utilisation": np.clip(util, 0.0, 1.0),
        "cell_occupancy": np.minimum(per_w["cells_static"] * copies_w / d.n_cells[:, None], 1.0),
    }


def tile_buffer_bits(designs: DesignBatch) -> tuple[np.ndarray, np.ndarray]:
    """Input / output buffer capacity per tile in bits: 8 b x macros_per_tile x rows / columns
    (the paper's sizing: width 8 x macros_per_tile, depth xbar_rows / xbar_cols)."""
    mit = designs.macros_per_tile.astype(float)
    return 8.0 * mit * designs.xbar_rows, 8.0 * mit * designs.xbar_cols


def action_costs(designs: DesignBatch) -> dict[str, np.ndarray]:
    """What each action costs on each design: per-action energy (J) and time (s), shape (n_d,)."""
    d = designs
    t, v = d.technology_nm, d.voltage_v
    sram = d.is_sram
    bpc = d.bits_per_cell.astype(float)
    cap_in, cap_out = tile_buffer_bits(d)
    glb_bits = d.glb_bytes * 8.0
    t_conv = comp.adc_conversion_time_s(t)
    t_bit = np.maximum(d.cycle_time_s, np.ceil(d.xbar_cols / d.adcs_per_macro) * t_conv)
    io_bit_s = np.maximum(1.0 / comp.glb_bandwidth_bits_per_s(t, v),
                          1.0 / comp.router_bandwidth_bits_per_s(d.router_groups, t, v))
    cell_read = np.where(sram, comp.sram_cell_read_energy_j(t, v),
                         comp.rram_cell_read_energy_j(d.cycle_time_s))
    cell_write = np.where(sram, bpc * comp.sram_write_energy_per_bit_j(d.xbar_rows, t, v),
                          comp.rram_program_energy_j(d.bits_per_cell))
    row_write_s = np.where(sram, comp.sram_write_row_time_s(t, v),
                           comp.rram_program_row_time_s(d.bits_per_cell))
    return {
        "cell_read_j": cell_read,
        "row_activation_j": comp.INPUT_ONE_FRACTION
        * comp.row_activation_energy_j(d.xbar_cols, t, v),
        "column_j": comp.column_read_energy_j(d.xbar_rows, t, v),
        "conversion_j": comp.adc_energy_j(d.adc_bits, t),
        "shift_add_j": comp.shift_add_energy_j(d.adc_bits + SHIFT_ADD_EXTRA_BITS, t, v),
        "psum_add_j": comp.shift_add_energy_j(ACCUMULATOR_BITS, t, v),
        "input_buffer_read_bit_j": comp.buffer_read_energy_per_bit_j(cap_in, t, v),
        "input_buffer_write_bit_j": comp.buffer_write_energy_per_bit_j(cap_in, t, v),
        "output_buffer_bit_j": comp.buffer_read_energy_per_bit_j(cap_out, t, v)
        + comp.buffer_write_energy_per_bit_j(cap_out, t, v),
        "glb_read_bit_j": comp.buffer_read_energy_per_bit_j(glb_bits, t, v),
        "glb_write_bit_j": comp.buffer_write_energy_per_bit_j(glb_bits, t, v),
        "router_bit_j": comp.router_energy_per_bit_j(t, v),
        "dram_bit_j": np.full(len(d), comp.dram_energy_per_bit_j()),
        "cell_write_j": cell_write,
        "bit_step_s": t_bit,
        "io_bit_s": io_bit_s,
        "dram_bit_s": np.full(len(d), 1.0 / comp.dram_bandwidth_bits_per_s()),
        "row_write_s": row_write_s,
    }


def area_breakdown_mm2(designs: DesignBatch) -> dict[str, np.ndarray]:
    """Chip area per component (mm^2, shape (n_d,)); the values sum to the chip area."""
    d = designs
    t = d.technology_nm
    nm = d.n_macros.astype(float)
    cap_in, cap_out = tile_buffer_bits(d)
    sram_bits = np.where(d.is_sram, d.bits_per_cell, 1)  # an SRAM "cell" of b bits = b bit-cells
    return {
        "cells": nm * d.xbar_rows * d.xbar_cols * sram_bits * comp.cell_area_mm2(d.memory, t),
        "adc": nm * d.adcs_per_macro * comp.adc_area_mm2(d.adc_bits, t),
        "row_drivers": nm * comp.row_driver_area_mm2(d.xbar_rows, t),
        "column_periphery": nm * comp.column_periphery_area_mm2(d.xbar_cols, t),
        "shift_add": nm * d.adcs_per_macro
        * comp.shift_add_area_mm2(d.adc_bits + SHIFT_ADD_EXTRA_BITS, t),
        "tile_buffers": d.n_tiles * (comp.buffer_area_mm2(cap_in, t)
                                     + comp.buffer_area_mm2(cap_out, t)),
        "glb": comp.buffer_area_mm2(d.glb_bytes * 8.0, t),
        "routers": d.router_groups * comp.router_area_mm2(t),
    }


def evaluate_physical(designs: DesignBatch, stack: WorkloadStack,
                      breakdown: bool = False) -> CostResult:
    """Energy, latency, area of every design on every workload under the physical convention.

    Vectorized over designs x layers; large batches are processed in blocks of about
    BLOCK_ELEMENTS design-layer pairs so the temporaries stay cache-resident (a loop over
    blocks, not over designs).
    """
    check_inputs(designs, stack)
    block = max(1, BLOCK_ELEMENTS // stack.n_layers)
    costs = action_costs(designs)
    area = area_breakdown_mm2(designs)
    if len(designs) <= block:
        return _evaluate_block(designs, stack, breakdown, costs, area)

    def sub(x: dict[str, np.ndarray], sl: slice) -> dict[str, np.ndarray]:
        return {k: v[sl] for k, v in x.items()}
    parts = [_evaluate_block(designs.take(sl), stack, breakdown, sub(costs, sl), sub(area, sl))
             for sl in (slice(i, i + block) for i in range(0, len(designs), block))]
    return CostResult.concat(parts)


def _evaluate_block(designs: DesignBatch, stack: WorkloadStack, breakdown: bool,
                    c: dict[str, np.ndarray], area: dict[str, np.ndarray]) -> CostResult:
    """`evaluate_physical` on one block of designs, given its action costs and area."""
    n = workload_counts(designs, stack)
    memb = stack.membership

    def col(x: np.ndarray) -> np.ndarray:
        return x[:, None]

    energy = {
        "cells": n["cell_reads"] * col(c["cell_read_j"]),
        "row_drivers": n["row_activations"] * col(c["row_activation_j"]),
        "columns": n["conversions"] * col(c["column_j"]),
        "adc": n["conversions"] * col(c["conversion_j"]),
        "shift_add": n["shift_adds"] * col(c["shift_add_j"])
        + n["psum_adds"] * col(c["psum_add_j"]),
        "input_buffer": n["input_buffer_read_bits"] * col(c["input_buffer_read_bit_j"])
        + n["input_buffer_write_bits"] * col(c["input_buffer_write_bit_j"]),
        "output_buffer": n["output_buffer_bits"] * col(c["output_buffer_bit_j"]),
        "glb": n["glb_read_bits"] * col(c["glb_read_bit_j"])
        + n["glb_write_bits"] * col(c["glb_write_bit_j"]),
        "router": n["router_bits"] * col(c["router_bit_j"]),
        "dram": (n["dram_bits"] + n["dram_spill_bits"]) * col(c["dram_bit_j"]),
        "weight_write": n["cells_written"] * col(c["cell_write_j"]),
    }
    compute_w = n["bit_steps"] * col(c["bit_step_s"])
    io = np.outer(c["io_bit_s"], n["io_bits_layer"])
    sp = n["spill_designs"]
    io[sp] += n["spill_bits_layer"] * col(c["dram_bit_s"][sp])
    busy_w = _sum_w(np.maximum(n["bit_steps_layer"] * col(c["bit_step_s"]), io), stack)
    # weight load of a written layer: row-by-row array writes, pipelined with the DRAM stream
    # (SRAM static layers only); not overlapped with compute
    load_w = np.zeros_like(compute_w)
    wd = n["written_designs"]
    if wd.size:
        load = n["write_rows_static_layer"] * col(c["row_write_s"][wd])
        dram_s = np.where(designs.is_sram[wd], c["dram_bit_s"][wd], 0.0)
        load = np.maximum(load, np.outer(dram_s, n["dram_bits_layer"]))
        load_w[wd] = _sum_w(load, stack) * ~n["weights_resident"][wd]
    dyn = n["dynamic_layers"]
    if dyn.size:
        load = n["write_rows_dynamic_layer"] * col(c["row_write_s"])
        load_w += load @ memb[dyn]
    stall_w = np.maximum(busy_w - compute_w, 0.0)        # clamp summation round-off
    latency = {"compute": compute_w, "io_stall": stall_w, "weight_load": load_w}

    energy_j = sum(energy.values())
    latency_s = compute_w + stall_w + load_w
    area_mm2 = sum(area.values())
    resident = n["weights_resident"]
    return CostResult(
        convention=CONVENTION, workloads=tuple(stack.names),
        energy_j=energy_j, latency_s=latency_s, area_mm2=area_mm2,
        utilisation=n["cell_utilisation"], weights_resident=resident,
        valid=np.ones_like(resident, dtype=bool),
        energy_breakdown_j=energy if breakdown else None,
        area_breakdown_mm2=area if breakdown else None,
        latency_breakdown_s=latency if breakdown else None,
    )


def macro_figures(designs: DesignBatch, input_bits: int = 8,
                  weight_bits: int = 8) -> dict[str, np.ndarray]:
    """Macro-level figures of one fully used crossbar (array + drivers + ADCs + shift-add).

    One MVM = ``input_bits`` bit-serial steps over all rows and the columns that hold whole
    weights. Returns energy_per_mvm_j, mvm_latency_s, macs_per_mvm, area_mm2, tops_per_w,
    tops_per_mm2 (op = 2 MAC), each of shape (n_d,).
    """
    if not 1 <= input_bits <= 16 or not 1 <= weight_bits <= 16:
        raise ImcoptError("input_bits and weight_bits must be in [1, 16]")
    d = designs
    if np.any(d.bits_per_cell > weight_bits):
        raise ImcoptError(f"design parameter bits_per_cell exceeds weight_bits; allowed range "
                          f"[1, {weight_bits}]")
    c = action_costs(d)
    slices = np.ceil(weight_bits / d.bits_per_cell)
    outs = np.floor(d.xbar_cols / slices)
    if np.any(outs < 1):
        raise ImcoptError("design parameter xbar_cols is smaller than the weight slices")
    cols = outs * slices
    rows = d.xbar_rows.astype(float)
    conv = cols * input_bits
    energy = (rows * cols * input_bits * c["cell_read_j"] + rows * input_bits
              * c["row_activation_j"] + conv * (c["column_j"] + c["conversion_j"]
                                                + c["shift_add_j"]))
    latency = input_bits * c["bit_step_s"]
    a = area_breakdown_mm2(d)
    area_macro = (a["cells"] + a["adc"] + a["row_drivers"] + a["column_periphery"]
                  + a["shift_add"]) / d.n_macros
    macs = rows * outs
    return {
        "energy_per_mvm_j": energy, "mvm_latency_s": latency, "macs_per_mvm": macs,
        "area_mm2": area_macro, "tops_per_w": 2 * macs / energy / 1e12,
        "tops_per_mm2": 2 * macs / latency / area_macro / 1e12,
    }
