"""The ``physical`` accounting convention: what the hardware must do (default for new studies).

Two halves, kept apart:
- `workload_counts` (`physical_counts.py`) - what the workload asks: the weight-stationary mapping
  of every layer onto the crossbars and the resulting action counts (conversions, row
  activations, buffer bits...);
- `action_costs` - what each action costs on each design (from `components`).
`evaluate_physical` multiplies the two in an `ActionTable` (`problems.hardware.model`).
Everything is vectorized over designs x layers (arrays of shape (n_designs, n_layers)); sums
over layers go through ``stack.membership``.

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
- Mapping (placement, grouped-conv packing, residency, replication): `mapping.py`; deployment
  settings (residency policy, switches, pipelining, batch): `deployment.py`. Defaults: a
  workload's weights are resident when all its static layers' crossbars fit on the chip (each
  workload checked alone). Spare macros then hold ``floor(n_macros / arrays_needed)`` copies of
  every static layer (capped by its output positions) to process output positions in parallel.
  Resident weights (RRAM, or SRAM) are written once and amortised: no per-inference cost
  (``per-workload`` residency instead pays a rewrite per switch, / requests between switches).
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
  Latency of a workload = sum over its layers (``sequential``, default) or the pipelined time
  per inference (``pipelined``, `_pipelined`); run-time weight loads count once per batch.
- Not modelled: leakage (NeuroSim SRAM cell leakage ~9 pW/cell is negligible at these
  latencies), activation functions / pooling, control, off-chip activation I/O; RRAM endurance is
  reported (`deployment.lifetime_inferences`), not a cost.
"""

from __future__ import annotations

import numpy as np

from problems.errors import ImcoptError
from problems.hardware import components as comp
from problems.hardware.deployment import Deployment
from problems.hardware.design import DesignBatch
from problems.hardware.mapping import KeyTiling, tile_keys
from problems.hardware.model import AREA_PREFIX, ActionTable, BlockBounds, CostModel, Screen
from problems.hardware.physical_counts import ACCUMULATOR_BITS, _sum_w, workload_counts
from problems.hardware.result import CostResult
from problems.hardware.technology import check_node, check_voltage
from problems.workloads.stack import WorkloadStack

CONVENTION = "physical"
SHIFT_ADD_EXTRA_BITS = 16   # shift-add width = adc_bits + 16 (covers 8-b input x 8-b weight shifts)

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


def probe_quantities(designs: DesignBatch) -> dict[str, np.ndarray]:
    """Everything a block bound takes the minimum or maximum of over a block's probes (n,)
    each (`physical_bounds`): the per-action costs and the area components (``area:*``)."""
    return {**action_costs(designs),
            **{AREA_PREFIX + k: v for k, v in area_breakdown_mm2(designs).items()}}


def evaluate_physical(designs: DesignBatch, stack: WorkloadStack,
                      breakdown: bool = False,
                      deployment: Deployment | None = None) -> CostResult:
    """Energy, latency, area of every design on every workload under the physical convention
    (checked by `check_inputs`, then `_evaluate_unchecked`).

    Vectorized over designs x layers; large batches are processed in blocks of about
    BLOCK_ELEMENTS design-layer pairs so the temporaries stay cache-resident (a loop over
    blocks, not over designs).
    """
    check_inputs(designs, stack)
    return _evaluate_unchecked(designs, stack, breakdown, deployment or Deployment())


def _evaluate_unchecked(designs: DesignBatch, stack: WorkloadStack,
                        breakdown: bool, dep: Deployment) -> CostResult:
    block = max(1, BLOCK_ELEMENTS // stack.n_layers)
    costs = action_costs(designs)
    area = area_breakdown_mm2(designs)
    if len(designs) <= block:
        return _evaluate_block(designs, stack, breakdown, costs, area, dep)

    def sub(x: dict[str, np.ndarray], sl: slice) -> dict[str, np.ndarray]:
        return {k: v[sl] for k, v in x.items()}
    tiling = tile_keys(designs, stack, dep.packing)      # once for every block
    slices = (slice(i, i + block) for i in range(0, len(designs), block))
    parts = [_evaluate_block(designs.take(sl), stack, breakdown, sub(costs, sl), sub(area, sl),
                             dep, tiling) for sl in slices]
    return CostResult.concat(parts)


#: action -> (count key of `workload_counts`, per-action cost key of `action_costs`, component)
ACTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("cell_read", "cell_reads", "cell_read_j", "cells"),
    ("row_activation", "row_activations", "row_activation_j", "row_drivers"),
    ("column_read", "conversions", "column_j", "columns"),
    ("conversion", "conversions", "conversion_j", "adc"),
    ("shift_add", "shift_adds", "shift_add_j", "shift_add"),
    ("psum_add", "psum_adds", "psum_add_j", "shift_add"),
    ("input_buffer_read_bit", "input_buffer_read_bits", "input_buffer_read_bit_j",
     "input_buffer"),
    ("input_buffer_write_bit", "input_buffer_write_bits", "input_buffer_write_bit_j",
     "input_buffer"),
    ("output_buffer_bit", "output_buffer_bits", "output_buffer_bit_j", "output_buffer"),
    ("glb_read_bit", "glb_read_bits", "glb_read_bit_j", "glb"),
    ("glb_write_bit", "glb_write_bits", "glb_write_bit_j", "glb"),
    ("router_bit", "router_bits", "router_bit_j", "router"),
    ("dram_bit", "dram_bits_total", "dram_bit_j", "dram"),
    ("cell_write", "cells_written", "cell_write_j", "weight_write"),
)


