"""CiMLoop's greedy spatial packing (CIMLOOP_MODEL.md §3.1), vectorized and memoized (the rule
itself, per group and level: `packing_rule.py`).

The packing of one layer on one design is a chain of five spatial levels, bottom-up:

====================  ==========  ==========================================
level                 fan-out     dimension groups packed (in order)
====================  ==========  ==========================================
``row``               xbar_rows   [C, R, S]
``column``            xbar_cols   [Y, M]       (Y = weight slices)
``macro_in_tile``     mit         [Y], [R, S], [M, C], [G], [P, Q], [N]
``tile_in_chip``      tic         same groups
``shared_router``     srg         same groups
====================  ==========  ==========================================

Each group is packed greedily into the capacity the earlier groups of the level left
(`greedy_allocate`); a dimension's remaining size becomes ceil(size / allocated). In SRAM runs
all of Q is a temporal loop at the global buffer, so Q starts at 1 for the packing.

Speed (§6 pitfall 13): the result of a level depends only on (remaining dimension sizes,
capacity). Remaining-size vectors are interned as integer *state ids*; each level keeps a
persistent dense table (state id, capacity index) -> (factors, next state id), so a batch is
packed with one gather per level, over the distinct capacity prefixes of its designs (few at
the lower levels). Only keys never seen before are computed in Python (once, memoized).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from problems.errors import ImcoptError
from problems.hardware.packing_rule import (
    _CAP_BITS,
    _WEIGHT_BITS,
    DIM_INDEX,
    DIMS,
    LEVEL_NAMES,
    LEVELS,
    WEIGHT_DIMS,
    _greedy,
    _pack_level,
    greedy_allocate,
    pack_one,
)

__all__ = ["DIMS", "DIM_INDEX", "LEVELS", "LEVEL_NAMES", "WEIGHT_DIMS", "Packing",
           "PackingCache", "clear_caches", "greedy_allocate", "pack", "pack_one",
           "weight_slices"]

# -- persistent vectorized tables -------------------------------------------------------------
def _products(table: np.ndarray, name: str, cache: dict[str, np.ndarray]) -> np.ndarray:
    """Row-wise int64 product of the columns of ``name``'s dimensions (``all``: every one) of
    a (n, len(DIMS)) table, memoized in ``cache`` while the table keeps its length."""
    got = cache.get(name)
    if got is None or got.shape[0] != table.shape[0]:
        cols = range(len(DIMS)) if name == "all" else [DIM_INDEX[d] for d in name]
        got = np.ones(table.shape[0], np.int64)
        for c in cols:
            got = got * table[:, c]
        cache[name] = got
    return got


class _StateRegistry:
    """Interns remaining-size vectors (tuples over DIMS) as consecutive integer ids."""

    def __init__(self) -> None:
        self.ids: dict[tuple[int, ...], int] = {}
        self.dims = np.zeros((0, len(DIMS)), np.int64)
        self._pending: list[tuple[int, ...]] = []
        self._derived: dict[str, np.ndarray] = {}

    def intern(self, state: tuple[int, ...]) -> int:
        sid = self.ids.get(state)
        if sid is None:
            sid = len(self.ids)
            self.ids[state] = sid
            self._pending.append(state)
        return sid

    def array(self) -> np.ndarray:
        if self._pending:
            self.dims = np.concatenate([self.dims, np.array(self._pending, np.int64)])
            self._pending = []
        return self.dims

    def derived(self, name: str) -> np.ndarray:
        """Per state: ``placed`` (no weight dimension left) or the product of ``name``'s
        remaining sizes (``all``: every dimension), cached until new states are added."""
        if name == "placed":
            if self._derived.get("placed", np.zeros(0)).shape[0] != self.array().shape[0]:
                self._derived["placed"] = np.all(
                    self.dims[:, [DIM_INDEX[d] for d in WEIGHT_DIMS]] == 1, axis=1)
            return self._derived["placed"]
        return _products(self.array(), name, self._derived)


class _LevelTable:
    """(state id, capacity) -> (factors over DIMS, next state id) of one level.

    A dense integer table ``row[state id, capacity index]`` (-1: not computed yet) points into
    append-only arrays of factors and next states, so a lookup is one gather."""

    def __init__(self, level: int) -> None:
        self.level = level
        self.cap_index: dict[int, int] = {}
        self.caps: list[int] = []
        self.row = np.full((0, 0), -1, np.int64)
        self.n_rows = 0
        self.factors = np.zeros((0, len(DIMS)), np.int32)  # int32 halves the gathers
        self.next_state = np.zeros(0, np.int64)
        self._derived: dict[str, np.ndarray] = {}

    def capacity_index(self, caps: np.ndarray) -> np.ndarray:
        """Index of every capacity value in this table's capacity list (new ones appended)."""
        uniq, inv = np.unique(caps, return_inverse=True)
        for c in uniq.tolist():
            if c not in self.cap_index:
                self.cap_index[c] = len(self.caps)
                self.caps.append(c)
        return np.array([self.cap_index[c] for c in uniq.tolist()], np.int64)[inv.reshape(-1)]

    def _grow(self, n_states: int) -> None:
        n_s, n_c = self.row.shape
        if n_states <= n_s and len(self.caps) <= n_c:
            return
        grown = np.full((max(n_states, 2 * n_s), max(len(self.caps), n_c)), -1, np.int64)
        grown[:n_s, :n_c] = self.row
        self.row = grown

    def lookup(self, states: np.ndarray, cap_idx: np.ndarray,
               registry: _StateRegistry) -> np.ndarray:
        """Row index into this table for every (state, capacity index) pair (same shapes),
        computing unseen pairs first."""
        self._grow(len(registry.ids))
        rows = self.row[states, cap_idx]
        miss = rows < 0
        if np.any(miss):
            n_c = self.row.shape[1]
            new = np.unique(states[miss] * n_c + cap_idx[miss])
            self._add(new // n_c, new % n_c, registry)
            rows = self.row[states, cap_idx]
        return rows

    def derived(self, name: str) -> np.ndarray:
        """Per table row: product of the factors of ``name``'s dimensions (``all``: every
        dimension), int64, cached until the table grows."""
        return _products(self.factors, name, self._derived)

    def _add(self, sids: np.ndarray, cis: np.ndarray, registry: _StateRegistry) -> None:
        states = registry.array()
        fac = np.empty((sids.size, len(DIMS)), np.int32)
        nxt = np.empty(sids.size, np.int64)
        for j, (sid, ci) in enumerate(zip(sids.tolist(), cis.tolist(), strict=True)):
            f, left = _pack_level(self.level, tuple(states[sid].tolist()), self.caps[ci])
            fac[j] = f
            nxt[j] = registry.intern(left)
        self.row[sids, cis] = self.n_rows + np.arange(sids.size)
        self.n_rows += sids.size
        self.factors = np.concatenate([self.factors, fac])
        self.next_state = np.concatenate([self.next_state, nxt])


class PackingCache:
    """Persistent memo of the packing across calls (GA populations repeat keys endlessly)."""

    def __init__(self) -> None:
        self.registry = _StateRegistry()
        self.tables = [_LevelTable(i) for i in range(len(LEVELS))]

    def clear(self) -> None:
        self.__init__()

    @property
    def n_entries(self) -> int:
        return int(sum(t.n_rows for t in self.tables))


DEFAULT_CACHE = PackingCache()


def clear_caches() -> None:
    """Forget every memoized packing (the persistent tables and the greedy-rule memo)."""
    DEFAULT_CACHE.clear()
    _greedy.cache_clear()
    _pack_level.cache_clear()


@dataclass(frozen=True, eq=False)
class Packing:
    """Packing of n_designs x n_layers (design-layer pairs); arrays have shape (n_d, n_l).

    ``factors[level]`` is an (n_d, n_l, 9) int array of spatial factors over DIMS;
    ``left`` the (n_d, n_l, 9) remaining sizes after the last level.
    """

    factors: dict[str, np.ndarray]
    left: np.ndarray
    slices: np.ndarray          # (n_d,) weight slices ceil(8 / min(bpc, 8))
    wbps: np.ndarray            # (n_d,) weight bits per slice
    rows_used: np.ndarray       # rows used per array (C*R*S factors of the row level)
    cols_used: np.ndarray       # columns used per array (Y*M factors of the column level)
    arrays_used: np.ndarray     # arrays used: product of the mit/tic/srg factors
    cycles: np.ndarray          # per design-layer cycle count (§3.3)
    weights_placed: np.ndarray  # bool: no weight dimension left temporal

    def factor(self, level: str, dim: str) -> np.ndarray:
        """Spatial factor of one dimension at one level, (n_d, n_l)."""
        return self.factors[level][..., DIM_INDEX[dim]]

    def leftover(self, dim: str) -> np.ndarray:
        """Remaining (temporal) size of one dimension after all levels, (n_d, n_l)."""
        return self.left[..., DIM_INDEX[dim]]


def weight_slices(bits_per_cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bits per slice, slices) for 8-bit weights: min(bpc, 8), ceil(8 / min(bpc, 8))."""
    wbps = np.minimum(np.asarray(bits_per_cell, np.int64), _WEIGHT_BITS)
    if np.any(wbps < 1):
        raise ImcoptError("bits_per_cell must be >= 1")
    return wbps, -(-_WEIGHT_BITS // wbps)


def pack(
    layers: dict[str, np.ndarray],
    is_sram: np.ndarray,
    bits_per_cell: np.ndarray,
    xbar_rows: np.ndarray,
    xbar_cols: np.ndarray,
    macros_per_tile: np.ndarray,
    tiles_per_group: np.ndarray,
    router_groups: np.ndarray,
    cache: PackingCache | None = None,
) -> Packing:
    """Pack every layer (dict of per-layer arrays N, C, M, R, S, P, Q, G) on every design.

    Design arrays have shape (n_d,); the result arrays (n_d, n_l). No Python loop runs per
    design-layer: each level is one table lookup; unseen keys are computed once.
    """
    cache = DEFAULT_CACHE if cache is None else cache
    is_sram = np.asarray(is_sram, bool)
    n_d = is_sram.size
    lay = {k: np.asarray(layers[k], np.int64) for k in ("N", "C", "M", "R", "S", "P", "Q", "G")}
    n_l = lay["C"].size
    caps = [np.asarray(a, np.int64) for a in (xbar_rows, xbar_cols, macros_per_tile,
                                               tiles_per_group, router_groups)]
    for name, c in zip(LEVEL_NAMES, caps, strict=True):
        if c.shape != (n_d,):
            raise ImcoptError(f"packing: fan-out of level {name} has shape {c.shape}, "
                              f"expected ({n_d},)")
        if np.any(c < 1) or np.any(c >= 1 << _CAP_BITS):
            raise ImcoptError(f"packing: fan-out of level {name} must be in [1, 2**24)")
    for k, v in lay.items():
        if v.shape != (n_l,) or np.any(v < 1):
            raise ImcoptError(f"packing: layer dimension {k} must be positive, shape ({n_l},)")
    wbps, slices = weight_slices(bits_per_cell)

    # initial states: one per (layer, slices, sram); SRAM removes all of Q first (GLB loop)
    reg = cache.registry
    combos, combo_inv = np.unique(np.stack([slices, is_sram.astype(np.int64)], 1), axis=0,
                                  return_inverse=True)
    combo_inv = combo_inv.reshape(-1)
    init = np.empty((combos.shape[0], n_l), np.int64)
    base = [lay["R"], lay["S"], lay["M"], lay["C"], lay["G"], lay["P"], lay["Q"], lay["N"]]
    base_t = list(zip(*[b.tolist() for b in base], strict=True))
    for c, (y, sram) in enumerate(combos.tolist()):
        for j, (r, s, m, ch, g, p, q, nb) in enumerate(base_t):
            init[c, j] = reg.intern((y, r, s, m, ch, g, p, 1 if sram else q, nb))
    state = init[combo_inv]                      # (n_d, n_l)

    # level by level over the distinct capacity prefixes of the designs (a level's result
    # depends only on the combo and the capacities up to it): early levels see few groups
    factors: dict[str, np.ndarray] = {}
    row_of: dict[str, np.ndarray] = {}           # each design-layer's row of each level table
    group, gstate = combo_inv, init              # each design's group; each group's states
    for lvl, (name, cap) in enumerate(zip(LEVEL_NAMES, caps, strict=True)):
        table = cache.tables[lvl]
        ci = table.capacity_index(cap)
        _, first, inv = np.unique(group * (len(table.caps) + 1) + ci, return_index=True,
                                  return_inverse=True)
        inv = inv.reshape(-1)
        g_states = gstate[group[first]]          # (n_groups, n_l)
        rows = table.lookup(g_states, np.broadcast_to(ci[first][:, None], g_states.shape), reg)
        row_of[name] = rows[inv]
        factors[name] = table.factors[row_of[name]]
        group, gstate = inv, table.next_state[rows]
    state = gstate[group]
    left = reg.array()[state]

    # per-row / per-state products, tabulated once per table entry and gathered
    t = cache.tables
    rows_used = t[0].derived("CRS")[row_of["row"]]
    cols_used = t[1].derived("YM")[row_of["column"]]
    arrays_used = (t[2].derived("all")[row_of["macro_in_tile"]]
                   * t[3].derived("all")[row_of["tile_in_chip"]]
                   * t[4].derived("all")[row_of["shared_router_group"]])
    weights_placed = reg.derived("placed")[state]
    cycles = np.where(is_sram[:, None], lay["Q"][None, :] * reg.derived("all")[state],
                      reg.derived("PQN")[state])
    return Packing(factors=factors, left=left, slices=slices, wbps=wbps, rows_used=rows_used,
                   cols_used=cols_used, arrays_used=arrays_used, cycles=cycles,
                   weights_placed=weights_placed)
