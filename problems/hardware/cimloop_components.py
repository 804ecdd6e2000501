"""Component values of the CiMLoop runs behind the reference results (32 nm unless stated).

Every number cites its source: CIMLOOP_MODEL.md (CM) section, and through it the NeuroSim,
CACTI 6.5 or Accelergy-library plug-in it came from. Energies in J, areas in mm^2 unless the
name says otherwise. Interpolation helpers here are vectorized over numpy arrays.
"""

from __future__ import annotations

import numpy as np

# -- fixed run settings (CM §2) -----------------------------------------------------------------
WEIGHT_BITS = 8                 # CM §2: 8-bit weights (sliced over ceil(8/bpc) cells)
INPUT_BITS = 8                  # CM §2: one 8-bit temporal (spiking) input slice per cycle
OUTPUT_BITS = 8                 # CM §2: 8-bit outputs
INPUT_PULSES = 255              # CM §4: 2^8 - 1 pulses per input slice
GLB_WIDTH_BITS = 2048           # CM §1: glb smartbuffer_sram width 2048
ROUTER_WIDTH_BITS = 128         # CM §1: isaac_router_shared_by_four, width 128
DRAM_WIDTH_BITS = 128           # CM §1: LPDDR4 main memory, width 128
REF_NODE_NM = 32.0              # CM §2: TECHNOLOGY = 32 nm for all non-ELcost rows

# -- RRAM cell (NeuroSim memory_cell, 1T1R, CM §2 table) ------------------------------------
RRAM_E_ON_J = 12.4e-15          # CM §2: per-pulse energy of an on cell (0.5 V read, 10 ns)
RRAM_E_OFF_J = 2.28e-15         # CM §2: per-pulse energy of an off cell
RRAM_CELL_AREA_UM2 = 0.04915    # CM §2 / §5C: 48 F^2 at 32 nm
SRAM_CELL_AREA_UM2 = 0.2867     # CM §2 / §5C: 280 F^2 at 32 nm
AVG_INPUT = 0.5                 # CM §4: median ai 0.496; for layers without input histograms
#: CM §4: average weight-slice value aw per bits_per_cell 1..8
AVG_WEIGHT_BY_BPC = np.array([0.50, 0.50, 0.40, 0.50, 0.30, 0.26, 0.25, 0.49])

# -- NeuroSim periphery (CM §2 table, §5 table A) ---------------------------------------------
_V_GRID = np.array([0.5, 0.7, 0.85])
# RRAM row read energy per row (fJ) at 32/128/512 columns (CM §5A): linear in columns per V
_RRAM_ROW_FJ = np.array([[881.0, 2772.0, 10330.0],
                         [1586.0, 5292.0, 20110.0],
                         [2272.0, 7736.0, 29590.0]])
# SRAM row read energy per row (fJ) at 32/128/512 columns (CM §5A; 0.5 V anomalous, §6.12)
_SRAM_ROW_FJ = np.array([[16500.0, 5045.0, 4834.0],
                         [2522.0, 2413.0, 7618.0],
                         [2132.0, 3121.0, 11110.0]])
