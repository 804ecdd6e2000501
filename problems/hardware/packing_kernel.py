"""CiMLoop's greedy packing rule compiled (numba): `packing_rule._pack_level` for a batch of
(state, capacity) keys, with the same allocations.

The rule is `packing_rule._greedy` line for line: the same options in the same order, the
same float utilisations, "only a strictly better option replaces the incumbent"; two cases
are answered without the search, with the answer it would find: nothing to pack (sizes 1, or
capacity <= 1) and everything fits (product <= capacity: the whole sizes). Its one
interpreter-specific detail is the order in which it tries a size's prime factors (Python's
``set`` order, as the reference tool): that order is taken from the running interpreter
(`PrimeOrder`, one row per size met), not re-implemented. Subproblems are memoized in an
open-addressing table kept across calls, as the Python rule's ``lru_cache`` (numba's typed
dict would cost seconds of compilation). Tested against the Python rule on random keys and on
every table entry of random batches (tests/test_cimloop_kernel.py).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from problems.hardware.packing_rule import DIM_INDEX, DIMS, LEVELS, _prime_factors

_MAX_GROUP = 3                   # dimensions per group (row level: C, R, S)
_MAX_GROUPS = max(len(g) for _, g in LEVELS)
_MAX_PRIMES = 12                 # distinct primes of any int64 (product of 15 primes > 2**63)
#: per level, per group: the dimension positions in DIMS (-1: none)
GROUP_DIMS = np.full((len(LEVELS), _MAX_GROUPS, _MAX_GROUP), -1, np.int64)
for _l, (_, _groups) in enumerate(LEVELS):
    for _g, _group in enumerate(_groups):
        GROUP_DIMS[_l, _g, :len(_group)] = [DIM_INDEX[d] for d in _group]
MEMO_SLOTS = 1 << 18              # subproblem memo slots (~17 MB), used up to 3/4 full; a
MEMO_MAX_SLOTS = 1 << 22          # memo found half full restarts twice as large, up to this


def new_memo(slots: int = MEMO_SLOTS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An empty subproblem memo: open-addressing keys (size 0, size 1, size 2, capacity;
    0: empty), values (utilisation, factor 0, factor 1, factor 2) and the filled count."""
    return np.zeros((slots, 4), np.int64), np.zeros((slots, 4)), np.zeros(1, np.int64)


class PrimeOrder:
    """The order the Python rule tries each size's distinct prime factors in
    (``set(_prime_factors(v))``), for every size met so far: ``values`` sorted, ``primes``
    (n, _MAX_PRIMES) in that order, 0-padded."""

    _DENSE = 1 << 22      # sizes below this are marked covered in a dense flag array

    def __init__(self) -> None:
        self.values = np.zeros(0, np.int64)
        self.primes = np.zeros((0, _MAX_PRIMES), np.int64)
        self._covered = np.zeros(1, bool)   # covered[v]: v and its divisors have an order

    def cover(self, sizes: np.ndarray) -> None:
        """Add every divisor of every size (the sizes the rule's recursion can reach)."""
        sizes = np.asarray(sizes, np.int64).ravel()
        small = sizes < self._covered.size
        sizes = np.concatenate([sizes[small][~self._covered[sizes[small]]], sizes[~small]])
        if sizes.size == 0:
            return
        sizes = np.unique(sizes)
        need = _divisors(sizes)
        new = np.setdiff1d(need, self.values)
        if new.size:
            rows = np.zeros((new.size, _MAX_PRIMES), np.int64)
            for j, v in enumerate(new.tolist()):
                order = list(set(_prime_factors(v)))     # the interpreter's own set order
                rows[j, :len(order)] = order
            values = np.concatenate([self.values, new])
            at = np.argsort(values, kind="stable")
            self.values, self.primes = values[at], np.concatenate([self.primes, rows])[at]
        if sizes[-1] < self._DENSE and sizes[-1] >= self._covered.size:
            grown = np.zeros(max(int(sizes[-1]) + 1, 2 * self._covered.size), bool)
            grown[:self._covered.size] = self._covered
            self._covered = grown
        self._covered[sizes[sizes < self._covered.size]] = True


