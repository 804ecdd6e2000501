"""CiMLoop's greedy spatial packing rule (CIMLOOP_MODEL.md §3.1): the levels and dimension
groups, the greedy allocation of one group into a capacity, one level of one layer, and a plain
Python reference packing of one layer on one design (`pack_one`, the vectorized `pack`'s
test oracle).
"""

from __future__ import annotations

import math
from functools import lru_cache

from problems.errors import ImcoptError

#: the packed dimensions, in the order of a state vector
DIMS: tuple[str, ...] = ("Y", "R", "S", "M", "C", "G", "P", "Q", "N")
DIM_INDEX: dict[str, int] = {d: i for i, d in enumerate(DIMS)}
#: weight dimensions: all must be spatially placed for an RRAM (weight-stationary) mapping
WEIGHT_DIMS: tuple[str, ...] = ("Y", "R", "S", "M", "C", "G")
_UPPER_GROUPS: tuple[tuple[str, ...], ...] = (("Y",), ("R", "S"), ("M", "C"), ("G",),
                                              ("P", "Q"), ("N",))
#: level name -> groups packed at that level
LEVELS: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    ("row", (("C", "R", "S"),)),
    ("column", (("Y", "M"),)),
    ("macro_in_tile", _UPPER_GROUPS),
    ("tile_in_chip", _UPPER_GROUPS),
    ("shared_router_group", _UPPER_GROUPS),
)
LEVEL_NAMES: tuple[str, ...] = tuple(name for name, _ in LEVELS)
_CAP_BITS = 24  # capacities < 2**24 (fan-outs up to 16 M)
_WEIGHT_BITS = 8  # CiMLoop runs: 8-bit weights


# -- the greedy rule ----------------------------------------------------------------------
def _prime_factors(x: int) -> list[int]:
    """Prime factors of x in ascending order, with multiplicity."""
    out: list[int] = []
    p = 2
    while x > 1:
        if p * p > x:
            out.append(x)
            break
        while x % p == 0:
            out.append(p)
            x //= p
        p += 1
    return out


@lru_cache(maxsize=1_000_000)
def _greedy(sizes: tuple[int, ...], capacity: int
            ) -> tuple[tuple[tuple[int, int], ...], float]:
    """Best allocation of `sizes` into `capacity`: ((dim position, factor), ...), utilisation.

    Options (§3.1): take one prime factor p <= capacity of a dimension and recurse on the rest
    with capacity // p (utilisation x p), or split one dimension v > capacity imperfectly
    into alloc = ceil(v / ceil(v / capacity)), scored (alloc*(n-1) + v mod alloc) / n.
    Only a strictly better option replaces the incumbent (ties keep the first found).
    """
    best: tuple[tuple[int, int], ...] = ()
    best_util: float = 1
    if capacity <= 1:
        return best, best_util
    for i, v in enumerate(sizes):
        if v > capacity:
            n = -(-v // capacity)
            alloc = -(-v // n)
            util = (alloc * (n - 1) + v % alloc) / n
            if util > best_util:
                best_util, best = util, ((i, alloc),)
        for p in set(_prime_factors(v)):  # Python's set order, as the reference tool
            if p > capacity:
                continue
            rest = sizes[:i] + (v // p,) + sizes[i + 1:]
            sub, sub_util = _greedy(rest, capacity // p)
            util = sub_util * p
            if util > best_util:
                best_util, best = util, ((i, p),) + sub
    return best, best_util


def greedy_allocate(sizes: dict[str, int], capacity: int) -> tuple[dict[str, int], dict[str, int]]:
    """Pack one dimension group into `capacity`: (spatial factor per dim, remaining size per dim).

    >>> greedy_allocate({"C": 64, "R": 3, "S": 3}, 128)
    ({'C': 14, 'R': 3, 'S': 3}, {'C': 5, 'R': 1, 'S': 1})
    """
    if capacity < 1:
        raise ImcoptError(f"packing capacity must be >= 1, got {capacity}")
    if any(int(v) < 1 for v in sizes.values()):
        raise ImcoptError(f"dimension sizes must be positive integers, got {sizes}")
    names = tuple(sizes)
    vals = tuple(int(sizes[k]) for k in names)
    alloc, _ = _greedy(vals, int(capacity))
    factors = dict.fromkeys(names, 1)
    for i, f in alloc:
        factors[names[i]] *= f
    left = {k: -(-sizes[k] // factors[k]) for k in names}
    return factors, left


@lru_cache(maxsize=2_000_000)
def _pack_level(level: int, state: tuple[int, ...], capacity: int
                ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """One level: factors (per DIMS) and remaining state after packing all its groups."""
    groups = LEVELS[level][1]
    factors = [1] * len(DIMS)
    left = list(state)
    used = 1
    for group in groups:
        idx = [DIM_INDEX[d] for d in group]
        cap = capacity // used
        alloc, _ = _greedy(tuple(left[i] for i in idx), cap)
        got = [1] * len(idx)
        for j, f in alloc:
            got[j] *= f
        for j, i in enumerate(idx):
            factors[i] = got[j]
            left[i] = -(-left[i] // got[j])
            used *= got[j]
    return tuple(factors), tuple(left)


def pack_one(layer: dict[str, int], memory: str, bits_per_cell: int, xbar_rows: int,
             xbar_cols: int, macros_per_tile: int, tiles_per_group: int, router_groups: int
             ) -> dict[str, object]:
    """Scalar reference implementation (plain Python, no tables) for one layer and design.

    Returns factors per level, leftovers and cycles; used to test the vectorized path.
    """
    wbps = min(int(bits_per_cell), _WEIGHT_BITS)
    y = math.ceil(_WEIGHT_BITS / wbps)
    sram = memory.upper() == "SRAM"
    left = {"Y": y, **{k: int(layer[k]) for k in ("R", "S", "M", "C", "G", "P", "Q", "N")}}
    if sram:
        left["Q"] = 1
    fan = {"row": xbar_rows, "column": xbar_cols, "macro_in_tile": macros_per_tile,
           "tile_in_chip": tiles_per_group, "shared_router_group": router_groups}
    out: dict[str, object] = {}
    for name, groups in LEVELS:
        capacity, used = int(fan[name]), 1
        got: dict[str, int] = {}
        for group in groups:
            f, rest = greedy_allocate({d: left[d] for d in group}, capacity // used)
            got.update(f)
            left.update(rest)
            for v in f.values():
                used *= v
        out[name] = got
    out["left"] = dict(left)
    temporal = math.prod(left.values())
    out["cycles"] = int(layer["Q"]) * temporal if sram else left["P"] * left["Q"] * left["N"]
    out["weights_placed"] = all(left[d] == 1 for d in WEIGHT_DIMS)
    return out