_N_GRID = np.array([32.0, 128.0, 512.0])
RRAM_ADC_FJ = np.array([97.2, 98.6, 100.0])       # CM §2: 5-bit NeuroSim ADC per conversion
SRAM_ADC_FJ = np.array([116.0, 117.4, 118.7])     # CM §2: same ADC, SRAM cell
# CM §5A: NeuroSim ADC vs resolution (RRAM 128x128, 0.7 V): energy fJ / area k um^2 (128 col)
ADC_BITS_GRID = np.arange(1, 9)
ADC_FJ_BY_BITS = np.array([3.3, 9.8, 22.5, 47.9, 98.6, 200.0, 403.0, 808.0])
ADC_AREA_BY_BITS = np.array([3.1, 9.4, 21.9, 47.7, 102.6, 219.6, 498.6, 1237.0])
CIMLOOP_ADC_BITS = 5                              # CM §2: ADC_RESOLUTION = 5 in every run
SRAM_WRITE_FJ = np.array([70.0, 980.0, 2000.0])   # CM §2: SRAM cell write per bit
# CM §2: SRAM weight drivers (row-driver write) per action of csY bits, 0.7 V, 32/128/512 cols
SRAM_WDRV_07_PJ = np.array([1.43, 1.68, 2.81])
SRAM_WDRV_05_PJ = 13.5                            # CM §2: "about 13.5 pJ" at 0.5 V
RRAM_ADC_AREA_UM2_PER_COL = 102.6e3 / 128         # CM §5A: 102.6 k um^2 for 128 columns (5 bit)
SRAM_ADC_AREA_UM2_PER_COL = 856.0                 # CM §2: ~856 um^2 per column (SRAM cell)
RRAM_ROWDRV_AREA_UM2_PER_ROW = 3.98               # CM §2: RRAM row drivers 3.98 um^2 per row
RRAM_COLDRV_AREA_UM2_PER_COL = 3.18               # CM §2: RRAM column drivers per column
# CM §5A: SRAM row-driver area (all rows, um^2) for square 32/128/512 arrays, per voltage
SRAM_ROWDRV_AREA_UM2 = np.array([[2755.0, 3217.0, 5309.0],
                                 [362.0, 877.0, 3028.0],
                                 [264.0, 787.0, 2908.0]])
SRAM_CELL_LEAK_W = np.array([6.4e-12, 9.0e-12, 10.9e-12])  # CM §2: SRAM cell leakage per cell

# -- NeuroSim integer adder (address adders of every smartbuffer), CM §2 / §5A -------------
ADDER_FJ_PER_BIT = 16.3 / 8       # CM §5A: 16.3 fJ at 8 bit (about 2.0 fJ per bit)
ADDER_UM2_PER_BIT = 23.5 / 8      # CM §5A: 23.5 um^2 at 8 bit (about 2.9 um^2 per bit)

# -- CACTI 6.5 SRAM buffers (CM §5 table B) ---------------------------------------------------
GLB_MB = np.array([0.5, 1, 2, 4, 8, 16, 32, 64, 128])
GLB_READ_PJ = np.array([324, 776, 1024, 1778, 2416, 4601, 6751, 9700, 13510.0])  # CM §5B
GLB_WRITE_PJ = np.array([858, 992, 1456, 2211, 2643, 5468, 7618, 11437, 15247.0])  # CM §5B
GLB_AREA_MM2 = np.array([0.863, 2.89, 4.72, 10.74, 17.5, 38.1, 70.2, 130.1, 239.5])  # CM §5B
GLB_LEAK_W = np.array([0.021, 0.042, 0.081, 0.163, 0.320, 0.645, 1.29, 2.57, 5.13]) * 1e-3  # §5B
BUF_WIDTHS = np.array([32.0, 128.0, 512.0, 1024.0])   # CM §5B: tile buffer widths (8*mit)
BUF_DEPTHS = np.array([32.0, 128.0, 512.0])           # CM §5B: tile buffer depths (csX / csY)
BUF_READ_PJ = np.array([[0.20, 0.45, 1.21], [1.05, 2.06, 4.42],
                        [9.73, 17.55, 22.45], [34.69, 61.21, 70.89]])     # CM §5B
BUF_WRITE_PJ = np.array([[0.34, 0.95, 1.40], [1.61, 4.06, 7.70],
                         [11.95, 25.55, 55.58], [39.13, 77.21, 137.14]])  # CM §5B
BUF_AREA_MM2 = np.array([[0.0003, 0.0010, 0.0037], [0.0013, 0.0042, 0.0140],
                         [0.0097, 0.0249, 0.0584], [0.0305, 0.0718, 0.1361]])  # CM §5B

# -- router and DRAM (CM §2, §5C) ------------------------------------------------------------
ROUTER_J_PER_ACTION = 10.37e-12     # CM §5C: ISAAC router, 128-bit action (no voltage scaling)
ROUTER_AREA_MM2 = 0.01875           # CM §5C: per router group at 32 nm
DRAM_J_PER_BIT = 8e-12              # CM §2: LPDDR4 8 pJ/bit, not technology scaled


