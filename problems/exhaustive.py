"""The exact optimum of a search space, in memory-bounded chunks.

By default a branch and bound over structure blocks (`problems.branch_bound`) evaluates only
the blocks that can matter; otherwise (``method="enumerate"``, or where no bounds apply) one
pass over the space (mixed-radix order, `SearchSpace.iter_blocks`) evaluates every design on
every workload. Both score exactly like the optimizers and keep (`Incumbents`, in any order of
designs; ties -> the lower enumeration index):

- the best design and the top-k (ties broken by the lower enumeration index);
- the exact Pareto front of (aggregated E, aggregated L, area term) among feasible designs,
  one design per distinct objective vector (lowest enumeration index);
- each workload's own best design (its "specialist": feasible for that workload alone,
  i.e. within the area budget and usable for that workload), at no extra cost.

Designs are scored through `JointIMCProblem.screened_scores`, i.e. the cost model's factored
evaluation (`CostModel.evaluate_factored`: the mapping once per distinct structure; the same
numbers as the plain evaluation) with a `Screen`: designs that cannot be feasible for any
workload (chip area over the budget; RRAM designs whose weights fit for no workload) get no
energy or latency computed (two thirds of `rram-paper`). Exact by construction: such a design
is infeasible for the joint problem and for every specialist whatever its energy
(tests/test_exhaustive_exact.py compares with the plain evaluation of every design).
`exhaustive_parallel` runs contiguous slices in processes and merges them (`merge_results`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from problems.errors import ImcoptError
from problems.incumbents import Incumbents
from problems.objectives import ObjectiveConfig
from problems.problem import JointIMCProblem, as_stack
from problems.spaces import SearchSpace
from problems.workloads.layers import Workload
from problems.workloads.stack import WorkloadStack


@dataclass
class ExhaustiveResult:
    """What one enumeration found. Scores as in `JointIMCProblem` (``score`` in J*s*mm^2)."""

    space: str
    workloads: list[str]
    objective: ObjectiveConfig
    convention: str
    n_designs: int
    n_feasible: int
    seconds: float
    best_x: np.ndarray | None            # (n_var,) or None if nothing is feasible
    best_design: dict[str, object] | None
    best_score: float                    # inf if nothing is feasible
    best_log10_score: float
    top_x: np.ndarray                    # (k, n_var), best first
    top_scores: np.ndarray               # (k,)
    top_designs: list[dict[str, object]]
    front_x: np.ndarray                  # (m, n_var), sorted by aggregated energy
    front_log10: np.ndarray              # (m, 3): log10 (aggregated E, aggregated L, area term)
    workload_best_x: np.ndarray          # (n_w, n_var); rows of -1 where no design is feasible
    workload_best_log10: np.ndarray      # (n_w,) log10 per-workload EDAP of that design
    flat_range: tuple[int, int] = field(default=(0, 0))  # enumerated [start, stop)
    top_log10: np.ndarray | None = None  # (k,) log10 of top_scores as ranked (exact ties)
    n_evaluated: int | None = None       # designs whose energy/latency the search computed

    @property
    def front(self) -> np.ndarray:
        """(m, 3) aggregated energy J, aggregated latency s, area term (mm^2 or cost)."""
        return 10.0 ** self.front_log10

    @property
    def designs_per_s(self) -> float:
        return self.n_designs / self.seconds if self.seconds > 0 else float("inf")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary (designs as records, arrays as lists)."""
        return {
            "space": self.space,
            "workloads": list(self.workloads),
            "objective": self.objective.to_dict(),
            "convention": self.convention,
            "n_designs": self.n_designs,
            "n_feasible": self.n_feasible,
            "seconds": self.seconds,
            "best": {"x": None if self.best_x is None else self.best_x.tolist(),
                     "design": self.best_design, "score": _num(self.best_score)},
            "top": [{"x": x.tolist(), "design": d, "score": _num(s)}
                    for x, s, d in zip(self.top_x, self.top_scores, self.top_designs,
                                       strict=True)],
            "front_size": int(self.front_x.shape[0]),
        }


