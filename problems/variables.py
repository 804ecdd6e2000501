"""One searched design parameter (`Variable`) and the YAML schema of its values and units.

A variable's values are held in the design parameter's canonical unit (``cycle_time_s`` in
seconds, ``glb_bytes`` in bytes); `UNITS` lists the units a space file may use per parameter
(values are converted on load). `parse_variable` reads one entry of a space file's
``variables`` list (``values: [...]`` or an inclusive ``range: {start, stop, step}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from problems.errors import ImcoptError, short
from problems.hardware.design import INT_PARAMS, MEMORY_TYPES, PARAMETERS

#: parameter -> {accepted unit: factor to the canonical unit}; the first entry is canonical
UNITS: dict[str, dict[str, float]] = {
    "memory": {"type": 1.0, "RRAM|SRAM": 1.0},
    "technology_nm": {"nm": 1.0},
    "voltage_v": {"V": 1.0, "mV": 1e-3},
    "bits_per_cell": {"bit": 1.0, "bits": 1.0},
    "cycle_time_s": {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12},
    "xbar_rows": {"rows": 1.0},
    "xbar_cols": {"columns": 1.0, "cols": 1.0},
    "adc_bits": {"bit": 1.0, "bits": 1.0},
    "adcs_per_macro": {"ADCs": 1.0},
    "router_groups": {"groups": 1.0},
    "tiles_per_group": {"tiles": 1.0},
    "macros_per_tile": {"macros": 1.0},
    "glb_bytes": {"B": 1.0, "KiB": 2.0**10, "MiB": 2.0**20, "GiB": 2.0**30},
}
REL_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class Variable:
    """One searched design parameter: its allowed values (canonical unit), in index order."""

    name: str
    values: np.ndarray
    unit: str

    def __post_init__(self) -> None:
        if self.name not in PARAMETERS:
            raise ImcoptError(f"variable {self.name!r}: unknown design parameter; "
                              f"allowed: {sorted(PARAMETERS)}")
        canonical = next(iter(UNITS[self.name]))
        if self.unit != canonical:
            raise ImcoptError(f"variable {self.name}: unit {self.unit!r} is not the canonical "
                              f"unit {canonical!r} (convert values before building a Variable)")
        vals = canonical_values(self.name, self.values, f"variable {self.name}")
        vals.setflags(write=False)
        object.__setattr__(self, "values", vals)

    @property
    def cardinality(self) -> int:
        return int(self.values.size)

    def to_list(self) -> list[object]:
        """Values as plain Python scalars (memory as 'RRAM'/'SRAM')."""
        if self.name == "memory":
            return [MEMORY_TYPES[int(v)] for v in self.values]
        return [v.item() for v in self.values]


def parse_variable(rv: object, i: int, where: str) -> Variable:
    field = f"variables[{i}]"
    if not isinstance(rv, Mapping):
        raise ImcoptError(f"space file {where}: {field} must be a mapping")
    name = rv.get("name")
    if name not in PARAMETERS:
        raise ImcoptError(f"space file {where}: {field}.name = {short(name)} is not a design "
                          f"parameter; allowed: {sorted(PARAMETERS)}")
    field = f"variables[{i}] ({name})"
    unknown = sorted(set(rv) - {"name", "values", "range", "unit"})
    if unknown:
        raise ImcoptError(f"space file {where}: {field}: unknown key(s) {unknown}")
    unit = rv.get("unit")
    units = UNITS[name]
    if unit is None and name == "memory":
        unit = "type"
    if unit not in units:
        raise ImcoptError(f"space file {where}: {field}.unit = {short(unit)}; allowed units for "
                          f"{name}: {list(units)}")
    if ("values" in rv) == ("range" in rv):
        raise ImcoptError(f"space file {where}: {field} needs exactly one of values / range")
    if "values" in rv:
        vals = rv["values"]
        if not isinstance(vals, list) or not vals:
            raise ImcoptError(f"space file {where}: {field}.values must be a non-empty list")
    else:
        vals = _expand_range(rv["range"], f"space file {where}: {field}.range")
    if name == "memory":
        scaled: list[object] = list(vals)
    else:
        for v in vals:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ImcoptError(f"space file {where}: {field}: value {short(v)} is not a number")
        scaled = [_clean(float(v) * units[unit]) for v in vals]
    canonical = next(iter(units))
    return Variable(name, canonical_values(name, scaled, f"space file {where}: {field}"),
                    canonical)


def _clean(x: float) -> float:
    """x rounded to 12 significant digits (6 * 1e-9 -> 6e-09, 0.5 + 7 * 0.05 -> 0.85)."""
    return float(f"{x:.12g}")


def _expand_range(r: object, ctx: str) -> list[float]:
    if not isinstance(r, Mapping) or set(r) != {"start", "stop", "step"}:
        raise ImcoptError(f"{ctx} must be a mapping with exactly start, stop, step")
    try:
        start, stop, step = (float(r[k]) for k in ("start", "stop", "step"))
    except (TypeError, ValueError) as exc:
        raise ImcoptError(f"{ctx}: start/stop/step must be numbers") from exc
    if not (np.isfinite(start) and np.isfinite(stop) and np.isfinite(step)) or step <= 0:
        raise ImcoptError(f"{ctx}: step must be a positive number")
    if stop < start:
        raise ImcoptError(f"{ctx}: stop {stop:g} < start {start:g}")
    k = (stop - start) / step
    n = int(round(k))
    if abs(k - n) > 1e-6:
        raise ImcoptError(f"{ctx}: stop {stop:g} is not start + k*step (inclusive stop)")
    if n + 1 > 1_000_000:
        raise ImcoptError(f"{ctx}: more than 1,000,000 values")
    return [_clean(start + i * step) for i in range(n + 1)]


def canonical_values(name: str, values: object, ctx: str) -> np.ndarray:
    """Values as a 1-D int64/float array in range, integral where needed, without duplicates."""
    raw = list(np.atleast_1d(np.asarray(values, dtype=object)))
    if not raw:
        raise ImcoptError(f"{ctx}: empty list of values")
    if name == "memory":
        out = np.empty(len(raw), np.int64)
        for i, v in enumerate(raw):
            if isinstance(v, str) and v.upper() in MEMORY_TYPES:
                out[i] = MEMORY_TYPES.index(v.upper())
            elif isinstance(v, int | np.integer) and 0 <= int(v) < len(MEMORY_TYPES):
                out[i] = int(v)
            else:
                raise ImcoptError(f"{ctx}: memory value {short(v)}; allowed: {list(MEMORY_TYPES)}")
    else:
        try:
            arr = np.array([float(v) for v in raw])
        except (TypeError, ValueError) as exc:
            raise ImcoptError(f"{ctx}: values must be numbers, got {short(raw)}") from exc
        if not np.all(np.isfinite(arr)):
            raise ImcoptError(f"{ctx}: values must be finite")
        if name in INT_PARAMS:
            if not np.all(np.abs(arr - np.round(arr)) <= 1e-9 * np.maximum(1, np.abs(arr))):
                bad = arr[np.abs(arr - np.round(arr)) > 1e-9 * np.maximum(1, np.abs(arr))][0]
                raise ImcoptError(f"{ctx}: value {bad:g} is not an integer")
            out = np.round(arr).astype(np.int64)
        else:
            out = arr
        _, (lo, hi), unit = PARAMETERS[name]
        bad = (out < lo) | (out > hi)
        if np.any(bad):
            raise ImcoptError(f"{ctx}: value {out[bad][0]:g} {unit} is outside the allowed "
                              f"range [{lo:g}, {hi:g}] {unit}")
    srt = np.sort(out.astype(float))
    close = np.isclose(srt[1:], srt[:-1], rtol=REL_TOL, atol=0)
    if np.any(close):
        raise ImcoptError(f"{ctx}: duplicate value {srt[1:][close][0]:g}")
    return out


def lookup_values(values: np.ndarray, a: np.ndarray, ctx: str) -> np.ndarray:
    """Index of each entry of a in values (float tolerance); ImcoptError if absent."""
    order = np.argsort(values, kind="stable")
    sv = values[order].astype(float)
    af = a.astype(float)
    pos = np.clip(np.searchsorted(sv, af), 0, sv.size - 1)
    best = pos.copy()
    left = np.clip(pos - 1, 0, sv.size - 1)
    use_left = np.abs(sv[left] - af) < np.abs(sv[pos] - af)
    best[use_left] = left[use_left]
    ok = np.isclose(sv[best], af, rtol=REL_TOL, atol=0)
    if not np.all(ok):
        bad = af[~ok][0]
        shown = [v.item() for v in values[:12]]
        raise ImcoptError(f"{ctx}: value {bad:g} is not in the space's list {shown}"
                          f"{' ...' if values.size > 12 else ''}")
    return order[best]
