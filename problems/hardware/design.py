"""A batch of IMC chip designs as a struct of arrays (one entry per design).

Hierarchy (PAPER.md): chip -> global buffer -> ``router_groups`` groups (one router each) ->
``tiles_per_group`` tiles (input + output buffer) -> ``macros_per_tile`` macros -> one
``xbar_rows x xbar_cols`` crossbar with row drivers, column drivers and ADCs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from problems.errors import ImcoptError, short

MEMORY_TYPES: tuple[str, ...] = ("RRAM", "SRAM")
RRAM, SRAM = 0, 1

#: parameter -> (default or None if required, (low, high) allowed range, unit)
PARAMETERS: dict[str, tuple[object, tuple[float, float], str]] = {
    "memory": ("RRAM", (0, 1), "RRAM|SRAM"),
    "technology_nm": (32.0, (7.0, 65.0), "nm"),
    "voltage_v": (0.7, (0.3, 1.5), "V"),
    "bits_per_cell": (1, (1, 8), "bit"),
    "cycle_time_s": (1e-8, (1e-12, 1e-3), "s"),
    "xbar_rows": (128, (2, 8192), "rows"),
    "xbar_cols": (128, (2, 8192), "columns"),
    "adc_bits": (5, (1, 12), "bit"),
    "adcs_per_macro": (16, (1, 8192), "ADCs"),
    "router_groups": (4, (1, 4096), "groups"),
    "tiles_per_group": (16, (1, 4096), "tiles"),
    "macros_per_tile": (16, (1, 4096), "macros"),
    "glb_bytes": (2 * 2**20, (1024, 2**34), "B"),
}
INT_PARAMS = {"bits_per_cell", "xbar_rows", "xbar_cols", "adc_bits", "adcs_per_macro",
              "router_groups", "tiles_per_group", "macros_per_tile", "glb_bytes"}


@dataclass(frozen=True, eq=False)
class DesignBatch:
    """N designs; every field is an array of shape (N,). ``memory`` is 0 (RRAM) or 1 (SRAM)."""

    memory: np.ndarray
    technology_nm: np.ndarray
    voltage_v: np.ndarray
    bits_per_cell: np.ndarray
    cycle_time_s: np.ndarray
    xbar_rows: np.ndarray
    xbar_cols: np.ndarray
    adc_bits: np.ndarray
    adcs_per_macro: np.ndarray
    router_groups: np.ndarray
    tiles_per_group: np.ndarray
    macros_per_tile: np.ndarray
    glb_bytes: np.ndarray

    def __post_init__(self) -> None:
        arrays = {f.name: np.atleast_1d(np.asarray(getattr(self, f.name))) for f in fields(self)}
        n = max(a.size for a in arrays.values())
        for name, a in arrays.items():
            if name == "memory":
                a = _memory_codes(a)
            if a.size == 1 and n > 1:
                a = np.broadcast_to(a, (n,))
            if a.shape != (n,):
                raise ImcoptError(f"design parameter {name}: got {a.size} values, expected {n}")
            a = _numbers(name, a)
            _check_range(name, a)
            a = np.array(a, dtype=np.int64 if name in INT_PARAMS or name == "memory" else float)
            a.setflags(write=False)
            object.__setattr__(self, name, a)
        check_rules({k: getattr(self, k) for k in RULE_PARAMS})

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, params: Mapping[str, object]) -> DesignBatch:
        """One or more designs from a mapping of parameter -> scalar or sequence.

        Unknown keys are an error; missing keys take documented defaults."""
        unknown = sorted(set(params) - set(PARAMETERS))
        if unknown:
            raise ImcoptError(
                f"unknown design parameter(s) {unknown}; allowed: {sorted(PARAMETERS)}"
            )
        values = {k: params.get(k, PARAMETERS[k][0]) for k in PARAMETERS}
        return cls(**{k: np.atleast_1d(np.asarray(v)) for k, v in values.items()})

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, object]]) -> DesignBatch:
        if not records:
            raise ImcoptError("no designs given")
        keys = set().union(*records)
        return cls.from_dict({k: [r.get(k, PARAMETERS[k][0]) if k in PARAMETERS else r[k]
                                  for r in records] for k in keys})

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> DesignBatch:
        return cls.from_dict({c: df[c].to_numpy() for c in df.columns if c in PARAMETERS})

    # -- views ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.memory.size)

    @property
    def n_macros(self) -> np.ndarray:
        """Crossbar macros on the chip: router_groups * tiles_per_group * macros_per_tile."""
        return self.router_groups * self.tiles_per_group * self.macros_per_tile

    @property
    def n_tiles(self) -> np.ndarray:
        return self.router_groups * self.tiles_per_group

    @property
    def n_cells(self) -> np.ndarray:
        return self.n_macros * self.xbar_rows * self.xbar_cols

    @property
    def is_sram(self) -> np.ndarray:
        return self.memory == SRAM

    def take(self, index: np.ndarray | slice | int) -> DesignBatch:
        """Sub-batch (keeps the batch form even for one design). The values were checked when
        this batch was built, so they are not checked again (a hot path of the search)."""
        sub = object.__new__(DesignBatch)
        for f in fields(self):
            a = np.atleast_1d(getattr(self, f.name)[index])
            a.setflags(write=False)
            object.__setattr__(sub, f.name, a)
        return sub

    def codes(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(sorted distinct values, each design's index into them) of one field, computed
        once per batch."""
        cache = self.__dict__.setdefault("_codes", {})
        got = cache.get(name)
        if got is None:
            values, inv = np.unique(getattr(self, name), return_inverse=True)
            got = cache[name] = (values, inv.reshape(-1))
        return got

    def distinct(self, names: tuple[str, ...]) -> tuple[DesignBatch, np.ndarray]:
        """One design per distinct combination of the fields ``names`` (its other fields
        those of some design with that combination) and each design's combination, so a
        function of those fields only is computed once per combination:
        ``f(rep)[inverse]`` equals ``f(batch)`` element for element."""
        n = len(self)
        code = np.zeros(n, np.int64)
        radix = 1
        for name in names:
            values, inv = self.codes(name)
            code = code * values.size + inv
            radix *= values.size
            if radix > 1 << 31:              # re-rank the combinations seen so far
                uniq, inv = np.unique(code, return_inverse=True)
                code, radix = inv.reshape(-1).astype(np.int64), uniq.size
        if radix <= 4 * n + 1024:            # dense: no sort
            where = np.full(radix, -1, np.int64)
            where[code] = np.arange(n)
            present = np.flatnonzero(where >= 0)
            slot = np.empty(radix, np.int64)
            slot[present] = np.arange(present.size)
            return self.take(where[present]), slot[code]
        _, first, inv = np.unique(code, return_index=True, return_inverse=True)
        return self.take(first), inv.reshape(-1)

    def to_frame(self) -> pd.DataFrame:
        df = pd.DataFrame({f.name: getattr(self, f.name) for f in fields(self)})
        df["memory"] = [MEMORY_TYPES[m] for m in self.memory]
        return df

    def to_records(self) -> list[dict[str, object]]:
        return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                for row in self.to_frame().to_dict(orient="records")]


