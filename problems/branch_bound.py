"""The exact optimum by branch and bound over structure blocks.

A *block* is the set of designs sharing every variable of the space that is one of the cost
model's ``structure_fields`` (one mapping, one set of action counts); its other variables
range over a box. The model bounds each block from below (`CostModel.block_bounds`: energy
and latency per workload, the area range), and since every score is non-decreasing in each
E_w, L_w and the area term (`problems.objectives`), that bounds the block's score, its
(E, L, A) point and each workload's EDAP. Blocks are evaluated best bound first, exactly as
the enumeration scores them (`JointIMCProblem.screened_scores`), and a block is dropped once
it can enter none of the results:

- the top-k: its bound exceeds the k-th best score found;
- the (E, L, A) front: a front point lies below its bound in all three parts;
- each workload's specialist: its bound exceeds that workload's best.

Comparisons keep a margin (`MARGIN_LOG10`, far above rounding) and never drop a tie, so the
lower-index tie rule holds and the result equals the enumeration's. ``n_feasible`` stays
exact: a dropped block's feasible designs are counted from its area range (the exact area
where the range straddles the budget). tests/test_branch_bound.py compares with brute force
on random sub-spaces of every built-in space.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numba
import numpy as np

from problems.errors import ImcoptError
from problems.hardware.design import RRAM
from problems.incumbents import Incumbents
from problems.objectives import _mask_area, node_cost_factor, score_logs
from problems.problem import JointIMCProblem
from problems.spaces import SearchSpace

#: bounds are lowered by this much (log10 units) before any comparison: rounding of sums and
#: logarithms in a different order is ~1e-15; this is 1e-9 relative
MARGIN_LOG10 = 1e-9
#: designs evaluated per step (blocks are whole), and probes bounded per call
STEP_DESIGNS = 60_000
PROBE_DESIGNS = 100_000
#: below this many designs per block the plain enumeration is as fast
MIN_BLOCK = 8
#: more designs per block than this: the block is split (`plan_blocks`). Splitting the
#: built-in spaces' blocks further bounds tighter but costs more than it prunes (extended:
#: blocks of 1,764 designs 631 s, of 14,112 designs 427 s), so only larger boxes are split
MAX_BLOCK = 1 << 16
#: the front test (the costly one) runs after step k, then after step ceil(k x this)
FRONT_CHECK_GROWTH = 1.25
#: a positive stand-in for a bound <= 0 or NaN (no information)
_TINY = 1e-300
_NO_BOUND = 1e300


@dataclass
class Blocks:
    """The space cut into blocks: ``outer`` variables fixed per block, ``inner`` ranging."""

    outer: list[int]
    inner: list[int]
    outer_x: np.ndarray      # (n_b, n_outer) index vectors of the blocks' fixed variables
    base: np.ndarray         # (n_b,) flat index of each block's first design
    inner_x: np.ndarray      # (n_in, n_inner) every combination of the inner variables
    inner_off: np.ndarray    # (n_in,) its flat offsets (increasing)
    probe_x: np.ndarray      # (n_p, n_inner) the combinations the model is probed at

    @property
    def n_blocks(self) -> int:
        return int(self.base.size)

    def _rows(self, b: np.ndarray, inner_x: np.ndarray) -> np.ndarray:
        """Index vectors of blocks ``b``, each with every row of ``inner_x`` in turn."""
        X = np.empty((len(b) * inner_x.shape[0], len(self.outer) + len(self.inner)),
                     dtype=np.int64)
        X[:, self.outer] = np.repeat(self.outer_x[b], inner_x.shape[0], axis=0)
        X[:, self.inner] = np.tile(inner_x, (len(b), 1))
        return X

    def probes(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(X, starts) of the probes of blocks ``b``: block i's rows are
        ``starts[i]:starts[i + 1]`` (`CostModel.block_bounds`' input)."""
        n_p = self.probe_x.shape[0]
        return self._rows(b, self.probe_x), np.arange(0, len(b) * n_p + 1, n_p, dtype=np.int64)

    def designs(self, b: np.ndarray, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """(flat, X) of the designs of blocks ``b`` within [start, stop)."""
        flat = (self.base[b][:, None] + self.inner_off[None, :]).ravel()
        X = self._rows(b, self.inner_x)
        m = (flat >= start) & (flat < stop)
        if not m.all():
            flat, X = flat[m], X[m]
        return flat, X

    def count_in(self, start: int, stop: int) -> np.ndarray:
        """Designs of each block within [start, stop), (n_b,)."""
        off = self.inner_off
        return (np.searchsorted(off, stop - self.base, "left")
                - np.searchsorted(off, start - self.base, "left")).astype(np.int64)


def _combos(cards: list[int]) -> np.ndarray:
    """Every index combination of variables with these cardinalities, mixed radix order."""
    if not cards:
        return np.zeros((1, 0), dtype=np.int64)
    grids = np.meshgrid(*[np.arange(c) for c in cards], indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)


def plan_blocks(space: SearchSpace, structure_fields: tuple[str, ...],
                monotone_fields: tuple[str, ...], max_block: int | None = None) -> Blocks:
    """The blocks of ``space`` for a model with these fields (see `Blocks`): the structure
    variables fixed per block and, while a block would hold more than ``max_block`` designs
    (default `MAX_BLOCK`), the inner variable with the most values too (a smaller box,
    tighter bounds)."""
    max_block = MAX_BLOCK if max_block is None else int(max_block)
    card = [int(c) for c in space.cardinalities]
    stride = np.ones(len(card), dtype=np.int64)
    for j in range(len(card) - 2, -1, -1):
        stride[j] = stride[j + 1] * card[j + 1]
    outer = [j for j, v in enumerate(space.variables) if v.name in structure_fields]
    inner = [j for j, v in enumerate(space.variables) if v.name not in structure_fields]
    while inner and int(np.prod([card[j] for j in inner])) > max_block:
        j = max(inner, key=lambda i: (card[i], -i))
        inner.remove(j)
        outer = sorted([*outer, j])
    outer_x = _combos([card[j] for j in outer])
    inner_x = _combos([card[j] for j in inner])
    probes = []
    for j in inner:
        vals = space.variables[j].values
        if space.variables[j].name in monotone_fields and np.issubdtype(vals.dtype, np.number):
            probes.append(sorted({int(np.argmin(vals)), int(np.argmax(vals))}))
        else:
            probes.append(list(range(card[j])))
    probe_x = _combos([len(p) for p in probes])
    for k, p in enumerate(probes):
        probe_x[:, k] = np.asarray(p, dtype=np.int64)[probe_x[:, k]]
    return Blocks(outer=outer, inner=inner, outer_x=outer_x,
                  base=outer_x @ stride[outer] if outer else np.zeros(1, np.int64),
                  inner_x=inner_x, inner_off=inner_x @ stride[inner] if inner
                  else np.zeros(1, np.int64), probe_x=probe_x)


@numba.njit(cache=True, nogil=True)
def _dominated(P, F):  # pragma: no cover - compiled
    """Rows of P (n, 3) with a row of F (m, 3; sorted by column 0) <= them in every column."""
    out = np.zeros(P.shape[0], dtype=np.bool_)
    for i in range(P.shape[0]):
        for j in range(F.shape[0]):
            if F[j, 0] > P[i, 0]:
                break
            if F[j, 1] <= P[i, 1] and F[j, 2] <= P[i, 2]:
                out[i] = True
                break
    return out


def _log10_bound(x: np.ndarray) -> np.ndarray:
    """log10 of a lower bound; <= 0 or NaN (no information) -> a tiny positive bound."""
    x = np.asarray(x, dtype=float)
    return np.log10(np.where((x > 0) & ~np.isnan(x), x, _TINY))


@dataclass
class _Bounds:
    """Per candidate block: bounds of its score, (E, L, A) point and workload EDAPs."""

    score: np.ndarray       # (n_c,) +inf where no design of the block can be feasible
    parts: np.ndarray       # (n_c, 3)
    workload: np.ndarray    # (n_c, n_w) +inf where no design is feasible for that workload
    all_ok: np.ndarray      # (n_c,) some design may be feasible for the joint problem
    area_min_mm2: np.ndarray   # (n_c,) the block's area range
    area_max_mm2: np.ndarray
    usable: np.ndarray      # (n_c,) every design usable for every workload (residency)


def _technology_for_bound(problem: JointIMCProblem, blocks: Blocks) -> np.ndarray | None:
    """Per block, the node whose cost factor is the least the block's designs can have (for
    a fabrication-cost area term), else None."""
    cfg, space = problem.objective, problem.space
    if cfg.fabrication_cost is False:
        return None
    if "technology_nm" in space.fixed:              # fixed (or the default node)
        return np.full(blocks.n_blocks, float(space.fixed["technology_nm"]))
    j = space.names.index("technology_nm")
    vals = np.asarray(space.variables[j].values, float)
    if j in blocks.inner:
        k = node_cost_factor(vals, cfg.node_cost_factor)
        return np.full(blocks.n_blocks, vals[int(np.argmin(k))])
    return vals[blocks.outer_x[:, blocks.outer.index(j)]]


def _bounds(problem: JointIMCProblem, blocks: Blocks, cand: np.ndarray, progress: bool = False
            ) -> _Bounds | None:
    """Bounds of the candidate blocks, or None if the model cannot bound them."""
    from tqdm.auto import tqdm

    model, space, stack = problem.model, problem.space, problem.stack
    per = max(1, PROBE_DESIGNS // blocks.probe_x.shape[0])
    parts = []
    for i in tqdm(range(0, cand.size, per), unit="chunk", disable=not progress,
                  desc=f"bounding {cand.size:,} blocks of {space.name}", leave=False):
        X, starts = blocks.probes(cand[i:i + per])
        designs = space.decode(X)
        try:
            bb = model.block_bounds(designs, starts, stack)
        except ImcoptError:
            return None
        if bb is None:
            return None
        parts.append((bb, designs.memory[starts[:-1]] == RRAM))
    E = np.concatenate([p[0].energy_j for p in parts])
    L = np.concatenate([p[0].latency_s for p in parts])
    a_min = np.concatenate([p[0].area_min_mm2 for p in parts])
    a_max = np.concatenate([p[0].area_max_mm2 for p in parts])
    resident = np.concatenate([p[0].resident for p in parts])
    rram = np.concatenate([p[1] for p in parts])
    cfg = problem.objective
    usable = ~rram[:, None] | resident
    lE = np.where(usable, _log10_bound(E), np.inf)
    lL = np.where(usable, _log10_bound(L), np.inf)
    lA = _log10_bound(a_min)
    tech = _technology_for_bound(problem, blocks)
    logs = score_logs(lE, lL, _mask_area(lE, lL, lA), lA, cfg, problem.specialist_edap,
                      None if tech is None else tech[cand])
    area_ok = a_min <= cfg.area_budget_mm2
    joint = usable.all(axis=1)
    score = np.where(area_ok & joint, logs["log10_score"], np.inf)
    workload = np.where(usable & area_ok[:, None], logs["workload"], np.inf)
    # NaN (no information) -> a bound nothing exceeds
    score, workload, pr = (np.where(np.isnan(x), -_NO_BOUND, x)
                           for x in (score, workload, logs["parts"]))
    return _Bounds(score=score, parts=pr, workload=workload, all_ok=area_ok & joint,
                   area_min_mm2=a_min, area_max_mm2=a_max, usable=joint)


def applies(problem: JointIMCProblem, small_blocks_ok: bool = False) -> str | None:
    """Why the branch and bound cannot (or, with blocks under `MIN_BLOCK` designs and not
    ``small_blocks_ok``, should not) run on ``problem``; None: it runs."""
    if not problem.factored:
        return "the problem evaluates without factoring (the brute-force reference)"
    fields = problem.model.structure_fields
    if not fields:
        return f"the {problem.convention!r} convention has no block bounds"
    if problem.snr_model is not None:
        return "SNR constraints or objectives (their feasibility is not bounded)"
    n_in = int(np.prod([v.cardinality for v in problem.space.variables
                        if v.name not in fields]))
    if n_in < MIN_BLOCK and not small_blocks_ok:
        return f"blocks of {n_in} designs are too small to pay"
    return None


def branch_and_bound(problem: JointIMCProblem, start: int, stop: int, top_k: int,
                     progress: bool, required: bool = False, share: tuple[int, int] = (0, 1)
                     ) -> tuple[Incumbents, int, float, int] | None:
    """(`Incumbents`, designs evaluated, seconds, designs searched) of designs [start, stop)
    in the blocks of share ``(k, n)`` (every n-th block from the k-th: neighbouring blocks
    are alike, so shares are balanced), or None where it does not apply (ImcoptError instead
    if ``required``)."""
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    why = applies(problem, small_blocks_ok=required)
    model, space = problem.model, problem.space
    if why is None:
        blocks = plan_blocks(space, model.structure_fields, model.monotone_fields)
        n_in = blocks.count_in(start, stop)
        cand = np.flatnonzero(n_in > 0)[share[0]::share[1]]
        bd = _bounds(problem, blocks, cand, progress)
        if bd is None:
            why = f"the {problem.convention!r} convention cannot bound these designs"
    if why is not None:
        if required:
            raise ImcoptError(f"branch and bound does not apply: {why}")
        return None
    cfg = problem.objective
    inc = Incumbents(top_k, problem.stack.n_workloads)
    maybe = np.isfinite(bd.score) | np.isfinite(bd.workload).any(axis=1)
    order = np.lexsort((bd.workload.min(axis=1), bd.score))
    pending = order[maybe[order]]                  # positions into cand, best bound first
    evaluated = np.zeros(cand.size, dtype=bool)
    n_evaluated = 0
    M = MARGIN_LOG10
    bar = tqdm(total=int(pending.size), unit="block", disable=not progress,
               desc=f"branch and bound {space.name}", smoothing=0.1)
    k, next_front = 0, 1
    try:
        while pending.size:
            k += 1
            cum = np.cumsum(n_in[cand[pending]])
            take = int(np.searchsorted(cum, STEP_DESIGNS)) + 1
            step, pending = pending[:take], pending[take:]
            flat, X = blocks.designs(cand[step], start, stop)
            inc.add(flat, problem.screened_scores(X))
            evaluated[step] = True
            n_evaluated += flat.size
            if pending.size:
                front = k >= next_front
                if front:
                    next_front = max(k + 1, int(np.ceil(k * FRONT_CHECK_GROWTH)))
                pending = pending[_needed(bd, pending, inc, M, front)]
            bar.n = bar.total - int(pending.size)
            bar.refresh()
    finally:
        bar.close()
    # feasible designs of the blocks never evaluated: from their area range
    rest = ~evaluated & bd.usable
    budget = cfg.area_budget_mm2
    inc.n_feasible += int(n_in[cand[rest & (bd.area_max_mm2 <= budget)]].sum())
    straddle = np.flatnonzero(rest & (bd.area_min_mm2 <= budget) & (bd.area_max_mm2 > budget))
    per = max(1, STEP_DESIGNS // blocks.inner_off.size)
    for i in range(0, straddle.size, per):
        flat, X = blocks.designs(cand[straddle[i:i + per]], start, stop)
        area = model.area_mm2(space.decode(X))
        if area is None:
            inc.n_feasible += int(problem.screened_scores(X)["feasible"].sum())
        else:
            inc.n_feasible += int((np.asarray(area) <= budget).sum())
    return inc, n_evaluated, time.perf_counter() - t0, int(n_in[cand].sum())


def _needed(bd: _Bounds, pending: np.ndarray, inc: Incumbents, M: float,
            front: bool = True) -> np.ndarray:
    """Which pending blocks can still enter the top-k, the front or a specialist (``front``
    False: every block that might join the front is kept, without testing it)."""
    s = bd.score[pending]
    need = np.isfinite(s) & (s - M <= inc.kth)
    w = bd.workload[pending]
    need |= (np.isfinite(w) & (w - M <= inc.wbest[None, :])).any(axis=1)
    rest = np.flatnonzero(~need & bd.all_ok[pending])
    if rest.size:
        F = inc.front_F
        if F.shape[0] == 0 or not front:
            need[rest] = True
        else:
            F = F[np.argsort(F[:, 0], kind="stable")]
            need[rest] = ~_dominated(np.ascontiguousarray(bd.parts[pending[rest]] - M),
                                     np.ascontiguousarray(F))
    return need
