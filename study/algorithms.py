"""Registry of search algorithms, each run to exactly ``budget`` true evaluations.

``run_algorithm(name, problem, budget, seed, params)`` is the single entry point. Every
evaluation (those of an initial sampling included) goes through one
:class:`~study.recorder.ArchiveRecorder`, which stops the run at exactly ``budget`` evaluations
and returns the :class:`~study.archive.Archive` of all of them, each with its aggregated EDAP
``score`` (whatever objective form the algorithm searched).

The algorithms themselves live in one module per concept: the paper's GA and its ablations
(:mod:`study.paper_ga`), pymoo's multi-objective EAs and DE (:mod:`study.pymoo_algorithms`),
random search and enumeration (:mod:`study.direct_search`) and the paper's sequential baseline
(:mod:`study.sequential`). ``imcopt algorithms list`` shows the registry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pymoo.core.algorithm import Algorithm
from pymoo.termination.max_eval import MaximumFunctionCallTermination

from problems.errors import ImcoptError
from study.archive import Archive
from study.direct_search import enumerate_designs, random_search
from study.memetic import DEFAULTS as MEMETIC_DEFAULTS
from study.memetic import run_memetic
from study.paper_ga import DEDUPS, SAMPLINGS, PaperGA, TunedGA
from study.pymoo_algorithms import DE_VARIANTS, make_de, make_moea
from study.recorder import DEFAULT_BUDGET, ArchiveRecorder
from study.schedule import PhaseSchedule, as_schedule
from study.sequential import sequential_levels, sequential_search

__all__ = ["ALGORITHMS", "DEFAULT_BUDGET", "SOURCES", "AlgorithmSpec", "describe_problem",
           "objective_variant", "preload", "run_algorithm", "run_pymoo", "sequential_levels"]

MAX_RESTARTS = 100
#: where an algorithm comes from: the paper's method (and its ablations), pymoo's own
#: algorithms, or imcopt's additions (tuned variant, reference baselines)
SOURCES = ("paper", "pymoo", "imcopt")

RunFn = Callable[[Any, ArchiveRecorder, int, dict[str, Any]], None]


@dataclass(frozen=True)
class AlgorithmSpec:
    """A registered algorithm: runner, default parameters, source and the objective form it
    searches (``objective_kind``: ``"single"``, ``"multi"`` or None = the problem as given)."""

    name: str
    description: str
    run: RunFn
    defaults: Mapping[str, Any] = field(default_factory=dict)
    objective_kind: str | None = "single"
    source: str = "imcopt"
    library: str = ""  # the same algorithm for pymoo's minimize, e.g. "study.paper_ga.PaperGA"

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ImcoptError(f"algorithm {self.name!r}: source must be one of {SOURCES}")

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

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (for ``imcopt algorithms show``)."""
        return {"name": self.name, "description": self.description, "source": self.source,
                "objective_kind": self.objective_kind or "as given",
                "library": self.library or None,
                "parameters": {k: {"default": _plain(v), "help": PARAMETER_HELP.get(k, "")}
                               for k, v in self.defaults.items()}}


#: one line per registry parameter (``imcopt algorithms show``)
PARAMETER_HELP = {
    "n_offspring": "imcopt-memetic: offspring per generation (uniform crossover of elite designs)",
    "elite": "imcopt-memetic: local optima kept for recombination",
    "stall": "imcopt-memetic: generations without improvement before the ILS kicks",
    "kicks": "imcopt-memetic: iterated-local-search kicks before a restart",
    "mutation": "imcopt-memetic: per-coordinate random-reset probability of an offspring",
    "pop_size": "population size",
    "sampling": "initial population: hamming (best of n_diverse Hamming-diverse designs) or "
                "random",
    "schedule": "SBX/PM settings over the budget: paper, tuned, constant or a phases mapping",
    "n_candidates": "random designs the Hamming-diverse sample is drawn from",
    "n_diverse": "Hamming-diverse designs evaluated for the start (counted in the budget)",
    "feasible_only": "draw only designs passing the cheap fits(X) check (null: if the problem "
                     "has one)",
    "dedup": "population (pymoo's duplicate elimination) or archive (also drop designs "
             "evaluated before)",
    "n_partitions": "Das-Dennis partitions of NSGA-III's reference directions",
    "variant": "DE variant",
    "CR": "DE crossover rate",
    "F": "DE differential weight",
    "batch_size": "designs per evaluation call",
    "level_pop_size": "population of the GA run on one level",
    "sweeps": "planned sweeps over the levels",
    "n_init": "random designs per start batch (up to 5 batches until one is feasible)",
}


def _plain(value: Any) -> Any:
    return value.to_dict() if isinstance(value, PhaseSchedule) else value


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
               "batch_size", "sweeps", "n_init", "n_offspring", "elite", "stall", "kicks"}
_PROB_PARAMS = {"CR"}
_CHOICES = {"sampling": SAMPLINGS, "dedup": DEDUPS, "variant": DE_VARIANTS}


def _as_schedule(val: Any, where: str) -> PhaseSchedule:
    try:
        return as_schedule(val)
    except ImcoptError as exc:
        raise ImcoptError(f"{where}: {exc}") from exc


# ------------------------------------------------------------------------------ problem forms
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


# ------------------------------------------------------------------------------ pymoo runner
def _sub_seed(seed: int, k: int) -> int:
    if k == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), k]).generate_state(1)[0])


def run_pymoo(make: Callable[[], Algorithm], problem: Any, recorder: ArchiveRecorder,
              seed: int) -> None:
    """Run a pymoo algorithm with ``recorder`` as its evaluator until the budget is used; a
    run that stops early (converged: no new offspring) is restarted with a derived seed."""
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


