"""Initial samples: the paper's Hamming-diverse sampling and plain integer random sampling.

Hamming-diverse sampling draws ``n_candidates`` uniformly random index vectors (optionally
feasible ones only) and greedily picks ``n_samples`` mutually distant ones (farthest-point
selection on the Hamming distance). It evaluates nothing: the paper's "evaluate the diverse
designs and keep the best" step is :class:`study.initialization.BestOfSampleInitialization`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from pymoo.core.sampling import Sampling
from pymoo.operators.sampling.rnd import IntegerRandomSampling

from problems.errors import ImcoptError

__all__ = [
    "HammingDiverseSampling",
    "IntegerRandomSampling",
    "farthest_point_hamming",
    "random_feasible",
]

FeasibleFn = Callable[[np.ndarray], np.ndarray]


def hamming_to(X: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Hamming distance of every row of ``X`` to the vector ``x``."""
    return np.count_nonzero(np.not_equal(X, x[None, :]), axis=1)


def farthest_point_hamming(
    X: np.ndarray, k: int, random_state: np.random.Generator
) -> np.ndarray:
    """Greedy farthest-point selection of ``k`` rows of ``X`` under the Hamming distance.

    Starts from a random row; each next pick maximises its distance to the picked set (ties go
    to the lowest row). O(k · n · n_var) with one min-distance vector updated per pick.
    Returns the picked row indices in pick order.
    """
    X = np.asarray(X)
    n = X.shape[0]
    if X.ndim != 2 or n == 0:
        raise ImcoptError(f"farthest-point selection needs a non-empty (n, n_var) array, got "
                          f"shape {X.shape}")
    if not 1 <= k <= n:
        raise ImcoptError(f"cannot pick {k} diverse designs from {n} candidates")
    picked = np.empty(k, dtype=np.int64)
    picked[0] = random_state.integers(n)
    min_dist = hamming_to(X, X[picked[0]]).astype(np.int64)
    min_dist[picked[0]] = -1
    for i in range(1, k):
        j = int(np.argmax(min_dist))
        picked[i] = j
        np.minimum(min_dist, hamming_to(X, X[j]), out=min_dist)
        min_dist[j] = -1
    return picked


def random_feasible(
    problem: Any,
    n: int,
    random_state: np.random.Generator,
    feasible_fn: FeasibleFn | None = None,
    max_rounds: int = 50,
) -> np.ndarray:
    """``n`` uniformly random integer designs within the problem bounds.

    With ``feasible_fn`` (a cheap, budget-free check returning a bool mask) designs are drawn by
    rejection in vectorized batches, at most ``max_rounds`` batches; fewer than ``n`` feasible
    designs found → the ones found are returned, none → :class:`ImcoptError`.
    """
    xl = np.asarray(problem.xl, dtype=np.int64)
    xu = np.asarray(problem.xu, dtype=np.int64)
    if feasible_fn is None:
        return random_state.integers(xl, xu + 1, size=(n, problem.n_var), dtype=np.int64)
    found: list[np.ndarray] = []
    n_found = 0
    batch = max(n, 256)
    for _ in range(max_rounds):
        X = random_state.integers(xl, xu + 1, size=(batch, problem.n_var), dtype=np.int64)
        mask = np.asarray(feasible_fn(X), dtype=bool).reshape(-1)
        if mask.shape != (batch,):
            raise ImcoptError(f"feasibility check returned shape {mask.shape}, expected "
                              f"({batch},)")
        found.append(X[mask])
        n_found += int(mask.sum())
        if n_found >= n:
            break
        batch = min(batch * 2, 1 << 16)
    if n_found == 0:
        raise ImcoptError(
            f"no feasible design found in {max_rounds} rounds of random sampling; the space "
            f"may have no design where every workload fits"
        )
    return np.concatenate(found, axis=0)[:n]


class HammingDiverseSampling(Sampling):
    """``n_samples`` mutually Hamming-distant designs out of ``n_candidates`` random ones.

    ``feasible_only``: draw candidates that pass a cheap, budget-free capacity check
    (``feasible_fn``, else the problem's ``fits(X)``); ``None`` = use ``problem.fits`` when the
    problem has one. With few feasible designs (fewer than ``n_samples`` found in
    ``max_rounds`` rejection rounds) the rows found are returned.
    """

    def __init__(
        self,
        n_candidates: int = 1000,
        feasible_only: bool | None = False,
        feasible_fn: FeasibleFn | None = None,
        max_rounds: int = 50,
    ) -> None:
        super().__init__()
        for key, val in (("n_candidates", n_candidates), ("max_rounds", max_rounds)):
            if isinstance(val, bool) or not isinstance(val, int) or val < 1:
                raise ImcoptError(f"HammingDiverseSampling: {key} must be a positive integer, "
                                  f"got {val!r}")
        if feasible_only is not None and not isinstance(feasible_only, bool):
            raise ImcoptError(f"HammingDiverseSampling: feasible_only must be true, false or "
                              f"None (auto), got {feasible_only!r}")
        self.n_candidates = n_candidates
        self.feasible_only = feasible_only
        self.feasible_fn = feasible_fn
        self.max_rounds = max_rounds

    def _do(self, problem: Any, n_samples: int, *args: Any, random_state: Any = None,
            **kwargs: Any) -> np.ndarray:
        if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer) \
                or not 1 <= n_samples <= self.n_candidates:
            raise ImcoptError(f"HammingDiverseSampling: n_samples must lie in [1, n_candidates "
                              f"= {self.n_candidates}], got {n_samples!r}")
        C = random_feasible(problem, self.n_candidates, random_state,
                            self._feasible_fn(problem), self.max_rounds)
        idx = farthest_point_hamming(C, min(int(n_samples), len(C)), random_state)
        return C[idx]

    def _feasible_fn(self, problem: Any) -> FeasibleFn | None:
        if self.feasible_only is False:
            return None
        if self.feasible_fn is not None:
            return self.feasible_fn
        fn = getattr(problem, "fits", None)
        if callable(fn):
            return fn
        if self.feasible_only is None:
            return None
        raise ImcoptError(
            f"HammingDiverseSampling(feasible_only=True): problem {type(problem).__name__} "
            f"has no fits(X) capacity check; pass feasible_fn="
        )