# -- interpolation helpers ---------------------------------------------------------------------
def _interp_v(table: np.ndarray, voltage_v: np.ndarray) -> np.ndarray:
    """Piecewise-linear in voltage over the 0.5/0.7/0.85 V grid, linear extrapolation."""
    v = np.asarray(voltage_v, float)
    lo = np.clip(np.searchsorted(_V_GRID, v) - 1, 0, len(_V_GRID) - 2)
    t = (v - _V_GRID[lo]) / (_V_GRID[lo + 1] - _V_GRID[lo])
    return table[lo] + t * (table[lo + 1] - table[lo])


def loglog(x_grid: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """1-D log-log interpolation of y(x_grid) at x (linear extrapolation in log space)."""
    lx = np.log(np.asarray(x, float))
    lg = np.log(np.asarray(x_grid, float))
    lo = np.clip(np.searchsorted(lg, lx) - 1, 0, len(lg) - 2)
    t = (lx - lg[lo]) / (lg[lo + 1] - lg[lo])
    ly = np.log(np.asarray(y, float))
    return np.exp(ly[lo] * (1 - t) + ly[lo + 1] * t)


def rram_cell_read_j(bits_per_cell: np.ndarray) -> np.ndarray:
    """RRAM cell read per weight-slice use: ai*255*[E_off + aw*(E_on - E_off)] (CM §2, §4)."""
    aw = AVG_WEIGHT_BY_BPC[np.clip(np.asarray(bits_per_cell, int), 1, 8) - 1]
    return AVG_INPUT * INPUT_PULSES * (RRAM_E_OFF_J + aw * (RRAM_E_ON_J - RRAM_E_OFF_J))


def row_read_j(is_sram: np.ndarray, voltage_v: np.ndarray, xbar_cols: np.ndarray) -> np.ndarray:
    """Row-driver read energy per active row and cycle (CM §5A; wordline length = columns).

    RRAM: linear in columns at each grid voltage; SRAM: log-log in columns. Both piecewise
    linear in voltage."""
    cols = np.asarray(xbar_cols, float)
    # RRAM: per-voltage intercept + slope in columns from the 32- and 512-column points
    slope = (_RRAM_ROW_FJ[:, 2] - _RRAM_ROW_FJ[:, 0]) / (512.0 - 32.0)
    icpt = _RRAM_ROW_FJ[:, 0] - slope * 32.0
    rram = _interp_v(icpt, voltage_v) + _interp_v(slope, voltage_v) * cols
    s_rows = np.stack([loglog(_N_GRID, _SRAM_ROW_FJ[i], cols) for i in range(3)])
    v = np.asarray(voltage_v, float)
    lo = np.clip(np.searchsorted(_V_GRID, v) - 1, 0, 1)
    t = (v - _V_GRID[lo]) / (_V_GRID[lo + 1] - _V_GRID[lo])
    n = np.arange(cols.size)
    sram = s_rows[lo, n] * (1 - t) + s_rows[lo + 1, n] * t
    sram = np.maximum(sram, 0.2 * s_rows[1, n])
    return np.where(is_sram, sram, rram) * 1e-15


def adc_j(is_sram: np.ndarray, voltage_v: np.ndarray) -> np.ndarray:
    """5-bit NeuroSim ADC energy per column conversion (CM §2)."""
    return np.where(is_sram, _interp_v(SRAM_ADC_FJ, voltage_v),
                    _interp_v(RRAM_ADC_FJ, voltage_v)) * 1e-15


def adc_resolution_factor(adc_bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(energy, area) of a `adc_bits` NeuroSim ADC relative to the 5-bit one (CM §5A table),
    log-linear between grid points, x2 energy / x2.5 area per bit beyond 8 bits."""
    b = np.asarray(adc_bits, float)
    le = np.interp(np.minimum(b, 8), ADC_BITS_GRID, np.log(ADC_FJ_BY_BITS))
    la = np.interp(np.minimum(b, 8), ADC_BITS_GRID, np.log(ADC_AREA_BY_BITS))
    extra = np.maximum(b - 8, 0)
    e = np.exp(le) * 2.0 ** extra / ADC_FJ_BY_BITS[CIMLOOP_ADC_BITS - 1]
    a = np.exp(la) * 2.5 ** extra / ADC_AREA_BY_BITS[CIMLOOP_ADC_BITS - 1]
    return e, a


def sram_write_j(voltage_v: np.ndarray) -> np.ndarray:
    """SRAM cell write energy per bit (CM §2), floored at the 0.5-V value."""
    return np.maximum(_interp_v(SRAM_WRITE_FJ, voltage_v), 0.5 * SRAM_WRITE_FJ[0]) * 1e-15


def sram_weight_driver_j(voltage_v: np.ndarray, xbar_cols: np.ndarray) -> np.ndarray:
    """SRAM weight-driver energy per action of csY bits (CM §2): 0.7-V curve x voltage factor.

    The 0.85-V factor is not documented; it is assumed to follow the SRAM row-driver energy
    ratio 0.85/0.7 V at 128 columns (3121/2413)."""
    base = loglog(_N_GRID, SRAM_WDRV_07_PJ, xbar_cols)
    factor = _interp_v(np.array([SRAM_WDRV_05_PJ / SRAM_WDRV_07_PJ[1], 1.0, 3121.0 / 2413.0]),
                       voltage_v)
    return base * np.maximum(factor, 0.5) * 1e-12


def sram_rowdrv_area_um2(voltage_v: np.ndarray, xbar_rows: np.ndarray) -> np.ndarray:
    """SRAM row-driver area (all rows, um^2) from the square-array table (CM §5A), log-log in
    rows, linear in voltage. The stored areas depend on columns too: the calibration file
    holds a fitted (voltage, rows, columns) table that replaces this where available."""
    r = np.asarray(xbar_rows, float)
    per_v = np.stack([loglog(_N_GRID, SRAM_ROWDRV_AREA_UM2[i], r) for i in range(3)])
    v = np.asarray(voltage_v, float)
    lo = np.clip(np.searchsorted(_V_GRID, v) - 1, 0, 1)
    t = (v - _V_GRID[lo]) / (_V_GRID[lo + 1] - _V_GRID[lo])
    n = np.arange(r.size)
    return np.maximum(per_v[lo, n] * (1 - t) + per_v[lo + 1, n] * t, 0.5 * per_v[2, n])


def buffer_table(table: np.ndarray, width_bits: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Bilinear log-log interpolation of a CM §5B tile-buffer table at (width, depth)."""
    w = np.asarray(width_bits, float)
    d = np.asarray(depth, float)
    per_w = np.stack([loglog(BUF_DEPTHS, table[i], d) for i in range(len(BUF_WIDTHS))])
    n = np.arange(d.size)
    lw, lg = np.log(w), np.log(BUF_WIDTHS)
    lo = np.clip(np.searchsorted(lg, lw) - 1, 0, len(lg) - 2)
    t = (lw - lg[lo]) / (lg[lo + 1] - lg[lo])
    return np.exp(np.log(per_w[lo, n]) * (1 - t) + np.log(per_w[lo + 1, n]) * t)


def glb_table(values: np.ndarray, glb_bytes: np.ndarray) -> np.ndarray:
    """Log-log interpolation of a CM §5B GLB column (by capacity in MB)."""
    return loglog(GLB_MB, values, np.asarray(glb_bytes, float) / 2**20)


def cacti_tech_scale(technology_nm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(energy, area) factor vs 32 nm for CACTI below 22 nm: sqrt(t/22) and t/22 (CM §2).

    Between 22 and 45 nm CACTI interpolates its own runs; here energy ~ t and area ~ t^2
    relative to 32 nm (an assumption, corrected by the calibration's per-node factors)."""
    t = np.asarray(technology_nm, float)
    e22, a22 = 22.0 / REF_NODE_NM, (22.0 / REF_NODE_NM) ** 2
    e = np.where(t < 22, e22 * np.sqrt(t / 22.0), t / REF_NODE_NM)
    a = np.where(t < 22, a22 * (t / 22.0), (t / REF_NODE_NM) ** 2)
    return e, a
