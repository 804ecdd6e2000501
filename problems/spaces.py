"""Search spaces as data: ordered lists of allowed values per design parameter.

A space maps an integer index vector ``x`` (one index per variable, ``0 <= x[j] <
cardinalities[j]``) to a design. Variables map 1:1 to `DesignBatch` parameters in the design's
canonical units (``cycle_time_s`` in seconds, ``glb_bytes`` in bytes); every other parameter is
held constant (``fixed``: explicit YAML values over the `DesignBatch` defaults).

YAML schema (built-in spaces: package data ``problems/data/spaces/NAME.yaml``, which
``configs/spaces`` links to)::

    name: rram-paper
    description: free text
    variables:
      - {name: voltage_v, range: {start: 0.5, stop: 0.85, step: 0.05}, unit: V}   # stop inclusive
      - {name: cycle_time_s, values: [1, 2, 4, 6, 8, 10], unit: ns}
    fixed: {memory: RRAM, technology_nm: 32}

Accepted units per parameter (values are converted to the canonical unit on load) are in
`problems.variables.UNITS`. Enumeration order is mixed-radix with the LAST variable varying
fastest (C order); `SearchSpace.iter_blocks` walks it in bounded blocks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from problems.errors import ImcoptError, short
from problems.fingerprint import digest
from problems.hardware.design import (
    INT_PARAMS,
    MEMORY_TYPES,
    PARAMETERS,
    RULE_PARAMS,
    DesignBatch,
    check_value_sets,
)
from problems.io import read_yaml
from problems.package_data import data_dir
from problems.variables import (
    REL_TOL,
    UNITS,
    Variable,
    canonical_values,
    lookup_values,
    parse_variable,
)

__all__ = ["UNITS", "SearchSpace", "Variable", "list_spaces", "spaces_dir"]


def spaces_dir() -> Path:
    """Folder of the built-in spaces (package data ``problems/data/spaces``)."""
    return data_dir("problems", "data", "spaces")


def list_spaces() -> list[str]:
    """Names of the built-in spaces (YAML files in `spaces_dir`); ImcoptError if none ship."""
    names = sorted(p.stem for p in spaces_dir().glob("*.yaml"))
    if not names:
        raise ImcoptError(f"no built-in search spaces in {spaces_dir()}; the imcopt install "
                          f"is incomplete, reinstall it")
    return names


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
            v = canonical_values(p, [fixed.get(p, default)], f"space {name!r} ({where}): "
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
            X[:, j] = lookup_values(var.values, np.asarray(getattr(designs, var.name)),
                              f"space {self.name}: variable {var.name}")
        for p, v in self.fixed.items():
            a = np.asarray(getattr(designs, p), dtype=float)
            if not np.all(np.isclose(a, float(v), rtol=REL_TOL, atol=0)):
                bad = a[~np.isclose(a, float(v), rtol=REL_TOL, atol=0)][0]
                raise ImcoptError(f"space {self.name}: design parameter {p} = {bad:g} but the "
                                  f"space fixes it to {v}")
        return X

    # -- enumeration and sampling ---------------------------------------------------------
    def indices_of(self, flat: np.ndarray) -> np.ndarray:
        """Index vectors (n, n_var) of flat enumeration indices (mixed radix, last fastest)."""
        flat = np.asarray(flat, dtype=np.int64).ravel()
        if flat.size and (flat.min() < 0 or flat.max() >= self.size):
            raise ImcoptError(f"space {self.name}: flat index outside [0, {self.size})")
        X = np.empty((flat.size, self.n_var), dtype=np.int64)
        stride = 1
        for j in range(self.n_var - 1, -1, -1):   # mixed radix (np.unravel_index is slower)
            c = int(self.cardinalities[j])
            X[:, j] = (flat // stride) % c
            stride *= c
        return X

    def index_range(self, start: int, stop: int) -> np.ndarray:
        """Index vectors of flat designs ``start..stop-1`` (mixed radix, last variable fastest)."""
        start, stop = int(start), int(stop)
        if not 0 <= start <= stop <= self.size:
            raise ImcoptError(f"space {self.name}: index range [{start}, {stop}) outside "
                              f"[0, {self.size}]")
        return self.indices_of(np.arange(start, stop, dtype=np.int64))

    def iter_blocks(self, start: int, stop: int, block: int
                    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(flat indices, index vectors) of flat designs ``start..stop-1`` in blocks of at
        most ``block`` designs: the one way to enumerate a space with bounded memory."""
        start, stop, block = int(start), int(stop), int(block)
        if block < 1:
            raise ImcoptError(f"space {self.name}: block size must be >= 1, got {block}")
        if not 0 <= start <= stop <= self.size:
            raise ImcoptError(f"space {self.name}: index range [{start}, {stop}) outside "
                              f"[0, {self.size}]")
        for s in range(start, stop, block):
            flat = np.arange(s, min(stop, s + block), dtype=np.int64)
            yield flat, self.indices_of(flat)

    def flat_index(self, X: np.ndarray) -> np.ndarray:
        """Flat enumeration index of each index vector (inverse of `indices_of`)."""
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
        return digest(d)

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
        variables = [parse_variable(rv, i, where) for i, rv in enumerate(raw_vars)]
        fixed = data.get("fixed") or {}
        if not isinstance(fixed, Mapping):
            raise ImcoptError(f"space file {where}: field fixed must be a mapping")
        return cls(name, variables, fixed, str(data.get("description", "")), source=source)

    @classmethod
    def load(cls, name_or_path: str | Path) -> SearchSpace:
        """A built-in space by name (``problems/data/spaces/NAME.yaml``) or a YAML file path."""
        s = str(name_or_path)
        path = Path(s)
        if not (s.endswith((".yaml", ".yml")) or path.is_file()):
            path = spaces_dir() / f"{s}.yaml"
            if not path.is_file():
                raise ImcoptError(f"unknown search space {short(s)}; built-in spaces: "
                                  f"{list_spaces()} (or give a .yaml path)")
        return cls.from_dict(read_yaml(path, "space file"), source=str(path))
