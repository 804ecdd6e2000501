"""Searches that evaluate designs directly through an `ArchiveRecorder` (no pymoo algorithm):
uniform random search and enumeration in index order — the two reference baselines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from problems.errors import ImcoptError
from study.recorder import ArchiveRecorder
from study.sampling import random_feasible

__all__ = ["enumerate_designs", "feasible_fn", "random_search"]


def feasible_fn(problem: Any, feasible_only: bool | None) -> Callable | None:
    """The problem's cheap ``fits(X)`` check when asked for (``None``: when it has one)."""
    fn = getattr(problem, "fits", None)
    if feasible_only is None:
        return fn if callable(fn) else None
    if not feasible_only:
        return None
    if not callable(fn):
        raise ImcoptError(f"feasible_only=True but problem {type(problem).__name__} has no "
                          f"fits(X) capacity check")
    return fn


def random_search(problem: Any, recorder: ArchiveRecorder, seed: int, batch_size: int = 700,
                  feasible_only: bool = False) -> None:
    """Uniform random designs (optionally only ones passing ``fits``) until the budget is
    used, ``batch_size`` per evaluation call."""
    rng = np.random.default_rng(seed)
    fn = feasible_fn(problem, feasible_only) if feasible_only else None
    xl = np.asarray(problem.xl, dtype=np.int64)
    xu = np.asarray(problem.xu, dtype=np.int64)
    while recorder.remaining > 0:
        n = int(min(batch_size, recorder.remaining))
        if fn is None:
            X = rng.integers(xl, xu + 1, size=(n, problem.n_var), dtype=np.int64)
        else:
            X = random_feasible(problem, n, rng, fn)
        recorder.evaluate(problem, X)


def enumerate_designs(problem: Any, recorder: ArchiveRecorder, batch_size: int = 8192) -> None:
    """Designs in flat index order (last variable fastest) until the space or the budget ends."""
    cards = tuple(int(c) for c in np.asarray(problem.xu) - np.asarray(problem.xl) + 1)
    size = int(np.prod(cards, dtype=object))
    stop = int(min(size, recorder.remaining))
    xl = np.asarray(problem.xl, dtype=np.int64)
    for start in range(0, stop, batch_size):
        flat = np.arange(start, min(start + batch_size, stop), dtype=np.int64)
        X = np.stack(np.unravel_index(flat, cards), axis=1).astype(np.int64) + xl
        recorder.evaluate(problem, X)
