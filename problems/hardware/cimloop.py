"""The ``cimloop`` accounting convention: what the paper's CiMLoop evaluator counted.

Reproduces CIMLOOP_MODEL.md (CM): cycles and utilisation exactly from the greedy spatial
packing (`packing.py`, CM §3.1-3.4), chip area from the component areas (CM §3.4, §5) and
energy structurally as sum over components of (action count from the packing) x (per-action
energy, `cimloop_components.py`). Constants the documentation cannot give (effective activation
traffic multipliers, undocumented CACTI / NeuroSim table cells, technology-node factors) are
read from ``data/cimloop_calibration.json``, written by ``scripts/fit_cimloop.py``. The
per-layer average input value that scales cell and row energies (CM §4) is not fitted: it is
computed from CiMLoop's input histograms (``data/cimloop_average_inputs.csv``, written by
``scripts/cimloop_average_inputs.py``); other workloads use the documented median.

As in CiMLoop, there is one ADC per column: ``adcs_per_macro`` is ignored (CM §6.4);
``adc_bits`` other than 5 rescales ADC energy and area by NeuroSim's resolution table (§5A).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from problems.errors import ImcoptError
from problems.hardware import cimloop_components as cc
from problems.hardware.design import DesignBatch
from problems.hardware.packing import DIM_INDEX, WEIGHT_DIMS, Packing, pack
from problems.hardware.result import CostResult
from problems.workloads.stack import WorkloadStack

CALIBRATION_PATH = Path(__file__).with_name("data") / "cimloop_calibration.json"

#: energy components, in breakdown order; each is (n_d, n_l) J before the per-workload sum
ENERGY_COMPONENTS: tuple[str, ...] = (
    "cell_read", "row_drivers", "adc", "cell_write", "weight_drivers", "dram",
    "glb", "router", "input_buffer", "output_buffer", "leakage",
)
#: activation-traffic features (multipliers fitted per memory type)
TRAFFIC_FEATURES: tuple[str, ...] = ("glb_in", "glb_out", "router", "input_buffer",
                                     "output_buffer")
AREA_COMPONENTS: tuple[str, ...] = (
    "adc", "row_drivers", "column_drivers", "cells", "weight_drivers", "input_buffer",
    "output_buffer", "router", "glb",
)


# -- calibration -------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _load_calibration(path: str) -> dict:
    p = Path(path)
    if not p.is_file():
        return {}
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ImcoptError(f"{p}: not valid JSON ({exc})") from exc


def load_calibration(path: str | Path | None = None) -> dict:
    """The calibration dict (empty when the file is absent: documented values only)."""
    return _load_calibration(str(path or CALIBRATION_PATH))


def _lookup(table: dict[str, float] | None, keys: list[str], fallback: np.ndarray) -> np.ndarray:
    """Vectorized dict lookup by string keys, `fallback` where a key is missing."""
    if not table:
        return np.asarray(fallback, float)
    uniq, inv = np.unique(np.asarray(keys), return_inverse=True)
    vals = np.array([table.get(k, np.nan) for k in uniq.tolist()], float)[inv.reshape(-1)]
    return np.where(np.isnan(vals), fallback, vals)


def _node(t: float) -> str:
    return f"{float(t):g}"


def sram_row_key(voltage_v: float, cols: int) -> str:
    return f"sram_row:{float(voltage_v):.3f}/{int(cols)}"


def sram_write_key(voltage_v: float) -> str:
    return f"sram_write:{float(voltage_v):.3f}"


def sram_write_node_key(technology_nm: float) -> str:
    """Key of the per-node factor on the SRAM weight-write energy (none at 32 nm)."""
    return f"sram_write_node:{_node(technology_nm)}"


# -- area --------------------------------------------------------------------------------------
def buffer_area_prior_um2(width_bits: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """CACTI tile-buffer area (CM §5B, log-log interpolated) + 2 address adders, um^2.

    The CACTI rescaling rule: width rounded up to a multiple of 8 and >= 32, depth >= 64, area
    x (w / w_rounded) x (d / d_rounded)."""
    w = np.asarray(width_bits, float)
    d = np.asarray(depth, float)
    w_r = np.maximum(np.ceil(w / 8) * 8, 32)
    d_r = np.maximum(d, 64)
    a = cc.buffer_table(cc.BUF_AREA_MM2, w_r, d_r) * 1e6 * (w / w_r) * (d / d_r)
    return a + 2 * np.ceil(np.log2(d)) * cc.ADDER_UM2_PER_BIT


def glb_area_prior_um2(glb_bytes: np.ndarray) -> np.ndarray:
    """GLB area (CM §5B, width 2048) + 2 address adders, um^2."""
    depth = np.asarray(glb_bytes, float) * 8 / cc.GLB_WIDTH_BITS
    return cc.glb_table(cc.GLB_AREA_MM2, glb_bytes) * 1e6 + \
        2 * np.ceil(np.log2(depth)) * cc.ADDER_UM2_PER_BIT


def area_keys(designs: DesignBatch) -> dict[str, list[str]]:
    """Keys of the fitted area table (`calibration["area"]["um2"]`) each design uses.

    adc: per-column ADC area by (memory, node, columns); buf_in / buf_out: one tile buffer by
    (node, width, depth); glb: by (node, bytes); rowdrv: SRAM row drivers (all rows) by
    (node, voltage, rows, columns); router: per group by node."""
    t = designs.technology_nm.tolist()
    mem = ["SRAM" if m else "RRAM" for m in designs.is_sram.tolist()]
    w = (8 * designs.macros_per_tile).tolist()
    r, c = designs.xbar_rows.tolist(), designs.xbar_cols.tolist()
    v = designs.voltage_v.tolist()
    z = range(len(designs))
    return {
        "adc": [f"adc:{mem[i]}:{_node(t[i])}:{c[i]}" for i in z],
        "buf_in": [f"buf:{_node(t[i])}:{w[i]}x{r[i]}" for i in z],
        "buf_out": [f"buf:{_node(t[i])}:{w[i]}x{c[i]}" for i in z],
        "glb": [f"glb:{_node(t[i])}:{int(b)}" for i, b in zip(z, designs.glb_bytes.tolist(),
                                                               strict=True)],
        "rowdrv": [f"rowdrv:{_node(t[i])}:{v[i]:.3f}/{r[i]}/{c[i]}" for i in z],
        "router": [f"router:{_node(t[i])}" for i in z],
    }


def area_priors_um2(designs: DesignBatch) -> dict[str, np.ndarray]:
    """Documented / interpolated values for the fitted area table's entries (um^2, at the
    design's node via the default node scaling)."""
    t = designs.technology_nm.astype(float)
    sq = (t / cc.REF_NODE_NM) ** 2
    _, ca = cc.cacti_tech_scale(t)
    sram = designs.is_sram
    width = 8 * designs.macros_per_tile
    return {
        "adc": np.where(sram, cc.SRAM_ADC_AREA_UM2_PER_COL, cc.RRAM_ADC_AREA_UM2_PER_COL) * sq,
        "buf_in": buffer_area_prior_um2(width, designs.xbar_rows) * ca,
        "buf_out": buffer_area_prior_um2(width, designs.xbar_cols) * ca,
        "glb": glb_area_prior_um2(designs.glb_bytes) * ca,
        "rowdrv": cc.sram_rowdrv_area_um2(designs.voltage_v, designs.xbar_rows) * sq,
        "router": np.full(len(designs), cc.ROUTER_AREA_MM2 * 1e6) * sq,
    }


