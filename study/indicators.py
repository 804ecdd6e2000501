"""Front quality indicators in log space: hypervolume and IGD+ of (E, L, A) fronts.

Objectives of IMC designs span decades, so fronts are compared on log10 values normalised to
[0, 1] by the ideal and nadir points of a reference front (the exact Pareto front when it is
known, else the union of every run's non-dominated designs). The hypervolume reference point
is 1.1 in every normalised coordinate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from problems.errors import ImcoptError
from problems.pareto import nondominated_mask

__all__ = ["HV_REF", "LogNormalizer", "hypervolume", "igd_plus", "nondominated",
           "nondominated_mask"]

HV_REF = 1.1


def nondominated(F: np.ndarray) -> np.ndarray:
    """The non-dominated rows of F (minimisation), duplicates once, sorted lexicographically."""
    F = np.asarray(F, float)
    P = F[nondominated_mask(F)]
    return P[np.lexsort(P.T[::-1])] if len(P) else P.reshape(0, F.shape[1] if F.ndim == 2
                                                             else 0)


@dataclass(frozen=True)
class LogNormalizer:
    """log10 then affine map so the reference front's ideal -> 0 and nadir -> 1."""

    ideal: np.ndarray  # log10 of the ideal point
    nadir: np.ndarray  # log10 of the nadir point

    @classmethod
    def from_front(cls, front: np.ndarray) -> LogNormalizer:
        front = np.asarray(front, float)
        if front.size == 0 or np.any(front <= 0):
            raise ImcoptError("a reference front needs positive, finite objective values")
        lg = np.log10(front)
        return cls(lg.min(axis=0), lg.max(axis=0))

    def __call__(self, F: np.ndarray) -> np.ndarray:
        span = np.where(self.nadir > self.ideal, self.nadir - self.ideal, 1.0)
        return (np.log10(np.asarray(F, float)) - self.ideal) / span


def hypervolume(F: np.ndarray, reference_front: np.ndarray) -> float:
    """Hypervolume of F's non-dominated points in normalised log space (ref. point 1.1)."""
    from pymoo.indicators.hv import HV

    norm = LogNormalizer.from_front(reference_front)
    P = nondominated(F)
    if len(P) == 0:
        return 0.0
    Z = norm(P)
    Z = Z[np.all(Z < HV_REF, axis=1)]
    if len(Z) == 0:
        return 0.0
    return float(HV(ref_point=np.full(Z.shape[1], HV_REF))(Z))


def igd_plus(F: np.ndarray, reference_front: np.ndarray) -> float:
    """IGD+ of F against the reference front, both in normalised log space (lower is better)."""
    from pymoo.indicators.igd_plus import IGDPlus

    norm = LogNormalizer.from_front(reference_front)
    P = nondominated(F)
    if len(P) == 0:
        return float("inf")
    return float(IGDPlus(norm(nondominated(reference_front)))(norm(P)))
