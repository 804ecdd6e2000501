"""Archive of every true evaluation of a run, and the evaluator that records it.

:class:`ArchiveRecorder` is a pymoo :class:`~pymoo.core.evaluator.Evaluator`: pass it as an
algorithm's evaluator and every evaluation — those a sampling performs too — is recorded in
order. It enforces the budget exactly: a batch that would exceed it is cut to the designs that
still fit, those are evaluated and recorded, and :class:`BudgetExhausted` is raised, so no
design beyond the budget is ever evaluated.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pymoo.core.duplicate import DefaultDuplicateElimination
from pymoo.core.evaluator import Evaluator

from problems.errors import ImcoptError

ARRAY_FIELDS = (
    "X",
    "F",
    "G",
    "score",
    "feasible",
    "energy_j",
    "latency_s",
    "edap",
    "area_mm2",
    "eval_index",
)
EXTRA_OUTPUTS = ("score", "feasible", "energy_j", "latency_s", "edap", "area_mm2")


class BudgetExhausted(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by :class:`ArchiveRecorder` once the evaluation budget is used up."""


@dataclass
class Archive:
    """All evaluations of one run in evaluation order (row ``i`` = evaluation ``i``)."""

    X: np.ndarray
    F: np.ndarray
    G: np.ndarray
    score: np.ndarray
    feasible: np.ndarray
    energy_j: np.ndarray
    latency_s: np.ndarray
    edap: np.ndarray
    area_mm2: np.ndarray
    eval_index: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_eval(self) -> int:
        """Number of evaluations recorded."""
        return len(self)

    def best_so_far(self) -> np.ndarray:
        """Running minimum of ``score`` (inf until the first feasible design)."""
        if len(self) == 0:
            return np.empty(0)
        return np.minimum.accumulate(self.score)

    def best(self) -> int:
        """Row of the best design (lowest score; first one on ties)."""
        if len(self) == 0:
            raise ImcoptError("archive is empty: no evaluation was recorded")
        return int(np.argmin(self.score))

    @property
    def best_score(self) -> float:
        """Lowest score in the archive."""
        return float(self.score[self.best()])

    def save(self, path: str | Path) -> Path:
        """Write an ``.npz`` atomically (temporary file in the same directory, then replace)."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(path.suffix + ".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {name: getattr(self, name) for name in ARRAY_FIELDS}
        arrays["meta_json"] = np.array(json.dumps(self.meta, default=_json_default))
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp.npz", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez_compressed(fh, **arrays)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path

    @classmethod
    def load(cls, path: str | Path) -> Archive:
        """Read an archive written by :meth:`save`."""
        path = Path(path)
        if not path.is_file():
            raise ImcoptError(f"archive file not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = [n for n in (*ARRAY_FIELDS, "meta_json") if n not in data]
                if missing:
                    raise ImcoptError(f"{path}: not an imcopt archive (missing {missing})")
                arrays = {name: data[name] for name in ARRAY_FIELDS}
                meta = json.loads(str(data["meta_json"]))
        except (OSError, ValueError) as exc:
            if isinstance(exc, ImcoptError):
                raise
            raise ImcoptError(f"{path}: cannot read archive: {exc}") from exc
        return cls(**arrays, meta=meta)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


class ArchiveRecorder(Evaluator):
    """pymoo evaluator that records every true evaluation and stops exactly at ``budget``."""

    def __init__(self, budget: int, progress: Callable[[int], None] | None = None) -> None:
        super().__init__()
        if isinstance(budget, bool) or not isinstance(budget, int | np.integer) or budget < 1:
            raise ImcoptError(f"budget must be a positive integer, got {budget!r}")
        self.budget = int(budget)
        self.progress = progress
        self._chunks: list[dict[str, np.ndarray]] = []
        self.n_recorded = 0
        self.notes: dict[str, Any] = {}  # run facts for the archive meta (e.g. restarts)

    @property
    def remaining(self) -> int:
        """Evaluations left in the budget."""
        return self.budget - self.n_recorded

    # pymoo entry point -------------------------------------------------------------------
    def _eval(self, problem: Any, pop: Any, evaluate_values_of: Any, **kwargs: Any) -> None:
        n = len(pop)
        if self.remaining <= 0:
            raise BudgetExhausted
        take = min(n, self.remaining)
        sub = pop[:take] if take < n else pop
        out = self.evaluate(problem, sub.get("X"), return_values_of=evaluate_values_of)
        for key, val in out.items():
            if val is not None and key != "feasible":  # read-only on pymoo's Individual
                sub.set(key, val)
        sub.apply(lambda ind: ind.evaluated.update(out.keys()))
        if take < n:
            self.n_eval += take  # pymoo would only count after a normal return
            raise BudgetExhausted

    # direct entry point (random search, enumeration, sub-problems) ----------------------
    def evaluate(
        self,
        problem: Any,
        X: np.ndarray,
        return_values_of: Any = None,
    ) -> dict[str, np.ndarray]:
        """Evaluate rows of ``X`` on ``problem`` and record them; truncates at the budget.

        Raises :class:`BudgetExhausted` *after* recording when ``X`` had rows beyond the budget
        (or none could be evaluated). The returned dict holds the outputs of the evaluated rows.
        """
        X = np.asarray(X)
        if X.ndim != 2:
            raise ImcoptError(f"expected a 2-d design array, got shape {X.shape}")
        if self.remaining <= 0:
            raise BudgetExhausted
        if len(X) == 0:
            return {}
        truncated = len(X) > self.remaining
        X = X[: self.remaining]
        values = list(return_values_of) if return_values_of is not None else ["F", "G"]
        out = problem.evaluate(X, return_values_of=values, return_as_dictionary=True)
        self._record(X, out)
        if truncated:
            raise BudgetExhausted
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


class ArchiveDuplicateElimination(DefaultDuplicateElimination):
    """pymoo's duplicate elimination, plus: a not-yet-evaluated design that the recorder has
    already evaluated (at any time in the run) is a duplicate too, so no design is paid for
    twice."""

    def __init__(self, recorder: ArchiveRecorder) -> None:
        super().__init__()
        self.recorder = recorder
        self._seen: set[bytes] = set()
        self._synced = 0

    def _sync(self) -> None:
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
