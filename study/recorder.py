"""`ArchiveRecorder`: the pymoo evaluator that records every true evaluation and enforces an
exact evaluation budget without raising.

Pass it as an algorithm's evaluator (``minimize(problem, algorithm, termination,
evaluator=ArchiveRecorder())``; imcopt's own algorithm classes use one by default). Its budget is
``budget`` or, when that is None, the finite ``n_max_evals`` of the algorithm's termination, e.g.
``("n_eval", 2800)``. A batch that would exceed it is cut: the designs that still fit are
evaluated and recorded, the others are marked *over budget* (F = G = CV = +inf, ``over_budget``
True, not evaluated), so survival drops them; the evaluator then tells the algorithm's
termination to stop and ``minimize`` returns its result normally. No design beyond the budget
is ever evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from pymoo.core.evaluator import Evaluator

from problems.errors import ImcoptError
from study.archive import EXTRA_OUTPUTS, Archive
from study.duplicates import ExactDuplicateElimination
from study.schedule import termination_limit

__all__ = ["DEFAULT_BUDGET", "ArchiveDuplicateElimination", "ArchiveRecorder",
           "mark_over_budget"]

#: true evaluations per run unless a study says otherwise: the paper's 40 generations x 70
DEFAULT_BUDGET = 2800


def mark_over_budget(problem: Any, pop: Any) -> None:
    """Give individuals that were not evaluated (budget used up) values every survival ranks
    last: F, G, H and CV +inf, and the flag ``over_budget``. They stay 'not evaluated'."""
    for ind in pop:
        ind.F = np.full(problem.n_obj, np.inf)
        ind.G = np.full(problem.n_ieq_constr, np.inf)
        ind.H = np.full(problem.n_eq_constr, np.inf)
        ind.CV = np.array([np.inf])
        ind.set("over_budget", True)


class ArchiveRecorder(Evaluator):
    """pymoo evaluator that records every true evaluation and stops exactly at the budget."""

    def __init__(self, budget: int | None = None,
                 progress: Callable[[int], None] | None = None) -> None:
        super().__init__()
        if budget is not None and (isinstance(budget, bool)
                                   or not isinstance(budget, int | np.integer) or budget < 1):
            raise ImcoptError(f"budget must be a positive integer, got {budget!r}")
        self.budget = None if budget is None else int(budget)
        self.progress = progress
        self._chunks: list[dict[str, np.ndarray]] = []
        self.n_recorded = 0
        self._n_over = 0
        self.notes: dict[str, Any] = {}  # run facts for the archive meta (e.g. restarts)

    @property
    def remaining(self) -> float:
        """Evaluations left in the budget (inf while no budget is known)."""
        return (math.inf if self.budget is None else self.budget) - self.n_recorded

    def _use_budget_of(self, algorithm: Any) -> None:
        if self.budget is None and algorithm is not None:
            limit = termination_limit(algorithm, "n_max_evals")
            if limit is not None:
                self.budget = int(limit)

    # pymoo entry point -------------------------------------------------------------------
    def eval(self, problem: Any, pop: Any, skip_already_evaluated: bool | None = None,
             evaluate_values_of: list[Any] | None = None, count_evals: bool = True,
             **kwargs: Any) -> Any:
        """pymoo's evaluation; only designs within the budget count in ``n_eval``. Once the
        budget is used up the algorithm's termination is told to stop (a termination on
        generations or time alone would otherwise never end)."""
        algorithm = kwargs.get("algorithm")
        self._use_budget_of(algorithm)
        self._n_over = 0
        out = super().eval(problem, pop, skip_already_evaluated, evaluate_values_of,
                           count_evals, **kwargs)
        if count_evals:
            self.n_eval -= self._n_over
        termination = getattr(algorithm, "termination", None)
        if self.remaining <= 0 and termination is not None:
            termination.terminate()
        return out

    def _eval(self, problem: Any, pop: Any, evaluate_values_of: Any, **kwargs: Any) -> None:
        n = len(pop)
        take = int(max(0, min(n, self.remaining)))
        if take > 0:
            sub = pop[:take] if take < n else pop
            out = self.evaluate(problem, sub.get("X"), return_values_of=evaluate_values_of)
            for key, val in out.items():
                if val is not None and key != "feasible":  # read-only on pymoo's Individual
                    sub.set(key, val)
            sub.apply(lambda ind: ind.evaluated.update(out.keys()))
        if take < n:
            mark_over_budget(problem, pop[take:])
            self._n_over += n - take

    # direct entry point (random search, enumeration, sub-problems) ----------------------
    def evaluate(
        self,
        problem: Any,
        X: np.ndarray,
        return_values_of: Any = None,
    ) -> dict[str, np.ndarray]:
        """Evaluate the rows of ``X`` that fit in the budget on ``problem`` and record them.

        Returns the outputs of the evaluated rows (the first ``min(len(X), remaining)``; an
        empty dict when none is left); callers check :attr:`remaining`.
        """
        X = np.asarray(X)
        if X.ndim != 2:
            raise ImcoptError(f"expected a 2-d design array, got shape {X.shape}")
        take = int(max(0, min(len(X), self.remaining)))
        if take == 0:
            return {}
        X = X[:take]
        values = list(return_values_of) if return_values_of is not None else ["F", "G"]
        out = problem.evaluate(X, return_values_of=values, return_as_dictionary=True)
        self._record(X, out)
        return out

    def _record(self, X: np.ndarray, out: dict[str, np.ndarray]) -> None:
        n = len(X)
        if out.get("feasible") is None and out.get("is_feasible") is not None:
            out = {**out, "feasible": out["is_feasible"]}
        missing = [k for k in ("F", *EXTRA_OUTPUTS) if out.get(k) is None]
        if missing:
            raise ImcoptError(
                f"the problem did not return {missing}; an imcopt problem must set out['F'] "
                f"and the extra outputs {list(EXTRA_OUTPUTS)} ('is_feasible' may stand for "
                f"'feasible')"
            )
        G = out.get("G")
        G = np.zeros((n, 0)) if G is None else np.asarray(G, dtype=float).reshape(n, -1)
        chunk = {
            "X": np.rint(np.asarray(X, dtype=float)).astype(np.int64).reshape(n, -1),
            "F": np.asarray(out["F"], dtype=float).reshape(n, -1),
            "G": G,
            "score": np.asarray(out["score"], dtype=float).reshape(n),
            "feasible": np.asarray(out["feasible"]).astype(bool).reshape(n),
            "energy_j": np.asarray(out["energy_j"], dtype=float).reshape(n, -1),
            "latency_s": np.asarray(out["latency_s"], dtype=float).reshape(n, -1),
            "edap": np.asarray(out["edap"], dtype=float).reshape(n, -1),
            "area_mm2": np.asarray(out["area_mm2"], dtype=float).reshape(n),
        }
        self._chunks.append(chunk)
        self.n_recorded += n
        if self.progress is not None:
            self.progress(self.n_recorded)

    def archive(self, meta: dict[str, Any] | None = None) -> Archive:
        """Everything recorded so far as an :class:`Archive`."""
        if not self._chunks:
            raise ImcoptError("no evaluation was recorded")
        arrays = {
            name: np.concatenate([c[name] for c in self._chunks], axis=0)
            for name in self._chunks[0]
        }
        arrays["eval_index"] = np.arange(self.n_recorded, dtype=np.int64)
        return Archive(**arrays, meta={**self.notes, **(meta or {})})


class ArchiveDuplicateElimination(ExactDuplicateElimination):
    """pymoo's duplicate elimination, plus: a not-yet-evaluated design that the recorder has
    already evaluated (at any time in the run) is a duplicate too, so no design is paid for
    twice."""

    def __init__(self, recorder: ArchiveRecorder | None = None) -> None:
        super().__init__()
        self.recorder = recorder  # may be bound later (PaperGA binds its evaluator at setup)
        self._seen: set[bytes] = set()
        self._synced = 0

    def _sync(self) -> None:
        if self.recorder is None:
            raise ImcoptError("ArchiveDuplicateElimination has no ArchiveRecorder to check")
        chunks = self.recorder._chunks
        for chunk in chunks[self._synced:]:
            self._seen.update(row.tobytes() for row in chunk["X"])
        self._synced = len(chunks)

    def _do(self, pop: Any, other: Any, is_duplicate: np.ndarray) -> np.ndarray:
        is_duplicate = super()._do(pop, other, is_duplicate)
        if other is None and len(pop) > 0:
            self._sync()
            X = np.rint(np.asarray(pop.get("X"), dtype=float)).astype(np.int64)
            for i, ind in enumerate(pop):
                if not ind.evaluated and X[i].tobytes() in self._seen:
                    is_duplicate[i] = True
        return is_duplicate
