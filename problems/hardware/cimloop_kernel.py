"""The ``cimloop`` action counts of many structures in one compiled loop (CIMLOOP_MODEL.md §3.5).

`cimloop_counts.counts_reference` spells the counts out in numpy over (structures x layer
classes) arrays; this module computes the same numbers without any of those temporaries: per
structure and layer class it walks the packing's level tables (`PackingCache.compiled_tables`),
forms every count from the five levels' factors and the leftover state, and adds it, weighted,
into the per-workload sums. Each elementwise value is computed with the reference's operations
in its order, so every integer-valued count is the same bits; the per-workload sums add the
classes in ascending order (the reference's ``v @ w`` leaves that order to BLAS), so a
structure's counts do not depend on the batch it came in.

Structures are visited sorted by their (memory and weight slices, capacities) key, so a walk
reuses the levels it shares with the structure before. Table entries never computed are
recorded by the kernel (once each), computed by the compiled packing rule
(`PackingCache.fill`) and the structures that met them counted again. Before that second
pass, and before the first one when the tables are young (fewer entries than structures to
count), `_complete_tables` computes every entry those walks still need a level at a time
(each distinct walk prefix looked up once per level), so cold tables cost one extra walk, not
a counting pass per level.
"""

from __future__ import annotations

import numba
import numpy as np

from problems.hardware import cimloop_components as cc
from problems.hardware.design import DesignBatch
from problems.hardware.packing import DIM_INDEX, WEIGHT_DIMS, PackingCache, PackingStart, start

#: counts summed per workload by the kernel, in the order of its output axis
SUMMED: tuple[str, ...] = (
    "row_reads_active", "conversions", "cells_filled", "glb_input_read_bits",
    "glb_output_bits", "router_bits", "input_buffer_bits", "output_buffer_bits", "busy_s",
    "cell_busy_s",
)
_Y, _R, _S, _M, _C, _G, _P, _Q, _N = (DIM_INDEX[d] for d in ("Y", "R", "S", "M", "C", "G", "P",
                                                             "Q", "N"))
# the kernel spells the weight dimensions (tiles streamed, placement) out
assert WEIGHT_DIMS == ("Y", "R", "S", "M", "C", "G")
_LAYER_COLS = ("N", "C", "M", "G", "R", "S", "P", "Q")


