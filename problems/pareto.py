"""The one non-dominated filter of imcopt (minimisation), on moocore's O(n log n) sweep.

Used by the exact enumeration (`problems.exhaustive`), the merge of enumeration slices and the
front indicators of studies (`study.indicators`).
"""

from __future__ import annotations

import moocore
import numpy as np

from problems.errors import ImcoptError


def nondominated_mask(F: np.ndarray) -> np.ndarray:
    """Bool mask of the rows of F (n, m) that no other row dominates (minimisation).

    Rows with non-finite values are excluded; of identical rows only the first is kept.
    """
    F = np.asarray(F, float)
    if F.ndim != 2:
        raise ImcoptError(f"objective array must be 2-d, got shape {F.shape}")
    mask = np.zeros(len(F), bool)
    idx = np.flatnonzero(np.all(np.isfinite(F), axis=1))
    if idx.size == 0:
        return mask
    if F.shape[1] == 1:  # moocore needs >= 2 objectives: the first minimum
        mask[idx[np.argmin(F[idx, 0])]] = True
        return mask
    mask[idx[moocore.is_nondominated(F[idx], keep_weakly=False)]] = True
    return mask


def pareto_indices(F: np.ndarray) -> np.ndarray:
    """Sorted indices of the non-dominated rows of F (finite values required), one index per
    distinct objective vector (its first occurrence)."""
    F = np.asarray(F, dtype=float)
    if F.ndim != 2:
        raise ImcoptError(f"pareto_indices: F must be 2-D, got shape {F.shape}")
    if not np.all(np.isfinite(F)):
        raise ImcoptError("pareto_indices: objective values must be finite")
    return np.flatnonzero(nondominated_mask(F)).astype(np.int64)
