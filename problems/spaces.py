"""Search spaces as data: ordered lists of allowed values per design parameter.

A space maps an integer index vector ``x`` (one index per variable, ``0 <= x[j] <
cardinalities[j]``) to a design. Variables map 1:1 to `DesignBatch` parameters in the design's
canonical units (``cycle_time_s`` in seconds, ``glb_bytes`` in bytes); every other parameter is
held constant (``fixed``: explicit YAML values over the `DesignBatch` defaults).

YAML schema (``configs/spaces/NAME.yaml``)::

    name: rram-paper
    description: free text
    variables:
      - {name: voltage_v, range: {start: 0.5, stop: 0.85, step: 0.05}, unit: V}   # stop inclusive
      - {name: cycle_time_s, values: [1, 2, 4, 6, 8, 10], unit: ns}
    fixed: {memory: RRAM, technology_nm: 32}

Accepted units per parameter (values are converted to the canonical unit on load) are in
`UNITS`. Enumeration order is mixed-radix with the LAST variable varying fastest (C order).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import problems
from problems.errors import ImcoptError, short
from problems.hardware.design import (
    INT_PARAMS,
    MEMORY_TYPES,
    PARAMETERS,
    RULE_PARAMS,
    DesignBatch,
    check_value_sets,
)
from problems.io import read_yaml

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
_REL_TOL = 1e-9


def spaces_dir() -> Path:
    """Folder of the built-in spaces: ``<repo root>/configs/spaces``."""
    return Path(problems.__file__).resolve().parents[1] / "configs" / "spaces"


def list_spaces() -> list[str]:
    """Names of the built-in spaces (YAML files in `spaces_dir`)."""
    d = spaces_dir()
    return sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []


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
        vals = _canonical_values(self.name, self.values, f"variable {self.name}")
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


class SearchSpace:
    """Ordered variables x fixed parameters; index vectors <-> `DesignBatch` (vectorized)."""

    def __init__(self, name: str, variables: list[Variable] | tuple[Variable, ...],
                 fixed: Mapping[str, object] | None = None, description: str = "",
                 source: str = "") -> None:
        where = source or "in memory"
        if not variables:
            raise ImcoptError(f"space {name!r} ({where}): field variables is empty")
        names = [v.name for v in variables]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ImcoptError(f"space {name!r} ({where}): variables listed twice: {dup}")
        fixed = dict(fixed or {})
        unknown = sorted(set(fixed) - set(PARAMETERS))
        if unknown:
            raise ImcoptError(f"space {name!r} ({where}): fixed: unknown design parameter(s) "
                              f"{unknown}; allowed: {sorted(PARAMETERS)}")
        both = sorted(set(fixed) & set(names))
        if both:
            raise ImcoptError(f"space {name!r} ({where}): parameter(s) {both} are both "
                              f"variables and fixed")
        full: dict[str, object] = {}
        for p, (default, _, _) in PARAMETERS.items():
            if p in names:
                continue
            v = _canonical_values(p, [fixed.get(p, default)], f"space {name!r} ({where}): "
                                  f"fixed.{p}")[0]
            full[p] = v.item()
        self.name = str(name)
        self.description = str(description)
        self.source = source
        self.variables: tuple[Variable, ...] = tuple(variables)
        self.fixed: dict[str, object] = full
        self.cardinalities = np.array([v.cardinality for v in self.variables], dtype=np.int64)
        self.cardinalities.setflags(write=False)
        self.size = int(np.prod([int(c) for c in self.cardinalities], dtype=object))
        check_value_sets({p: (self.variables[names.index(p)].values if p in names
                              else np.array([full[p]])) for p in RULE_PARAMS},
                         f"space {short(name)} ({where}): the combination")

    # -- basic views ------------------------------------------------------------------------
    @property
    def n_var(self) -> int:
        return len(self.variables)

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]

    def __repr__(self) -> str:
        return f"SearchSpace({self.name!r}, n_var={self.n_var}, size={self.size:,})"

    # -- index vectors <-> designs ------------------------------------------------------------
    def check_indices(self, X: np.ndarray) -> np.ndarray:
        """X as an int64 (n, n_var) array; ImcoptError naming the variable if out of range."""
        X = np.asarray(X)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.n_var:
            raise ImcoptError(f"space {self.name}: index array has shape {X.shape}, expected "
                              f"(n, {self.n_var}) for variables {self.names}")
        if not np.issubdtype(X.dtype, np.integer):
            Xf = X.astype(float)
            if not np.all(np.isfinite(Xf)) or not np.all(Xf == np.round(Xf)):
                raise ImcoptError(f"space {self.name}: design indices must be integers")
            X = Xf.astype(np.int64)
        X = X.astype(np.int64, copy=False)
        bad = (X < 0) | (self.cardinalities[None, :] <= X)
        if np.any(bad):
            row, j = (int(a[0]) for a in np.nonzero(bad))
            raise ImcoptError(f"space {self.name}: index {X[row, j]} of variable "
                              f"{self.names[j]} (design {row}) is outside [0, "
                              f"{self.cardinalities[j] - 1}]")
        return X

    def decode(self, X: np.ndarray) -> DesignBatch:
        """Designs of the index vectors X (n, n_var) -> `DesignBatch` of n designs."""
        X = self.check_indices(X)
        n = X.shape[0]
        if n == 0:
            raise ImcoptError(f"space {self.name}: no designs to decode")
        params: dict[str, np.ndarray] = {}
        for j, var in enumerate(self.variables):
            params[var.name] = var.values[X[:, j]]
        for p, v in self.fixed.items():
            params[p] = np.full(n, v, dtype=np.int64 if p in INT_PARAMS or p == "memory"
                                else float)
        return DesignBatch(**params)

    def encode(self, designs: DesignBatch) -> np.ndarray:
        """Index vectors (n, n_var) of designs; ImcoptError if a value is not in a list or a
        fixed parameter differs."""
        n = len(designs)
        X = np.empty((n, self.n_var), dtype=np.int64)
        for j, var in enumerate(self.variables):
            X[:, j] = _lookup(var.values, np.asarray(getattr(designs, var.name)),
                              f"space {self.name}: variable {var.name}")
        for p, v in self.fixed.items():
            a = np.asarray(getattr(designs, p), dtype=float)
            if not np.all(np.isclose(a, float(v), rtol=_REL_TOL, atol=0)):
                bad = a[~np.isclose(a, float(v), rtol=_REL_TOL, atol=0)][0]
                raise ImcoptError(f"space {self.name}: design parameter {p} = {bad:g} but the "
                                  f"space fixes it to {v}")
        return X

    # -- enumeration and sampling ---------------------------------------------------------
    def index_range(self, start: int, stop: int) -> np.ndarray:
        """Index vectors of flat designs ``start..stop-1`` (mixed radix, last variable fastest)."""
        start, stop = int(start), int(stop)
        if not 0 <= start <= stop <= self.size:
            raise ImcoptError(f"space {self.name}: index range [{start}, {stop}) outside "
                              f"[0, {self.size}]")
        flat = np.arange(start, stop, dtype=np.int64)
        return np.stack(np.unravel_index(flat, tuple(int(c) for c in self.cardinalities)),
                        axis=1).astype(np.int64)

    def flat_index(self, X: np.ndarray) -> np.ndarray:
        """Flat enumeration index of each index vector (inverse of `index_range`)."""
        X = self.check_indices(X)
        return np.ravel_multi_index(tuple(X.T), tuple(int(c) for c in self.cardinalities))

    def enumerate_chunk(self, k: int, n_chunks: int) -> np.ndarray:
        """The k-th of n_chunks contiguous, near-equal slices of the full enumeration."""
        if n_chunks < 1 or not 0 <= k < n_chunks:
            raise ImcoptError(f"chunk {k} of {n_chunks}: need n_chunks >= 1 and "
                              f"0 <= k < n_chunks")
        return self.index_range(k * self.size // n_chunks, (k + 1) * self.size // n_chunks)

    def random(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n uniformly random index vectors (with replacement)."""
        if n < 0:
            raise ImcoptError(f"number of random designs must be >= 0, got {n}")
        return rng.integers(0, self.cardinalities, size=(int(n), self.n_var), dtype=np.int64)

    # -- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, object]:
        """Plain dict in the YAML schema (canonical units, explicit value lists)."""
        fixed = {p: (MEMORY_TYPES[int(v)] if p == "memory" else v)
                 for p, v in self.fixed.items()}
        return {
            "name": self.name,
            "description": self.description,
            "variables": [{"name": v.name, "values": v.to_list(), "unit": v.unit}
                          for v in self.variables],
            "fixed": fixed,
        }

    def fingerprint(self) -> str:
        """sha256 of the space's content (variables, values, fixed) for cache keys."""
        d = self.to_dict()
        d.pop("description")
        d.pop("name")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    @classmethod
    def from_dict(cls, data: Mapping[str, object], source: str = "") -> SearchSpace:
        """Build from the YAML schema; errors name the source and the field."""
        where = source or "in memory"
        if not isinstance(data, Mapping):
            raise ImcoptError(f"space file {where}: expected a mapping at the top level")
        unknown = sorted(set(data) - {"name", "description", "variables", "fixed"})
        if unknown:
            raise ImcoptError(f"space file {where}: unknown top-level field(s) {unknown}; "
                              f"allowed: name, description, variables, fixed")
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise ImcoptError(f"space file {where}: field name must be a non-empty string")
        raw_vars = data.get("variables")
        if not isinstance(raw_vars, list) or not raw_vars:
            raise ImcoptError(f"space file {where}: field variables must be a non-empty list")
        variables = [_parse_variable(rv, i, where) for i, rv in enumerate(raw_vars)]
        fixed = data.get("fixed") or {}
        if not isinstance(fixed, Mapping):
            raise ImcoptError(f"space file {where}: field fixed must be a mapping")
        return cls(name, variables, fixed, str(data.get("description", "")), source=source)

    @classmethod
    def load(cls, name_or_path: str | Path) -> SearchSpace:
        """A built-in space by name (``configs/spaces/NAME.yaml``) or a YAML file path."""
        s = str(name_or_path)
        path = Path(s)
        if not (s.endswith((".yaml", ".yml")) or path.is_file()):
            path = spaces_dir() / f"{s}.yaml"
            if not path.is_file():
                raise ImcoptError(f"unknown search space {short(s)}; built-in spaces: "
                                  f"{list_spaces()} (or give a .yaml path)")
        return cls.from_dict(read_yaml(path, "space file"), source=str(path))


