"""The best designs an exact search has seen so far (`Incumbents`): the top-k, the exact
(aggregated E, aggregated L, area term) Pareto front, each workload's specialist and the
feasible count, kept across batches of scored designs in any order (the enumeration's chunks,
the branch and bound's blocks) with ties broken by the lower flat enumeration index, so the
result is the same as one pass in enumeration order.
"""

from __future__ import annotations

import numpy as np

from problems.pareto import pareto_indices


class Incumbents:
    """The best designs seen so far: top-k, (E, L, A) front, per-workload specialists and the
    feasible count. `add` takes scored designs in any order and any batches: ties are broken
    by the lower flat enumeration index throughout, so the result is the same as one pass in
    enumeration order."""

    def __init__(self, top_k: int, n_w: int) -> None:
        self.top_k = top_k
        self.top_ls = np.zeros(0)
        self.top_flat = np.zeros(0, dtype=np.int64)
        self.front_F = np.zeros((0, 3))
        self.front_flat = np.zeros(0, dtype=np.int64)
        self.wbest = np.full(n_w, np.inf)
        self.wbest_flat = np.full(n_w, -1, dtype=np.int64)
        self.n_feasible = 0

    @property
    def kth(self) -> float:
        """The k-th best score so far (+inf while fewer than k feasible designs are known)."""
        return float(self.top_ls[-1]) if self.top_ls.size == self.top_k else np.inf

    def add(self, flat: np.ndarray, r: dict[str, np.ndarray]) -> None:
        """Designs ``flat`` (n,) scored by `JointIMCProblem.screened_scores` (``r``)."""
        feas = r["feasible"]
        self.n_feasible += int(feas.sum())
        self.add_top(flat[feas], r["log10_score"][feas])
        self.add_front(flat[feas], r["parts_log10"][feas])
        self.add_specialists(flat, r["workload_log10"])

    def add_top(self, flat: np.ndarray, log10_score: np.ndarray) -> None:
        """Feasible designs ``flat`` (n,) with their log10 scores, into the top-k."""
        top_k, ls, fl = self.top_k, log10_score, flat
        if ls.size > top_k:   # every design tied with the k-th (ties -> lower index)
            kth = np.partition(ls, top_k - 1)[top_k - 1]
            sel = np.flatnonzero(ls <= kth)
            ls, fl = ls[sel], fl[sel]
        ls = np.concatenate([self.top_ls, ls])
        fl = np.concatenate([self.top_flat, fl])
        order = np.lexsort((fl, ls))[:top_k]
        self.top_ls, self.top_flat = ls[order], fl[order]

    def add_front(self, flat: np.ndarray, parts_log10: np.ndarray) -> None:
        """Feasible designs ``flat`` (n,) with their (agg E, agg L, area term) logs, into the
        Pareto front."""
        if parts_log10.shape[0] == 0:
            return
        allF = np.concatenate([self.front_F, parts_log10])
        allflat = np.concatenate([self.front_flat, flat])
        # ties of objective vectors keep the lower flat index: sort by flat first
        o = np.argsort(allflat, kind="stable")
        allF, allflat = allF[o], allflat[o]
        keep = pareto_indices(allF)
        self.front_F, self.front_flat = allF[keep], allflat[keep]

    def add_specialists(self, flat: np.ndarray, workload_log10: np.ndarray) -> None:
        """Designs ``flat`` (n,) with their per-workload log10 EDAPs (n, n_w; +inf where not
        feasible for that workload), into each workload's best (ties -> the lower index)."""
        W = workload_log10
        if W.shape[0] == 0:
            return
        v = W.min(axis=0)
        cand = np.where(v[None, :] == W, flat[:, None], np.iinfo(np.int64).max).min(axis=0)
        better = (v < self.wbest) | ((v == self.wbest) & np.isfinite(v)
                                     & (cand < self.wbest_flat))
        self.wbest[better] = v[better]
        self.wbest_flat[better] = cand[better]
