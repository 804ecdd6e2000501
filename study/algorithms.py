"""Registry of search algorithms, each run to exactly ``budget`` true evaluations.

``run_algorithm(name, problem, budget, seed, params)`` is the single entry point. Every
evaluation (those of an initial sampling included) goes through one :class:`ArchiveRecorder`,
which stops the run at exactly ``budget`` evaluations and returns the :class:`Archive` of all of
them, each with its aggregated EDAP ``score`` (whatever objective form the algorithm searched).

Algorithms: the paper's GA (``paper-ga``: Hamming-diverse start + four phases), its ablations
(``ga``, ``ga-hamming``, ``ga-phases``), a tuned variant (``tuned-ga``), multi-objective EAs on
the (E, L, A) form (``nsga2``, ``nsga3``, ``agemoea2``, ``smsemoa``), ``de``,
``random-search``, the paper's level-by-level ``sequential`` baseline and ``exhaustive``
enumeration.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pymoo.core.algorithm import Algorithm
from pymoo.core.evaluator import Evaluator
from pymoo.core.problem import Problem
from pymoo.termination.max_eval import MaximumFunctionCallTermination

from problems.errors import ImcoptError
from study.archive import Archive, ArchiveDuplicateElimination, ArchiveRecorder, BudgetExhausted
from study.operators import PhasePM, PhaseSBX
from study.sampling import HammingDiverseSampling, IntegerRandomSampling
from study.schedule import PhaseSchedule

DEFAULT_BUDGET = 2800
MAX_RESTARTS = 100

#: the paper's sequential levels (device → circuit → architecture → system) by variable name
SEQUENTIAL_LEVELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("device", ("bits_per_cell",)),
    ("circuit", ("xbar_rows", "xbar_cols")),
    ("architecture", ("router_groups", "tiles_per_group", "macros_per_tile", "glb_bytes")),
    ("system", ("voltage_v", "cycle_time_s")),
)

RunFn = Callable[[Any, ArchiveRecorder, int, dict[str, Any]], None]


@dataclass(frozen=True)
class AlgorithmSpec:
    """A registered algorithm: runner, default parameters and the objective form it searches."""

    name: str
    description: str
    run: RunFn
    defaults: Mapping[str, Any] = field(default_factory=dict)
    objective_kind: str = "single"

    def resolve(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults overridden by ``params``; unknown names → :class:`ImcoptError`."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ImcoptError(
                f"algorithm {self.name!r}: unknown parameter(s) {unknown}; allowed: "
                f"{sorted(self.defaults)}"
            )
        out = {**self.defaults, **params}
        for key, val in out.items():
            out[key] = _check_param(self.name, key, val, self.defaults[key])
        return out


def _check_param(algo: str, key: str, val: Any, default: Any) -> Any:
    where = f"algorithm {algo!r}: parameter {key!r}"
    if key == "schedule":
        return _as_schedule(val, where)
    if key in _INT_PARAMS:
        if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < 1:
            raise ImcoptError(f"{where} must be a positive integer, got {val!r}")
        return int(val)
    if key in _PROB_PARAMS:
        if isinstance(val, bool) or not isinstance(val, int | float) or not 0 <= val <= 1:
            raise ImcoptError(f"{where} must be a number in [0, 1], got {val!r}")
        return float(val)
    if key == "F":  # DE's differential weight
        if isinstance(val, bool) or not isinstance(val, int | float) or not 0 < val <= 2:
            raise ImcoptError(f"{where} must be a number in (0, 2], got {val!r}")
        return float(val)
    if key == "feasible_only":
        if val is not None and not isinstance(val, bool):
            raise ImcoptError(f"{where} must be true, false or null (auto), got {val!r}")
        return val
    if key in _CHOICES:
        if val not in _CHOICES[key]:
            raise ImcoptError(f"{where} = {val!r}; allowed: {list(_CHOICES[key])}")
        return val
    if isinstance(default, float) and isinstance(val, int | float) and not isinstance(val, bool):
        return float(val)
    return val


_INT_PARAMS = {"pop_size", "n_candidates", "n_diverse", "n_partitions", "level_pop_size",
               "batch_size", "sweeps", "n_init"}
_PROB_PARAMS = {"CR"}
_CHOICES = {
    "sampling": ("hamming", "random"),
    "dedup": ("population", "archive"),
    "variant": ("DE/rand/1/bin", "DE/best/1/bin", "DE/current-to-best/1/bin", "DE/rand/1/exp",
                "DE/best/1/exp"),
}


def _as_schedule(val: Any, where: str) -> PhaseSchedule:
    if isinstance(val, PhaseSchedule):
        return val
    if val == "paper":
        return PhaseSchedule.paper()
    if val == "tuned":
        return PhaseSchedule.tuned()
    if val == "constant":
        return PhaseSchedule.constant()
    if isinstance(val, Mapping):
        try:
            return PhaseSchedule.from_dict(val)
        except ImcoptError as exc:
            raise ImcoptError(f"{where}: {exc}") from exc
    raise ImcoptError(f"{where} must be 'paper', 'tuned', 'constant', a mapping or a "
                      f"PhaseSchedule, got {val!r}")


# ------------------------------------------------------------------------------ helpers
def objective_variant(problem: Any, kind: str) -> Any:
    """The same problem with another objective form (``"single"|"multi"|"many"``)."""
    objective = getattr(problem, "objective", None)
    if objective is None or getattr(objective, "kind", None) == kind:
        if objective is None and problem.n_obj != (1 if kind == "single" else problem.n_obj):
            raise ImcoptError(f"problem {type(problem).__name__} has no objective config")
        return problem
    new = dataclasses.replace(objective, kind=kind)
    maker = getattr(problem, "with_objective", None)
    if callable(maker):
        return maker(new)
    if all(hasattr(problem, a) for a in ("space", "stack", "convention", "specialist_edap")):
        return type(problem)(problem.space, problem.stack, new, convention=problem.convention,
                             specialist_edap=problem.specialist_edap)
    raise ImcoptError(f"problem {type(problem).__name__} cannot switch its objective to "
                      f"{kind!r} (no with_objective method)")


def describe_problem(problem: Any) -> dict[str, Any]:
    """Short JSON-able description of a problem for archive metadata."""
    desc: dict[str, Any] = {"class": type(problem).__name__, "n_var": int(problem.n_var),
                            "n_obj": int(problem.n_obj)}
    space = getattr(problem, "space", None)
    if space is not None:
        desc["space"] = getattr(space, "name", str(space))
        desc["size"] = int(getattr(space, "size", 0))
        if hasattr(space, "fingerprint"):
            desc["space_fingerprint"] = space.fingerprint()
    names = getattr(problem, "workload_names", None)
    if names is not None:
        desc["workloads"] = list(names)
    objective = getattr(problem, "objective", None)
    if objective is not None:
        desc["objective"] = objective.to_dict() if hasattr(objective, "to_dict") else str(
            objective)
    for attr in ("convention", "memory"):
        if hasattr(problem, attr):
            desc[attr] = str(getattr(problem, attr))
    return desc


def _sub_seed(seed: int, k: int) -> int:
    if k == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), k]).generate_state(1)[0])


def _feasible_fn(problem: Any, feasible_only: bool | None) -> Callable | None:
    fn = getattr(problem, "fits", None)
    if feasible_only is None:  # auto: use the cheap capacity check when the problem has one
        return fn if callable(fn) else None
    if not feasible_only:
        return None
    if not callable(fn):
        raise ImcoptError(f"feasible_only=True but problem {type(problem).__name__} has no "
                          f"fits(X) capacity check")
    return fn


def _run_pymoo(make: Callable[[], Algorithm], problem: Any, recorder: ArchiveRecorder,
               seed: int) -> None:
    """Run (and restart, if it stops early) a pymoo algorithm until the budget is used up."""
    for k in range(MAX_RESTARTS):
        if recorder.remaining <= 0:
            return
        algorithm = make()
        algorithm.setup(problem, termination=MaximumFunctionCallTermination(recorder.budget),
                        seed=_sub_seed(seed, k), evaluator=recorder, verbose=False)
        before = recorder.n_recorded
        recorder.notes["restarts"] = k
        while algorithm.has_next():
            algorithm.next()
        if recorder.n_recorded == before:
            return


# ------------------------------------------------------------------------------ GA family
def _ga_sampling(problem: Any, p: dict[str, Any]) -> Any:
    if p["sampling"] == "random":
        return IntegerRandomSampling()
    fn = _feasible_fn(problem, p["feasible_only"])
    n_diverse = min(p["n_diverse"], p["n_candidates"])
    return HammingDiverseSampling(
        n_candidates=p["n_candidates"], n_diverse=n_diverse,
        pop_size=min(p["pop_size"], n_diverse), feasible_only=fn is not None, feasible_fn=fn,
    )


def _run_ga(problem: Any, recorder: ArchiveRecorder, seed: int, p: dict[str, Any]) -> None:
    from pymoo.algorithms.soo.nonconvex.ga import GA

    problem = objective_variant(problem, "single")

    def make() -> Algorithm:
        dedup = ArchiveDuplicateElimination(recorder) if p["dedup"] == "archive" else True
        return GA(pop_size=p["pop_size"], sampling=_ga_sampling(problem, p),
                  crossover=PhaseSBX(p["schedule"]), mutation=PhasePM(p["schedule"]),
                  eliminate_duplicates=dedup)

    _run_pymoo(make, problem, recorder, seed)


_GA_DEFAULTS = {"pop_size": 70, "sampling": "random", "schedule": "constant",
                "n_candidates": 1000, "n_diverse": 500, "feasible_only": None,
                "dedup": "population"}



def _ga_spec(name: str, description: str, **overrides: Any) -> AlgorithmSpec:
    return AlgorithmSpec(name, description, _run_ga, {**_GA_DEFAULTS, **overrides})


# ------------------------------------------------------------------------------ MOO family
def _run_moo(cls_name: str) -> RunFn:
    def run(problem: Any, recorder: ArchiveRecorder, seed: int, p: dict[str, Any]) -> None:
        mo = objective_variant(problem, "multi")
        sched = p["schedule"]

        def make() -> Algorithm:
            common = {"sampling": IntegerRandomSampling(), "crossover": PhaseSBX(sched),
                      "mutation": PhasePM(sched), "eliminate_duplicates": True}
            if cls_name == "nsga2":
                from pymoo.algorithms.moo.nsga2 import NSGA2
                return NSGA2(pop_size=p["pop_size"], **common)
            if cls_name == "nsga3":
                from pymoo.algorithms.moo.nsga3 import NSGA3
                from pymoo.operators.selection.tournament import TournamentSelection
                from pymoo.util.ref_dirs import get_reference_directions
                ref_dirs = get_reference_directions("das-dennis", mo.n_obj,
                                                    n_partitions=p["n_partitions"])
                return NSGA3(ref_dirs, pop_size=max(p["pop_size"], len(ref_dirs)),
                             selection=TournamentSelection(func_comp=_cv_then_random),
                             **common)
            if cls_name == "agemoea2":
                try:
                    from pymoo.algorithms.moo.age2 import AGEMOEA2
                except Exception as exc:  # pymoo raises a bare Exception without numba
                    raise ImcoptError("algorithm 'agemoea2' needs numba: pip install numba") \
                        from exc
                return AGEMOEA2(pop_size=p["pop_size"], **common)
            from pymoo.algorithms.moo.sms import SMSEMOA
            return SMSEMOA(pop_size=p["pop_size"], **common)

        _run_pymoo(make, mo, recorder, seed)

    return run


_MOO_DEFAULTS = {"pop_size": 70, "schedule": "constant"}


def _cv_then_random(pop: Any, P: np.ndarray, random_state: Any = None,
                    **kwargs: Any) -> np.ndarray:
    """NSGA-III's binary tournament (lower CV wins, else random), with every tie broken by
    the algorithm's seeded generator (pymoo 0.6.2's version draws CV ties from an unseeded
    one, which makes NSGA-III runs irreproducible)."""
    cv = np.asarray(pop.get("CV"), dtype=float).reshape(-1)
    a, b = P[:, 0], P[:, 1]
    coin = random_state.random(len(P)) < 0.5
    winner = np.where(coin, a, b)
    infeasible = (cv[a] > 0) | (cv[b] > 0)
    winner = np.where(infeasible & (cv[a] < cv[b]), a, winner)
    winner = np.where(infeasible & (cv[b] < cv[a]), b, winner)
    return winner[:, None].astype(int)


# ------------------------------------------------------------------------------ DE
def _run_de(problem: Any, recorder: ArchiveRecorder, seed: int, p: dict[str, Any]) -> None:
    from pymoo.algorithms.soo.nonconvex.de import DE
    from pymoo.operators.repair.rounding import RoundingRepair

    problem = objective_variant(problem, "single")

    def make() -> Algorithm:
        return DE(pop_size=p["pop_size"], sampling=IntegerRandomSampling(),
                  variant=p["variant"], CR=p["CR"], F=p["F"], repair=RoundingRepair())

    _run_pymoo(make, problem, recorder, seed)


# ------------------------------------------------------------------------------ random search
def _run_random(problem: Any, recorder: ArchiveRecorder, seed: int, p: dict[str, Any]) -> None:
    rng = np.random.default_rng(seed)
    fn = _feasible_fn(problem, p["feasible_only"]) if p["feasible_only"] else None
    xl = np.asarray(problem.xl, dtype=np.int64)
    xu = np.asarray(problem.xu, dtype=np.int64)
    while recorder.remaining > 0:
        n = min(p["batch_size"], recorder.remaining)
        if fn is None:
            X = rng.integers(xl, xu + 1, size=(n, problem.n_var), dtype=np.int64)
        else:
            from study.sampling import random_feasible
            X = random_feasible(problem, n, rng, fn)
        recorder.evaluate(problem, X)


# ------------------------------------------------------------------------------ exhaustive
def _run_exhaustive(problem: Any, recorder: ArchiveRecorder, seed: int,
                    p: dict[str, Any]) -> None:
    cards = tuple(int(c) for c in np.asarray(problem.xu) - np.asarray(problem.xl) + 1)
    size = int(np.prod(cards, dtype=object))
    stop = min(size, recorder.budget)
    xl = np.asarray(problem.xl, dtype=np.int64)
    for start in range(0, stop, p["batch_size"]):
        flat = np.arange(start, min(start + p["batch_size"], stop), dtype=np.int64)
        X = np.stack(np.unravel_index(flat, cards), axis=1).astype(np.int64) + xl
        recorder.evaluate(problem, X)


# ------------------------------------------------------------------------------ sequential
class _SubspaceProblem(Problem):
    """The free variables of one level; the others fixed to ``base``; records every call."""

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
        res = self.recorder.evaluate(self.full, self.expand(X), return_values_of=["F", "G"])
        out.update(res)


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


def _run_sequential(problem: Any, recorder: ArchiveRecorder, seed: int,
                    p: dict[str, Any]) -> None:
    from pymoo.algorithms.soo.nonconvex.ga import GA

    problem = objective_variant(problem, "single")
    rng = np.random.default_rng(seed)
    xl = np.asarray(problem.xl, dtype=np.int64)
    xu = np.asarray(problem.xu, dtype=np.int64)
    levels = sequential_levels(problem)
    fn = _feasible_fn(problem, p["feasible_only"])
    # start: the best of random designs (a feasible start matters: with the other levels
    # fixed, one level alone often cannot repair an infeasible design)
    # (batches of n_init until one is feasible, at most 5 batches)
    for _ in range(5):
        if fn is not None:
            from study.sampling import random_feasible
            X0 = random_feasible(problem, p["n_init"], rng, fn)
        else:
            X0 = rng.integers(xl, xu + 1, size=(p["n_init"], problem.n_var), dtype=np.int64)
        recorder.evaluate(problem, X0)
        if np.any(np.isfinite(recorder.archive().score)):
            break
    base = _best_row(recorder, 0)
    sched = p["schedule"]
    n_levels = len(levels)
    for sweep in range(MAX_RESTARTS):
        for i, (_, free) in enumerate(levels):
            if recorder.remaining <= 0:
                return
            # split what is left evenly over the level runs still planned
            planned_after = n_levels * max(0, p["sweeps"] - sweep - 1)
            share = max(1, recorder.remaining // (n_levels - i + planned_after))
            start = recorder.n_recorded
            sub = _SubspaceProblem(problem, free, base, recorder)
            sub_size = int(np.prod(xu[free] - xl[free] + 1, dtype=object))
            if sub_size <= share:
                flat = np.arange(sub_size, dtype=np.int64)
                cards = tuple(int(c) for c in xu[free] - xl[free] + 1)
                Xs = np.stack(np.unravel_index(flat, cards), axis=1) + xl[free]
                recorder.evaluate(problem, sub.expand(Xs))
            elif share < 2 * p["level_pop_size"]:
                Xs = rng.integers(xl[free], xu[free] + 1, size=(share, len(free)))
                recorder.evaluate(problem, sub.expand(Xs))
            else:
                ga = GA(pop_size=p["level_pop_size"], sampling=IntegerRandomSampling(),
                        crossover=PhaseSBX(sched), mutation=PhasePM(sched),
                        eliminate_duplicates=True)
                ga.setup(sub, termination=MaximumFunctionCallTermination(share),
                         seed=int(rng.integers(2**31)), evaluator=Evaluator(), verbose=False)
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


# ------------------------------------------------------------------------------ registry
ALGORITHMS: dict[str, AlgorithmSpec] = {
    "paper-ga": _ga_spec("paper-ga", "the paper's GA: Hamming-diverse start, four phases",
                         sampling="hamming", schedule="paper"),
    "tuned-ga": _ga_spec("tuned-ga", "paper-ga tuned: population 30, stronger late mutation "
                         "(PhaseSchedule.tuned), offspring already evaluated are dropped",
                         sampling="hamming", schedule="tuned", dedup="archive", pop_size=30),
    "ga": _ga_spec("ga", "plain GA: random start, pymoo's default SBX/PM settings"),
    "ga-hamming": _ga_spec("ga-hamming", "ablation: Hamming-diverse start, constant operators",
                           sampling="hamming"),
    "ga-phases": _ga_spec("ga-phases", "ablation: random start, the paper's four phases",
                          schedule="paper"),
    "nsga2": AlgorithmSpec("nsga2", "NSGA-II on (E, L, A)", _run_moo("nsga2"),
                           dict(_MOO_DEFAULTS), "multi"),
    "nsga3": AlgorithmSpec("nsga3", "NSGA-III on (E, L, A)", _run_moo("nsga3"),
                           {**_MOO_DEFAULTS, "n_partitions": 10}, "multi"),
    "agemoea2": AlgorithmSpec("agemoea2", "AGE-MOEA2 on (E, L, A)", _run_moo("agemoea2"),
                              dict(_MOO_DEFAULTS), "multi"),
    "smsemoa": AlgorithmSpec("smsemoa", "SMS-EMOA on (E, L, A)", _run_moo("smsemoa"),
                             dict(_MOO_DEFAULTS), "multi"),
    "de": AlgorithmSpec("de", "differential evolution with rounding repair", _run_de,
                        {"pop_size": 70, "variant": "DE/rand/1/bin", "CR": 0.9, "F": 0.5}),
    "random-search": AlgorithmSpec("random-search", "uniform random designs", _run_random,
                                   {"batch_size": 700, "feasible_only": False}),
    "sequential": AlgorithmSpec(
        "sequential", "level-by-level search (device, circuit, architecture, system)",
        _run_sequential, {"level_pop_size": 20, "sweeps": 1, "schedule": "constant",
                          "feasible_only": None, "n_init": 100}),
    "exhaustive": AlgorithmSpec("exhaustive", "enumeration in index order up to the budget",
                                _run_exhaustive, {"batch_size": 8192}),
}


def run_algorithm(
    name: str,
    problem: Any,
    budget: int = DEFAULT_BUDGET,
    seed: int = 0,
    params: Mapping[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Archive:
    """Run algorithm ``name`` on ``problem`` for exactly ``budget`` evaluations.

    (``exhaustive`` stops earlier when the whole space is smaller.) Same seed → same archive.
    """
    if name not in ALGORITHMS:
        raise ImcoptError(f"unknown algorithm {name!r}; allowed: {sorted(ALGORITHMS)}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ImcoptError(f"seed must be a non-negative integer, got {seed!r}")
    spec = ALGORITHMS[name]
    resolved = spec.resolve(params)
    recorder = ArchiveRecorder(budget, progress)
    with contextlib.suppress(BudgetExhausted):  # the normal way a run ends
        spec.run(problem, recorder, int(seed), resolved)
    meta = {
        "algorithm": name,
        "seed": int(seed),
        "budget": int(budget),
        "params": {k: (v.to_dict() if isinstance(v, PhaseSchedule) else v)
                   for k, v in resolved.items()},
        "objective_kind": spec.objective_kind,
        "problem": describe_problem(problem),
    }
    return recorder.archive(meta)