def _num(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


ESTIMATE_ABOVE_S = 60.0  # an enumeration expected to take longer is announced (first chunk)


# -- the search -------------------------------------------------------------------------------
def exhaustive_search(
    space: SearchSpace,
    workloads: WorkloadStack | Sequence[Workload],
    objective: ObjectiveConfig | None = None,
    convention: str = "physical",
    top_k: int = 10,
    chunk: int = 200_000,
    progress: bool = True,
    specialist_edap: np.ndarray | None = None,
    flat_range: tuple[int, int] | None = None,
    method: str = "auto",
    share: tuple[int, int] = (0, 1),
) -> ExhaustiveResult:
    """Evaluate every design of ``space`` (or the enumeration slice ``flat_range``) and return
    the exact optimum, the top-k and the (E, L, A) Pareto front of the feasible designs.

    ``share=(k, n)``: only the k-th of n disjoint shares of the designs (the branch and bound's
    k-th of n interleaved shares of its blocks, the enumeration's k-th contiguous sub-slice),
    so that n processes can split one search and `merge_results` join it exactly.

    ``method``: ``enumerate`` evaluates every design; ``bound`` the branch and bound
    (`problems.branch_bound`: the same result, evaluating only the structure blocks that can
    matter; ImcoptError if the convention or objective has no bounds); ``auto`` (default)
    the branch and bound where it applies, else the enumeration.

    Memory is O(chunk x n_layers). For ``aggregate="normalized"`` without ``specialist_edap``
    the specialists are found first by a pass with the ``max`` aggregate (not cached here:
    `problems.specialists.specialist_edap` caches them on disk).
    """
    objective = objective or ObjectiveConfig()
    if objective.kind != "single":
        objective = ObjectiveConfig.from_dict({**objective.to_dict(), "kind": "single"})
    if isinstance(top_k, bool) or not isinstance(top_k, int | np.integer) or top_k < 1:
        raise ImcoptError(f"top_k must be a positive integer, got {top_k!r}")
    if isinstance(chunk, bool) or not isinstance(chunk, int | np.integer) or chunk < 1:
        raise ImcoptError(f"chunk must be a positive integer, got {chunk!r}")
    stack = as_stack(workloads)
    if objective.aggregate == "normalized" and specialist_edap is None:
        specialist_edap = _specialists_pass(space, stack, objective, convention, chunk,
                                            progress)
    problem = JointIMCProblem(space, stack, objective, convention, specialist_edap)
    start, stop = (0, space.size) if flat_range is None else (int(flat_range[0]),
                                                               int(flat_range[1]))
    if not 0 <= start < stop <= space.size:
        raise ImcoptError(f"flat_range {flat_range} must satisfy 0 <= start < stop <= "
                          f"{space.size}")
    method = _check_method(method)
    k, n = _check_share(share)
    bb = None
    if method != "enumerate":
        from problems.branch_bound import branch_and_bound

        bb = branch_and_bound(problem, start, stop, top_k, progress,
                              required=method == "bound", share=(k, n))
    if bb is not None:
        inc, n_evaluated, seconds, n_designs = bb
    else:
        size = stop - start
        start, stop = start + k * size // n, start + (k + 1) * size // n
        inc, seconds = _enumerate(problem, start, stop, top_k, chunk, progress)
        n_evaluated = n_designs = stop - start
    return _result(inc, space, stack.names, objective, convention, (start, stop), seconds,
                   n_evaluated, n_designs)


def _check_share(share: tuple[int, int]) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in share)
    except (TypeError, ValueError) as exc:
        raise ImcoptError(f"share must be (k, n) with 0 <= k < n, got {share!r}") from exc
    if not 0 <= k < n:
        raise ImcoptError(f"share must be (k, n) with 0 <= k < n, got {share!r}")
    return k, n


METHODS = ("auto", "enumerate", "bound")


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise ImcoptError(f"unknown exhaustive method {method!r}; use one of {list(METHODS)}")
    return method


