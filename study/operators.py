"""Integer SBX / PM for index vectors, and phase-aware pymoo operator classes.

The kernels relax every integer variable ``i ∈ {xl..xu}`` to the interval
``[xl - 0.5, xu + 0.5]``, run pymoo's bounded SBX / polynomial mutation there and round to the
nearest integer. Every integer then owns a unit-wide cell (the bounds included, unlike
clamp-to-[xl, xu]-then-round, which halves the bounds' cells), so rounding adds no drift and the
result always lies in ``[xl, xu]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pymoo.core.crossover import Crossover
from pymoo.core.mutation import Mutation
from pymoo.core.variable import get
from pymoo.operators.crossover.sbx import cross_sbx
from pymoo.operators.mutation.pm import mut_pm

from problems.errors import ImcoptError
from study.schedule import Phase, PhaseSchedule


def round_relaxed(Y: np.ndarray, xl: np.ndarray, xu: np.ndarray) -> np.ndarray:
    """Round relaxed values to the nearest integer index, clipped to ``[xl, xu]``."""
    return np.clip(np.floor(np.asarray(Y, dtype=float) + 0.5), xl, xu).astype(np.int64)


def cross_sbx_int(
    X: np.ndarray,
    xl: np.ndarray,
    xu: np.ndarray,
    eta: float,
    prob_var: float,
    random_state: np.random.Generator,
    prob_bin: float = 0.5,
) -> np.ndarray:
    """SBX on integer parents ``X`` of shape (2, n_matings, n_var); returns integer children."""
    X = np.asarray(X)
    if X.ndim != 3 or X.shape[0] != 2:
        raise ImcoptError(f"cross_sbx_int expects parents of shape (2, n, n_var), got {X.shape}")
    n_matings = X.shape[1]
    xl, xu, lo, hi = _relaxed_bounds(xl, xu, X.shape[2])
    Q = cross_sbx(
        X.astype(float),
        lo,
        hi,
        np.full((n_matings, 1), float(eta)),
        np.full((n_matings, 1), float(prob_var)),
        np.full((n_matings, 1), float(prob_bin)),
        random_state=random_state,
    )
    return round_relaxed(Q, xl, xu)


def mut_pm_int(
    X: np.ndarray,
    xl: np.ndarray,
    xu: np.ndarray,
    eta: float,
    prob_var: float,
    random_state: np.random.Generator,
) -> np.ndarray:
    """Polynomial mutation of integer rows ``X`` (n, n_var), each variable with ``prob_var``."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ImcoptError(f"mut_pm_int expects a 2-d array (n, n_var), got shape {X.shape}")
    n = X.shape[0]
    xl, xu, lo, hi = _relaxed_bounds(xl, xu, X.shape[1])
    Y = mut_pm(
        X.astype(float),
        lo,
        hi,
        np.full(n, float(eta)),
        np.full(n, float(prob_var)),
        at_least_once=False,
        random_state=random_state,
    )
    return round_relaxed(Y, xl, xu)


def _relaxed_bounds(xl: Any, xu: Any, n_var: int) -> tuple[np.ndarray, ...]:
    xl = np.broadcast_to(np.asarray(xl, dtype=float), (n_var,))
    xu = np.broadcast_to(np.asarray(xu, dtype=float), (n_var,))
    if np.any(xu < xl):
        raise ImcoptError("integer operators: upper bound below lower bound")
    lo, hi = xl - 0.5, xu + 0.5
    # a fixed variable (xl == xu) must stay fixed: give it zero width
    fixed = xl == xu
    lo[fixed], hi[fixed] = xl[fixed], xu[fixed]
    return xl, xu, lo, hi


