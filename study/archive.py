"""`Archive`: every true evaluation of a run, in evaluation order, saved as one ``.npz``.

It is filled by :class:`study.recorder.ArchiveRecorder` (the pymoo evaluator that records each
evaluation and enforces the budget).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from problems.errors import ImcoptError
from problems.io import atomic_write_bytes

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
        """Write an ``.npz`` atomically (`problems.io.atomic_write_bytes`)."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(path.suffix + ".npz")
        arrays = {name: getattr(self, name) for name in ARRAY_FIELDS}
        arrays["meta_json"] = np.array(json.dumps(self.meta, default=_json_default))
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write_bytes(path, buf.getvalue())
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
