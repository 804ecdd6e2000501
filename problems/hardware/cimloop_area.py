"""Chip area of the ``cimloop`` convention (CIMLOOP_MODEL.md §3.4, §5), and the fitted-table
keys it shares with the energy multipliers.

Fitted table entries (``calibration["area"]["um2"]``, written by `problems.hardware.calibration`)
are addressed by string keys; a batch formats each key once per distinct parameter
combination (`keyed_lookup`), not once per design.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from problems.errors import ImcoptError
from problems.hardware import cimloop_components as cc
from problems.hardware.cimloop_data import load_calibration
from problems.hardware.design import DesignBatch

AREA_COMPONENTS: tuple[str, ...] = (
    "adc", "row_drivers", "column_drivers", "cells", "weight_drivers", "input_buffer",
    "output_buffer", "router", "glb",
)


def _node(t: float) -> str:
    return f"{float(t):g}"


def sram_row_key(voltage_v: float, cols: int) -> str:
    return f"sram_row:{float(voltage_v):.3f}/{int(cols)}"


def sram_write_key(voltage_v: float) -> str:
    return f"sram_write:{float(voltage_v):.3f}"


def sram_write_node_key(technology_nm: float) -> str:
    """Key of the per-node factor on the SRAM weight-write energy (none at 32 nm)."""
    return f"sram_write_node:{_node(technology_nm)}"


def keyed_lookup(table: dict[str, float] | None, columns: tuple[np.ndarray, ...],
                 key: Callable[..., str], fallback: np.ndarray) -> np.ndarray:
    """table[key(*row)] for every row of ``columns`` (``fallback`` where absent), formatting
    each distinct row's key once."""
    fallback = np.asarray(fallback, float)
    if not table:
        return fallback
    cols = [np.asarray(c, float) for c in columns]
    code = np.zeros(cols[0].shape, np.int64)
    radix = 1
    for c in cols:                      # mixed-radix code of the distinct values per column
        u, inv = np.unique(c, return_inverse=True)
        code = code * u.size + inv.reshape(-1)
        radix *= u.size
    if radix >= 1 << 62:                # pragma: no cover - needs > 2**62 combinations
        raise ImcoptError("too many distinct parameter combinations for a table lookup")
    _, first, inv = np.unique(code, return_index=True, return_inverse=True)
    rows = np.stack([c[first] for c in cols], 1).tolist()
    vals = np.array([table.get(key(*r), np.nan) for r in rows], float)[inv.reshape(-1)]
    return np.where(np.isnan(vals), fallback, vals)


#: fitted area table entry -> (its key's design columns, key format)
AREA_KEYS: dict[str, tuple[Callable[[DesignBatch], tuple[np.ndarray, ...]],
                           Callable[..., str]]] = {
    "adc": (lambda d: (d.is_sram, d.technology_nm, d.xbar_cols),
            lambda s, t, c: f"adc:{'SRAM' if s else 'RRAM'}:{_node(t)}:{int(c)}"),
    "buf_in": (lambda d: (d.technology_nm, 8 * d.macros_per_tile, d.xbar_rows),
               lambda t, w, r: f"buf:{_node(t)}:{int(w)}x{int(r)}"),
    "buf_out": (lambda d: (d.technology_nm, 8 * d.macros_per_tile, d.xbar_cols),
                lambda t, w, c: f"buf:{_node(t)}:{int(w)}x{int(c)}"),
    "glb": (lambda d: (d.technology_nm, d.glb_bytes),
            lambda t, b: f"glb:{_node(t)}:{int(b)}"),
    "rowdrv": (lambda d: (d.technology_nm, d.voltage_v, d.xbar_rows, d.xbar_cols),
               lambda t, v, r, c: f"rowdrv:{_node(t)}:{v:.3f}/{int(r)}/{int(c)}"),
    "router": (lambda d: (d.technology_nm,), lambda t: f"router:{_node(t)}"),
}


#: the design fields each fitted area entry (its key and its prior) depends on
AREA_KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "adc": ("memory", "technology_nm", "xbar_cols"),
    "buf_in": ("technology_nm", "macros_per_tile", "xbar_rows"),
    "buf_out": ("technology_nm", "macros_per_tile", "xbar_cols"),
    "glb": ("technology_nm", "glb_bytes"),
    "rowdrv": ("technology_nm", "voltage_v", "xbar_rows", "xbar_cols"),
    "router": ("technology_nm",),
}


def area_keys(designs: DesignBatch) -> dict[str, list[str]]:
    """Keys of the fitted area table each design uses (one list per entry of `AREA_KEYS`).

    adc: per-column ADC area by (memory, node, columns); buf_in / buf_out: one tile buffer by
    (node, width, depth); glb: by (node, bytes); rowdrv: SRAM row drivers (all rows) by
    (node, voltage, rows, columns); router: per group by node."""
    out = {}
    for name, (cols, key) in AREA_KEYS.items():
        rows = np.stack([np.asarray(c, float) for c in cols(designs)], 1).tolist()
        out[name] = [key(*r) for r in rows]
    return out


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


def area_priors_um2(designs: DesignBatch, names: tuple[str, ...] | None = None
                    ) -> dict[str, np.ndarray]:
    """Documented / interpolated values for the fitted area table's entries ``names`` (all by
    default), um^2, at the design's node via the default node scaling."""
    t = designs.technology_nm.astype(float)
    sq = (t / cc.REF_NODE_NM) ** 2
    _, ca = cc.cacti_tech_scale(t)
    sram = designs.is_sram
    width = 8 * designs.macros_per_tile
    make = {
        "adc": lambda: np.where(sram, cc.SRAM_ADC_AREA_UM2_PER_COL,
                                cc.RRAM_ADC_AREA_UM2_PER_COL) * sq,
        "buf_in": lambda: buffer_area_prior_um2(width, designs.xbar_rows) * ca,
        "buf_out": lambda: buffer_area_prior_um2(width, designs.xbar_cols) * ca,
        "glb": lambda: glb_area_prior_um2(designs.glb_bytes) * ca,
        "rowdrv": lambda: cc.sram_rowdrv_area_um2(designs.voltage_v, designs.xbar_rows) * sq,
        "router": lambda: np.full(len(designs), cc.ROUTER_AREA_MM2 * 1e6) * sq,
    }
    return {k: make[k]() for k in (names or make)}


def fitted_entries_um2(designs: DesignBatch, table: dict[str, float] | None
                       ) -> dict[str, np.ndarray]:
    """Every `AREA_KEYS` entry per design (um^2): the fitted ``table`` value, else the prior,
    each once per distinct combination of its `AREA_KEY_FIELDS`."""
    val = {}
    for k, (cols, key) in AREA_KEYS.items():
        rep, inv = designs.distinct(AREA_KEY_FIELDS[k])
        val[k] = keyed_lookup(table, cols(rep), key, area_priors_um2(rep, (k,))[k])[inv]
    return val


def area_components_mm2(designs: DesignBatch, calibration: dict | None = None
                        ) -> dict[str, np.ndarray]:
    """Chip area by component (CM §3.4), mm^2 per design.

    area = arrays x macro + tiles x (input + output buffer) + groups x router + GLB, with
    macro = ADC (per column) + row drivers + column drivers + cells (+ SRAM weight drivers
    = row-driver area counted again). Fitted table entries replace the priors where present."""
    cal = load_calibration() if calibration is None else calibration
    val = fitted_entries_um2(designs, cal.get("area", {}).get("um2", {}))
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
