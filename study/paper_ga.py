"""The paper's genetic algorithm as pymoo algorithms: `PaperGA` and its tuned variant `TunedGA`.

``PaperGA()`` is the paper's GA (Krestinskaya et al.): the best ``pop_size`` (70) of
``n_diverse`` (500) Hamming-diverse designs drawn from ``n_candidates`` (1,000) random feasible
ones, then one elitist GA run whose integer SBX / polynomial mutation follow the paper's four
phases over the evaluation budget. Its arguments give the ablations of the registry (``ga``:
random start, constant operators; ``ga-hamming``; ``ga-phases``). Use it like any pymoo
algorithm::

    res = minimize(problem, PaperGA(), ("n_eval", 2800), seed=0)
    archive = res.algorithm.evaluator.archive()      # every evaluation, in order

Its default evaluator is an :class:`~study.recorder.ArchiveRecorder` that stops at exactly the
termination's evaluation budget; the same seed gives the same run as
``run_algorithm("paper-ga", problem, 2800, 0)`` (which in addition restarts a run that
converged before its budget, with a derived seed). The phases are fractions of the evaluation
budget, so the termination must bound evaluations (``("n_eval", N)``, possibly inside a
``TerminateIfAny``); ``schedule="constant"`` works with any termination.
"""

from __future__ import annotations

from typing import Any

from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.core.evaluator import Evaluator

from problems.errors import ImcoptError
from study.duplicates import ExactDuplicateElimination
from study.initialization import BestOfSampleInitialization
from study.mating import ArrayMating
from study.operators import PhasePM, PhaseSBX
from study.recorder import ArchiveDuplicateElimination, ArchiveRecorder
from study.sampling import HammingDiverseSampling, IntegerRandomSampling
from study.schedule import PhaseSchedule, as_schedule

__all__ = ["DEDUPS", "SAMPLINGS", "PaperGA", "TunedGA"]

SAMPLINGS = ("hamming", "random")
DEDUPS = ("population", "archive")


class PaperGA(GA):
    """The paper's GA (see module docstring); every argument has the paper's value.

    ``sampling``: ``"hamming"`` (best ``pop_size`` of ``n_diverse`` Hamming-diverse designs out
    of ``n_candidates``, all ``n_diverse`` evaluated) or ``"random"`` (``pop_size`` random
    designs). ``schedule``: phase schedule or its name. ``feasible_only``: draw candidates that
    pass the problem's ``fits(X)`` (None: when it has one). ``dedup``: ``"population"`` (pymoo's
    duplicate elimination) or ``"archive"`` (also drop offspring evaluated earlier in the run;
    needs an :class:`ArchiveRecorder` evaluator). ``evaluator``: default a new
    :class:`ArchiveRecorder` whose budget is the termination's.
    """

    def __init__(
        self,
        pop_size: int = 70,
        sampling: str = "hamming",
        schedule: PhaseSchedule | str = "paper",
        n_candidates: int = 1000,
        n_diverse: int = 500,
        feasible_only: bool | None = None,
        dedup: str = "population",
        evaluator: Evaluator | None = None,
    ) -> None:
        if sampling not in SAMPLINGS:
            raise ImcoptError(f"PaperGA: sampling must be one of {list(SAMPLINGS)}, got "
                              f"{sampling!r}")
        if dedup not in DEDUPS:
            raise ImcoptError(f"PaperGA: dedup must be one of {list(DEDUPS)}, got {dedup!r}")
        self.schedule = as_schedule(schedule)
        self.dedup = dedup
        eliminate = (ArchiveDuplicateElimination() if dedup == "archive"
                     else ExactDuplicateElimination())
        super().__init__(pop_size=pop_size, sampling=IntegerRandomSampling(),
                         crossover=PhaseSBX(self.schedule), mutation=PhasePM(self.schedule),
                         eliminate_duplicates=eliminate,
                         evaluator=evaluator if evaluator is not None else ArchiveRecorder())
        self.mating = ArrayMating.of(self.mating)
        if sampling == "hamming":
            n_diverse = min(n_diverse, n_candidates)
            self.initialization = BestOfSampleInitialization(
                HammingDiverseSampling(n_candidates=n_candidates, feasible_only=feasible_only),
                n_evaluate=n_diverse, repair=self.repair,
                eliminate_duplicates=self.eliminate_duplicates)

    def _setup(self, problem: Any, **kwargs: Any) -> None:
        if isinstance(self.eliminate_duplicates, ArchiveDuplicateElimination):
            if not isinstance(self.evaluator, ArchiveRecorder):
                raise ImcoptError("PaperGA(dedup='archive') needs an ArchiveRecorder evaluator")
            self.eliminate_duplicates.recorder = self.evaluator
        super()._setup(problem, **kwargs)


class TunedGA(PaperGA):
    """`PaperGA` tuned on seeds 100–119 of rram-paper × paper-4 × max: population 30, the
    stronger late mutation of :meth:`PhaseSchedule.tuned`, offspring already evaluated in the
    run are dropped (``dedup="archive"``)."""

    def __init__(
        self,
        pop_size: int = 30,
        sampling: str = "hamming",
        schedule: PhaseSchedule | str = "tuned",
        n_candidates: int = 1000,
        n_diverse: int = 500,
        feasible_only: bool | None = None,
        dedup: str = "archive",
        evaluator: Evaluator | None = None,
    ) -> None:
        super().__init__(pop_size, sampling, schedule, n_candidates, n_diverse, feasible_only,
                         dedup, evaluator)
