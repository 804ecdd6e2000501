"""pymoo's duplicate elimination, exact and fast on integer designs.

`DefaultDuplicateElimination` compares every offspring with every other individual by a
Euclidean distance matrix (`cdist`), ~20 % of a GA run here. On integer-valued design vectors
(every imcopt problem: index vectors) a distance <= 1e-16 means equal rows, so rows are
compared by value instead (`np.unique` / a row-hash set): the same individuals are flagged
(the first of identical offspring is kept, as pymoo keeps it), so runs replay pymoo's exactly
(tests/test_duplicates.py). Other inputs fall back to pymoo's distance test.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pymoo.core.duplicate import DefaultDuplicateElimination

_EXACT = 2.0 ** 53   # integers up to this magnitude are exact in float64


def _integral(X: np.ndarray) -> bool:
    return (X.ndim == 2 and bool(np.all(np.isfinite(X))) and bool(np.all(np.rint(X) == X))
            and (X.size == 0 or float(np.abs(X).max()) < _EXACT))


def _design_matrix(pop: Any) -> np.ndarray:
    """``pop.get("X")`` without its per-attribute lookups (the X of every individual)."""
    return np.array([ind.X for ind in pop], dtype=float)


class ExactDuplicateElimination(DefaultDuplicateElimination):
    """`DefaultDuplicateElimination` with equality of integer rows for the distance test."""

    def __init__(self, epsilon: float = 1e-16) -> None:
        super().__init__(epsilon=epsilon, func=_design_matrix)

    def _do(self, pop: Any, other: Any, is_duplicate: np.ndarray) -> np.ndarray:
        X = np.asarray(self.func(pop), dtype=float)
        O = None if other is None else np.asarray(self.func(other), dtype=float)
        if not _integral(X) or (O is not None and not _integral(O)) \
                or (O is not None and O.shape[1:] != X.shape[1:]):
            return super()._do(pop, other, is_duplicate)
        Xi = np.ascontiguousarray(X.astype(np.int64))
        if O is None:       # a row equal to an earlier row (pymoo: D[i, j < i] <= eps)
            _, first = np.unique(Xi, axis=0, return_index=True)
            dup = np.ones(len(Xi), dtype=bool)
            dup[first] = False
        else:               # a row equal to any row of ``other``
            seen = {r.tobytes() for r in np.ascontiguousarray(O.astype(np.int64))}
            dup = np.fromiter((r.tobytes() in seen for r in Xi), dtype=bool, count=len(Xi))
        is_duplicate[dup] = True
        return is_duplicate
