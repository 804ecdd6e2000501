"""Technology-node (7-65 nm) and supply-voltage scaling factors, relative to 32 nm.

All functions are numpy-vectorized over arrays of nodes / voltages and return multiplicative
factors (1.0 at 32 nm and the stated reference voltage). Sources:
- area and energy vs node: Stillmaker & Baas, "Scaling equations for the accurate prediction
  of CMOS device performance from 180 nm to 7 nm", Integration 58 (2017) 74-81, as tabulated
  in Accelergy-Project/hwcomponents ``hwcomponents/scaling/techscaling.py``;
- dynamic energy vs supply: E = C V^2 (switching energy of CMOS);
- gate delay vs supply: alpha-power law, Sakurai & Newton, IEEE JSSC 25(2), 1990.
"""

from __future__ import annotations

import numpy as np

from problems.errors import ImcoptError

NODE_RANGE_NM: tuple[float, float] = (7.0, 65.0)
REFERENCE_NODE_NM = 32.0

# Stillmaker-Baas grid nodes inside the supported range (ascending).
_NODES_NM = np.array([7.0, 10.0, 14.0, 16.0, 20.0, 32.0, 45.0, 65.0])
# Area factor from 32 nm to each node: S&B AREA_SCALING row "32 nm" (hwcomponents techscaling).
_AREA_FROM_32 = np.array([0.13, 0.22, 0.38, 0.41, 0.46, 1.0, 2.2, 3.3])
# Energy polynomial a*V^2 + b*V + c per node (S&B, hwcomponents ENERGY_SCALING rows).
_ENERGY_POLY = np.array([
    [0.1776, -0.09097, 0.02447],   # 7 nm
    [0.2068, -0.09311, 0.02375],   # 10 nm
    [0.2363, -0.09675, 0.02239],   # 14 nm
    [0.2958, -0.1241, 0.03024],    # 16 nm
    [0.373, -0.1582, 0.04104],     # 20 nm
    [0.9559, -0.7823, 0.471],      # 32 nm
    [1.103, -0.362, 0.2767],       # 45 nm
    [3.755, -4.398, 1.975],        # 65 nm
])
# The node factor is the S&B polynomial evaluated at one common supply (0.8 V, the hwcomponents
# default); the design's own supply then enters separately through C V^2.
_SB_VDD_V = 0.8
_ENERGY_FROM_32 = (_ENERGY_POLY @ np.array([_SB_VDD_V**2, _SB_VDD_V, 1.0]))
_ENERGY_FROM_32 = _ENERGY_FROM_32 / _ENERGY_FROM_32[5]
# Gate delay (FO4) factor vs node relative to 32 nm: roughly linear in node above 32 nm and
# flattening below it, following the S&B delay trend (an approximation, not their coefficients).
_DELAY_FROM_32 = np.array([0.42, 0.48, 0.56, 0.60, 0.68, 1.0, 1.35, 1.9])

# Alpha-power law (Sakurai-Newton 1990): t_d ~ V / (V - V_th)^alpha; velocity-saturated
# short-channel devices have alpha ~1.3, V_th ~0.25 V for low-V_th logic.
ALPHA_POWER = 1.3
THRESHOLD_V = 0.25


def check_node(technology_nm: np.ndarray | float) -> np.ndarray:
    """Return ``technology_nm`` as a float array; raise ImcoptError outside [7, 65] nm."""
    t = np.asarray(technology_nm, dtype=float)
    lo, hi = NODE_RANGE_NM
    bad = ~np.isfinite(t) | (t < lo) | (t > hi)
    if np.any(bad):
        v = np.atleast_1d(t)[np.atleast_1d(bad)][0]
        raise ImcoptError(f"technology_nm = {v:g} is outside the supported range "
                          f"[{lo:g}, {hi:g}] nm")
    return t


def check_voltage(voltage_v: np.ndarray | float) -> np.ndarray:
    """Return ``voltage_v`` as a float array; raise ImcoptError outside [0.3, 1.5] V."""
    v = np.asarray(voltage_v, dtype=float)
    bad = ~np.isfinite(v) | (v < 0.3) | (v > 1.5)
    if np.any(bad):
        x = np.atleast_1d(v)[np.atleast_1d(bad)][0]
        raise ImcoptError(f"voltage_v = {x:g} is outside the supported range [0.3, 1.5] V")
    return v


def _interp_log(node_nm: np.ndarray, table: np.ndarray) -> np.ndarray:
    # piecewise-linear in log(node) / log(factor): monotone between the S&B grid nodes
    if node_nm.ndim == 1 and node_nm.size > 64 and node_nm[0] == node_nm.min() == node_nm.max():
        # one node in the whole batch (most spaces): the same value, computed once
        return np.full(node_nm.shape, _interp_log(node_nm[:1], table)[0])
    return np.exp(np.interp(np.log(node_nm), np.log(_NODES_NM), np.log(table)))


def area_scale(technology_nm: np.ndarray | float) -> np.ndarray:
    """Logic/periphery area factor relative to 32 nm (Stillmaker & Baas 2017)."""
    return _interp_log(check_node(technology_nm), _AREA_FROM_32)


def node_energy_scale(technology_nm: np.ndarray | float) -> np.ndarray:
    """Switching-energy factor of the node relative to 32 nm at equal supply (S&B 2017)."""
    return _interp_log(check_node(technology_nm), _ENERGY_FROM_32)


def energy_scale(technology_nm: np.ndarray | float, voltage_v: np.ndarray | float,
                 reference_voltage_v: float) -> np.ndarray:
    """Dynamic-energy factor vs (32 nm, reference_voltage_v): S&B node factor x (V/V_ref)^2."""
    v = check_voltage(voltage_v)
    return node_energy_scale(technology_nm) * (v / reference_voltage_v) ** 2


def delay_scale(technology_nm: np.ndarray | float, voltage_v: np.ndarray | float,
                reference_voltage_v: float = 0.9) -> np.ndarray:
    """Gate-delay factor vs (32 nm, reference_voltage_v): node trend x alpha-power law."""
    v = check_voltage(voltage_v)
    node = _interp_log(check_node(technology_nm), _DELAY_FROM_32)

    def ap(x: np.ndarray | float) -> np.ndarray:
        return x / (x - THRESHOLD_V) ** ALPHA_POWER  # Sakurai-Newton alpha-power delay
    return node * ap(v) / ap(reference_voltage_v)


def feature_area_um2(technology_nm: np.ndarray | float, f2: float) -> np.ndarray:
    """Area in um^2 of a cell of ``f2`` F^2 at node F = technology_nm (e.g. 48 F^2 1T1R)."""
    f_um = check_node(technology_nm) * 1e-3
    return f2 * f_um * f_um
