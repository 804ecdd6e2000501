"""Component models of the ``physical`` convention: per-action energy (J), area (mm^2), delay (s).

Every function is a numpy function of design arrays (shape (N,) or broadcastable); each constant
cites its source in a one-line comment. Reference values are at 32 nm and are moved to other
nodes / supplies with `problems.hardware.technology`. CIMLOOP_MODEL.md / MACROS.md refer to the
project's shared reference notes (component values extracted from NeuroSim, CACTI, ISAAC and the
hwcomponents plug-ins).
"""

from __future__ import annotations

import numpy as np

from problems.errors import ImcoptError
from problems.hardware.technology import (
    area_scale,
    check_node,
    delay_scale,
    energy_scale,
    feature_area_um2,
)

UM2_TO_MM2 = 1e-6

# ---- data statistics (data-independent averages) ------------------------------------------
# share of 1 bits in an input bit-plane (CIMLOOP_MODEL §4: ai median 0.496)
INPUT_ONE_FRACTION = 0.5
WEIGHT_ON_FRACTION = 0.5    # mean normalised cell conductance (CIMLOOP_MODEL §4: aw median 0.50)

# ---- memory cells ----------------------------------------------------------------------
RRAM_R_ON_OHM = 6e3         # NeuroSim default 1T1R device, LRS (CIMLOOP_MODEL §2 cell file)
RRAM_R_OFF_OHM = 900e3      # NeuroSim default device, HRS
RRAM_ACCESS_OHM = 195e3     # NeuroSim 1T1R access transistor on-resistance (same cell file)
RRAM_READ_V = 0.5           # NeuroSim default read voltage (Param.cpp; MACROS.md #9)
RRAM_CELL_F2 = 48.0         # 1T1R cell 48 F^2 (NeuroSim cell file; 0.04915 um^2 at 32 nm)
SRAM_CELL_F2 = 280.0        # NeuroSim SRAM compute cell 280 F^2 (0.2867 um^2 at 32 nm)
# 8T decoupled read-port node capacitance per cell (~2 min. gates, 32 nm)
SRAM_READ_PORT_F = 0.05e-15
RRAM_SET_V = 2.0            # SET/RESET pulse amplitude, NeuroSim cell file (set 2 V / 50 ns)
RRAM_SET_PULSE_S = 50e-9    # NeuroSim cell file SET pulse width
# 1T1R compliance current, tens of uA (Wong et al., Proc. IEEE 100(6), 2012)
RRAM_COMPLIANCE_A = 50e-6
RRAM_VERIFY_S = 10e-9       # one verify read per programming pulse (10 ns NeuroSim read pulse)

# ---- array periphery ---------------------------------------------------------------------
# NeuroSim row driver: 5.29 pJ/row per 127.5 pulses, 128 cols, 0.7 V, 32 nm (CIMLOOP_MODEL §5A)
WL_ENERGY_PER_CELL_J = 0.324e-15
WL_REF_V = 0.7
ROW_DRIVER_AREA_UM2 = 3.98  # NeuroSim RRAM row driver area per row at 32 nm (CIMLOOP_MODEL §2)
# NeuroSim column driver 3.18 um^2 + sample-and-hold ~1 um^2 per column (32 nm)
COL_PERIPH_AREA_UM2 = 4.2
BL_CAP_PER_CELL_F = 0.1e-15  # bitline wire+junction per cell, ~0.2 fF/um x ~0.5 um pitch (32 nm)
# sample-and-hold capacitor per column (ISAAC-style S&H; 10 uW for 1024, Shafiee 2016)
SH_CAP_F = 10e-15
COL_REF_V = 0.9