def area_components_mm2(designs: DesignBatch, calibration: dict | None = None
                        ) -> dict[str, np.ndarray]:
    """Chip area by component (CM §3.4), mm^2 per design.

    area = arrays x macro + tiles x (input + output buffer) + groups x router + GLB, with
    macro = ADC (per column) + row drivers + column drivers + cells (+ SRAM weight drivers
    = row-driver area counted again). Fitted table entries replace the priors where present."""
    cal = load_calibration() if calibration is None else calibration
    table = cal.get("area", {}).get("um2", {})
    keys = area_keys(designs)
    prior = area_priors_um2(designs)
    val = {k: _lookup(table, keys[k], prior[k]) for k in keys}
    sram = designs.is_sram
    rows = designs.xbar_rows.astype(float)
    cols = designs.xbar_cols.astype(float)
    arrays = designs.n_macros.astype(float)
    tiles = designs.n_tiles.astype(float)
    sq = (designs.technology_nm / cc.REF_NODE_NM) ** 2
    rram_rd = cc.RRAM_ROWDRV_AREA_UM2_PER_ROW * rows * sq
    row_drv = np.where(sram, val["rowdrv"], rram_rd)
    col_drv = np.where(sram, 0.0, cc.RRAM_COLDRV_AREA_UM2_PER_COL * cols * sq)
    cell = np.where(sram, cc.SRAM_CELL_AREA_UM2, cc.RRAM_CELL_AREA_UM2) * rows * cols * sq
    um2 = {
        "adc": arrays * val["adc"] * cols * cc.adc_resolution_factor(designs.adc_bits)[1],
        "row_drivers": arrays * row_drv,
        "column_drivers": arrays * col_drv, "cells": arrays * cell,
        "weight_drivers": arrays * np.where(sram, val["rowdrv"], 0.0),
        "input_buffer": tiles * val["buf_in"], "output_buffer": tiles * val["buf_out"],
        "router": designs.router_groups * val["router"], "glb": val["glb"],
    }
    return {k: v * 1e-6 for k, v in um2.items()}


