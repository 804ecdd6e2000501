"""pymoo's mating loop (select, cross, mutate, drop duplicates, refill) on design arrays.

pymoo's `InfillCriterion.do` builds a `Population` of `Individual` objects at every step and
repeats the whole step until enough unique offspring exist. On imcopt's small discrete spaces
a GA generation needs ~9 such steps late in a run (most offspring duplicate the population),
and the object bookkeeping, not the operators, was ~60 % of a GA run. `ArrayMating` runs the
same loop on integer arrays: the same operator calls in the same order draw the same random
numbers, so every run replays pymoo's own loop exactly (tests/test_mating.py), while the
population's design matrix and its row set are built once per generation, not once per step.

Only the operators whose array form is known take this path (`PhaseSBX`, `PhasePM`,
`ExactDuplicateElimination`, no repair, integer designs); anything else runs pymoo's loop.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pymoo.core.mating import Mating
from pymoo.core.population import Population
from pymoo.core.repair import NoRepair

from study.duplicates import ExactDuplicateElimination
from study.operators import PhasePM, PhaseSBX


class ArrayMating(Mating):
    """`Mating` whose refill loop works on arrays (bit-identical to pymoo's where it applies)."""

    @classmethod
    def of(cls, mating: Mating) -> ArrayMating:
        """The same selection, operators, repair, duplicate rule and iteration cap."""
        return cls(mating.selection, mating.crossover, mating.mutation, repair=mating.repair,
                   eliminate_duplicates=mating.eliminate_duplicates,
                   n_max_iterations=mating.n_max_iterations)

    def _applies(self, pop: Any, random_state: Any, kwargs: dict[str, Any]) -> bool:
        return (random_state is not None and "parents" not in kwargs
                and type(self.crossover) is PhaseSBX and type(self.mutation) is PhasePM
                and self.crossover.n_parents == self.crossover.n_offsprings == 2
                and self.crossover.vtype is None and self.crossover.repair is None
                and self.mutation.vtype is None and self.mutation.repair is None
                and type(self.eliminate_duplicates) is ExactDuplicateElimination
                and type(self.repair) is NoRepair and len(pop) > 0)

    @staticmethod
    def _designs(pop: Any) -> np.ndarray | None:
        """The population's designs as one contiguous integer matrix (None: not all rows are
        integer rows of one dtype, so the array form would not replay pymoo's)."""
        rows = [ind.X for ind in pop]
        X = np.array(rows)
        if (X.ndim != 2 or not np.issubdtype(X.dtype, np.integer)
                or any(np.asarray(r).dtype != X.dtype for r in rows)):
            return None
        return np.ascontiguousarray(X)

    def do(self, problem: Any, pop: Any, n_offsprings: int, random_state: Any = None,
           n_max_iterations: int | None = None, **kwargs: Any) -> Any:
        """pymoo's `InfillCriterion.do`: up to ``n_offsprings`` offspring unlike ``pop`` and
        each other, mating at most ``n_max_iterations`` times."""
        X_pop = self._designs(pop) if self._applies(pop, random_state, kwargs) else None
        if X_pop is None:
            return super().do(problem, pop, n_offsprings, random_state=random_state,
                              n_max_iterations=n_max_iterations, **kwargs)
        seen = {r.tobytes() for r in X_pop}      # the population, then every kept offspring
        cap = self.n_max_iterations if n_max_iterations is None else n_max_iterations
        kept: list[np.ndarray] = []
        n_kept, n_infills = 0, 0
        algorithm = kwargs.get("algorithm")
        while n_kept < n_offsprings:
            n_remaining = n_offsprings - n_kept
            n_matings = math.ceil(n_remaining / self.crossover.n_offsprings)
            parents = self.selection.do(problem, pop, n_matings,
                                        n_parents=self.crossover.n_parents, to_pop=False,
                                        random_state=random_state, **kwargs)
            parents = np.asarray(parents)
            X = np.swapaxes(X_pop[parents.reshape(n_matings, -1)], 0, 1)
            off = self.crossover.do_array(problem, X, random_state, algorithm)
            off = np.ascontiguousarray(self.mutation.do_array(problem, off, random_state,
                                                              algorithm))
            new = []
            for r in off:                    # first of equal rows, unlike pop and earlier off
                key = r.tobytes()
                if key not in seen:
                    seen.add(key)
                    new.append(r)
                    if len(new) == n_remaining:   # pymoo truncates the step's surplus
                        break
            if new:
                kept.append(np.array(new))
                n_kept += len(new)
            n_infills += 1
            if n_infills >= cap:
                break
        if not kept:
            return Population.create()
        return Population.new("X", np.concatenate(kept))
