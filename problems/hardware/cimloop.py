"""The ``cimloop`` accounting convention: what the paper's CiMLoop evaluator counted.

Reproduces CIMLOOP_MODEL.md (CM): cycles and utilisation exactly from the greedy spatial
packing (`packing.py`, CM §3.1-3.4), chip area from the component areas (`cimloop_area.py`,
CM §3.4, §5) and energy as an `ActionTable`: action counts from the packing x per-action
energies (`cimloop_components.py`). Constants the documentation cannot give (effective
activation traffic multipliers, undocumented CACTI / NeuroSim table cells, technology-node
factors) come from ``data/cimloop_calibration.json`` (`problems.hardware.calibration`); the
per-layer average input value that scales cell and row energies (CM §4) from CiMLoop's input
histograms (``data/cimloop_average_inputs.csv``; other workloads use the documented median).

Factored evaluation: the packing, and so every action count, depends only on the mapping
structure (memory, weight slices, crossbar rows / columns, macros, tiles, groups). Counts are
computed once per distinct structure of a batch and summed per workload; voltage, node, cycle
time, GLB size, ADC bits and bits per cell enter only through per-design energies per action.

As in CiMLoop, there is one ADC per column: ``adcs_per_macro`` is ignored (CM §6.4);
``adc_bits`` other than 5 rescales ADC energy and area by NeuroSim's resolution table (§5A).
Not modelled (rejected by `CimloopModel.check_workloads`): layers with other than 8-bit
weights / inputs / outputs (CiMLoop's runs are 8-bit, CM §2). Dynamic (activation x
activation) layers are counted as CiMLoop counted the matrix multiplies of its transformer
workloads (reference README: "the matrix multiplies of those transformers as conv-like
layers"): as weight layers, their run-time operand held in the arrays like weights (and, in
SRAM runs, fetched from DRAM like weights).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from problems.errors import ImcoptError
from problems.hardware import cimloop_components as cc
from problems.hardware.cimloop_area import (
    AREA_COMPONENTS,
    area_components_mm2,
    keyed_lookup,
    sram_row_key,
    sram_write_key,
    sram_write_node_key,
)
from problems.hardware.cimloop_counts import structure_counts, tensor_bits
from problems.hardware.cimloop_data import DATA_FILES, average_input_values, load_calibration
from problems.hardware.design import DesignBatch
from problems.hardware.model import AREA_PREFIX, ActionTable, BlockBounds, CostModel, Screen
from problems.hardware.result import CostResult
from problems.workloads.stack import WorkloadStack

CONVENTION = "cimloop"
#: also re-exported: the data readers other modules use (e.g. problems.hardware.snr)
__all__ = ["ACTIONS", "CONVENTION", "CimloopModel", "ENERGY_COMPONENTS", "TRAFFIC_FEATURES",
           "action_table", "average_input_values", "check_workloads", "energy_coefficients",
           "evaluate_cimloop", "feature_energies_j", "load_calibration",
           "raw_action_energies_j"]
#: energy components, in breakdown order
ENERGY_COMPONENTS: tuple[str, ...] = (
    "cell_read", "row_drivers", "adc", "cell_write", "weight_drivers", "dram",
    "glb", "router", "input_buffer", "output_buffer", "leakage",
)
#: activation-traffic features (multipliers fitted per memory type)
TRAFFIC_FEATURES: tuple[str, ...] = ("glb_in", "glb_out", "router", "input_buffer",
                                     "output_buffer")
#: fitted feature (multiplier key of the calibration) -> breakdown component
FEATURE_COMPONENT: dict[str, str] = {
    "cell_read": "cell_read", "row_drivers": "row_drivers", "sram_row": "row_drivers",
    "adc": "adc", "sram_write": "cell_write", "weight_drivers": "weight_drivers",
    "dram": "dram", "glb_in": "glb", "glb_out": "glb", "router": "router",
    "input_buffer": "input_buffer", "output_buffer": "output_buffer", "leakage": "leakage",
}
#: action -> (count of `structure_counts`, fitted feature)
ACTIONS: dict[str, tuple[str, str]] = {
    "cell_read": ("cell_reads_active", "cell_read"),
    "rram_row_read": ("row_reads_active", "row_drivers"),
    "sram_row_read": ("row_reads_active", "sram_row"),
    "adc_conversion": ("conversions", "adc"),
    "cell_fill": ("cells_filled", "sram_write"),
    "weight_driver_fill": ("cells_filled", "weight_drivers"),
    "dram_weight_bit": ("weight_bits", "dram"),
    "glb_input_read_bit": ("glb_input_read_bits", "glb_in"),
    "glb_input_fill_bit": ("input_tensor_bits", "glb_in"),
    "glb_output_bit": ("glb_output_bits", "glb_out"),
    "router_bit": ("router_bits", "router"),
    "input_buffer_bit": ("input_buffer_bits", "input_buffer"),
    "output_buffer_bit": ("output_buffer_bits", "output_buffer"),
    "glb_leakage_s": ("busy_s", "leakage"),
    "cell_leakage_cell_s": ("cell_busy_s", "leakage"),
}
COUNTS: tuple[str, ...] = tuple(dict.fromkeys(c for c, _ in ACTIONS.values()))


# -- per-action energies (per design) ---------------------------------------------------------
def _node_factor(technology_nm: np.ndarray, table: dict[str, float] | None,
                 default: np.ndarray) -> np.ndarray:
    t = np.asarray(technology_nm, float)
    out = np.asarray(default, float).copy()
    if table:
        for node, f in table.items():
            out = np.where(np.isclose(t, float(node)), f, out)
    return np.where(np.isclose(t, cc.REF_NODE_NM), 1.0, out)


#: the design fields each group of actions' energies depends on: `raw_action_energies_j`
#: computes each group once per distinct combination of its fields
ENERGY_FIELDS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("memory", "technology_nm", "voltage_v", "xbar_cols"),
     ("rram_row_read", "sram_row_read", "cell_fill", "weight_driver_fill", "dram_weight_bit",
      "router_bit", "cell_leakage_cell_s")),
    (("memory", "technology_nm", "bits_per_cell"), ("cell_read",)),
    (("memory", "technology_nm", "voltage_v", "adc_bits"), ("adc_conversion",)),
    (("memory", "technology_nm", "glb_bytes"),
     ("glb_input_read_bit", "glb_input_fill_bit", "glb_output_bit", "glb_leakage_s")),
    (("technology_nm", "macros_per_tile", "xbar_rows"), ("input_buffer_bit",)),
    (("technology_nm", "macros_per_tile", "xbar_cols"), ("output_buffer_bit",)),
)
#: the design fields the fitted multipliers (`energy_coefficients`) depend on
COEFFICIENT_FIELDS: tuple[str, ...] = ("memory", "technology_nm", "voltage_v", "xbar_cols")


def raw_action_energies_j(designs: DesignBatch, calibration: dict) -> dict[str, np.ndarray]:
    """J per action and design before the fitted multipliers (node factors included), each
    group of `ENERGY_FIELDS` once per distinct combination of its fields."""
    out: dict[str, np.ndarray] = {}
    for names, actions in ENERGY_FIELDS:
        rep, inv = designs.distinct(names)
        got = _raw_action_energies_j(rep, calibration, actions)
        out.update({a: v[inv] for a, v in got.items()})
    return out


def _raw_action_energies_j(designs: DesignBatch, calibration: dict,
                           actions: tuple[str, ...]) -> dict[str, np.ndarray]:
    """`raw_action_energies_j` of ``actions`` computed design by design (each shared part
    once, only if one of the actions needs it)."""
    d = designs
    sram, V, t = d.is_sram, d.voltage_v, d.technology_nm
    ecal = calibration.get("energy", {})

    @cache
    def s_ns() -> np.ndarray:
        return _node_factor(t, ecal.get("tech_scale_neurosim"), t / cc.REF_NODE_NM)

    @cache
    def e_ca() -> np.ndarray:
        return _node_factor(t, ecal.get("tech_scale_cacti"), cc.cacti_tech_scale(t)[0])

    @cache
    def e_row() -> np.ndarray:
        return cc.row_read_j(sram, V, d.xbar_cols) * s_ns()

    @cache
    def e_glb(table: str) -> np.ndarray:
        return cc.glb_table(getattr(cc, table), d.glb_bytes) * 1e-12 / cc.GLB_WIDTH_BITS

    def buf_bit_j(depth: np.ndarray) -> np.ndarray:
        width = np.maximum((8 * d.macros_per_tile).astype(float), 32)
        return (cc.buffer_table(cc.BUF_READ_PJ, width, depth)
                + cc.buffer_table(cc.BUF_WRITE_PJ, width, depth)) * 1e-12 / width * e_ca()
    make = {
        "cell_read": lambda: np.where(sram, 0.0, cc.rram_cell_read_j(d.bits_per_cell)) * s_ns(),
        "rram_row_read": lambda: np.where(sram, 0.0, e_row()),
        "sram_row_read": lambda: np.where(sram, e_row(), 0.0),
        "adc_conversion": lambda: (cc.adc_j(sram, V) * cc.adc_resolution_factor(d.adc_bits)[0]
                                   * s_ns()),
        "cell_fill": lambda: np.where(sram, cc.sram_write_j(V) * s_ns(), 0.0),
        "weight_driver_fill": lambda: np.where(
            sram, cc.sram_weight_driver_j(V, d.xbar_cols) / d.xbar_cols * s_ns(), 0.0),
        "dram_weight_bit": lambda: np.where(sram, cc.DRAM_J_PER_BIT, 0.0),
        "glb_input_read_bit": lambda: e_glb("GLB_READ_PJ") * e_ca(),
        # in RRAM runs the GLB is below a zero-cost backing store (CM §1): the input tensor is
        # written into it once; in SRAM runs the GLB is the backing store (no fills)
        "glb_input_fill_bit": lambda: np.where(sram, 0.0, e_glb("GLB_WRITE_PJ")) * e_ca(),
        "glb_output_bit": lambda: (e_glb("GLB_READ_PJ") + e_glb("GLB_WRITE_PJ")) * e_ca(),
        "router_bit": lambda: np.zeros(len(d)) + cc.ROUTER_J_PER_ACTION / cc.ROUTER_WIDTH_BITS,
        "input_buffer_bit": lambda: buf_bit_j(d.xbar_rows),
        "output_buffer_bit": lambda: buf_bit_j(d.xbar_cols),
        # leakage (CM §2): GLB (CACTI) over the layer's time + SRAM cells in use, W
        "glb_leakage_s": lambda: cc.glb_table(cc.GLB_LEAK_W, d.glb_bytes),
        "cell_leakage_cell_s": lambda: np.where(sram, cc._interp_v(cc.SRAM_CELL_LEAK_W, V),
                                                0.0),
    }
    return {a: make[a]() for a in actions}


def energy_coefficients(designs: DesignBatch, calibration: dict | None = None
                        ) -> dict[str, np.ndarray]:
    """Fitted multiplier per feature and design, shape (n_d,) (1.0 where not calibrated).

    SRAM row-driver and cell-write energies have per-(voltage, columns) / per-voltage
    multipliers: NeuroSim's SRAM values are documented only at 0.5/0.7/0.85 V and 32/128/512
    columns (CM §5A) and are not smooth in between (CM §6.12). The write also has a per-node
    factor (``sram_write_node:<nm>``, none at 32 nm)."""
    rep, inv = designs.distinct(COEFFICIENT_FIELDS)
    return {k: v[inv] for k, v in _energy_coefficients(rep, calibration).items()}


def _energy_coefficients(designs: DesignBatch, calibration: dict | None) -> dict[str, np.ndarray]:
    """`energy_coefficients` computed design by design."""
    cal = load_calibration() if calibration is None else calibration
    coefs = cal.get("energy", {}).get("coefficients", {})
    n = len(designs)
    out = {k: np.full(n, float(coefs.get(k, 1.0))) for k in FEATURE_COMPONENT}
    # activation-traffic multipliers may differ by memory (different mapping constraints,
    # CM §3.2): "<feature>:RRAM" / "<feature>:SRAM" override the shared value
    for k in TRAFFIC_FEATURES:
        for mem, mask in (("RRAM", ~designs.is_sram), ("SRAM", designs.is_sram)):
            key = f"{k}:{mem}"
            if key in coefs:
                out[k] = np.where(mask, float(coefs[key]), out[k])
    v, c = designs.voltage_v, designs.xbar_cols
    out["sram_row"] = keyed_lookup(coefs, (v, c), sram_row_key, out["sram_row"])
    out["sram_write"] = keyed_lookup(coefs, (v,), sram_write_key, out["sram_write"])
    # the SRAM cell write (per weight bit loaded) has its own node factor on top of the NeuroSim
    # one: at 7-14 nm the stored energies carry a weight-proportional term ~13-60x the 32-nm
    # write energy scaled by the NeuroSim node factor (fitted, problems.hardware.calibration)
    out["sram_write"] = out["sram_write"] * keyed_lookup(
        coefs, (designs.technology_nm,), sram_write_node_key, np.ones(n))
    return out


def _layer_totals(stack: WorkloadStack) -> dict[str, np.ndarray]:
    """Design-independent counts per workload: weight bits (DRAM fetch) and input tensor bits
    (GLB fills), (n_w,)."""
    in_bits, _ = tensor_bits(*(getattr(stack, k) for k in ("N", "C", "M", "G", "R", "S", "P",
                                                             "Q", "h_stride", "w_stride")))
    seg = stack.offsets[:-1]
    return {"weight_bits": np.add.reduceat((stack.weights * cc.WEIGHT_BITS).astype(float), seg),
            "input_tensor_bits": np.add.reduceat(in_bits, seg)}


def action_table(designs: DesignBatch, stack: WorkloadStack, counts: dict[str, np.ndarray],
                 calibration: dict, fitted: bool = True) -> ActionTable:
    """The cimloop `ActionTable` of a batch from its `structure_counts`; ``fitted=False``
    leaves out the fitted multipliers (the calibration's raw features)."""
    inv = counts["inverse"]
    ct = designs.cycle_time_s[:, None]
    energy = raw_action_energies_j(designs, calibration)
    if fitted:
        coef = energy_coefficients(designs, calibration)
        energy = {a: e * coef[ACTIONS[a][1]] for a, e in energy.items()}
    gathered: dict[str, np.ndarray] = {}
    for name in COUNTS:
        if name in ("weight_bits", "input_tensor_bits"):      # design-independent
            gathered[name] = np.broadcast_to(_layer_totals(stack)[name],
                                             (len(designs), stack.n_workloads))
        else:
            g = counts[name][inv]
            gathered[name] = g * ct if name in ("busy_s", "cell_busy_s") else g
    return ActionTable(counts={a: gathered[c] for a, (c, _) in ACTIONS.items()},
                       energy_per_action_j=energy,
                       component={a: FEATURE_COMPONENT[f] for a, (_, f) in ACTIONS.items()})


#: counts that are times: their action energies are powers (W) x the design's cycle time
TIMED_COUNTS = ("busy_s", "cell_busy_s")


def probe_quantities(designs: DesignBatch) -> dict[str, np.ndarray]:
    """Everything a block bound takes the minimum or maximum of over a block's probes, (n,)
    each (`cimloop_bounds`): the energy per counted unit of each action (fitted multipliers
    and, for the leakage actions, the cycle time included), the cycle time and the area
    components (``area:*``)."""
    cal = load_calibration()
    energy = raw_action_energies_j(designs, cal)
    coef = energy_coefficients(designs, cal)
    ct = np.asarray(designs.cycle_time_s, float)
    out = {a: np.asarray(energy[a] * coef[f] * (ct if c in TIMED_COUNTS else 1.0), float)
           for a, (c, f) in ACTIONS.items()}
    out["cycle_time_s"] = ct
    parts = area_components_mm2(designs, cal)
    return out | {AREA_PREFIX + c: np.asarray(parts[c], float) for c in AREA_COMPONENTS}


def feature_energies_j(table: ActionTable) -> dict[str, np.ndarray]:
    """Energy per fitted feature (J, (n_d, n_w)): the calibration's regressors."""
    out: dict[str, np.ndarray] = {}
    for a, (_, f) in ACTIONS.items():
        e = table.energy_j(a)
        out[f] = out[f] + e if f in out else e
    return out


# -- evaluation ---------------------------------------------------------------------------------
def check_workloads(stack: WorkloadStack) -> None:
    """Reject layers the convention cannot model: CiMLoop's runs are 8-bit (CM §2); other
    widths would silently get the 8-bit energy. (Dynamic layers are counted as CiMLoop's
    conv-like transformer layers: see the module docstring.)"""
    for field in ("weight_bits", "input_bits", "output_bits"):
        bad = np.flatnonzero(getattr(stack, field) != 8)
        if bad.size:
            w, name = _layer_name(stack, int(bad[0]))
            raise ImcoptError(f"the cimloop convention models 8-bit layers only (CiMLoop's "
                              f"runs): workload {w!r} layer {name!r} has {field} = "
                              f"{int(getattr(stack, field)[bad[0]])}; use convention "
                              f"'physical'")


def _layer_name(stack: WorkloadStack, j: int) -> tuple[str, str]:
    wi = int(stack.workload_index[j])
    w = stack.workloads[wi]
    return w.name, str(w.layer_names[j - int(stack.offsets[wi])])


def evaluate_cimloop(designs: DesignBatch, stack: WorkloadStack, breakdown: bool = False,
                     calibration: dict | None = None,
                     average_inputs: str | Path | None = None,
                     screen: Screen | None = None) -> CostResult:
    """Energy, latency, area of every design on every workload as CiMLoop counted them.

    ``average_inputs``: a per-layer input-activity table of your own CiMLoop workloads
    (``scripts/cimloop_average_inputs.py``), instead of the built-in one. ``screen``: the
    designs it rules out get no energy (inf, ``valid`` False; area and placement exact).

    Invalid (RRAM weights of some layer not placeable) -> valid False, energy/latency inf.
    """
    if len(designs) == 0:
        raise ImcoptError("no designs to evaluate")
    check_workloads(stack)
    cal = load_calibration() if calibration is None else calibration
    counts = structure_counts(designs, stack, average_inputs)
    inv = counts["inverse"]
    placed = counts["placed"][inv]
    area_parts = area_components_mm2(designs, cal)
    area = sum(area_parts[c] for c in AREA_COMPONENTS)
    valid = placed | designs.is_sram[:, None]
    keep = None if screen is None else screen.keeps(area, ~designs.is_sram, placed)
    if keep is None or keep.all():
        parts = action_table(designs, stack, counts, cal).component_energy_j(ENERGY_COMPONENTS)
    else:                                   # energies of the kept designs only, inf elsewhere
        kept = action_table(designs.take(keep), stack, {**counts, "inverse": inv[keep]},
                            cal).component_energy_j(ENERGY_COMPONENTS)
        parts = {c: np.full(valid.shape, np.inf) for c in kept}
        for c, v in kept.items():
            parts[c][keep] = v
        valid = valid & keep[:, None]
    energy = sum(parts.values())
    latency = counts["busy_s"][inv] * designs.cycle_time_s[:, None]
    wbps = np.minimum(designs.bits_per_cell, 8).astype(float)
    util = counts["macs_per_cycle_max"][inv] * (cc.WEIGHT_BITS / wbps)[:, None]
    inf = np.inf
    energy = np.where(valid, energy, inf)
    latency = np.where(valid, latency, inf)
    return CostResult(
        convention=CONVENTION, workloads=tuple(stack.names), energy_j=energy,
        latency_s=latency, area_mm2=area, utilisation=np.minimum(util, 1.0),
        weights_resident=placed, valid=valid,
        energy_breakdown_j=({c: np.where(valid, v, inf) for c, v in parts.items()}
                            if breakdown else None),
        area_breakdown_mm2=area_parts if breakdown else None,
        latency_breakdown_s=({"array_cycles": latency} if breakdown else None),
    )


class CimloopModel(CostModel):
    """The ``cimloop`` convention as a registered `CostModel`."""

    name = CONVENTION
    description = "what the paper's CiMLoop evaluator counted (CIMLOOP_MODEL.md)"
    source_files = ("cimloop.py", "cimloop_area.py", "cimloop_counts.py", "cimloop_data.py",
                    "cimloop_components.py", "cimloop_kernel.py", "packing.py",
                    "packing_kernel.py", "packing_rule.py")
    data_files = DATA_FILES
    structure_fields = ("memory", "bits_per_cell", "xbar_rows", "xbar_cols",
                        "macros_per_tile", "tiles_per_group", "router_groups")
    #: not voltage or node: the fitted SRAM row / write tables and node factors are not
    #: monotone in them (their values are all probed)
    monotone_fields = ("cycle_time_s", "adc_bits", "glb_bytes")

    def check_workloads(self, stack: WorkloadStack) -> None:
        check_workloads(stack)

    def _evaluate(self, designs: DesignBatch, stack: WorkloadStack,
                  breakdown: bool) -> CostResult:
        return evaluate_cimloop(designs, stack, breakdown=breakdown)

    def evaluate_factored(self, designs: DesignBatch, stack: WorkloadStack,
                          screen: Screen | None = None) -> CostResult:
        """The plain evaluation (its counts are memoised per structure already), skipping the
        energies of the designs ``screen`` rules out."""
        self.check(designs, stack)
        return evaluate_cimloop(designs, stack, screen=screen)

    def block_bounds(self, probes: DesignBatch, starts: np.ndarray,
                     stack: WorkloadStack) -> BlockBounds:
        """`cimloop_bounds.block_bounds`."""
        from problems.hardware import cimloop_bounds

        self.check(probes, stack)
        return cimloop_bounds.block_bounds(probes, starts, stack, probe_quantities(probes),
                                           ACTIONS, _layer_totals(stack))

    def area_mm2(self, designs: DesignBatch) -> np.ndarray:
        """Sum of the area components (the sum `evaluate` reports)."""
        parts = area_components_mm2(designs, load_calibration())
        return sum(parts[c] for c in AREA_COMPONENTS)
