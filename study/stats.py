"""Statistics for comparing optimisers over seeds: Mann-Whitney U with Holm correction,
Vargha-Delaney A12 effect size, and the Friedman test across scenarios (scipy.stats)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from problems.errors import ImcoptError


def a12(x: Sequence[float], y: Sequence[float]) -> float:
    """Vargha-Delaney A12: P(X > Y) + 0.5 P(X = Y) for one draw from each sample.

    0.5 = no effect; for minimisation, ``a12(y, x)`` is the probability that x is better.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if x.size == 0 or y.size == 0:
        raise ImcoptError("A12 needs two non-empty samples")
    gt = (x[:, None] > y[None, :]).sum()
    eq = (x[:, None] == y[None, :]).sum()
    return float((gt + 0.5 * eq) / (x.size * y.size))


def a12_magnitude(a: float) -> str:
    """Vargha-Delaney's labels for |A12 - 0.5|: negligible / small / medium / large."""
    d = abs(a - 0.5)
    if d < 0.06:
        return "negligible"
    if d < 0.14:
        return "small"
    if d < 0.21:
        return "medium"
    return "large"


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni step-down adjusted p-values (same order as given, capped at 1)."""
    p = np.asarray(pvalues, float)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    adj_sorted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adj_sorted, 1.0)
    return out


def mann_whitney(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Two-sided Mann-Whitney U test -> (U statistic of x, p-value); p = 1 if all equal."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if x.size == 0 or y.size == 0:
        raise ImcoptError("Mann-Whitney U needs two non-empty samples")
    both = np.concatenate([x, y])
    if np.all(both == both[0]):
        return float(x.size * y.size / 2), 1.0
    res = stats.mannwhitneyu(x, y, alternative="two-sided")
    return float(res.statistic), float(res.pvalue)


def pairwise_tests(groups: Mapping[str, Sequence[float]], alpha: float = 0.05) -> pd.DataFrame:
    """All pairs of algorithms (final scores, lower is better): U test, Holm, A12.

    ``a12_a_better`` is P(score of a < score of b) + 0.5 P(equal).
    """
    cols = ["a", "b", "n_a", "n_b", "median_a", "median_b", "u", "p_value", "p_holm",
            "a12_a_better", "effect", "significant", "better"]
    names = [k for k, v in groups.items() if len(v) > 0]
    rows: list[dict[str, Any]] = []
    for a, b in combinations(names, 2):
        xa = _finite(groups[a])
        xb = _finite(groups[b])
        u, p = mann_whitney(xa, xb)
        eff = a12(xb, xa)
        rows.append({"a": a, "b": b, "n_a": xa.size, "n_b": xb.size,
                     "median_a": float(np.median(xa)), "median_b": float(np.median(xb)),
                     "u": u, "p_value": p, "a12_a_better": eff,
                     "effect": a12_magnitude(eff)})
    df = pd.DataFrame(rows, columns=[c for c in cols if c not in ("p_holm", "significant",
                                                                  "better")])
    df["p_holm"] = holm(df["p_value"].to_numpy()) if len(df) else []
    df["significant"] = df["p_holm"] < alpha
    df["better"] = np.where(~df["significant"], "",
                            np.where(df["a12_a_better"] > 0.5, df["a"], df["b"]))
    return df[cols]


def _finite(v: Sequence[float]) -> np.ndarray:
    """Scores with inf (no feasible design) kept comparable: replaced by a huge value."""
    a = np.asarray(v, float)
    return np.where(np.isfinite(a), a, np.finfo(float).max)


def friedman(table: pd.DataFrame) -> dict[str, Any]:
    """Friedman test: rows are blocks (scenarios), columns are algorithms, lower is better.

    Returns statistic, p-value and mean rank per algorithm (rank 1 = best); the test needs
    at least 2 blocks and 3 algorithms (``statistic``/``p_value`` are None otherwise).
    """
    t = table.dropna(axis=0, how="any")
    ranks = t.apply(lambda r: pd.Series(stats.rankdata(_finite(r.to_numpy())), index=r.index),
                    axis=1) if len(t) else t
    mean_ranks = {c: float(ranks[c].mean()) for c in t.columns} if len(t) else {}
    out: dict[str, Any] = {"n_blocks": int(len(t)), "n_algorithms": int(t.shape[1]),
                           "mean_ranks": mean_ranks, "statistic": None, "p_value": None,
                           "note": ""}
    if t.shape[1] < 3 or len(t) < 2:
        out["note"] = (f"needs >= 2 scenarios and >= 3 algorithms (have {len(t)} and "
                       f"{t.shape[1]})")
        return out
    cols = [_finite(t[c].to_numpy()) for c in t.columns]
    if np.all(np.ptp(np.vstack(cols), axis=0) == 0):
        out.update(statistic=0.0, p_value=1.0, note="all algorithms tied in every scenario")
        return out
    res = stats.friedmanchisquare(*cols)
    out.update(statistic=float(res.statistic), p_value=float(res.pvalue))
    return out
