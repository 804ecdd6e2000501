"""`BestOfSampleInitialization`: the paper's start — evaluate a larger sample, keep the best.

The paper evaluates its ``n_diverse`` Hamming-diverse designs and starts the GA from the best
``pop_size`` of them. This is a pymoo :class:`~pymoo.core.initialization.Initialization` (the
step pymoo's ``GeneticAlgorithm._initialize_infill`` calls): it asks its sampling for
``n_evaluate`` rows, evaluates them through the algorithm's evaluator — so they count in the
budget and land in the archive — and returns the best ``n_samples`` (already evaluated, so
pymoo does not evaluate them again).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pymoo.core.initialization import Initialization
from pymoo.core.population import Population
from pymoo.core.sampling import Sampling
from pymoo.util import default_random_state

from problems.errors import ImcoptError

__all__ = ["BestOfSampleInitialization", "rank_population"]


def rank_population(pop: Population) -> np.ndarray:
    """Order of an evaluated population, best first: feasible by ``score`` (or F[:, 0] when
    the problem gives no score), then infeasible by constraint violation. Individuals without
    a score (not evaluated: over budget) rank last."""
    CV = np.asarray(pop.get("CV"), dtype=float).reshape(-1)
    raw = pop.get("score")
    if raw is None or all(v is None for v in raw):
        key = np.asarray(pop.get("F"), dtype=float)[:, 0]
    else:
        key = np.array([np.inf if v is None else float(v) for v in raw], dtype=float)
    key = np.where(CV > 0, np.inf, key)
    return np.lexsort((key, CV))


class BestOfSampleInitialization(Initialization):
    """Evaluate ``n_evaluate`` sampled designs, start from the best ``n_samples``."""

    def __init__(self, sampling: Sampling, n_evaluate: int, repair: Any = None,
                 eliminate_duplicates: Any = None) -> None:
        super().__init__(sampling, repair=repair, eliminate_duplicates=eliminate_duplicates)
        if isinstance(n_evaluate, bool) or not isinstance(n_evaluate, int) or n_evaluate < 1:
            raise ImcoptError(f"BestOfSampleInitialization: n_evaluate must be a positive "
                              f"integer, got {n_evaluate!r}")
        self.n_evaluate = n_evaluate

    @default_random_state
    def do(self, problem: Any, n_samples: int, random_state: Any = None,
           algorithm: Any = None, **kwargs: Any) -> Population:
        """Sample ``n_evaluate`` designs, evaluate them, return the best ``n_samples``."""
        if algorithm is None:
            raise ImcoptError("BestOfSampleInitialization needs the algorithm (its evaluator "
                              "counts the evaluations); use it inside an algorithm")
        pop = self.sampling(problem, self.n_evaluate, random_state=random_state,
                            algorithm=algorithm, **kwargs)
        pop = self.repair(problem, pop, random_state=random_state, algorithm=algorithm)
        algorithm.evaluator.eval(problem, pop, algorithm=algorithm)
        best = pop[rank_population(pop)[:min(int(n_samples), len(pop))]]
        return self.eliminate_duplicates.do(best)