#: structures per block: the block's walks and outputs stay in cache while every layer class
#: is added
BLOCK = 128
_LOW = (1 << 32) - 1


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _kernel(todo, share, combo, init, cap_idx, sram, slices, lay, macs, wptr, wcls, wval,
            k0, k1, k2, k3, k4, f0, f1, f2, f3, f4, a2, a3, a4, dims, in_bits_b, out_bits_b,
            out, mpc, placed, redo, miss_level, miss_state, miss_ci):  # pragma: no cover
    """Counts of the structures ``todo`` (sorted by combination and capacity indices) into
    ``out`` (n_s, n_w, n_summed), ``mpc`` (max over a workload's layers of MACs per cycle)
    and ``placed``. ``share[t]``: how many leading levels ``todo[t]`` packs like
    ``todo[t - 1]``, so their walk is reused. ``k*``, ``f*``, ``a*``: the five levels' link
    tables, factors and factor products (`PackingCache.compiled_tables`). Returns the number
    of missing table entries recorded in ``miss_*`` (``redo``: the structures that met one;
    they must run again once the entries are computed).

    Per block of structures, pass 1 walks every (class, structure) up the link tables (a
    chain of dependent loads, short per pair so many are in flight) and pass 2 forms the
    counts from the rows found (independent loads)."""
    n_c = init.shape[1]
    n_w = out.shape[1]
    n_t = todo.shape[0]
    for t in range(n_t):
        s = todo[t]
        for w in range(n_w):
            for k in range(out.shape[2]):
                out[s, w, k] = 0.0
            mpc[s, w] = -np.inf
            placed[s, w] = True
    path = np.empty((BLOCK * n_c, 6), np.int32)
    r0 = r1 = r2 = r3 = r4 = st0 = st1 = st2 = st3 = st4 = np.int64(0)
    n_miss = 0
    for b0 in range(0, n_t, BLOCK):
        b1 = min(b0 + BLOCK, n_t)
        # pass 1: the walks (levels shared with the structure before are not walked again);
        # the five levels are spelled out: indexing a tuple of tables per level is ~10x slower
        m = 0
        for c in range(n_c):
            valid = 0
            for t in range(b0, b1):
                s = todo[t]
                valid = min(valid, share[t]) if t > b0 else 0
                lvl, state = valid, np.int64(0)
                if lvl == 0:
                    state = init[combo[s], c]
                    x = k0[state, cap_idx[s, 0]]
                    if x >= 0:
                        r0, st0, lvl = x >> 32, x & _LOW, 1
                if lvl == 1:
                    state = st0
                    x = k1[state, cap_idx[s, 1]]
                    if x >= 0:
                        r1, st1, lvl = x >> 32, x & _LOW, 2
                if lvl == 2:
                    state = st1
                    x = k2[state, cap_idx[s, 2]]
                    if x >= 0:
                        r2, st2, lvl = x >> 32, x & _LOW, 3
                if lvl == 3:
                    state = st2
                    x = k3[state, cap_idx[s, 3]]
                    if x >= 0:
                        r3, st3, lvl = x >> 32, x & _LOW, 4
                if lvl == 4:
                    state = st3
                    x = k4[state, cap_idx[s, 4]]
                    if x >= 0:
                        r4, st4, lvl = x >> 32, x & _LOW, 5
                valid = lvl
                if lvl < 5:
                    # a missing entry: recorded once (marked -2 in its table until filled)
                    tab = k0 if lvl == 0 else (k1 if lvl == 1 else (k2 if lvl == 2 else (
                        k3 if lvl == 3 else k4)))
                    ci = cap_idx[s, lvl]
                    if tab[state, ci] == -1:
                        tab[state, ci] = -2
                        miss_level[n_miss] = lvl
                        miss_state[n_miss] = state
                        miss_ci[n_miss] = ci
                        n_miss += 1
                    redo[s] = True
                path[m, 0], path[m, 1], path[m, 2] = r0, r1, r2
                path[m, 3], path[m, 4], path[m, 5] = r3, r4, st4
                m += 1
        # pass 2: the counts of every walked pair, added per workload in class order
        m = 0
        for c in range(n_c):
            Q, hs, ws = lay[c, 7], lay[c, 8], lay[c, 9]
            in_bits, out_bits, mac = in_bits_b[c], out_bits_b[c], macs[c]
            e0, e1 = wptr[c], wptr[c + 1]
            for t in range(b0, b1):
                s = todo[t]
                p = m
                m += 1
                if redo[s]:                  # met a missing entry: counted next round
                    continue
                r0, r1, r2 = np.int64(path[p, 0]), np.int64(path[p, 1]), np.int64(path[p, 2])
                r3, r4, end = np.int64(path[p, 3]), np.int64(path[p, 4]), np.int64(path[p, 5])
                # the row level packs only C, R, S and the column level only Y, M
                # (`LEVELS`): their other factors are 1
                rows_used = np.int64(f0[r0, _C]) * f0[r0, _R] * f0[r0, _S]
                cols_used = np.int64(f1[r1, _Y]) * f1[r1, _M]
                up_n = np.int64(f3[r3, _N]) * f4[r4, _N]
                up_g = np.int64(f3[r3, _G]) * f4[r4, _G]
                up_c = np.int64(f3[r3, _C]) * f4[r4, _C]
                up_m = np.int64(f3[r3, _M]) * f4[r4, _M]
                up_r = np.int64(f3[r3, _R]) * f4[r4, _R]
                up_s = np.int64(f3[r3, _S]) * f4[r4, _S]
                up_y = np.int64(f3[r3, _Y]) * f4[r4, _Y]
                sp_n = up_n * f2[r2, _N]
                sp_g = up_g * f2[r2, _G]
                sp_c = up_c * (np.int64(f0[r0, _C]) * f2[r2, _C])
                sp_m = up_m * (np.int64(f1[r1, _M]) * f2[r2, _M])
                sp_r = up_r * (np.int64(f0[r0, _R]) * f2[r2, _R])
                sp_s = up_s * (np.int64(f0[r0, _S]) * f2[r2, _S])
                sp_p = np.int64(f3[r3, _P]) * f4[r4, _P] * f2[r2, _P]
                sp_q = np.int64(f3[r3, _Q]) * f4[r4, _Q] * f2[r2, _Q]
                arrays = a2[r2] * a3[r3] * a4[r4]
                l_y, l_r, l_s = dims[end, _Y], dims[end, _R], dims[end, _S]
                l_m, l_c, l_g = dims[end, _M], dims[end, _C], dims[end, _G]
                l_p, l_q, l_n = dims[end, _P], dims[end, _Q], dims[end, _N]
                is_sram = sram[s]
                # cycles (§3.3): SRAM runs all of Q at the GLB, so Q x every leftover
                if is_sram:
                    cyc = Q * l_y * l_r * l_s * l_m * l_c * l_g * l_p * l_q * l_n
                else:
                    cyc = l_p * l_q * l_n
                cycles = float(cyc)
                cells_used = float(arrays * rows_used * cols_used)
                # weight tiles streamed: the weight leftovers, in WEIGHT_DIMS order, in floats
                tiles = 1.0 * l_y * l_r * l_s * l_m * l_c * l_g
                t_out = float(l_c * l_r * l_s * l_y) if is_sram else 1.0
                t_in = float(l_m * l_y) if is_sram else 1.0
                red_up = float(up_c * up_r * up_s * up_y)
                mc_up = float(up_m)
                in_per_cycle = (float(sp_n * sp_g * sp_c * ((sp_p - 1) * hs + sp_r)
                                      * ((sp_q - 1) * ws + sp_s)) * float(cc.INPUT_BITS)
                                ) * cycles
                out_sp = float(cc.OUTPUT_BITS) * sp_n * sp_g * sp_m * sp_p * sp_q
                sl = slices[s]
                v0 = sl / cols_used
                v1 = sl / rows_used
                v2 = cells_used * tiles
                v3 = in_per_cycle
                v4 = out_bits * t_out
                v5 = in_bits * t_in * mc_up + out_bits * t_out * red_up
                v6 = in_per_cycle * mc_up * float(up_y)
                v7 = out_sp * cycles * red_up
                v8 = cycles
                v9 = cycles * cells_used
                rate = mac / cycles
                ok = l_y == 1 and l_r == 1 and l_s == 1 and l_m == 1 and l_c == 1 and l_g == 1
                for e in range(e0, e1):
                    w = wcls[e]
                    wa, wm, wx = wval[e, 0], wval[e, 1], wval[e, 2]  # count, MACs, active MACs
                    out[s, w, 0] += v0 * wx
                    out[s, w, 1] += v1 * wm
                    out[s, w, 2] += v2 * wa
                    out[s, w, 3] += v3 * wa
                    out[s, w, 4] += v4 * wa
                    out[s, w, 5] += v5 * wa
                    out[s, w, 6] += v6 * wa
                    out[s, w, 7] += v7 * wa
                    out[s, w, 8] += v8 * wa
                    out[s, w, 9] += v9 * wa
                    if rate > mpc[s, w]:
                        mpc[s, w] = rate
                    if not ok:
                        placed[s, w] = False
    return n_miss


