"""pymoo's own algorithms set up for integer index vectors: NSGA-II, NSGA-III, AGE-MOEA2,
SMS-EMOA (on the (E, L, A) form) and differential evolution.

Each factory returns a plain pymoo :class:`~pymoo.core.algorithm.Algorithm` with integer random
sampling and imcopt's integer SBX / PM (:mod:`study.operators`) — DE with pymoo's rounding
repair — and an :class:`~study.recorder.ArchiveRecorder` evaluator (exact budget from the
termination, every evaluation recorded). ``minimize(problem, make_moea("nsga2"),
("n_eval", 2800), seed=0)`` gives the registry's ``nsga2`` run for the same seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pymoo.core.algorithm import Algorithm

from problems.errors import ImcoptError
from study.duplicates import ExactDuplicateElimination
from study.mating import ArrayMating
from study.operators import PhasePM, PhaseSBX
from study.recorder import ArchiveRecorder
from study.sampling import IntegerRandomSampling
from study.schedule import PhaseSchedule, as_schedule

__all__ = ["DE_VARIANTS", "MOEAS", "make_de", "make_moea"]

MOEAS = ("nsga2", "nsga3", "agemoea2", "smsemoa")
DE_VARIANTS = ("DE/rand/1/bin", "DE/best/1/bin", "DE/current-to-best/1/bin", "DE/rand/1/exp",
               "DE/best/1/exp")


def make_moea(name: str, pop_size: int = 70, schedule: PhaseSchedule | str = "constant",
              n_obj: int = 3, n_partitions: int = 10) -> Algorithm:
    """pymoo's multi-objective EA ``name`` (one of :data:`MOEAS`) with integer operators.

    ``n_obj`` and ``n_partitions`` set NSGA-III's Das-Dennis reference directions (its
    population is at least their number); the others ignore them.
    """
    sched = as_schedule(schedule)
    common = {"sampling": IntegerRandomSampling(), "crossover": PhaseSBX(sched),
              "mutation": PhasePM(sched), "eliminate_duplicates": ExactDuplicateElimination(),
              "evaluator": ArchiveRecorder()}
    if name == "nsga2":
        from pymoo.algorithms.moo.nsga2 import NSGA2
        alg = NSGA2(pop_size=pop_size, **common)
    elif name == "nsga3":
        from pymoo.algorithms.moo.nsga3 import NSGA3
        from pymoo.operators.selection.tournament import TournamentSelection
        from pymoo.util.ref_dirs import get_reference_directions
        ref_dirs = get_reference_directions("das-dennis", n_obj, n_partitions=n_partitions)
        alg = NSGA3(ref_dirs, pop_size=max(pop_size, len(ref_dirs)),
                    selection=TournamentSelection(func_comp=cv_then_random), **common)
    elif name == "agemoea2":
        try:
            from pymoo.algorithms.moo.age2 import AGEMOEA2
        except Exception as exc:  # pymoo raises a bare Exception without numba
            raise ImcoptError("algorithm 'agemoea2' needs numba: pip install numba") from exc
        alg = AGEMOEA2(pop_size=pop_size, **common)
    elif name == "smsemoa":
        from pymoo.algorithms.moo.sms import SMSEMOA
        alg = SMSEMOA(pop_size=pop_size, **common)
    else:
        raise ImcoptError(f"unknown multi-objective algorithm {name!r}; allowed: {list(MOEAS)}")
    alg.mating = ArrayMating.of(alg.mating)  # pymoo's loop, on arrays (same draws)
    return alg


def make_de(pop_size: int = 70, variant: str = "DE/rand/1/bin", CR: float = 0.9,  # noqa: N803
            F: float = 0.5) -> Algorithm:  # noqa: N803 - DE's own parameter names
    """pymoo's differential evolution on integer vectors (random start, rounding repair)."""
    from pymoo.algorithms.soo.nonconvex.de import DE
    from pymoo.operators.repair.rounding import RoundingRepair

    if variant not in DE_VARIANTS:
        raise ImcoptError(f"DE variant {variant!r}; allowed: {list(DE_VARIANTS)}")
    algorithm = DE(pop_size=pop_size, sampling=IntegerRandomSampling(), variant=variant, CR=CR,
                   F=F, repair=RoundingRepair())
    algorithm.evaluator = ArchiveRecorder()  # (DE would hand an evaluator= to its variant)
    return algorithm


def cv_then_random(pop: Any, P: np.ndarray, random_state: Any = None,
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