class _PhaseOperatorMixin:
    """Resolves the active :class:`Phase` from the ``algorithm`` pymoo passes to ``do``."""

    schedule: PhaseSchedule
    _phase: Phase
    prob: Any

    def _use_schedule(self, schedule: PhaseSchedule | None) -> None:
        self.schedule = schedule if schedule is not None else PhaseSchedule.constant()
        self._phase = self.schedule.phases[0]

    def _enter_phase(self, algorithm: Any, prob_field: str) -> None:
        """Make the phase of ``algorithm``'s generation current and set the operator's
        pymoo-level probability from that phase's ``prob_field``."""
        self._phase = self.current_phase(algorithm)
        self.prob = getattr(self._phase, prob_field)

    def current_phase(self, algorithm: Any) -> Phase:
        if algorithm is None:
            return self.schedule.phases[0]
        return self.schedule.phase_at(algorithm)


class PhaseSBX(_PhaseOperatorMixin, Crossover):
    """Integer SBX whose probability and η follow a :class:`PhaseSchedule`."""

    def __init__(self, schedule: PhaseSchedule | None = None) -> None:
        super().__init__(2, 2, prob=1.0)
        self._use_schedule(schedule)

    def do(self, problem: Any, pop: Any, parents: Any = None, *args: Any, **kwargs: Any) -> Any:
        """Set the phase's mating probability, then run pymoo's crossover bookkeeping."""
        self._enter_phase(kwargs.get("algorithm"), "sbx_prob")
        return super().do(problem, pop, parents, *args, **kwargs)

    def do_array(self, problem: Any, X: np.ndarray, random_state: np.random.Generator,
                 algorithm: Any = None) -> np.ndarray:
        """`do` on the parents' designs ``X`` (2, n_matings, n_var): the offspring rows, the
        same random draws in the same order as pymoo's `Crossover.do` (two parents, two
        children: an uncrossed mating passes its parents through)."""
        self._enter_phase(algorithm, "sbx_prob")
        n_matings = X.shape[1]
        Xp = np.empty(X.shape, dtype=X.dtype)
        cross = random_state.random(n_matings) < get(self.prob, size=n_matings)
        if np.any(cross):
            Q = self._do(problem, X, random_state=random_state)
            Xp[:, cross] = Q[:, cross]
        Xp[:, ~cross] = X[:, ~cross]
        return Xp.reshape(-1, X.shape[-1])

    def _do(self, problem: Any, X: np.ndarray, *args: Any, random_state: Any = None, **kwargs: Any):
        return cross_sbx_int(
            X, problem.xl, problem.xu, self._phase.sbx_eta, self._phase.sbx_prob_var, random_state
        )


class PhasePM(_PhaseOperatorMixin, Mutation):
    """Integer polynomial mutation whose probability and η follow a :class:`PhaseSchedule`."""

    def __init__(self, schedule: PhaseSchedule | None = None) -> None:
        super().__init__(prob=1.0)
        self._use_schedule(schedule)

    def do(self, problem: Any, pop: Any, inplace: bool = True, *args: Any, **kwargs: Any) -> Any:
        """Set the phase's per-offspring mutation probability, then run pymoo's bookkeeping."""
        self._enter_phase(kwargs.get("algorithm"), "pm_prob")
        return super().do(problem, pop, inplace, *args, **kwargs)

    def do_array(self, problem: Any, X: np.ndarray, random_state: np.random.Generator,
                 algorithm: Any = None) -> np.ndarray:
        """`do` on design rows ``X`` (n, n_var): the mutated copy, the same random draws in the
        same order as pymoo's `Mutation.do`."""
        self._enter_phase(algorithm, "pm_prob")
        Xp = self._do(problem, X, random_state=random_state)
        mut = random_state.random(size=len(X)) <= get(self.prob, size=len(X))
        out = X.copy()
        out[mut] = Xp[mut]
        return out

    def _do(self, problem: Any, X: np.ndarray, *args: Any, random_state: Any = None, **kwargs: Any):
        prob_var = self._phase.pm_prob_var
        if prob_var is None:
            prob_var = min(0.5, 1.0 / problem.n_var)
        return mut_pm_int(X, problem.xl, problem.xu, self._phase.pm_eta, prob_var, random_state)