@numba.njit(cache=True, nogil=True)
def _walk_level(lvl, structures, share, cap_idx, cur, nxt, link, miss_state,
                miss_ci):  # pragma: no cover - compiled
    """Level ``lvl`` of the walks of ``structures`` (sorted; ``share[t]``: leading levels
    ``structures[t]`` packs like ``structures[t - 1]``) for every class: ``nxt[c, t]`` is the
    state after ``cur[c, t]``, the state at this level (-1: a missing entry). A walk that packs
    like the one before through this level copies its result. Missing entries are recorded
    once (marked -2). Returns (walks that met a missing entry, entries recorded)."""
    n_c, n_t = cur.shape
    n_walks = 0
    n_miss = 0
    for c in range(n_c):
        for t in range(n_t):
            if t == 0 or share[t] <= lvl:
                state = np.int64(cur[c, t])
                ci = cap_idx[structures[t], lvl]
                x = link[state, ci]
                if x >= 0:
                    nxt[c, t] = x & _LOW
                else:
                    nxt[c, t] = -1
                    if x == -1:
                        link[state, ci] = -2
                        miss_state[n_miss] = state
                        miss_ci[n_miss] = ci
                        n_miss += 1
            else:
                nxt[c, t] = nxt[c, t - 1]
            if nxt[c, t] < 0:
                n_walks += 1
    return n_walks, n_miss