def _node_factor(technology_nm: np.ndarray, table: dict[str, float] | None,
                 default: np.ndarray) -> np.ndarray:
    t = np.asarray(technology_nm, float)
    out = np.asarray(default, float).copy()
    if table:
        for node, f in table.items():
            out = np.where(np.isclose(t, float(node)), f, out)
    return np.where(np.isclose(t, cc.REF_NODE_NM), 1.0, out)


# -- energy ----------------------------------------------------------------------------------
AVERAGE_INPUTS_PATH = Path(__file__).with_name("data") / "cimloop_average_inputs.csv"
_SHAPE = ("C", "M", "R", "S", "P", "Q", "G")


AVERAGE_INPUT_COLUMNS: tuple[str, ...] = ("network", "layer", *_SHAPE, "average_input_value")


@lru_cache(maxsize=4)
def _average_input_table(path: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    p = Path(path)
    if not p.is_file():
        if p != AVERAGE_INPUTS_PATH:
            raise ImcoptError(f"average-input table {p} does not exist")
        return {}
    try:
        df = pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ImcoptError(f"average-input table {p}: cannot parse as CSV ({exc})") from exc
    missing = [c for c in AVERAGE_INPUT_COLUMNS if c not in df.columns]
    if missing:
        raise ImcoptError(f"average-input table {p}: missing column(s) {missing} "
                          f"(write it with scripts/cimloop_average_inputs.py)")
    ai = pd.to_numeric(df["average_input_value"], errors="coerce")
    if ai.isna().any() or ((ai < 0) | (ai > 1)).any():
        row = int(np.flatnonzero(ai.isna() | (ai < 0) | (ai > 1))[0])
        raise ImcoptError(f"average-input table {p}, row {row + 2}: average_input_value must "
                          f"be a number in [0, 1]")
    df = df.sort_values(["network", "layer"])
    return {str(net): (g[list(_SHAPE)].to_numpy(np.int64),
                       g["average_input_value"].to_numpy(float))
            for net, g in df.groupby("network")}


def average_input_values(stack: WorkloadStack, path: str | Path | None = None) -> np.ndarray:
    """Per-layer average input value ai (CM §4), shape (n_layers,).

    From ``path`` (default ``data/cimloop_average_inputs.csv``; both written from CiMLoop's
    input histograms by ``scripts/cimloop_average_inputs.py``) for a workload whose name and
    every layer shape match a network there; the documented median ``cc.AVG_INPUT`` otherwise."""
    table = _average_input_table(str(path or AVERAGE_INPUTS_PATH))
    out = np.full(stack.n_layers, cc.AVG_INPUT)
    for i, name in enumerate(stack.names):
        sel = np.flatnonzero(stack.workload_index == i)
        if name not in table or table[name][0].shape[0] != sel.size:
            continue
        shape = np.stack([getattr(stack, d)[sel] for d in _SHAPE], 1)
        if np.array_equal(shape, table[name][0]):
            out[sel] = table[name][1]
    return out


def _spatial(pk: Packing, dim: str, levels: tuple[str, ...] | None = None) -> np.ndarray:
    """Product of a dimension's spatial factors over packing levels (all by default)."""
    out = np.ones(pk.cycles.shape)
    for name in levels or tuple(pk.factors):
        out = out * pk.factors[name][..., DIM_INDEX[dim]]
    return out


def spatial_output_bits(pk: Packing) -> np.ndarray:
    """Output bits the arrays produce in one cycle: N x G x M x P x Q spatial factors x 8."""
    out = np.full(pk.cycles.shape, float(cc.OUTPUT_BITS))
    for d in ("N", "G", "M", "P", "Q"):
        out = out * _spatial(pk, d)
    return out


def spatial_input_bits(pk: Packing, h_stride: np.ndarray | int = 1,
                       w_stride: np.ndarray | int = 1) -> np.ndarray:
    """Input bits the arrays consume in one cycle: N x G x C x ((P-1) hs + R) x ((Q-1) ws + S)
    over the spatial factors, x 8 bits."""
    sp = {d: _spatial(pk, d) for d in ("N", "G", "C", "P", "R", "Q", "S")}
    return (sp["N"] * sp["G"] * sp["C"] * ((sp["P"] - 1) * h_stride + sp["R"])
            * ((sp["Q"] - 1) * w_stride + sp["S"]) * cc.INPUT_BITS)


def cells_filled(pk: Packing) -> np.ndarray:
    """Cell fills per design-layer: occupied cells (arrays x rows x columns used, including
    the weight copies over output positions) x weight tiles streamed (the temporal weight
    leftovers), i.e. Timeloop's fill count of the one-weight ``cim_unit`` (CM §1)."""
    tiles = np.ones(pk.cycles.shape)
    for d in WEIGHT_DIMS:
        tiles = tiles * pk.left[..., DIM_INDEX[d]]
    return (pk.arrays_used * pk.rows_used * pk.cols_used).astype(float) * tiles


def energy_features_j(designs: DesignBatch, stack: WorkloadStack, pk: Packing,
                      cycles_s: np.ndarray, calibration: dict | None = None,
                      average_inputs: str | Path | None = None) -> dict[str, np.ndarray]:
    """Per design x layer energy of each component before the fitted multipliers, J.

    Keys: the `ENERGY_COMPONENTS` split further where a multiplier applies (``glb_in``,
    ``glb_out``, ``sram_row``...). Counts (CM §3.5): cell reads = MACs x slices; row reads =
    cell reads / columns used per array; ADC conversions = cell reads / rows used per array.
    """
    cal = load_calibration() if calibration is None else calibration
    sram = designs.is_sram[:, None]
    V = designs.voltage_v
    macs = stack.macs.astype(float)[None, :]
    slices = pk.slices.astype(float)[:, None]
    cell_reads = macs * slices
    e_cell = np.where(designs.is_sram, 0.0, cc.rram_cell_read_j(designs.bits_per_cell))
    e_row = cc.row_read_j(designs.is_sram, V, designs.xbar_cols)
    e_adc = cc.adc_j(designs.is_sram, V) * cc.adc_resolution_factor(designs.adc_bits)[0]
    f: dict[str, np.ndarray] = {}
    f["cell_read"] = cell_reads * e_cell[:, None]
    rows_f = cell_reads / pk.cols_used * e_row[:, None]
    f["row_drivers"] = np.where(sram, 0.0, rows_f)
    f["sram_row"] = np.where(sram, rows_f, 0.0)
    f["adc"] = cell_reads / pk.rows_used * e_adc[:, None]

    # SRAM weight loading (CM §3.5, §6.6): DRAM fetch (each weight bit once, multicast to its
    # copies), and a cell write + weight-driver share for every occupied cell of every weight
    # tile: the spare arrays that replicate weights over output positions (P, Q, N factors of
    # the packing) are each filled, which the stored SRAM energies show (fitted multiplier ~1;
    # without it the residual grows with chip size)
    wbits = (stack.weights * cc.WEIGHT_BITS).astype(float)[None, :]
    cells_written = cells_filled(pk)
    f["sram_write"] = np.where(sram, cells_written * cc.sram_write_j(V)[:, None], 0.0)
    wd = cc.sram_weight_driver_j(V, designs.xbar_cols) / designs.xbar_cols
    f["weight_drivers"] = np.where(sram, cells_written * wd[:, None], 0.0)
    f["dram"] = np.where(sram, wbits * cc.DRAM_J_PER_BIT, 0.0)

    # activation traffic: outputs once per reduction pass, inputs once per weight pass
    N, C, M, G = stack.N, stack.C, stack.M, stack.G
    R, S, P, Q = stack.R, stack.S, stack.P, stack.Q
    out_bits = (N * M * G * P * Q * cc.OUTPUT_BITS).astype(float)[None, :]
    # input tensor with the layer's strides: (P-1) stride + R rows (CM §6.9 guessed stride 1
    # from the YAML spelling; the stored energies prefer the strides, mobilenet_v3 most)
    hs, ws = stack.h_stride, stack.w_stride
    in_bits = (N * C * G * ((P - 1) * hs + R) * ((Q - 1) * ws + S) * cc.INPUT_BITS
               ).astype(float)[None, :]
    lv = pk.left
    red_left = (lv[..., DIM_INDEX["C"]] * lv[..., DIM_INDEX["R"]] * lv[..., DIM_INDEX["S"]]
                * lv[..., DIM_INDEX["Y"]]).astype(float)
    rep_left = (lv[..., DIM_INDEX["M"]] * lv[..., DIM_INDEX["Y"]]).astype(float)
    t_out = np.where(sram, red_left, 1.0)
    t_in = np.where(sram, rep_left, 1.0)

    up = ("tile_in_chip", "shared_router_group")
    red_up = (_spatial(pk, "C", up) * _spatial(pk, "R", up) * _spatial(pk, "S", up)
              * _spatial(pk, "Y", up))
    mc_up = _spatial(pk, "M", up)
    glb_bytes = designs.glb_bytes
    e_glb_r = cc.glb_table(cc.GLB_READ_PJ, glb_bytes) * 1e-12 / cc.GLB_WIDTH_BITS
    e_glb_w = cc.glb_table(cc.GLB_WRITE_PJ, glb_bytes) * 1e-12 / cc.GLB_WIDTH_BITS
    ecal = cal.get("energy", {})
    e_ca = _node_factor(designs.technology_nm, ecal.get("tech_scale_cacti"),
                        cc.cacti_tech_scale(designs.technology_nm)[0])
    # GLB input reads: every cycle the GLB sends the spatial input tile (channels x the
    # receptive field of the spatially packed output rows/columns)
    # + in RRAM runs the GLB is below a zero-cost backing store (CM §1): the input tensor is
    # written into it once (fills); in SRAM runs the GLB is the backing store (no fills)
    f["glb_in"] = (spatial_input_bits(pk, hs, ws) * pk.cycles * e_glb_r[:, None]
                   + np.where(sram, 0.0, in_bits * e_glb_w[:, None])) * e_ca[:, None]
    f["glb_out"] = out_bits * t_out * ((e_glb_r + e_glb_w) * e_ca)[:, None]
    f["router"] = (in_bits * t_in * mc_up + out_bits * t_out * red_up) * (
        cc.ROUTER_J_PER_ACTION / cc.ROUTER_WIDTH_BITS)
    width = (8 * designs.macros_per_tile).astype(float)
    e_ib = (cc.buffer_table(cc.BUF_READ_PJ, np.maximum(width, 32), designs.xbar_rows)
            + cc.buffer_table(cc.BUF_WRITE_PJ, np.maximum(width, 32), designs.xbar_rows)
            ) * 1e-12 / np.maximum(width, 32) * e_ca
    e_ob = (cc.buffer_table(cc.BUF_READ_PJ, np.maximum(width, 32), designs.xbar_cols)
            + cc.buffer_table(cc.BUF_WRITE_PJ, np.maximum(width, 32), designs.xbar_cols)
            ) * 1e-12 / np.maximum(width, 32) * e_ca
    # tile buffers, per cycle: every used tile receives its input tile (copies for the output-
    # channel / weight-slice factors above the tile) and collects its output tile (partial
    # sums of the reduction factors above the tile)
    dup_up = mc_up * _spatial(pk, "Y", up)
    f["input_buffer"] = spatial_input_bits(pk, hs, ws) * pk.cycles * dup_up * e_ib[:, None]
    f["output_buffer"] = spatial_output_bits(pk) * pk.cycles * red_up * e_ob[:, None]

    # leakage (CM §2): GLB (CACTI) over the layer's time + SRAM cells in use
    p_glb = cc.glb_table(cc.GLB_LEAK_W, glb_bytes)
    cells_used = (pk.arrays_used * pk.rows_used * pk.cols_used).astype(float)
    p_cell = np.where(designs.is_sram, cc._interp_v(cc.SRAM_CELL_LEAK_W, V), 0.0)
    f["leakage"] = cycles_s * (p_glb[:, None] + cells_used * p_cell[:, None])

    # data-dependent input activity (CM §4): cell and row energies are linear in the average
    # input value ai of each layer, from CiMLoop's input histograms (not fitted)
    act_l = (average_input_values(stack, average_inputs) / cc.AVG_INPUT)[None, :]
    for k in ("cell_read", "row_drivers", "sram_row"):
        f[k] = f[k] * act_l

    # technology: NeuroSim parts scaled by the calibrated per-node factor (1 at 32 nm)
    s_ns = _node_factor(designs.technology_nm, ecal.get("tech_scale_neurosim"),
                        designs.technology_nm / cc.REF_NODE_NM)[:, None]
    for k in ("cell_read", "row_drivers", "sram_row", "adc", "sram_write", "weight_drivers"):
        f[k] = f[k] * s_ns
    return f


#: feature -> breakdown component
_FEATURE_COMPONENT: dict[str, str] = {
    "cell_read": "cell_read", "row_drivers": "row_drivers", "sram_row": "row_drivers",
    "adc": "adc", "sram_write": "cell_write", "weight_drivers": "weight_drivers",
    "dram": "dram", "glb_in": "glb", "glb_out": "glb", "router": "router",
    "input_buffer": "input_buffer", "output_buffer": "output_buffer", "leakage": "leakage",
}


def energy_coefficients(designs: DesignBatch, calibration: dict | None = None
                        ) -> dict[str, np.ndarray]:
    """Fitted multiplier per feature and design, shape (n_d,) (1.0 where not calibrated).

    SRAM row-driver and cell-write energies have per-(voltage, columns) / per-voltage
    multipliers: NeuroSim's SRAM values are documented only at 0.5/0.7/0.85 V and 32/128/512
    columns (CM §5A) and are not smooth in between (CM §6.12). The write also has a per-node
    factor (``sram_write_node:<nm>``, none at 32 nm)."""
    cal = load_calibration() if calibration is None else calibration
    coefs = cal.get("energy", {}).get("coefficients", {})
    n = len(designs)
    out = {k: np.full(n, float(coefs.get(k, 1.0))) for k in _FEATURE_COMPONENT}
    # activation-traffic multipliers may differ by memory (different mapping constraints,
    # CM §3.2): "<feature>:RRAM" / "<feature>:SRAM" override the shared value
    for k in TRAFFIC_FEATURES:
        for mem, mask in (("RRAM", ~designs.is_sram), ("SRAM", designs.is_sram)):
            key = f"{k}:{mem}"
            if key in coefs:
                out[k] = np.where(mask, float(coefs[key]), out[k])
    v, c = designs.voltage_v.tolist(), designs.xbar_cols.tolist()
    out["sram_row"] = _lookup(coefs, [sram_row_key(a, b) for a, b in zip(v, c, strict=True)],
                              out["sram_row"])
    out["sram_write"] = _lookup(coefs, [sram_write_key(a) for a in v], out["sram_write"])
    # the SRAM cell write (per weight bit loaded) has its own node factor on top of the NeuroSim
    # one: at 7-14 nm the stored energies carry a weight-proportional term ~13-60x the 32-nm
    # write energy scaled by the NeuroSim node factor (fitted, scripts/fit_cimloop.py)
    out["sram_write"] = out["sram_write"] * _lookup(
        coefs, [sram_write_node_key(a) for a in designs.technology_nm.tolist()], np.ones(n))
    return out


def evaluate_cimloop(designs: DesignBatch, stack: WorkloadStack, breakdown: bool = False,
                     calibration: dict | None = None,
                     average_inputs: str | Path | None = None) -> CostResult:
    """Energy, latency, area of every design on every workload as CiMLoop counted them.

    ``average_inputs``: a per-layer input-activity table of your own CiMLoop workloads
    (``scripts/cimloop_average_inputs.py``), instead of the built-in one.

    Invalid (RRAM weights of some layer not placeable) -> valid False, energy/latency inf.
    """
    if len(designs) == 0:
        raise ImcoptError("no designs to evaluate")
    cal = load_calibration() if calibration is None else calibration
    layers = {k: getattr(stack, k) for k in ("N", "C", "M", "R", "S", "P", "Q", "G")}
    pk = pack(layers, designs.is_sram, designs.bits_per_cell, designs.xbar_rows,
              designs.xbar_cols, designs.macros_per_tile, designs.tiles_per_group,
              designs.router_groups)
    cycles_s = pk.cycles * designs.cycle_time_s[:, None]
    placed = stack.per_workload_all(pk.weights_placed)
    feats = energy_features_j(designs, stack, pk, cycles_s, cal, average_inputs)
    coefs = energy_coefficients(designs, cal)
    parts: dict[str, np.ndarray] = {}
    for k, v in feats.items():
        comp = _FEATURE_COMPONENT[k]
        w = stack.per_workload(v * coefs[k][:, None])
        parts[comp] = parts[comp] + w if comp in parts else w
    energy = sum(parts[c] for c in ENERGY_COMPONENTS if c in parts)
    latency = stack.per_workload(cycles_s)
    util = stack.per_workload_max(pk.utilisation)
    area_parts = area_components_mm2(designs, cal)
    area = sum(area_parts[c] for c in AREA_COMPONENTS)
    valid = placed | designs.is_sram[:, None]
    inf = np.inf
    energy = np.where(valid, energy, inf)
    latency = np.where(valid, latency, inf)
    return CostResult(
        convention="cimloop", workloads=tuple(stack.names), energy_j=energy,
        latency_s=latency, area_mm2=area, utilisation=np.minimum(util, 1.0),
        weights_resident=placed, valid=valid,
        energy_breakdown_j=({c: np.where(valid, parts[c], inf) for c in ENERGY_COMPONENTS
                             if c in parts} if breakdown else None),
        area_breakdown_mm2=area_parts if breakdown else None,
        latency_breakdown_s=({"array_cycles": latency} if breakdown else None),
    )
