"""The paper's sequential baseline: optimise one design level at a time (device → circuit →
architecture → system), the other variables fixed to the best design so far.

Each level gets an even share of the budget left; a level whose sub-space fits in its share is
enumerated, a small share is sampled at random, otherwise a GA with integer operators searches
it. Every evaluation goes through the run's :class:`~study.recorder.ArchiveRecorder`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.core.evaluator import Evaluator
from pymoo.core.problem import Problem
from pymoo.core.termination import TerminateIfAny, Termination
from pymoo.termination.max_eval import MaximumFunctionCallTermination

from problems.errors import ImcoptError
from study.direct_search import feasible_fn
from study.duplicates import ExactDuplicateElimination
from study.operators import PhasePM, PhaseSBX
from study.recorder import ArchiveRecorder
from study.sampling import IntegerRandomSampling, random_feasible
from study.schedule import PhaseSchedule, as_schedule

__all__ = ["SEQUENTIAL_LEVELS", "sequential_levels", "sequential_search"]

#: the paper's sequential levels (device → circuit → architecture → system) by variable name
SEQUENTIAL_LEVELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("device", ("bits_per_cell",)),
    ("circuit", ("xbar_rows", "xbar_cols")),
    ("architecture", ("router_groups", "tiles_per_group", "macros_per_tile", "glb_bytes")),
    ("system", ("voltage_v", "cycle_time_s")),
)
MAX_SWEEPS = 100


class _SubspaceProblem(Problem):
    """The free variables of one level; the others fixed to ``base``; records every call.
    Rows beyond the run's budget get F = G = +inf (the level's GA then stops)."""

    def __init__(self, problem: Any, free: np.ndarray, base: np.ndarray,
                 recorder: ArchiveRecorder) -> None:
        super().__init__(n_var=len(free), n_obj=problem.n_obj,
                         n_ieq_constr=problem.n_ieq_constr,
                         xl=np.asarray(problem.xl)[free], xu=np.asarray(problem.xu)[free],
                         vtype=int)
        self.full, self.free, self.base, self.recorder = problem, free, base, recorder

    def expand(self, X: np.ndarray) -> np.ndarray:
        full = np.tile(self.base, (len(X), 1))
        full[:, self.free] = np.rint(np.asarray(X, dtype=float)).astype(np.int64)
        return full

    def _evaluate(self, X: np.ndarray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        n = len(X)
        res = self.recorder.evaluate(self.full, self.expand(X), return_values_of=["F", "G"])
        for key, shape in (("F", self.n_obj), ("G", self.n_ieq_constr)):
            full = np.full((n, shape), np.inf)
            if key in res:
                done = np.asarray(res[key], dtype=float).reshape(-1, shape)
                full[:len(done)] = done
            out[key] = full


class _RecorderFull(Termination):
    """Done once the run's recorder has used its whole budget."""

    def __init__(self, recorder: ArchiveRecorder) -> None:
        super().__init__()
        self.recorder = recorder

    def _update(self, algorithm: Any) -> float:
        return 1.0 if self.recorder.remaining <= 0 else 0.0


def _best_row(recorder: ArchiveRecorder, start: int) -> np.ndarray | None:
    """Best design recorded since evaluation ``start`` (feasible by score, else least CV)."""
    if recorder.n_recorded <= start:
        return None
    arch = recorder.archive()
    score = arch.score[start:]
    G = arch.G[start:]
    cv = np.clip(G, 0, None).sum(axis=1) if G.shape[1] else np.zeros(len(score))
    order = np.lexsort((np.where(np.isfinite(score), score, np.inf), cv))
    return arch.X[start + order[0]].copy()


def _random_start(problem: Any, recorder: ArchiveRecorder, rng: np.random.Generator,
                  n_init: int, fn: Any) -> None:
    """Batches of ``n_init`` random designs until one is feasible (at most 5): with the other
    levels fixed, one level alone often cannot repair an infeasible start."""
    xl = np.asarray(problem.xl, dtype=np.int64)
    xu = np.asarray(problem.xu, dtype=np.int64)
    for _ in range(5):
        if fn is not None:
            X0 = random_feasible(problem, n_init, rng, fn)
        else:
            X0 = rng.integers(xl, xu + 1, size=(n_init, problem.n_var), dtype=np.int64)
        recorder.evaluate(problem, X0)
        if recorder.remaining <= 0 or np.any(np.isfinite(recorder.archive().score)):
            return