def _enumerate(problem: JointIMCProblem, start: int, stop: int, top_k: int, chunk: int,
               progress: bool) -> tuple[Incumbents, float]:
    """Every design of [start, stop) evaluated, in chunks of ``chunk`` designs."""
    from tqdm.auto import tqdm

    space = problem.space
    inc = Incumbents(top_k, problem.stack.n_workloads)
    t0 = time.perf_counter()
    bar = tqdm(total=stop - start, unit="design", unit_scale=True, disable=not progress,
               desc=f"exhaustive {space.name}", smoothing=0.1)
    try:
        for flat, X in space.iter_blocks(start, stop, int(chunk)):
            inc.add(flat, problem.screened_scores(X))
            bar.update(flat.size)
            if progress and flat[0] == start and flat[-1] + 1 < stop:  # a long enumeration?
                eta = (time.perf_counter() - t0) * (stop - start) / flat.size
                if eta > ESTIMATE_ABOVE_S:
                    bar.write(f"enumerating {stop - start:,} designs of {space.name}: about "
                              f"{eta / 60:.1f} min", file=sys.stderr)
    finally:
        bar.close()
    return inc, time.perf_counter() - t0


def _result(inc: Incumbents, space: SearchSpace, workloads: Sequence[str],
            objective: ObjectiveConfig, convention: str, flat_range: tuple[int, int],
            seconds: float, n_evaluated: int | None, n_designs: int) -> ExhaustiveResult:
    """The `ExhaustiveResult` of what ``inc`` kept of ``n_designs`` designs of ``space``."""
    n_w = len(workloads)

    def x_of(fl: np.ndarray) -> np.ndarray:
        return space.indices_of(fl) if fl.size else np.zeros((0, space.n_var), dtype=np.int64)

    top_ls, front_F, front_flat = inc.top_ls, inc.front_F, inc.front_flat
    top_x = x_of(inc.top_flat)
    top_designs = space.decode(top_x).to_records() if top_x.shape[0] else []
    if front_flat.size:
        o = np.lexsort((front_flat, front_F[:, 1], front_F[:, 0]))
        front_flat, front_F = front_flat[o], front_F[o]
    wx = np.full((n_w, space.n_var), -1, dtype=np.int64)
    okw = inc.wbest_flat >= 0
    if okw.any():
        wx[okw] = x_of(inc.wbest_flat[okw])
    with np.errstate(over="ignore"):
        top_scores = 10.0 ** top_ls
    return ExhaustiveResult(
        space=space.name, workloads=list(workloads), objective=objective,
        convention=convention, n_designs=n_designs, n_feasible=inc.n_feasible,
        seconds=seconds,
        best_x=top_x[0] if top_x.shape[0] else None,
        best_design=top_designs[0] if top_designs else None,
        best_score=float(top_scores[0]) if top_scores.size else float("inf"),
        best_log10_score=float(top_ls[0]) if top_ls.size else float("inf"),
        top_x=top_x, top_scores=top_scores, top_designs=top_designs,
        front_x=x_of(front_flat), front_log10=front_F,
        workload_best_x=wx, workload_best_log10=inc.wbest.copy(),
        flat_range=flat_range, top_log10=top_ls, n_evaluated=n_evaluated,
    )


def specialist_objective(objective: ObjectiveConfig | None) -> ObjectiveConfig:
    """The objective a specialist search uses: only feasibility matters (area budget,
    fabrication cost), so the ``max`` aggregate of the same constraints."""
    o = objective or ObjectiveConfig()
    return ObjectiveConfig(kind="single", aggregate="max", fabrication_cost=o.fabrication_cost,
                           node_cost_factor=o.node_cost_factor,
                           area_budget_mm2=o.area_budget_mm2, deployment=o.deployment)


def _specialists_pass(space: SearchSpace, stack: WorkloadStack, objective: ObjectiveConfig,
                      convention: str, chunk: int, progress: bool) -> np.ndarray:
    """Each workload's optimum EDAP alone over the WHOLE space (normalized aggregation)."""
    res = exhaustive_search(space, stack, specialist_objective(objective), convention,
                            top_k=1, chunk=chunk, progress=progress)
    bad = [n for n, v in zip(stack.names, res.workload_best_log10, strict=True)
           if not np.isfinite(v)]
    if bad:
        raise ImcoptError(f"no feasible design in space {space.name} for workload(s) {bad}: "
                          f"their specialist EDAP is undefined")
    return 10.0 ** np.asarray(res.workload_best_log10, float)