def _pymoo_run(factory: Callable[[dict[str, Any], Any], Algorithm]) -> RunFn:
    def run(problem: Any, recorder: ArchiveRecorder, seed: int, p: dict[str, Any]) -> None:
        run_pymoo(lambda: factory(p, problem), problem, recorder, seed)
    return run


def _ga_spec(name: str, description: str, source: str = "paper",
             **overrides: Any) -> AlgorithmSpec:
    defaults = {"pop_size": 70, "sampling": "random", "schedule": "constant",
                "n_candidates": 1000, "n_diverse": 500, "feasible_only": None,
                "dedup": "population", **overrides}
    return AlgorithmSpec(name, description, _pymoo_run(lambda p, _: PaperGA(**p)), defaults,
                         "single", source, "study.paper_ga.PaperGA")


def _moo_spec(name: str, label: str, **extra: Any) -> AlgorithmSpec:
    return AlgorithmSpec(name, f"pymoo's {label} on (E, L, A), integer SBX/PM",
                         _pymoo_run(lambda p, prob: make_moea(name, n_obj=prob.n_obj, **p)),
                         {"pop_size": 70, "schedule": "constant", **extra}, "multi", "pymoo",
                         f"study.pymoo_algorithms.make_moea({name!r})")


def _direct(fn: Callable[..., None], with_seed: bool = True) -> RunFn:
    def run(problem: Any, recorder: ArchiveRecorder, seed: int, p: dict[str, Any]) -> None:
        if with_seed:
            fn(problem, recorder, seed, **p)
        else:
            fn(problem, recorder, **p)
    return run


# ------------------------------------------------------------------------------ registry
ALGORITHMS: dict[str, AlgorithmSpec] = {
    "paper-ga": _ga_spec("paper-ga", "the paper's GA: Hamming-diverse start, four phases",
                         sampling="hamming", schedule="paper"),
    "tuned-ga": AlgorithmSpec(
        "tuned-ga", "paper-ga tuned: population 30, stronger late mutation "
        "(PhaseSchedule.tuned), offspring already evaluated are dropped",
        _pymoo_run(lambda p, _: TunedGA(**p)),
        {"pop_size": 30, "sampling": "hamming", "schedule": "tuned", "n_candidates": 1000,
         "n_diverse": 500, "feasible_only": None, "dedup": "archive"}, "single", "imcopt",
        "study.paper_ga.TunedGA"),
    "ga": _ga_spec("ga", "plain GA: random start, pymoo's default SBX/PM settings (integer)",
                   source="pymoo"),
    "ga-hamming": _ga_spec("ga-hamming", "ablation: Hamming-diverse start, constant operators",
                           sampling="hamming"),
    "ga-phases": _ga_spec("ga-phases", "ablation: random start, the paper's four phases",
                          schedule="paper"),
    "nsga2": _moo_spec("nsga2", "NSGA-II"),
    "nsga3": _moo_spec("nsga3", "NSGA-III", n_partitions=10),
    "agemoea2": _moo_spec("agemoea2", "AGE-MOEA2"),
    "smsemoa": _moo_spec("smsemoa", "SMS-EMOA"),
    "de": AlgorithmSpec("de", "pymoo's differential evolution with rounding repair",
                        _pymoo_run(lambda p, _: make_de(**p)),
                        {"pop_size": 70, "variant": "DE/rand/1/bin", "CR": 0.9, "F": 0.5},
                        "single", "pymoo", "study.pymoo_algorithms.make_de"),
    "random-search": AlgorithmSpec("random-search", "uniform random designs",
                                   _direct(random_search),
                                   {"batch_size": 700, "feasible_only": False}, None, "imcopt",
                                   "study.direct_search.random_search"),
    "sequential": AlgorithmSpec(
        "sequential", "the paper's level-by-level baseline (device, circuit, architecture, "
        "system)", _direct(sequential_search),
        {"level_pop_size": 20, "sweeps": 1, "schedule": "constant", "feasible_only": None,
         "n_init": 100}, "single", "paper", "study.sequential.sequential_search"),
    "exhaustive": AlgorithmSpec("exhaustive", "enumeration in index order up to the budget",
                                _direct(enumerate_designs, with_seed=False),
                                {"batch_size": 8192}, None, "imcopt",
                                "study.direct_search.enumerate_designs"),
    "imcopt-memetic": AlgorithmSpec(
        "imcopt-memetic", "imcopt's recommendation: memetic GA with first-improvement ordinal "
        "local search (+-1, exchange, diagonal and model-guided 2-3-coordinate moves), ILS "
        "kicks, restarts", run_memetic, dict(MEMETIC_DEFAULTS), "single",
        "imcopt", "study.memetic.run_memetic"),
}


def preload(names: Sequence[str]) -> None:
    """Import the modules algorithms ``names`` import lazily (pymoo's MOEAs and DE), so that
    worker processes forked afterwards start with them loaded (~0.4 s each otherwise)."""
    from study.pymoo_algorithms import MOEAS

    for name in dict.fromkeys(names):
        if name in MOEAS:
            make_moea(name)
        elif name == "de":
            make_de()


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
    searched = problem if spec.objective_kind is None else objective_variant(
        problem, spec.objective_kind)
    spec.run(searched, recorder, int(seed), resolved)
    kind = getattr(getattr(searched, "objective", None), "kind", None)
    meta = {
        "algorithm": name,
        "seed": int(seed),
        "budget": int(budget),
        "params": {k: _plain(v) for k, v in resolved.items()},
        "objective_kind": kind or ("single" if searched.n_obj == 1 else "multi"),
        "problem": describe_problem(problem),
    }
    return recorder.archive(meta)