def _divisors(values: np.ndarray) -> np.ndarray:
    """Sorted distinct divisors of positive ``values``."""
    out: set[int] = set()
    for v in values.tolist():
        for d in range(1, math.isqrt(v) + 1):
            if v % d == 0:
                out.update((d, v // d))
    return np.array(sorted(out), np.int64)


@numba.njit(cache=True)
def _slot(keys, s0, s1, s2, cap):  # pragma: no cover - compiled
    """The memo slot of (s0, s1, s2, cap): its own or the empty one where it would go."""
    mask = keys.shape[0] - 1
    h = (s0 * 0x9E3779B1 + s1 * 0x85EBCA77 + s2 * 0xC2B2AE3D + cap * 0x27D4EB2F) & mask
    while True:
        if keys[h, 0] == 0 or (keys[h, 0] == s0 and keys[h, 1] == s1 and keys[h, 2] == s2
                               and keys[h, 3] == cap):
            return h
        h = (h + 1) & mask


@numba.njit(cache=True)
def _greedy(s0, s1, s2, cap, keys, vals, fill, ov, op):  # pragma: no cover - compiled
    """`packing_rule._greedy` of sizes (s0, s1, s2) (absent dimensions: 1) into ``cap``:
    (utilisation, factor per dimension). Results are memoized in (keys, vals) while the
    table is at most 3/4 full."""
    if cap <= 1 or (s0 == 1 and s1 == 1 and s2 == 1):     # nothing to pack: no option
        return 1.0, np.int64(1), np.int64(1), np.int64(1)
    if s0 <= cap and s1 <= cap and s0 * s1 <= cap and s0 * s1 * s2 <= cap:   # no overflow
        # everything fits: taking every prime factor reaches the largest utilisation, the
        # product, and every option that does allocates the whole sizes (no split: v <= cap)
        return float(s0 * s1 * s2), s0, s1, s2
    h = _slot(keys, s0, s1, s2, cap)
    if keys[h, 0] != 0:
        return vals[h, 0], np.int64(vals[h, 1]), np.int64(vals[h, 2]), np.int64(vals[h, 3])
    best_u = 1.0
    b0, b1, b2 = np.int64(1), np.int64(1), np.int64(1)
    for i in range(3):
        v = s0 if i == 0 else (s1 if i == 1 else s2)
        if v > cap:
            n = -(-v // cap)
            alloc = -(-v // n)
            u = (alloc * (n - 1) + v % alloc) / n
            if u > best_u:
                best_u = u
                b0 = alloc if i == 0 else np.int64(1)
                b1 = alloc if i == 1 else np.int64(1)
                b2 = alloc if i == 2 else np.int64(1)
        at = np.searchsorted(ov, v)
        if at >= ov.shape[0] or ov[at] != v:
            raise ValueError("packing kernel: a size without its prime order")
        for k in range(op.shape[1]):
            p = op[at, k]
            if p == 0:
                break
            if p > cap:
                continue
            if i == 0:
                su, r0, r1, r2 = _greedy(v // p, s1, s2, cap // p, keys, vals, fill, ov, op)
                r0 *= p
            elif i == 1:
                su, r0, r1, r2 = _greedy(s0, v // p, s2, cap // p, keys, vals, fill, ov, op)
                r1 *= p
            else:
                su, r0, r1, r2 = _greedy(s0, s1, v // p, cap // p, keys, vals, fill, ov, op)
                r2 *= p
            u = su * p
            if u > best_u:
                best_u, b0, b1, b2 = u, r0, r1, r2
    if 4 * fill[0] < 3 * keys.shape[0]:
        h = _slot(keys, s0, s1, s2, cap)
        keys[h, 0], keys[h, 1], keys[h, 2], keys[h, 3] = s0, s1, s2, cap
        vals[h, 0], vals[h, 1], vals[h, 2], vals[h, 3] = best_u, b0, b1, b2
        fill[0] += 1
    return best_u, b0, b1, b2


@numba.njit(cache=True)
def _pack_levels(level, states, caps, groups, keys, vals, fill, ov, op):  # pragma: no cover
    """`packing_rule._pack_level` of every (state, capacity) row: factors (m, 9), left."""
    m, n_dims = states.shape
    factors = np.ones((m, n_dims), np.int32)
    left = states.copy()
    sizes = np.ones(3, np.int64)
    for j in range(m):
        used = np.int64(1)
        for g in range(groups.shape[1]):
            if groups[level, g, 0] < 0:
                break
            for k in range(3):
                d = groups[level, g, k]
                sizes[k] = left[j, d] if d >= 0 else 1
            _, a0, a1, a2 = _greedy(sizes[0], sizes[1], sizes[2], caps[j] // used, keys, vals,
                                    fill, ov, op)
            for k in range(3):
                d = groups[level, g, k]
                if d < 0:
                    break
                f = a0 if k == 0 else (a1 if k == 1 else a2)
                factors[j, d] = f
                left[j, d] = -(-left[j, d] // f)
                used *= f
    return factors, left


class RuleKernel:
    """The compiled rule with its memo and prime orders (one per `PackingCache`)."""

    def __init__(self) -> None:
        self.memo = new_memo()
        self.order = PrimeOrder()

    def pack_levels(self, level: int, states: np.ndarray, caps: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Factors (m, len(DIMS)) int32 and remaining sizes (m, len(DIMS)) int64 of one level
        for every row of ``states`` (m, len(DIMS)) under capacities ``caps`` (m,)."""
        states = np.ascontiguousarray(states, np.int64)
        if states.shape[1:] != (len(DIMS),):
            raise ValueError(f"states must be (m, {len(DIMS)})")
        self.order.cover(states)
        keys, _, fill = self.memo
        if 2 * fill[0] > keys.shape[0]:     # half full: restart, larger up to the maximum
            self.memo = new_memo(min(2 * keys.shape[0], MEMO_MAX_SLOTS))
        return _pack_levels(level, states, np.ascontiguousarray(caps, np.int64), GROUP_DIMS,
                            *self.memo, self.order.values, self.order.primes)
