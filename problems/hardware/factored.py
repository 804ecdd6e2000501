"""Factored evaluation of the ``physical`` convention: the mapping once per structure.

A design's mapping and action counts (`physical_counts.workload_counts`) depend only on its
*structure* (memory, xbar_rows, xbar_cols, bits_per_cell, n_macros); voltage, cycle time, node,
ADC, router groups and the GLB size enter through per-action costs (`physical.action_costs`),
the GLB spill threshold and the per-layer max(compute, transfer) of the latency. So:

1. `workload_counts` runs once per distinct structure in the batch (and the spill once per
   distinct GLB size);
2. energies = counts per structure x per-design action costs, one compiled loop
   (`_energy_sums`) doing `ActionTable`'s operations in its order;
3. the per-layer latency terms (sum over a workload's layers of max(bit steps x step time,
   activation transfer time) and the run-time weight loads) are one compiled loop
   (`_latency_sums`, numba) over designs x layers with no (n_d, n_l) temporaries.

The same numbers as the plain evaluation, bit for bit: the same elementwise operations and,
for the per-layer sums, numpy's own pairwise summation order (`_pairwise`), so an exhaustive
search on it is exact by construction (tests/test_factored.py, test_exhaustive_exact.py).
Deployments with ``pipelined`` execution or ``per-workload`` residency fall back to the plain
evaluation. The energy breakdown per component is not returned (use `evaluate`).
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np

from problems.hardware.deployment import Deployment
from problems.hardware.design import RRAM, DesignBatch
from problems.hardware.model import Screen
from problems.hardware.physical_counts import _layer_constants, workload_counts
from problems.hardware.result import CostResult
from problems.workloads.stack import WorkloadStack

CONVENTION = "physical"
#: from this many layers on, designs are sorted by their latency inputs (`_energy_latency`)
SORT_LAYERS = 400


def structure_keys(designs: DesignBatch) -> tuple[np.ndarray, np.ndarray]:
    """Distinct mapping-determining structures (index of a design holding each) and each
    design's structure index. Structure = (memory, xbar_rows, xbar_cols, bits_per_cell,
    n_macros)."""
    d = designs
    key = ((((d.memory.astype(np.int64) * 8193 + d.xbar_rows) * 8193 + d.xbar_cols) * 9
            + d.bits_per_cell) * (1 << 36) + d.n_macros)
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    return first, inv.reshape(-1)


def supports(dep: Deployment) -> bool:
    """Whether the factored path covers these deployment settings."""
    return dep.execution == "sequential" and dep.residency != "per-workload"


@numba.njit(cache=True, nogil=True)
def _pairwise(a, lo, n):  # pragma: no cover - compiled
    """numpy's pairwise summation of a[lo:lo+n] (numpy/_core/src/umath/loops_utils.h.src),
    so that segment sums are bit-identical to ``np.add.reduceat``."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    if n <= 128:
        r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
        r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
        i = 8
        m = n - n % 8
        while i < m:
            r0 += a[lo + i]
            r1 += a[lo + i + 1]
            r2 += a[lo + i + 2]
            r3 += a[lo + i + 3]
            r4 += a[lo + i + 4]
            r5 += a[lo + i + 5]
            r6 += a[lo + i + 6]
            r7 += a[lo + i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[lo + i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise(a, lo, n2) + _pairwise(a, lo + n2, n - n2)


@numba.njit(cache=True, nogil=True)
def _segment_sums(a, offsets, out, i):  # pragma: no cover - compiled
    """out[i, w] = np.add.reduceat(a, offsets[:-1])[w] (a[start] + pairwise rest)."""
    for w in range(offsets.shape[0] - 1):
        s = offsets[w]
        out[i, w] = a[s] + _pairwise(a, s + 1, offsets[w + 1] - s - 1)


@numba.njit(cache=True, nogil=True)
def _latency_sums(key, t_bit, io_s, spill, glb_bits, spill_dram_s, load_dram_s, row_s,
                  written, steps_kl, wr_static_kl, wr_dyn_kl, has_dyn, io_l, batch_io_l,
                  dram_bits_l, offsets, batch_div):  # pragma: no cover - compiled
    """Per design x workload: busy = sum_l max(steps x t_bit, io x io_s [+ spill x dram]),
    (written designs) static weight load = sum_l max(rows x t_row, dram x dram bits) and
    dynamic weight load = sum_l rows x t_row (dynamic layers): the
    per-layer terms of `physical._evaluate_block`, same operations, same summation order."""
    n_d = key.shape[0]
    n_l = io_l.shape[0]
    n_w = offsets.shape[0] - 1
    busy = np.empty((n_d, n_w))
    load_st = np.zeros((n_d, n_w))
    load_dy = np.zeros((n_d, n_w))
    buf = np.empty(n_l)
    buf2 = np.empty(n_l)
    for i in range(n_d):
        k = key[i]
        tb = t_bit[i]
        ios = io_s[i]
        g = glb_bits[i]
        dsp = spill_dram_s[i]
        same_spill = spill[i] == spill[i - 1] and (
            not spill[i] or (g == glb_bits[i - 1] and dsp == spill_dram_s[i - 1]))
        if i > 0 and k == key[i - 1] and tb == t_bit[i - 1] and ios == io_s[i - 1] \
                and same_spill and written[i] == written[i - 1] and row_s[i] == row_s[i - 1] \
                and load_dram_s[i] == load_dram_s[i - 1]:
            # the same inputs as the previous design (enumeration order: e.g. it differs in a
            # non-spilling GLB size or in tiles x macros only): the same sums
            for w in range(n_w):
                busy[i, w] = busy[i - 1, w]
                load_st[i, w] = load_st[i - 1, w]
                load_dy[i, w] = load_dy[i - 1, w]
            continue
        steps = steps_kl[k]
        if spill[i]:
            for j in range(n_l):
                c = steps[j] * tb
                e = 2.0 * max(batch_io_l[j] - g, 0.0)
                if batch_div > 1.0:
                    e = e / batch_div
                v = ios * io_l[j] + e * dsp
                buf[j] = c if c >= v else v
        else:
            for j in range(n_l):
                c = steps[j] * tb
                v = ios * io_l[j]
                buf[j] = c if c >= v else v
        _segment_sums(buf, offsets, busy, i)
        if written[i]:
            rs = row_s[i]
            dl = load_dram_s[i]
            for j in range(n_l):
                a = wr_static_kl[k, j] * rs
                b = dl * dram_bits_l[j]
                buf2[j] = a if a >= b else b
            _segment_sums(buf2, offsets, load_st, i)
        if has_dyn:
            rs = row_s[i]
            for j in range(n_l):
                buf2[j] = wr_dyn_kl[k, j] * rs
            _segment_sums(buf2, offsets, load_dy, i)
    return busy, load_st, load_dy


@numba.njit(cache=True, nogil=True)
def _energy_sums(key, counts_akw, cost_ad, spill_w, dram_action, comp_of_action,
                 n_comp):  # pragma: no cover - compiled
    """Total energy per design x workload: per action count x energy, summed per component in
    action order, components summed in order from 0 (`ActionTable.component_energy_j`, then
    ``sum`` over components: the same operations in the same order)."""
    n_a = counts_akw.shape[0]
    n_w = counts_akw.shape[2]
    n_d = key.shape[0]
    out = np.empty((n_d, n_w))
    comp = np.empty(n_comp)
    seen = np.zeros(n_comp, dtype=np.bool_)
    for i in range(n_d):
        k = key[i]
        for w in range(n_w):
            seen[:] = False
            for a in range(n_a):
                cnt = counts_akw[a, k, w]
                if a == dram_action:
                    cnt = cnt + spill_w[i, w]
                e = cnt * cost_ad[a, i]
                c = comp_of_action[a]
                if seen[c]:
                    comp[c] = comp[c] + e
                else:
                    comp[c] = e
                    seen[c] = True
            total = 0.0
            for c in range(n_comp):
                if seen[c]:
                    total = total + comp[c]
            out[i, w] = total
    return out


def evaluate_factored(designs: DesignBatch, stack: WorkloadStack, dep: Deployment,
                      action_costs: Callable[[DesignBatch], dict[str, np.ndarray]],
                      area: dict[str, np.ndarray],
                      ACTIONS: tuple[tuple[str, str, str, str], ...],
                      ENERGY_KEYS: tuple[str, ...], screen: Screen | None = None) -> CostResult:
    """`physical._evaluate_block` with the counts computed once per structure (checked input,
    ``supports(dep)``; ``area`` of every design from `physical.area_breakdown_mm2`; the
    per-action costs from ``action_costs`` (`physical.action_costs`), computed only for the
    designs ``screen`` keeps; the others get inf energy and latency and ``valid`` False. The
    physical convention's action table ``ACTIONS`` and breakdown components ``ENERGY_KEYS`` are
    passed in, so this module does not import it)."""
    d = designs
    first, inv = structure_keys(d)
    reps = d.take(first)
    n = workload_counts(reps, stack, dep)
    area_mm2 = sum(area.values())
    resident = n["weights_resident"][inv]
    keep = None if screen is None else screen.keeps(area_mm2, d.memory == RRAM, resident)
    if keep is not None and keep.all():
        keep = None
    valid = np.ones_like(resident, dtype=bool)
    if keep is None:
        energy_j, latency = _energy_latency(d, inv, n, stack, dep, action_costs(d), ACTIONS,
                                            ENERGY_KEYS)
    else:                                   # the kept designs only; inf for the others
        valid &= keep[:, None]
        energy_j = np.full(resident.shape, np.inf)
        latency = {k: np.full(resident.shape, np.inf)
                   for k in ("compute", "io_stall", "weight_load")}
        if keep.any():
            d_c = d.take(keep)
            e_c, lat_c = _energy_latency(d_c, inv[keep], n, stack, dep, action_costs(d_c),
                                         ACTIONS, ENERGY_KEYS)
            energy_j[keep] = e_c
            for k, v in lat_c.items():
                latency[k][keep] = v
    latency_s = latency["compute"] + latency["io_stall"] + latency["weight_load"]
    return CostResult(
        convention=CONVENTION, workloads=tuple(stack.names),
        energy_j=energy_j, latency_s=latency_s,
        area_mm2=area_mm2, utilisation=n["cell_utilisation"][inv],
        weights_resident=resident, valid=valid,
        energy_breakdown_j=None, area_breakdown_mm2=area, latency_breakdown_s=latency)


def _energy_latency(d: DesignBatch, inv: np.ndarray, n: dict[str, np.ndarray],
                    stack: WorkloadStack, dep: Deployment, costs: dict[str, np.ndarray],
                    ACTIONS: tuple[tuple[str, str, str, str], ...],
                    ENERGY_KEYS: tuple[str, ...]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Energy (n_d, n_w) and latency parts of designs ``d`` of structures ``inv`` (indices
    into the per-structure counts ``n``)."""
    # the dram action's count is dram_bits (per structure) + the spill (per design)
    actions = [(a, "dram_bits" if k == "dram_bits_total" else k, c, part)
               for a, k, c, part in ACTIONS]
    lc = _layer_constants(stack)
    n_k = n["weights_resident"].shape[0]
    n_l = stack.n_layers
    # per structure x layer tables (written rows include the passes of layers > chip)
    wr_static = np.zeros((n_k, n_l))
    wd = n["written_designs"]
    wr_static[wd] = n["write_rows_static_layer"]
    dyn = n["dynamic_layers"]
    wr_dyn = np.zeros((n_k, n_l))
    if dyn.size:
        wr_dyn[:, dyn] = n["write_rows_dynamic_layer"]
    written = np.zeros(n_k, dtype=bool)
    written[wd] = True
    # GLB spill (depends on the GLB only): as in `workload_counts`
    io_bits = lc["input_tensor_bits"] + lc["output_tensor_bits"]
    sequential_batch = dep.batch > 1 and dep.execution == "sequential"
    batch_io = io_bits * dep.batch if sequential_batch else io_bits
    glb_bits = d.glb_bytes.astype(float) * 8.0
    spill = glb_bits < batch_io.max()
    g_u, g_inv = np.unique(glb_bits[spill], return_inverse=True)
    spill_u = 2.0 * np.maximum(batch_io - g_u[:, None], 0.0)
    if sequential_batch:
        spill_u /= dep.batch
    spill_w = np.zeros((len(d), stack.n_workloads))
    if g_u.size:
        spill_w[spill] = np.add.reduceat(spill_u, stack.offsets[:-1], axis=1)[g_inv]
    # energy: counts per structure x per-design costs (same operations as the plain path)
    n_w = stack.n_workloads
    counts_akw = np.stack([np.broadcast_to(n[k], (n_k, n_w)) for _, k, _, _ in actions])
    cost_ad = np.stack([np.asarray(costs[c], float) for _, _, c, _ in actions])
    comps = [part for _, _, _, part in actions]
    order = [c for c in ENERGY_KEYS if c in comps]
    comp_of_action = np.array([order.index(c) for c in comps], dtype=np.int64)
    dram_action = [a for a, _, _, _ in actions].index("dram_bit")
    key = inv.astype(np.int64)
    energy_j = _energy_sums(key, counts_akw, cost_ad, spill_w, dram_action, comp_of_action,
                            len(order))
    # latency
    t_bit = costs["bit_step_s"]
    compute_w = n["bit_steps"][inv] * t_bit[:, None]
    load_dram_s = np.where(d.is_sram, costs["dram_bit_s"], 0.0)
    # designs with the same latency inputs made adjacent, so that the kernel computes each
    # distinct input once (e.g. the (tiles, macros) splits of one macro count, non-spilling
    # GLB sizes); the same per-design operations, only the order of designs changes
    io_s, row_s, dram_s, wr_d = (costs["io_bit_s"], costs["row_write_s"], costs["dram_bit_s"],
                                 written[inv])
    sort = n_l >= SORT_LAYERS
    if sort:
        o = np.lexsort((load_dram_s, row_s, wr_d, dram_s, np.where(spill, glb_bits, -1.0),
                        spill, io_s, t_bit, key))
    else:                       # few layers: the sort would cost more than it saves
        o = slice(None)
    lat = _latency_sums(
        key[o], t_bit[o], io_s[o], spill[o], glb_bits[o], dram_s[o], load_dram_s[o],
        row_s[o], wr_d[o],
        np.ascontiguousarray(n["bit_steps_layer"]), wr_static, wr_dyn, bool(dyn.size), io_bits,
        batch_io,
        lc["weights"] * lc["weight_bits"] * lc["static"],
        stack.offsets.astype(np.int64), float(dep.batch) if sequential_batch else 1.0)
    if sort:
        back = np.empty_like(o)
        back[o] = np.arange(o.size)
        lat = tuple(x[back] for x in lat)
    busy_w, load_st, load_dy = lat
    resident = n["weights_resident"][inv]
    load_w = np.where(written[inv][:, None], load_st * ~resident / dep.batch, 0.0)
    if dyn.size:
        load_w += load_dy
    stall_w = np.maximum(busy_w - compute_w, 0.0)
    return energy_j, {"compute": compute_w, "io_stall": stall_w, "weight_load": load_w}