def _memory_codes(a: np.ndarray) -> np.ndarray:
    if np.issubdtype(a.dtype, np.integer):
        return a
    out = np.empty(a.shape, np.int64)
    for i, v in enumerate(a.ravel()):
        s = str(v).upper()
        if s not in MEMORY_TYPES:
            raise ImcoptError(f"design parameter memory = {short(v)}: unknown memory type; "
                              f"allowed: {list(MEMORY_TYPES)}")
        out.ravel()[i] = MEMORY_TYPES.index(s)
    return out


def _numbers(name: str, a: np.ndarray) -> np.ndarray:
    """Values as numbers, finite and (for integer parameters) whole; else ImcoptError."""
    if name == "memory" or np.issubdtype(a.dtype, np.integer):
        return a
    try:
        f = a.astype(float)
    except (TypeError, ValueError):
        bad = next(v for v in a.ravel() if not _is_number(v))
        raise ImcoptError(f"design parameter {name} = {short(bad)} is not a number") from None
    if not np.all(np.isfinite(f)):
        raise ImcoptError(f"design parameter {name} = {f[~np.isfinite(f)][0]} must be finite")
    if name in INT_PARAMS and np.any(f != np.round(f)):
        raise ImcoptError(f"design parameter {name} = {f[f != np.round(f)][0]:g} must be an "
                          f"integer")
    return f


def _is_number(v: object) -> bool:
    try:
        float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return not isinstance(v, bool | str)


def _check_range(name: str, a: np.ndarray) -> None:
    _, (lo, hi), unit = PARAMETERS[name]
    bad = (a < lo) | (a > hi)
    if np.any(bad):
        v = a[bad][0]
        if name == "memory":
            raise ImcoptError(f"design parameter memory = {v}: unknown memory type; "
                              f"allowed: {list(MEMORY_TYPES)}")
        raise ImcoptError(f"design parameter {name} = {v:g} is outside the allowed range "
                          f"[{lo:g}, {hi:g}] {unit}")


#: parameters that the consistency rules (`check_rules`) read
RULE_PARAMS: tuple[str, ...] = ("adcs_per_macro", "xbar_cols")
_ADC_RULE = "rule 'at most one ADC per column' (adcs_per_macro <= xbar_cols)"


def check_rules(values: Mapping[str, np.ndarray], where: str = "design") -> None:
    """Physical consistency of parameter combinations (vectorized over designs).

    An ADC digitises one column at a time (columns may share an ADC by multiplexing), so a
    macro has at most ``xbar_cols`` ADCs. Multi-bit SRAM cells are NOT refused: the extended
    space contains them and the cost models decide how to cost or invalidate them.
    """
    adcs, cols = np.broadcast_arrays(np.atleast_1d(values["adcs_per_macro"]),
                                     np.atleast_1d(values["xbar_cols"]))
    bad = adcs > cols
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        which = f" {i}" if bad.size > 1 else ""
        raise ImcoptError(f"{where}{which}: adcs_per_macro = {adcs[i]} > xbar_cols = "
                          f"{cols[i]}; {_ADC_RULE}")


def check_value_sets(values: Mapping[str, np.ndarray], where: str) -> None:
    """`check_rules` for every combination of the given value lists (a search space):
    the rules are monotone, so the extreme values decide."""
    check_rules({"adcs_per_macro": np.max(values["adcs_per_macro"]),
                 "xbar_cols": np.min(values["xbar_cols"])}, where)