# ---- ADC (Murmann ADC survey fit, hwcomponents-adc; CIMLOOP_MODEL §5D, 32 nm, 1 GS/s) --------
_ADC_BITS = np.array([4.0, 5.0, 6.0, 7.0, 8.0])
_ADC_E32_PJ = np.array([0.739, 0.749, 0.852, 1.050, 1.371])  # pJ/conversion at 32 nm, 1 GS/s
ADC_NODE_EXPONENT = 1.88    # E ~ node^1.88: recovered from the same fit's 22/32/45 nm outputs (§5D)
# survey-fit area at 4 b, 32 nm, 1 GS/s (§5D: 4,964-5,972 um^2 for 4-8 b)
ADC_AREA32_UM2_4B = 4964.0
ADC_AREA32_UM2_PER_BIT = 252.0  # (5972 - 4964) / 4 bits
ADC_RATE32_HZ = 1e9         # sample rate of the survey point used (1 GS/s at 32 nm)

# ---- digital -------------------------------------------------------------------------------
ADDER_ENERGY_PER_BIT_J = 2.04e-15  # NeuroSim adder: 16.3 fJ at 8 bit, 32 nm (CIMLOOP_MODEL §5A)
ADDER_AREA_PER_BIT_UM2 = 2.94      # NeuroSim adder: 23.5 um^2 at 8 bit, 32 nm
REGISTER_ENERGY_PER_BIT_J = 1.0e-15  # flip-flop clocking ~1 fJ/bit at 32 nm (~half an adder bit)
DIGITAL_REF_V = 0.7                # NeuroSim values at the CiMLoop run supply (0.7 V)

# ---- SRAM buffers: fit to CACTI 6.5 (32 nm, LSTP) values of CIMLOOP_MODEL §5B ----------------
# read energy per bit ~ 1.48e-16 J * sqrt(capacity_bits) (21 CACTI points, 1 kbit-1 Gbit, x0.5-2)
BUFFER_READ_J_PER_BIT_SQRT = 1.48e-16
BUFFER_WRITE_OVER_READ = 1.4   # CACTI write/read ratio, e.g. 1456/1024 pJ at 2 MB (§5B)
BUFFER_AREA_UM2_PER_BIT = 0.26  # CACTI area/bit: 0.22-0.34 um^2 for 1 kbit-1 Gbit (§5B)
# decoder / sense-amp floor of small CACTI arrays (32x32: 0.0003 mm^2)
BUFFER_AREA_FIXED_UM2 = 300.0
CACTI_REF_V = 0.9              # 32 nm ITRS supply assumed for the CACTI figures
GLB_WIDTH_BITS = 2048          # GLB port width (PAPER.md hierarchy)
GLB_CYCLE32_S = 2e-9           # multi-MB banked SRAM cycle ~2 ns at 32 nm (CACTI access 1-3 ns)

# ---- network and DRAM ----------------------------------------------------------------------
# ISAAC router shared by four: 10.37 pJ per 128 b at 32 nm (Shafiee 2016; §5C)
ROUTER_J_PER_BIT = 10.37e-12 / 128
ROUTER_AREA32_MM2 = 0.01875         # same router, per router group at 32 nm (§5C)
ROUTER_FLIT_BITS = 128
ROUTER_CLOCK32_HZ = 1.2e9           # ISAAC digital clock 1.2 GHz (MACROS.md #1)
ROUTER_REF_V = 0.9
# LPDDR4 access incl. I/O, 8 pJ/bit (CACTI LPDDR4 model used by CiMLoop; §2)
DRAM_J_PER_BIT = 8e-12
DRAM_BANDWIDTH_B_PER_S = 12.8e9  # one x32 LPDDR4-3200 channel: 3200 MT/s x 4 B (JEDEC JESD209-4)

# ---- SRAM array writes ---------------------------------------------------------------------
SRAM_WRITE_BL_CAP_PER_CELL_F = 0.2e-15  # full-swing write bitline ~0.2 fF per cell (32 nm)
SRAM_WRITE_FIXED_F = 2e-15              # write driver per bit
SRAM_WRITE_ROW32_S = 1e-9               # one row write per ~1 ns array cycle at 32 nm, 0.9 V


