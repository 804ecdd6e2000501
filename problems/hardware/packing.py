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
the lower levels), or walked by compiled code (`compiled_tables`, `cimloop_kernel`). Keys
never seen before are computed once, in a batch, by the compiled rule (`packing_kernel`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from problems.errors import ImcoptError
from problems.hardware.packing_kernel import RuleKernel
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
           "PackingCache", "PackingStart", "clear_caches", "greedy_allocate", "pack",
           "pack_one", "start", "weight_slices"]

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


@numba.njit(cache=True)
def _hash_row(dims, j, mask):  # pragma: no cover - compiled
    """Slot of row ``j`` of ``dims`` in a table of ``mask + 1`` slots (FNV-style mix)."""
    h = np.int64(1469598103934665603)
    for d in range(dims.shape[1]):
        h = (h ^ dims[j, d]) * np.int64(1099511628211)
    return (h ^ (h >> 29)) & mask


@numba.njit(cache=True)
def _intern_rows(slots, dims, n, rows):  # pragma: no cover - compiled
    """Id of every row of ``rows`` (m, 9) among the states ``dims[:n]`` indexed by the
    open-addressing table ``slots`` (-1: empty; room for every new row, at most half full);
    new rows are appended to ``dims`` and ``slots``. Returns (ids, new n)."""
    mask = slots.shape[0] - 1
    out = np.empty(rows.shape[0], np.int64)
    for j in range(rows.shape[0]):
        for d in range(dims.shape[1]):       # candidate slot for the row (kept if new)
            dims[n, d] = rows[j, d]
        h = _hash_row(dims, n, mask)
        while True:
            sid = slots[h]
            if sid < 0:
                slots[h] = n
                out[j] = n
                n += 1
                break
            same = True
            for d in range(dims.shape[1]):
                if dims[sid, d] != rows[j, d]:
                    same = False
                    break
            if same:
                out[j] = sid
                break
            h = (h + 1) & mask
    return out, n


@numba.njit(cache=True)
def _index_rows(slots, dims, n):  # pragma: no cover - compiled
    """Rebuild the open-addressing table ``slots`` (all -1) over ``dims[:n]``."""
    mask = slots.shape[0] - 1
    for j in range(n):
        h = _hash_row(dims, j, mask)
        while slots[h] >= 0:
            h = (h + 1) & mask
        slots[h] = j


class _StateRegistry:
    """Interns remaining-size vectors (rows over DIMS) as consecutive integer ids: the
    vectors in id order and an open-addressing hash index over them (compiled; numba's typed
    dict would cost seconds of compilation)."""

    def __init__(self) -> None:
        self.n = 0
        self._dims = np.zeros((0, len(DIMS)), np.int64)
        self._slots = np.full(0, -1, np.int64)
        self._derived: dict[str, np.ndarray] = {}

    def intern_rows(self, rows: np.ndarray) -> np.ndarray:
        """Ids of the states ``rows`` (m, len(DIMS)), new ones added."""
        rows = np.ascontiguousarray(rows, np.int64)
        need = self.n + rows.shape[0]
        if self._dims.shape[0] < need:
            grown = np.empty((max(2 * self._dims.shape[0], need), len(DIMS)), np.int64)
            grown[:self.n] = self._dims[:self.n]
            self._dims = grown
        if self._slots.size < 2 * need:
            self._slots = np.full(1 << max(4, int(2 * need - 1).bit_length()), -1, np.int64)
            _index_rows(self._slots, self._dims, self.n)
        sids, self.n = _intern_rows(self._slots, self._dims, self.n, rows)
        return sids

    def intern(self, state: tuple[int, ...]) -> int:
        """Id of one state."""
        return int(self.intern_rows(np.array([state], np.int64))[0])

    def array(self) -> np.ndarray:
        """The states in id order, (n, len(DIMS))."""
        return self._dims[:self.n]

    def derived(self, name: str) -> np.ndarray:
        """Per state: ``placed`` (no weight dimension left) or the product of ``name``'s
        remaining sizes (``all``: every dimension), cached until new states are added."""
        if name == "placed":
            if self._derived.get("placed", np.zeros(0)).shape[0] != self.n:
                self._derived["placed"] = np.all(
                    self.array()[:, [DIM_INDEX[d] for d in WEIGHT_DIMS]] == 1, axis=1)
            return self._derived["placed"]
        return _products(self.array(), name, self._derived)