# -- several slices, several processes ---------------------------------------------------------
def merge_results(parts: Sequence[ExhaustiveResult], space: SearchSpace,
                  top_k: int) -> ExhaustiveResult:
    """One `ExhaustiveResult` from the results of disjoint shares of a search (slices or
    `exhaustive_search` shares): the same optimum, top-k, front and specialists as one
    search over their union (ties -> the lower flat index, in any order of parts)."""
    if not parts:
        raise ImcoptError("merge_results: no parts")
    first = parts[0]
    n_w = first.workload_best_log10.size
    inc = Incumbents(top_k, n_w)
    for p in parts:
        inc.add_top(space.flat_index(p.top_x) if p.top_x.shape[0] else np.zeros(0, np.int64),
                    np.asarray(p.top_log10, float))
        if p.front_x.shape[0]:
            inc.add_front(space.flat_index(p.front_x), np.asarray(p.front_log10, float))
        # each workload's best design as one row, feasible (finite) for that workload only
        has = p.workload_best_x[:, 0] >= 0
        W = np.full((n_w, n_w), np.inf)
        W[has, np.flatnonzero(has)] = p.workload_best_log10[has]
        inc.add_specialists(np.where(has, space.flat_index(np.maximum(p.workload_best_x, 0)),
                                     0), W)
        inc.n_feasible += p.n_feasible
    return _result(
        inc, space, first.workloads, first.objective, first.convention,
        (min(p.flat_range[0] for p in parts), max(p.flat_range[1] for p in parts)),
        max(p.seconds for p in parts),
        None if any(p.n_evaluated is None for p in parts) else sum(p.n_evaluated for p in parts),
        sum(p.n_designs for p in parts))


def _share_job(args: tuple) -> ExhaustiveResult:
    space, stack, objective, convention, top_k, chunk, spec, method, share = args
    return exhaustive_search(space, stack, objective, convention, top_k=top_k, chunk=chunk,
                             progress=False, specialist_edap=spec, method=method, share=share)


def exhaustive_parallel(
    space: SearchSpace,
    workloads: WorkloadStack | Sequence[Workload],
    objective: ObjectiveConfig | None = None,
    convention: str = "physical",
    top_k: int = 10,
    chunk: int = 200_000,
    jobs: int = 1,
    progress: bool = True,
    specialist_edap: np.ndarray | None = None,
    method: str = "auto",
) -> ExhaustiveResult:
    """`exhaustive_search` over ``jobs`` processes: each searches one share of the designs
    (``share=(k, jobs)``: interleaved shares of the branch and bound's blocks, or contiguous
    slices of the enumeration) and the results are merged (`merge_results`: the same result
    as one search); ``jobs=1`` is one search in this process. ``seconds`` is wall time.
    ``specialist_edap`` (normalized aggregation): the workloads' optima alone, e.g. from the
    specialists cache; computed by an uncached pass when not given."""
    from concurrent.futures import ProcessPoolExecutor

    if isinstance(jobs, bool) or not isinstance(jobs, int | np.integer) or jobs < 1:
        raise ImcoptError(f"jobs must be a positive integer, got {jobs!r}")
    objective = objective or ObjectiveConfig()
    stack = as_stack(workloads)
    spec = specialist_edap
    if spec is None and objective.aggregate == "normalized":
        spec = _specialists_pass(space, stack, objective, convention, chunk, progress)
    _check_method(method)
    if jobs == 1 or space.size < 2 * jobs:
        return exhaustive_search(space, stack, objective, convention, top_k=top_k, chunk=chunk,
                                 progress=progress, specialist_edap=spec, method=method)
    n = int(jobs)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=n) as pool:
        parts = list(pool.map(_share_job, [(space, stack, objective, convention, top_k, chunk,
                                            spec, method, (k, n)) for k in range(n)]))
    res = merge_results(parts, space, top_k)
    res.seconds = time.perf_counter() - t0
    return res