def _positive(name: str, value: np.ndarray | float, low: float = 0.0,
              high: float = np.inf) -> np.ndarray:
    a = np.asarray(value, dtype=float)
    bad = ~np.isfinite(a) | (a <= low) | (a > high)
    if np.any(bad):
        v = np.atleast_1d(a)[np.atleast_1d(bad)][0]
        raise ImcoptError(f"{name} = {v:g} is outside the allowed range ({low:g}, {high:g}]")
    return a


# ---- cells ---------------------------------------------------------------------------------
def rram_cell_read_energy_j(pulse_s: np.ndarray | float) -> np.ndarray:
    """Mean energy of one 1T1R cell in one 1-bit input slot: p(1) * V^2 t / (R + R_access)."""
    t = _positive("pulse_s", pulse_s)
    g = (WEIGHT_ON_FRACTION / (RRAM_R_ON_OHM + RRAM_ACCESS_OHM)
         + (1 - WEIGHT_ON_FRACTION) / (RRAM_R_OFF_OHM + RRAM_ACCESS_OHM))
    return INPUT_ONE_FRACTION * RRAM_READ_V**2 * g * t


def sram_cell_read_energy_j(technology_nm: np.ndarray, voltage_v: np.ndarray) -> np.ndarray:
    """Mean energy of one 8T compute cell's read port in one 1-bit input slot (C V^2)."""
    p = INPUT_ONE_FRACTION * WEIGHT_ON_FRACTION
    return p * SRAM_READ_PORT_F * energy_scale(technology_nm, voltage_v, 1.0)


def cell_area_mm2(memory: np.ndarray, technology_nm: np.ndarray) -> np.ndarray:
    """Cell area: 48 F^2 (RRAM 1T1R) or 280 F^2 (SRAM), F = technology node."""
    f2 = np.where(np.asarray(memory) == 1, SRAM_CELL_F2, RRAM_CELL_F2)
    return feature_area_um2(technology_nm, 1.0) * f2 * UM2_TO_MM2


def rram_program_pulses(bits_per_cell: np.ndarray) -> np.ndarray:
    """Write-verify pulses per cell: 2^bits (one pulse + verify per level on average)."""
    b = _positive("bits_per_cell", bits_per_cell, 0, 8)
    return 2.0 ** b


def rram_program_energy_j(bits_per_cell: np.ndarray) -> np.ndarray:
    """Programming energy per RRAM cell: pulses x V_set x I_compliance x t_pulse (5 pJ/pulse)."""
    return rram_program_pulses(bits_per_cell) * RRAM_SET_V * RRAM_COMPLIANCE_A * RRAM_SET_PULSE_S


def rram_program_row_time_s(bits_per_cell: np.ndarray) -> np.ndarray:
    """Time to program one crossbar row (all its columns in parallel): pulses x (set + verify)."""
    return rram_program_pulses(bits_per_cell) * (RRAM_SET_PULSE_S + RRAM_VERIFY_S)


def sram_write_energy_per_bit_j(xbar_rows: np.ndarray, technology_nm: np.ndarray,
                                voltage_v: np.ndarray) -> np.ndarray:
    """Energy to write one SRAM cell: full-swing bitline of ``xbar_rows`` cells (C V^2)."""
    rows = _positive("xbar_rows", xbar_rows)
    c = rows * SRAM_WRITE_BL_CAP_PER_CELL_F + SRAM_WRITE_FIXED_F
    return c * energy_scale(technology_nm, voltage_v, 1.0)


def sram_write_row_time_s(technology_nm: np.ndarray, voltage_v: np.ndarray) -> np.ndarray:
    """Time to write one SRAM array row (one array cycle, scaled by gate delay)."""
    return SRAM_WRITE_ROW32_S * delay_scale(technology_nm, voltage_v, 0.9)


# ---- crossbar periphery ----------------------------------------------------------------------
def row_activation_energy_j(xbar_cols: np.ndarray, technology_nm: np.ndarray,
                            voltage_v: np.ndarray) -> np.ndarray:
    """Energy of one 1-bit input pulse on a wordline (1-bit DAC + wordline of xbar_cols)."""
    cols = _positive("xbar_cols", xbar_cols)
    return cols * WL_ENERGY_PER_CELL_J * energy_scale(technology_nm, voltage_v, WL_REF_V)


