"""The scenario -> problem adapter: what a study run needs from the `problems` / `study` modules.

`Backend` is stateless and picklable (it is shipped to worker processes and Dask workers); the
problems it builds are cached by a `study.session.StudySession`, not here. Tests substitute a
fake backend (tests/test_study_fakes.py) with the same methods.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from problems.errors import ImcoptError
from problems.fingerprint import digest
from study.config import AlgorithmConfig, ScenarioConfig


class Backend:
    """Builds problems and runs algorithms with the real `problems` / `study` modules."""

    def build_problem(self, scenario: ScenarioConfig, convention: str) -> Any:
        """The `JointIMCProblem` of a scenario."""
        from problems.objectives import ObjectiveConfig
        from problems.problem import JointIMCProblem
        from problems.workloads import load_workloads

        space = self.space(scenario)
        workloads = load_workloads(scenario.workloads)
        objective = ObjectiveConfig(
            kind=scenario.objective, aggregate=scenario.aggregate,
            weights=tuple(scenario.weights) if scenario.weights else None,
            fabrication_cost=scenario.fabrication_cost,
            area_budget_mm2=scenario.area_budget_mm2, **scenario.snr_objective_fields())
        spec = None
        if scenario.aggregate == "normalized":
            from problems.specialists import specialist_edap

            spec = specialist_edap(space, workloads, objective, convention, progress=False)
        return JointIMCProblem(space, workloads, objective=objective, convention=convention,
                               specialist_edap=spec)

    def space(self, scenario: ScenarioConfig) -> Any:
        """The scenario's search space, with its fixed parameters applied."""
        return scenario_space(scenario)

    def run(self, algorithm: AlgorithmConfig, problem: Any, budget: int, seed: int) -> Any:
        """One run -> an `Archive` of every evaluation."""
        from study.algorithms import run_algorithm

        return run_algorithm(algorithm.name, problem, budget=budget, seed=seed,
                             params=dict(algorithm.params) or None)

    def warm_up(self, problem: Any, algorithms: list[str]) -> None:
        """Load what the tasks will need into this process: the cost model's compiled kernels
        (one design evaluated) and the algorithms' modules. Worker processes forked afterwards
        inherit them instead of each loading them again (~1.3 s per worker)."""
        from study.algorithms import preload

        problem.evaluate_batch(np.asarray(problem.xl, np.int64)[None, :])
        preload(algorithms)

    def decode(self, problem: Any, X: np.ndarray) -> list[dict[str, Any]]:
        """Design parameter records of index vectors ``X`` (n, n_var)."""
        return problem.space.decode(np.atleast_2d(X)).to_records()

    def workload_names(self, problem: Any) -> list[str]:
        """Names of the problem's workloads, in column order."""
        return list(problem.workload_names)

    def identity(self, problem: Any, convention: str) -> str:
        """Content hash of what a scenario's results depend on beyond its config: the space's
        values, the workloads' layers and the cost model's source (cached results of a
        changed model are recomputed, never mixed)."""
        from problems.specialists import model_fingerprint
        from problems.workloads.layers import INT_FIELDS

        workloads = [[w.name, [getattr(w, f).tolist() for f in INT_FIELDS],
                      np.asarray(w.dynamic, bool).tolist()] for w in problem.stack.workloads]
        return digest({"space": problem.space.fingerprint(), "workloads": workloads,
                       "model": model_fingerprint(convention)}, 16)

    def space_size(self, scenario: ScenarioConfig) -> int:
        """Number of designs in the scenario's space."""
        return int(self.space(scenario).size)

    def optimum_part(self, problem: Any, start: int, stop: int) -> dict[str, Any]:
        """Enumerate designs ``start..stop-1`` of the space: best, Pareto front, specialists."""
        from problems.exhaustive import exhaustive_search

        res = exhaustive_search(problem.space, problem.stack, problem.objective,
                                problem.convention, top_k=1, progress=False,
                                specialist_edap=problem.specialist_edap,
                                flat_range=(start, stop))
        return {
            "n_designs": int(res.n_designs), "n_feasible": int(res.n_feasible),
            "n_evaluated": int(res.n_designs if res.n_evaluated is None else res.n_evaluated),
            "best_x": None if res.best_x is None else np.asarray(res.best_x).tolist(),
            "best_log10": finite_or_none(res.best_log10_score),
            "front_log10": np.asarray(res.front_log10, float).tolist(),
            "front_x": np.asarray(res.front_x).tolist(),
            "workload_best_x": np.asarray(res.workload_best_x).tolist(),
            "workload_best_log10": [finite_or_none(v) for v in res.workload_best_log10],
        }

    def metrics(self, problem: Any, X: np.ndarray) -> list[dict[str, Any]]:
        """Design records and per-workload metrics of index vectors X (n, n_var)."""
        X = np.atleast_2d(np.asarray(X, np.int64))
        r = problem.evaluate_batch(X)
        designs = self.decode(problem, X)
        names = self.workload_names(problem)
        return [{"design": designs[i], "workloads": names,
                 "score": finite_or_none(r["score"][i]),
                 "area_mm2": float(r["area_mm2"][i]),
                 "energy_j": np.asarray(r["energy_j"][i], float).tolist(),
                 "latency_s": np.asarray(r["latency_s"][i], float).tolist(),
                 "edap_j_s_mm2": np.asarray(r["edap"][i], float).tolist()}
                for i in range(len(X))]

    def workload_sizes(self, problem: Any) -> list[int]:
        """Static weights per workload (the largest defines the largest-workload baseline)."""
        from study.baselines import workload_weights

        return list(workload_weights(problem).values())

    def baselines(self, problem: Any, budget: int) -> dict[str, Any]:
        """Largest-workload and specialist designs found by `paper-ga` (no enumeration)."""
        from study.baselines import largest_workload, specialist_designs

        spec = specialist_designs(problem, budget=budget, seed=0)
        names = list(problem.workload_names)
        X = np.stack([spec[w].x for w in names])
        metrics = dict(zip(names, self.metrics(problem, X), strict=True))
        largest = largest_workload(problem)
        return {"source": f"paper-ga, {budget} evaluations, seed 0",
                "largest_workload": largest,
                "designs": {f"largest-workload ({largest})": metrics[largest]},
                "specialists": metrics}

    def designs(self, scenario: ScenarioConfig, X: np.ndarray) -> list[dict[str, Any]]:
        """Design records of index vectors of the scenario's space (no problem needed)."""
        return self.space(scenario).decode(np.atleast_2d(np.asarray(X, np.int64))).to_records()


def finite_or_none(v: Any) -> float | None:
    """A float, or None for missing / non-finite values (strict JSON)."""
    if v is None:
        return None
    v = float(v)
    return v if np.isfinite(v) else None


def scenario_space(scenario: ScenarioConfig) -> Any:
    """The scenario's search space with its fixed parameters held (removed from the variables)."""
    from problems.spaces import SearchSpace

    space = SearchSpace.load(scenario.space)
    fixed = scenario.fixed
    if not fixed:
        return space
    variables = [v for v in space.variables if v.name not in fixed]
    if not variables:
        raise ImcoptError(f"search space {space.name!r}: fixing {sorted(fixed)} leaves no "
                          f"variable to search")
    names = {v.name for v in variables}
    held = {k: v for k, v in space.fixed.items() if k not in names} | dict(fixed)
    return SearchSpace(f"{space.name}+fixed", variables, held, space.description,
                       source=space.source)