def _complete_tables(st: PackingStart, structures: np.ndarray, share: np.ndarray,
                     cache: PackingCache) -> None:
    """Compute every table entry the walks of ``structures`` (sorted as the kernel visits them,
    ``share`` as `_shared_levels`) need, a level at a time: each distinct walk prefix is
    looked up once per level (twice where entries were missing), so filling cold tables costs
    about two walks per (structure, class) instead of a counting pass per level."""
    n_c, n_t = st.init.shape[1], structures.size
    cur = np.ascontiguousarray(st.init[st.combo[structures]].T).astype(np.int32)
    nxt = np.empty_like(cur)
    miss_state, miss_ci = np.empty(n_c * n_t, np.int64), np.empty(n_c * n_t, np.int64)
    for lvl in range(len(cache.tables)):
        for _ in range(3):
            link = cache.compiled_tables()[0][lvl]
            n_walks, n_miss = _walk_level(lvl, structures, share, st.cap_idx, cur, nxt, link,
                                          miss_state, miss_ci)
            if n_walks == 0:
                break
            if n_miss == 0:                  # marks left by an interrupted earlier call
                cache.unmark()
            cache.fill(np.full(n_miss, lvl), miss_state[:n_miss], miss_ci[:n_miss])
        else:
            raise AssertionError("packing table entries still missing after computing them")
        cur, nxt = nxt, cur


def _shared_levels(key: np.ndarray) -> np.ndarray:
    """Per row of a sorted (n, 1 + 5) key (combination, capacity index per level): how many
    leading levels it packs like the row before (0 for the first row or a new combination)."""
    same = np.zeros(key.shape, bool)
    same[1:] = key[1:] == key[:-1]
    return np.maximum(np.cumprod(same, axis=1).sum(axis=1) - 1, 0).astype(np.int64)


def summed_counts(designs: DesignBatch, classes: dict[str, np.ndarray],
                  layers: dict[str, np.ndarray], cache: PackingCache) -> dict[str, np.ndarray]:
    """`SUMMED` counts, ``mpc`` (max MACs per cycle over a workload's layers) and ``placed``
    of every design of ``designs`` (one per structure), (n_d, n_w) each.

    ``classes``: the layer classes' per-workload weights (`cimloop_counts._layer_classes`);
    ``layers``: the class shapes (N, C, M, R, S, P, Q, G, h_stride, w_stride), MACs and
    input / output tensor bits (`cimloop_counts.tensor_bits`)."""
    d = designs
    st = start(layers, d.is_sram, d.bits_per_cell, d.xbar_rows, d.xbar_cols,
               d.macros_per_tile, d.tiles_per_group, d.router_groups, cache)
    n_s, n_c = len(d), st.init.shape[1]
    weights = np.stack([classes["count"], classes["macs"], classes["macs_active"]], 2)
    cls, wk = np.nonzero(classes["count"] > 0)               # class-major: ascending classes
    wptr = np.searchsorted(cls, np.arange(n_c + 1))
    wval = np.ascontiguousarray(weights[cls, wk])
    n_w = classes["count"].shape[1]
    lay = np.stack([np.asarray(layers[k], np.int64) for k in (*_LAYER_COLS, "h_stride",
                                                               "w_stride")], 1)
    in_bits_b = np.asarray(layers["in_bits"], float)
    out_bits_b = np.asarray(layers["out_bits"], float)
    out = np.empty((n_s, n_w, len(SUMMED)))
    mpc = np.empty((n_s, n_w))
    placed = np.empty((n_s, n_w), bool)
    key = np.concatenate([st.combo[:, None], st.cap_idx], 1)
    todo = np.lexsort(key.T[::-1]).astype(np.int64)
    sram = np.ascontiguousarray(d.is_sram, bool)
    slices = st.slices.astype(float)
    macs = np.asarray(layers["macs"], float)
    wk = wk.astype(np.int64)
    redo = np.zeros(n_s, bool)
    share = _shared_levels(key[todo])
    if cache.n_entries < todo.size:     # young tables: most walks would stop at a missing entry
        _complete_tables(st, todo, share, cache)
    for _ in range(len(cache.tables) + 2):      # 1-2 passes; the bound is a safety net
        links, factors, alls, dims = cache.compiled_tables()
        miss = [np.empty(todo.size * n_c, np.int64) for _ in range(3)]
        n = _kernel(todo, share, st.combo, st.init, st.cap_idx, sram, slices, lay, macs, wptr, wk,
                    wval, *links, *factors, *alls, dims, in_bits_b, out_bits_b,
                    out, mpc, placed, redo, *miss)
        if not redo[todo].any():
            return {**{k: out[..., i].copy() for i, k in enumerate(SUMMED)}, "mpc": mpc,
                    "placed": placed}
        if n == 0:                              # marks left by an interrupted earlier call
            cache.unmark()
        cache.fill(*(m[:n] for m in miss))      # also clears the kernel's -2 marks
        todo = todo[redo[todo]]
        share = _shared_levels(key[todo])
        redo[:] = False
        # the rest of their walks' entries, without a counting pass per level
        _complete_tables(st, todo, share, cache)
    raise AssertionError("packing tables still incomplete after completing them")