def column_read_energy_j(xbar_rows: np.ndarray, technology_nm: np.ndarray,
                         voltage_v: np.ndarray) -> np.ndarray:
    """Energy per column per 1-bit input step: bitline precharge + sample-and-hold (C V^2)."""
    rows = _positive("xbar_rows", xbar_rows)
    c = rows * BL_CAP_PER_CELL_F + SH_CAP_F
    return c * energy_scale(technology_nm, voltage_v, 1.0)


def row_driver_area_mm2(xbar_rows: np.ndarray, technology_nm: np.ndarray) -> np.ndarray:
    """Row drivers / 1-bit DACs of one macro."""
    return _positive("xbar_rows", xbar_rows) * ROW_DRIVER_AREA_UM2 * area_scale(technology_nm) \
        * UM2_TO_MM2


def column_periphery_area_mm2(xbar_cols: np.ndarray, technology_nm: np.ndarray) -> np.ndarray:
    """Column drivers + sample-and-hold (+ ADC input mux) of one macro."""
    return _positive("xbar_cols", xbar_cols) * COL_PERIPH_AREA_UM2 * area_scale(technology_nm) \
        * UM2_TO_MM2


# ---- ADC ---------------------------------------------------------------------------------------
def adc_nominal_rate_hz(technology_nm: np.ndarray) -> np.ndarray:
    """Sample rate of the survey-sized converter: 1 GS/s at 32 nm, scaled by gate delay."""
    return ADC_RATE32_HZ / delay_scale(technology_nm, 0.9, 0.9)


def adc_conversion_time_s(technology_nm: np.ndarray) -> np.ndarray:
    """Time of one conversion of the survey-sized converter (1 / nominal rate)."""
    return 1.0 / adc_nominal_rate_hz(technology_nm)


def _adc_bits(adc_bits: np.ndarray | float) -> np.ndarray:
    return _positive("adc_bits", adc_bits, 0, 12)


def adc_energy_j(adc_bits: np.ndarray | float, technology_nm: np.ndarray | float,
                 sample_rate_hz: np.ndarray | float | None = None) -> np.ndarray:
    """Energy per conversion (Murmann survey fit as in hwcomponents-adc).

    Resolution: the fit's 32 nm / 1 GS/s values for 4-8 b (log-interpolated), flat below 4 b
    (survey energy floor), x2 per bit above 8 b. Node: ~node^1.88. Sample rate: flat up to the
    node's nominal rate, then proportional to rate (power-limited regime of the survey).
    """
    b = _adc_bits(adc_bits)
    t = check_node(technology_nm)
    e32 = np.exp(np.interp(np.clip(b, 4, 8), _ADC_BITS, np.log(_ADC_E32_PJ)))
    e32 = e32 * 2.0 ** np.maximum(b - 8, 0)
    e = e32 * 1e-12 * (t / 32.0) ** ADC_NODE_EXPONENT
    if sample_rate_hz is not None:
        f = _positive("sample_rate_hz", sample_rate_hz)
        e = e * np.maximum(1.0, f / adc_nominal_rate_hz(t))
    return e


def adc_area_mm2(adc_bits: np.ndarray | float, technology_nm: np.ndarray | float) -> np.ndarray:
    """Area of one converter (survey fit at 1 GS/s: ~5,000-6,000 um^2 at 32 nm), node-scaled."""
    b = _adc_bits(adc_bits)
    a32 = ADC_AREA32_UM2_4B + ADC_AREA32_UM2_PER_BIT * (b - 4)
    return a32 * area_scale(technology_nm) * UM2_TO_MM2


# ---- digital -------------------------------------------------------------------------------
def shift_add_energy_j(width_bits: np.ndarray | float, technology_nm: np.ndarray,
                       voltage_v: np.ndarray) -> np.ndarray:
    """One shift-and-add (adder + register) of ``width_bits``."""
    w = _positive("width_bits", width_bits)
    per_bit = ADDER_ENERGY_PER_BIT_J + REGISTER_ENERGY_PER_BIT_J
    return w * per_bit * energy_scale(technology_nm, voltage_v, DIGITAL_REF_V)


