"""Phase schedules: per-phase SBX / PM settings switched by budget progress.

The paper's GA runs four phases (exploration → transition → convergence → fine-tuning) with
their own crossover and mutation settings. A :class:`PhaseSchedule` maps the progress of a run
(used evaluations / evaluation budget, or generation / generation budget) to a :class:`Phase`.
Phases 2–4 of the paper "restart from the best designs found so far"; one continuous run with
elitist (μ+λ) survival carries exactly those designs from phase to phase.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from problems.errors import ImcoptError
from problems.io import read_yaml

BASES = ("evaluations", "generations")
#: schedules by name (the classmethods of the same name)
NAMED = ("paper", "tuned", "constant")

_PHASE_KEYS = ("name", "sbx_prob", "sbx_eta", "pm_prob", "pm_eta", "sbx_prob_var", "pm_prob_var")


@dataclass(frozen=True)
class Phase:
    """Operator settings of one phase.

    ``sbx_prob``: probability that a mating is crossed over (pymoo ``SBX(prob=)``);
    ``sbx_prob_var``: per-variable crossover probability; ``pm_prob``: probability that an
    offspring is mutated (pymoo ``PM(prob=)``); ``pm_prob_var``: per-variable mutation
    probability (``None`` → ``min(0.5, 1 / n_var)``, pymoo's default); η are distribution indices.
    """

    name: str
    sbx_prob: float
    sbx_eta: float
    pm_prob: float
    pm_eta: float
    sbx_prob_var: float = 0.5
    pm_prob_var: float | None = None

    def __post_init__(self) -> None:
        for key in ("sbx_prob", "pm_prob", "sbx_prob_var"):
            _check_prob(f"phase {self.name!r}: {key}", getattr(self, key))
        if self.pm_prob_var is not None:
            _check_prob(f"phase {self.name!r}: pm_prob_var", self.pm_prob_var)
        for key in ("sbx_eta", "pm_eta"):
            value = getattr(self, key)
            if not _is_number(value) or not math.isfinite(value) or value <= 0:
                raise ImcoptError(f"phase {self.name!r}: {key} must be a number > 0, got {value!r}")


@dataclass(frozen=True)
class PhaseSchedule:
    """Phases and their start points as fractions of the budget (``starts[0] == 0``).

    ``basis`` is ``"evaluations"`` (progress = ``evaluator.n_eval / budget``) or
    ``"generations"`` (progress = ``(n_gen - 1) / n_max_gen``).
    """

    phases: tuple[Phase, ...]
    starts: tuple[float, ...] = field(default=())
    basis: str = "evaluations"

    def __post_init__(self) -> None:
        if len(self.phases) == 0:
            raise ImcoptError("a phase schedule needs at least one phase")
        starts = self.starts or tuple(i / len(self.phases) for i in range(len(self.phases)))
        object.__setattr__(self, "phases", tuple(self.phases))
        object.__setattr__(self, "starts", tuple(float(s) for s in starts))
        if len(self.starts) != len(self.phases):
            raise ImcoptError(
                f"phase schedule: {len(self.phases)} phases but {len(self.starts)} starts"
            )
        if self.starts[0] != 0.0:
            raise ImcoptError(f"phase schedule: the first phase must start at 0, got {starts[0]}")
        for a, b in zip(self.starts, self.starts[1:], strict=False):
            if not a < b:
                raise ImcoptError(f"phase schedule: starts must increase strictly, got {starts}")
        if self.starts[-1] >= 1.0:
            raise ImcoptError(f"phase schedule: starts must lie in [0, 1), got {starts}")
        if self.basis not in BASES:
            raise ImcoptError(f"phase schedule: basis must be one of {BASES}, got {self.basis!r}")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def paper(cls) -> PhaseSchedule:
        """The paper's four phases over equal quarters of the evaluation budget."""
        return cls(
            phases=(
                Phase("exploration", 1.0, 3.0, 1.0, 3.0),
                Phase("transition", 0.9, 7.0, 0.5, 7.0),
                Phase("convergence", 1.0, 15.0, 0.2, 15.0),
                Phase("fine-tuning", 1.0, 25.0, 0.05, 25.0),
            )
        )

    @classmethod
    def tuned(cls) -> PhaseSchedule:
        """The paper's phases with a stronger late mutation (benchmarks/bench_optimizers.py).

        With η = 15 / 25 and one variable in nine mutated, phases 3–4 of the paper's schedule
        almost never move an integer index; here phases 3–4 mutate half of the offspring, each
        variable with probability 0.2, at η = 7 (SBX unchanged). Tuned on seeds 100–119 of
        rram-paper × paper-4 × max (physical), used by ``tuned-ga``.
        """
        late = {"pm_prob": 0.5, "pm_eta": 7.0, "pm_prob_var": 0.2}
        return cls(
            phases=(
                Phase("exploration", 1.0, 3.0, 1.0, 3.0),
                Phase("transition", 0.9, 7.0, 0.5, 7.0),
                Phase("convergence", sbx_prob=1.0, sbx_eta=15.0, **late),
                Phase("fine-tuning", sbx_prob=1.0, sbx_eta=25.0, **late),
            )
        )

    @classmethod
    def constant(
        cls,
        sbx_prob: float = 0.9,
        sbx_eta: float = 15.0,
        pm_prob: float = 0.9,
        pm_eta: float = 20.0,
    ) -> PhaseSchedule:
        """One phase for the whole run (defaults: pymoo's SBX / PM defaults)."""
        return cls(phases=(Phase("constant", sbx_prob, sbx_eta, pm_prob, pm_eta),))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PhaseSchedule:
        """Build from ``{"basis": ..., "phases": [{"name", "start", "sbx_prob", ...}, ...]}``."""
        if not isinstance(data, Mapping):
            raise ImcoptError(f"phase schedule must be a mapping, got {type(data).__name__}")
        unknown = set(data) - {"basis", "phases"}
        if unknown:
            raise ImcoptError(
                f"phase schedule: unknown key(s) {sorted(unknown)}; allowed: ['basis', 'phases']"
            )
        raw = data.get("phases")
        if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) == 0:
            raise ImcoptError("phase schedule: 'phases' must be a non-empty list")
        phases, starts = [], []
        for i, item in enumerate(raw):
            if not isinstance(item, Mapping):
                raise ImcoptError(f"phase schedule: phase {i} must be a mapping")
            bad = set(item) - set(_PHASE_KEYS) - {"start"}
            if bad:
                raise ImcoptError(
                    f"phase schedule: phase {i} has unknown key(s) {sorted(bad)}; "
                    f"allowed: {sorted((*_PHASE_KEYS, 'start'))}"
                )
            missing = {"sbx_prob", "sbx_eta", "pm_prob", "pm_eta"} - set(item)
            if missing:
                raise ImcoptError(f"phase schedule: phase {i} misses {sorted(missing)}")
            kwargs = {k: item[k] for k in _PHASE_KEYS if k in item}
            kwargs.setdefault("name", f"phase-{i + 1}")
            phases.append(Phase(**kwargs))
            starts.append(item.get("start", i / len(raw)))
        if not all(_is_number(s) for s in starts):
            raise ImcoptError(f"phase schedule: starts must be numbers, got {starts}")
        return cls(tuple(phases), tuple(starts), data.get("basis", "evaluations"))

    @classmethod
    def from_yaml(cls, path: str | Path) -> PhaseSchedule:
        """Load a schedule written by :meth:`to_dict` from a YAML file."""
        path = Path(path)
        data = read_yaml(path, "phase schedule file")
        try:
            return cls.from_dict(data)
        except ImcoptError as exc:
            raise ImcoptError(f"{path}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form, inverse of :meth:`from_dict`."""
        return {
            "basis": self.basis,
            "phases": [
                {**asdict(p), "start": s} for p, s in zip(self.phases, self.starts, strict=True)
            ],
        }

    # ------------------------------------------------------------------ lookup
    def index_at(self, progress: float) -> int:
        """Index of the phase active at ``progress`` (a fraction of the budget)."""
        idx = 0
        for i, start in enumerate(self.starts):
            if progress >= start:
                idx = i
        return idx

    def progress(self, algorithm: Any) -> float:
        """Fraction of the budget used by ``algorithm`` (on this schedule's basis)."""
        if self.basis == "evaluations":
            budget = termination_limit(algorithm, "n_max_evals")
            used = algorithm.evaluator.n_eval
        else:
            budget = termination_limit(algorithm, "n_max_gen")
            used = (algorithm.n_gen or 1) - 1
        if budget is None:
            raise ImcoptError(
                f"phase schedule on {self.basis!r} needs a termination with a finite "
                f"{'n_max_evals' if self.basis == 'evaluations' else 'n_max_gen'}"
            )
        return float(used) / float(budget)

    def phase_at(self, algorithm: Any) -> Phase:
        """Phase active for the next offspring of ``algorithm``."""
        if len(self.phases) == 1:
            return self.phases[0]
        return self.phases[self.index_at(self.progress(algorithm))]


def as_schedule(value: PhaseSchedule | str | Mapping[str, Any]) -> PhaseSchedule:
    """A :class:`PhaseSchedule` from itself, a name (``paper``, ``tuned``, ``constant``) or the
    mapping form of :meth:`PhaseSchedule.from_dict`."""
    if isinstance(value, PhaseSchedule):
        return value
    if isinstance(value, str) and value in NAMED:
        return getattr(PhaseSchedule, value)()
    if isinstance(value, Mapping):
        return PhaseSchedule.from_dict(value)
    raise ImcoptError(f"schedule must be one of {list(NAMED)}, a mapping or a PhaseSchedule, "
                      f"got {value!r}")


def termination_limit(algorithm: Any, attr: str) -> float | None:
    """Finite ``attr`` (e.g. ``n_max_evals``) of the algorithm's termination; composite
    terminations (pymoo's ``TerminateIfAny`` ``criteria``) are searched too."""
    stack = [getattr(algorithm, "termination", None)]
    while stack:
        term = stack.pop()
        if term is None:
            continue
        value = getattr(term, attr, None)
        if value is not None and math.isfinite(value):
            return float(value)
        stack.extend(getattr(term, "criteria", ()) or ())
        stack.extend(getattr(term, "terminations", ()) or ())
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_prob(what: str, value: Any) -> None:
    if not _is_number(value) or not 0.0 <= value <= 1.0:
        raise ImcoptError(f"{what} must be a probability in [0, 1], got {value!r}")