def action_table(counts: dict[str, np.ndarray], costs: dict[str, np.ndarray]) -> ActionTable:
    """The physical convention's `ActionTable` from `workload_counts` and `action_costs`."""
    n_d, n_w = counts["cell_reads"].shape
    cnt = {a: np.broadcast_to(counts[k] if k != "dram_bits_total"
                              else counts["dram_bits"] + counts["dram_spill_bits"], (n_d, n_w))
           for a, k, _, _ in ACTIONS}
    return ActionTable(counts=cnt, energy_per_action_j={a: costs[k] for a, _, k, _ in ACTIONS},
                       component={a: part for a, _, _, part in ACTIONS})


def _evaluate_block(designs: DesignBatch, stack: WorkloadStack, breakdown: bool,
                    c: dict[str, np.ndarray], area: dict[str, np.ndarray],
                    dep: Deployment, tiling: KeyTiling | None = None) -> CostResult:
    """`evaluate_physical` on one block of designs, given its action costs, area and (for a
    block of a larger batch) the batch's tiling."""
    n = workload_counts(designs, stack, dep, tiling=tiling)

    def col(x: np.ndarray) -> np.ndarray:
        return x[:, None]

    energy = action_table(n, c).component_energy_j(ENERGY_KEYS)
    compute_w = n["bit_steps"] * col(c["bit_step_s"])
    io = np.outer(c["io_bit_s"], n["io_bits_layer"])
    sp = n["spill_designs"]
    io[sp] += n["spill_bits_layer"] * col(c["dram_bit_s"][sp])
    busy_layer = np.maximum(n["bit_steps_layer"] * col(c["bit_step_s"]), io)
    busy_w = _sum_w(busy_layer, stack)
    # weight load of a written layer: row-by-row array writes, pipelined with the DRAM stream
    # (SRAM static layers only); not overlapped with compute; once per batch
    load_w = np.zeros_like(compute_w)
    wd = n["written_designs"]
    if wd.size:
        load = n["write_rows_static_layer"] * col(c["row_write_s"][wd])
        dram_s = np.where(designs.is_sram[wd], c["dram_bit_s"][wd], 0.0)
        load = np.maximum(load, np.outer(dram_s, n["dram_bits_layer"]))
        load_w[wd] = _sum_w(load, stack) * ~n["weights_resident"][wd] / dep.batch
    dyn = n["dynamic_layers"]
    dyn_load = None
    if dyn.size:
        dyn_load = n["write_rows_dynamic_layer"] * col(c["row_write_s"])
        dyn_full = np.zeros((len(designs), stack.n_layers))  # a sum in numpy's order (not
        dyn_full[:, dyn] = dyn_load                          # BLAS): factored.py repeats it
        load_w += _sum_w(dyn_full, stack)
    stall_w = np.maximum(busy_w - compute_w, 0.0)        # clamp summation round-off
    if dep.execution == "pipelined":
        compute_w, stall_w, load_w = _pipelined(n, stack, dep, busy_layer, io, dyn_load,
                                                compute_w, stall_w, load_w)
    if dep.residency == "per-workload":                  # switch time, amortised per request
        load_w = load_w + np.maximum(n["switch_rows"] * col(c["row_write_s"]),
                                     n["switch_dram_bits"] * col(c["dram_bit_s"]))
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