def shift_add_area_mm2(width_bits: np.ndarray | float, technology_nm: np.ndarray) -> np.ndarray:
    """One shift-and-add unit (adder + register of the same width)."""
    w = _positive("width_bits", width_bits)
    return 2 * w * ADDER_AREA_PER_BIT_UM2 * area_scale(technology_nm) * UM2_TO_MM2


# ---- SRAM buffers ------------------------------------------------------------------------------
def buffer_read_energy_per_bit_j(capacity_bits: np.ndarray | float, technology_nm: np.ndarray,
                                 voltage_v: np.ndarray) -> np.ndarray:
    """Read energy per bit of an SRAM buffer of ``capacity_bits`` (CACTI fit, ~sqrt(capacity))."""
    c = _positive("capacity_bits", capacity_bits)
    return BUFFER_READ_J_PER_BIT_SQRT * np.sqrt(c) * energy_scale(technology_nm, voltage_v,
                                                                   CACTI_REF_V)


def buffer_write_energy_per_bit_j(capacity_bits: np.ndarray | float, technology_nm: np.ndarray,
                                  voltage_v: np.ndarray) -> np.ndarray:
    """Write energy per bit (CACTI write/read ratio 1.4)."""
    return BUFFER_WRITE_OVER_READ * buffer_read_energy_per_bit_j(capacity_bits, technology_nm,
                                                                 voltage_v)


def buffer_area_mm2(capacity_bits: np.ndarray | float, technology_nm: np.ndarray) -> np.ndarray:
    """SRAM buffer area: 0.26 um^2/bit + fixed periphery at 32 nm (CACTI fit), node-scaled."""
    c = _positive("capacity_bits", capacity_bits)
    return (c * BUFFER_AREA_UM2_PER_BIT + BUFFER_AREA_FIXED_UM2) * area_scale(technology_nm) \
        * UM2_TO_MM2


def glb_bandwidth_bits_per_s(technology_nm: np.ndarray, voltage_v: np.ndarray) -> np.ndarray:
    """GLB bandwidth: one 2048-bit access per GLB cycle (2 ns at 32 nm, delay-scaled)."""
    return GLB_WIDTH_BITS / (GLB_CYCLE32_S * delay_scale(technology_nm, voltage_v, 0.9))


# ---- network and DRAM --------------------------------------------------------------------------
def router_energy_per_bit_j(technology_nm: np.ndarray, voltage_v: np.ndarray) -> np.ndarray:
    """ISAAC router (shared by four): 10.37 pJ / 128 b at 32 nm, S&B + V^2 scaled."""
    return ROUTER_J_PER_BIT * energy_scale(technology_nm, voltage_v, ROUTER_REF_V)


def router_area_mm2(technology_nm: np.ndarray) -> np.ndarray:
    """One router (per router group): 0.01875 mm^2 at 32 nm, S&B area-scaled."""
    return ROUTER_AREA32_MM2 * area_scale(technology_nm)


def router_bandwidth_bits_per_s(router_groups: np.ndarray, technology_nm: np.ndarray,
                                voltage_v: np.ndarray) -> np.ndarray:
    """Aggregate router bandwidth: one 128-bit flit per router per cycle (1.2 GHz at 32 nm)."""
    g = _positive("router_groups", router_groups)
    return g * ROUTER_FLIT_BITS * ROUTER_CLOCK32_HZ / delay_scale(technology_nm, voltage_v, 0.9)


def dram_energy_per_bit_j() -> float:
    """LPDDR4 read energy per bit (8 pJ/bit; not node-scaled: off-chip)."""
    return DRAM_J_PER_BIT


def dram_bandwidth_bits_per_s() -> float:
    """LPDDR4 bandwidth of one x32 channel at 3200 MT/s (12.8 GB/s)."""
    return DRAM_BANDWIDTH_B_PER_S * 8.0