# -- helpers ----------------------------------------------------------------------------------
def _parse_variable(rv: object, i: int, where: str) -> Variable:
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
    return Variable(name, _canonical_values(name, scaled, f"space file {where}: {field}"),
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


def _canonical_values(name: str, values: object, ctx: str) -> np.ndarray:
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
    close = np.isclose(srt[1:], srt[:-1], rtol=_REL_TOL, atol=0)
    if np.any(close):
        raise ImcoptError(f"{ctx}: duplicate value {srt[1:][close][0]:g}")
    return out


def _lookup(values: np.ndarray, a: np.ndarray, ctx: str) -> np.ndarray:
    """Index of each entry of a in values (float tolerance); ImcoptError if absent."""
    order = np.argsort(values, kind="stable")
    sv = values[order].astype(float)
    af = a.astype(float)
    pos = np.clip(np.searchsorted(sv, af), 0, sv.size - 1)
    best = pos.copy()
    left = np.clip(pos - 1, 0, sv.size - 1)
    use_left = np.abs(sv[left] - af) < np.abs(sv[pos] - af)
    best[use_left] = left[use_left]
    ok = np.isclose(sv[best], af, rtol=_REL_TOL, atol=0)
    if not np.all(ok):
        bad = af[~ok][0]
        shown = [v.item() for v in values[:12]]
        raise ImcoptError(f"{ctx}: value {bad:g} is not in the space's list {shown}"
                          f"{' ...' if values.size > 12 else ''}")
    return order[best]
