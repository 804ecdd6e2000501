"""Mating that draws duplicate-heavy generations in few batches.

pymoo's `InfillCriterion.do` refills a generation one shortfall at a time: when most offspring
are duplicates (late in a converged GA, or with ``dedup="archive"``) it calls selection,
crossover, mutation and duplicate elimination ~13 times per generation, and that Python
bookkeeping, not the cost model, was 70 % of a tuned-ga run's time. `BatchedMating` asks for
``shortfall / acceptance`` offspring at once (the acceptance rate of its previous batches),
then keeps the first non-duplicates exactly as pymoo does. Every offspring is drawn the same
way, so the generation has the same distribution; only the random stream differs.
"""

from __future__ import annotations

import math
from typing import Any

from pymoo.core.mating import Mating
from pymoo.core.population import Population

#: largest oversampling factor of one batch, and the lowest acceptance rate it is derived from
MAX_FACTOR = 16
MIN_ACCEPTANCE = 1.0 / MAX_FACTOR


class BatchedMating(Mating):
    """pymoo's `Mating` with batches sized by the observed acceptance rate (module docstring)."""

    def __init__(self, selection: Any, crossover: Any, mutation: Any, *, repair: Any = None,
                 eliminate_duplicates: Any = None, n_max_iterations: int = 100) -> None:
        super().__init__(selection, crossover, mutation, repair=repair,
                         eliminate_duplicates=eliminate_duplicates,
                         n_max_iterations=n_max_iterations)
        self.acceptance = 1.0  # fraction of drawn offspring that were not duplicates

    def do(self, problem: Any, pop: Any, n_offsprings: int, random_state: Any = None,
           n_max_iterations: int | None = None, **kwargs: Any) -> Any:
        """Offspring of ``pop``: ``n_offsprings`` non-duplicates when found within
        ``n_max_iterations`` batches (pymoo's contract), fewer otherwise."""
        limit = self.n_max_iterations if n_max_iterations is None else n_max_iterations
        off = Population.create()
        n_batches = 0
        while len(off) < n_offsprings:
            short = n_offsprings - len(off)
            n_draw = min(MAX_FACTOR * short,
                         math.ceil(short / max(self.acceptance, MIN_ACCEPTANCE)))
            drawn = self._do(problem, pop, n_draw, random_state=random_state, **kwargs)
            n_drawn = len(drawn)
            drawn = self.repair(problem, drawn, random_state=random_state, **kwargs)
            drawn = self.eliminate_duplicates.do(drawn, pop, off)
            if n_drawn:  # running estimate, weighted towards the latest batch
                self.acceptance = 0.5 * self.acceptance + 0.5 * len(drawn) / n_drawn
            off = Population.merge(off, drawn[:short])
            n_batches += 1
            if n_batches >= limit:
                break
        return off


def batched(mating: Mating) -> BatchedMating:
    """The `BatchedMating` with ``mating``'s selection, operators, repair and duplicate rule
    (for pymoo algorithms, which build a plain `Mating` in their constructor)."""
    return BatchedMating(mating.selection, mating.crossover, mating.mutation,
                         repair=mating.repair, eliminate_duplicates=mating.eliminate_duplicates,
                         n_max_iterations=mating.n_max_iterations)