def sequential_search(problem: Any, recorder: ArchiveRecorder, seed: int,
                      level_pop_size: int = 20, sweeps: int = 1,
                      schedule: PhaseSchedule | str = "constant",
                      feasible_only: bool | None = None, n_init: int = 100) -> None:
    """Level-by-level search until the recorder's budget is used (see module docstring);
    after ``sweeps`` planned sweeps over the levels it keeps sweeping with what is left."""
    sched = as_schedule(schedule)
    rng = np.random.default_rng(seed)
    xl = np.asarray(problem.xl, dtype=np.int64)
    xu = np.asarray(problem.xu, dtype=np.int64)
    levels = sequential_levels(problem)
    _random_start(problem, recorder, rng, n_init, feasible_fn(problem, feasible_only))
    base = _best_row(recorder, 0)
    n_levels = len(levels)
    for sweep in range(MAX_SWEEPS):
        for i, (_, free) in enumerate(levels):
            if recorder.remaining <= 0:
                return
            # split what is left evenly over the level runs still planned
            planned_after = n_levels * max(0, sweeps - sweep - 1)
            share = int(max(1, recorder.remaining // (n_levels - i + planned_after)))
            start = recorder.n_recorded
            sub = _SubspaceProblem(problem, free, base, recorder)
            sub_size = int(np.prod(xu[free] - xl[free] + 1, dtype=object))
            if sub_size <= share:
                flat = np.arange(sub_size, dtype=np.int64)
                cards = tuple(int(c) for c in xu[free] - xl[free] + 1)
                Xs = np.stack(np.unravel_index(flat, cards), axis=1) + xl[free]
                recorder.evaluate(problem, sub.expand(Xs))
            elif share < 2 * level_pop_size:
                Xs = rng.integers(xl[free], xu[free] + 1, size=(share, len(free)))
                recorder.evaluate(problem, sub.expand(Xs))
            else:
                ga = GA(pop_size=level_pop_size, sampling=IntegerRandomSampling(),
                        crossover=PhaseSBX(sched), mutation=PhasePM(sched),
                        eliminate_duplicates=ExactDuplicateElimination())
                stop = TerminateIfAny(MaximumFunctionCallTermination(share),
                                      _RecorderFull(recorder))
                ga.setup(sub, termination=stop, seed=int(rng.integers(2**31)),
                         evaluator=Evaluator(), verbose=False)
                while ga.has_next():
                    ga.next()
            best = _best_row(recorder, start)
            if best is not None:
                base = best


def sequential_levels(problem: Any) -> list[tuple[str, np.ndarray]]:
    """(level name, free variable columns) in the paper's order; variables not named in
    :data:`SEQUENTIAL_LEVELS` form a last ``other`` level; fixed variables are dropped."""
    n_var = int(problem.n_var)
    space = getattr(problem, "space", None)
    names = list(getattr(space, "names", [])) if space is not None else []
    if len(names) != n_var:
        names = [f"x{j}" for j in range(n_var)]
    free_mask = np.asarray(problem.xu) > np.asarray(problem.xl)
    used: set[int] = set()
    levels: list[tuple[str, np.ndarray]] = []
    for level, level_names in SEQUENTIAL_LEVELS:
        cols = [j for j, n in enumerate(names) if n in level_names and free_mask[j]]
        used.update(j for j, n in enumerate(names) if n in level_names)
        if cols:
            levels.append((level, np.array(cols, dtype=np.int64)))
    other = [j for j in range(n_var) if j not in used and free_mask[j]]
    if other:
        levels.append(("other", np.array(other, dtype=np.int64)))
    if not levels:
        raise ImcoptError("sequential search: the problem has no free variable")
    return levels