def _pipelined(n: dict[str, np.ndarray], stack: WorkloadStack,
               dep: Deployment, busy_layer: np.ndarray, io: np.ndarray,
               dyn_load: np.ndarray | None, compute_w: np.ndarray, stall_w: np.ndarray,
               load_w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time per inference when the layers of resident workloads form a pipeline (ISAAC,
    Shafiee et al., ISCA 2016: crossbars dedicated to each layer, buffers between stages).

    Stage l = its busy time (compute, or activation transfer if longer) + its dynamic-operand
    writes. ``batch`` requests in flight: (fill + (batch - 1) x period) / batch, fill = sum of
    the stages (the sequential time, so batch 1 equals sequential), period = max(slowest
    stage, sum of the transfer times: the GLB and routers serve every stage). Returns the
    (compute, io_stall, weight_load) split of that time; not-resident workloads keep the
    sequential values. Stages are not balanced by extra replicas of slow layers (ISAAC does
    that): every layer has the workload's uniform copy count, so the period is conservative.
    """
    stage = busy_layer
    if dyn_load is not None:
        stage = stage.copy()
        stage[:, n["dynamic_layers"]] += dyn_load
    slowest = np.maximum.reduceat(stage, stack.offsets[:-1], axis=1)
    period = np.maximum(slowest, _sum_w(io, stack))
    b = float(dep.batch)
    fill_w = compute_w + stall_w + load_w                # the sequential time = sum of stages
    period = np.minimum(period, fill_w)                  # equal in exact arithmetic at most
    total = (fill_w + (b - 1.0) * period) / b
    res = n["weights_resident"]
    # split: compute share of the slowest stage's compute, the rest stall / operand writes
    frac_c = np.divide(compute_w, fill_w, out=np.zeros_like(fill_w), where=fill_w > 0)
    frac_l = np.divide(load_w, fill_w, out=np.zeros_like(fill_w), where=fill_w > 0)
    comp_p, load_p = total * frac_c, total * frac_l
    stall_p = np.maximum(total - comp_p - load_p, 0.0)
    return (np.where(res, comp_p, compute_w), np.where(res, stall_p, stall_w),
            np.where(res, load_p, load_w))


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


class PhysicalModel(CostModel):
    """The ``physical`` convention as a registered `CostModel`, under one `Deployment`
    (the registered instance: the defaults; `with_deployment` for another)."""

    name = CONVENTION
    description = "what the hardware must do (default for new studies)"
    source_files = ("physical.py", "physical_counts.py", "factored.py", "mapping.py",
                    "deployment.py", "components.py", "technology.py")
    data_files = ()
    structure_fields = ("memory", "xbar_rows", "xbar_cols", "bits_per_cell", "router_groups",
                        "tiles_per_group", "macros_per_tile")
    monotone_fields = ("technology_nm", "voltage_v", "cycle_time_s", "adc_bits",
                       "adcs_per_macro", "glb_bytes")

    def __init__(self, deployment: Deployment | None = None) -> None:
        self.deployment = deployment or Deployment()

    def with_deployment(self, deployment: Deployment | None) -> PhysicalModel:
        """This convention under other deployment settings."""
        return PhysicalModel(deployment)

    def check_designs(self, designs: DesignBatch) -> None:
        check_node(designs.technology_nm)
        check_voltage(designs.voltage_v)

    def check_workloads(self, stack: WorkloadStack) -> None:
        """Dynamic layers, any bit widths: all modelled."""

    def check(self, designs: DesignBatch, stack: WorkloadStack) -> None:
        if len(designs) == 0:
            raise ImcoptError("no designs to evaluate")
        check_inputs(designs, stack)

    def _evaluate(self, designs: DesignBatch, stack: WorkloadStack,
                  breakdown: bool) -> CostResult:
        return _evaluate_unchecked(designs, stack, breakdown, self.deployment)

    def evaluate_factored(self, designs: DesignBatch, stack: WorkloadStack,
                          screen: Screen | None = None) -> CostResult:
        """Counts once per structure (`problems.hardware.factored`), action costs only for the
        designs ``screen`` keeps; plain otherwise."""
        from problems.hardware import factored

        if not factored.supports(self.deployment):
            return self.evaluate(designs, stack)
        self.check(designs, stack)
        return factored.evaluate_factored(designs, stack, self.deployment, action_costs,
                                          area_breakdown_mm2(designs), ACTIONS, ENERGY_KEYS,
                                          screen)

    def block_bounds(self, probes: DesignBatch, starts: np.ndarray,
                     stack: WorkloadStack) -> BlockBounds | None:
        """`physical_bounds.block_bounds` (None for deployments the factored path lacks)."""
        from problems.hardware import factored, physical_bounds

        if not factored.supports(self.deployment):
            return None
        self.check(probes, stack)
        return physical_bounds.block_bounds(probes, starts, stack, self.deployment,
                                            probe_quantities(probes), ACTIONS, ENERGY_KEYS)

    def area_mm2(self, designs: DesignBatch) -> np.ndarray:
        """Sum of `area_breakdown_mm2` (the sum `evaluate` reports)."""
        return sum(area_breakdown_mm2(designs).values())