class _LevelTable:
    """(state id, capacity) -> (factors over DIMS, next state id) of one level.

    A dense integer table ``link[state id, capacity index]`` (-1: not computed yet) holds
    ``row << 32 | next state id``, ``row`` pointing into append-only arrays of factors and next
    states: a lookup is one gather, and a compiled walk up the levels one load per level."""

    def __init__(self, level: int) -> None:
        self.level = level
        self.cap_index: dict[int, int] = {}
        self.caps: list[int] = []
        self.link = np.full((0, 0), -1, np.int64)
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
        n_s, n_c = self.link.shape
        if n_states <= n_s and len(self.caps) <= n_c:
            return
        grown = np.full((max(n_states, 2 * n_s), max(len(self.caps), n_c)), -1, np.int64)
        grown[:n_s, :n_c] = self.link
        self.link = grown

    def lookup(self, states: np.ndarray, cap_idx: np.ndarray, registry: _StateRegistry,
               rule: RuleKernel) -> np.ndarray:
        """Row index into this table for every (state, capacity index) pair (same shapes),
        computing unseen pairs first."""
        self._grow(registry.n)
        rows = self.link[states, cap_idx] >> 32
        miss = rows < 0
        if np.any(miss):
            self.add_missing(states[miss], cap_idx[miss], registry, rule)
            rows = self.link[states, cap_idx] >> 32
        return rows

    def add_missing(self, states: np.ndarray, cap_idx: np.ndarray, registry: _StateRegistry,
                    rule: RuleKernel) -> None:
        """Compute the entries (state id, capacity index) not computed yet (repeats and
        computed ones allowed; -1 or a walk's -2 mark count as not computed)."""
        self._grow(registry.n)
        n_c = self.link.shape[1]
        new = np.unique(states * n_c + cap_idx)
        new = new[self.link[new // n_c, new % n_c] < 0]
        self._add(new // n_c, new % n_c, registry, rule)

    def derived(self, name: str) -> np.ndarray:
        """Per table row: product of the factors of ``name``'s dimensions (``all``: every
        dimension), int64, cached until the table grows."""
        return _products(self.factors, name, self._derived)

    def _add(self, sids: np.ndarray, cis: np.ndarray, registry: _StateRegistry,
             rule: RuleKernel) -> None:
        states = registry.array()
        caps = np.array(self.caps, np.int64)[cis]
        fac, left = rule.pack_levels(self.level, states[sids], caps)
        nxt = registry.intern_rows(left)
        if self.n_rows + sids.size >= 1 << 31 or registry.n >= 1 << 31:
            raise ImcoptError("packing tables full (2**31 entries or states)")
        self.link[sids, cis] = ((self.n_rows + np.arange(sids.size)) << 32) | nxt
        self.n_rows += sids.size
        self.factors = np.concatenate([self.factors, fac])
        self.next_state = np.concatenate([self.next_state, nxt])


class PackingCache:
    """Persistent memo of the packing across calls (GA populations repeat keys endlessly)."""

    def __init__(self) -> None:
        self.registry = _StateRegistry()
        self.tables = [_LevelTable(i) for i in range(len(LEVELS))]
        self.rule = RuleKernel()

    def clear(self) -> None:
        self.__init__()

    @property
    def n_entries(self) -> int:
        return int(sum(t.n_rows for t in self.tables))

    def compiled_tables(self) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...],
                                        tuple[np.ndarray, ...], np.ndarray]:
        """(link tables, factor tables, factor products) of the five levels and the state
        dimensions, for compiled walks up the levels (`cimloop_kernel`); every link table
        first grown to cover every known state. A walk from state ``s`` with capacity index
        ``ci`` reads ``x = link[s, ci]`` (< 0: not computed yet, see `fill`), the level's
        factors ``factors[x >> 32]`` and the next level's state ``x & (2**32 - 1)``."""
        n_states = self.registry.n
        for t in self.tables:
            t._grow(n_states)
        return (tuple(t.link for t in self.tables), tuple(t.factors for t in self.tables),
                tuple(t.derived("all") for t in self.tables[2:]), self.registry.array())

    def fill(self, levels: np.ndarray, states: np.ndarray, cap_idx: np.ndarray) -> None:
        """Compute the table entries (level, state id, capacity index) a compiled walk found
        missing (repeats allowed; an entry it marked -2 counts as missing). If computing
        fails, the entries are left missing (-1)."""
        try:
            for lvl in np.unique(levels).tolist():
                at = levels == lvl
                self.tables[lvl].add_missing(states[at], cap_idx[at], self.registry, self.rule)
        except BaseException:
            for lvl, s, c in zip(levels.tolist(), states.tolist(), cap_idx.tolist(),
                                 strict=True):
                link = self.tables[lvl].link
                if s < link.shape[0] and c < link.shape[1] and link[s, c] == -2:
                    link[s, c] = -1
            raise

    def unmark(self) -> None:
        """Forget every entry a compiled walk marked missing (-2) and nobody computed."""
        for t in self.tables:
            t.link[t.link == -2] = -1


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


@dataclass(frozen=True, eq=False)
class PackingStart:
    """Where the packing of a batch starts: ``init`` (n_combos, n_l) state ids of every
    (weight slices, memory) combination x layer, ``combo`` (n_d,) each design's combination,
    ``cap_idx`` (n_d, 5) each design's capacity index in every level table."""

    init: np.ndarray
    combo: np.ndarray
    cap_idx: np.ndarray
    slices: np.ndarray
    wbps: np.ndarray


def start(
    layers: dict[str, np.ndarray],
    is_sram: np.ndarray,
    bits_per_cell: np.ndarray,
    xbar_rows: np.ndarray,
    xbar_cols: np.ndarray,
    macros_per_tile: np.ndarray,
    tiles_per_group: np.ndarray,
    router_groups: np.ndarray,
    cache: PackingCache,
) -> PackingStart:
    """Check the inputs of a packing, intern its initial states and index its capacities."""
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
    uniq, combo_inv = np.unique(slices * 2 + is_sram, return_inverse=True)
    combos = np.stack([uniq // 2, uniq % 2], 1)          # (weight slices, sram)
    rows = np.empty((combos.shape[0], n_l, len(DIMS)), np.int64)
    for d, k in enumerate(DIMS):
        if k != "Y":
            rows[:, :, d] = lay[k][None, :]
    rows[:, :, DIM_INDEX["Y"]] = combos[:, :1]
    rows[:, :, DIM_INDEX["Q"]] = np.where(combos[:, 1:] == 1, 1, lay["Q"][None, :])
    init = reg.intern_rows(rows.reshape(-1, len(DIMS))).reshape(combos.shape[0], n_l)
    cap_idx = np.stack([t.capacity_index(c) for t, c in zip(cache.tables, caps, strict=True)],
                       1)
    return PackingStart(init=init, combo=combo_inv.reshape(-1), cap_idx=cap_idx,
                        slices=slices, wbps=wbps)


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
    st = start(layers, is_sram, bits_per_cell, xbar_rows, xbar_cols, macros_per_tile,
               tiles_per_group, router_groups, cache)
    reg = cache.registry
    Q = np.asarray(layers["Q"], np.int64)

    # level by level over the distinct capacity prefixes of the designs (a level's result
    # depends only on the combo and the capacities up to it): early levels see few groups
    factors: dict[str, np.ndarray] = {}
    row_of: dict[str, np.ndarray] = {}           # each design-layer's row of each level table
    group, gstate = st.combo, st.init            # each design's group; each group's states
    for lvl, name in enumerate(LEVEL_NAMES):
        table = cache.tables[lvl]
        ci = st.cap_idx[:, lvl]
        _, first, inv = np.unique(group * (len(table.caps) + 1) + ci, return_index=True,
                                  return_inverse=True)
        inv = inv.reshape(-1)
        g_states = gstate[group[first]]          # (n_groups, n_l)
        rows = table.lookup(g_states, np.broadcast_to(ci[first][:, None], g_states.shape), reg,
                            cache.rule)
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
    cycles = np.where(is_sram[:, None], Q[None, :] * reg.derived("all")[state],
                      reg.derived("PQN")[state])
    return Packing(factors=factors, left=left, slices=st.slices, wbps=st.wbps,
                   rows_used=rows_used, cols_used=cols_used, arrays_used=arrays_used,
                   cycles=cycles, weights_placed=weights_placed)
