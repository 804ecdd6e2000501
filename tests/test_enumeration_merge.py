"""Merging enumeration slices: a slice without any feasible design (empty front) merges."""

from __future__ import annotations

from study.config import ScenarioConfig
from study.enumeration import merge_optimum


class _Session:
    """Only what merge_optimum asks of a session: metrics of designs and workload sizes."""

    def metrics(self, scenario, convention, X):
        return [{"design": {"x": list(map(int, x))}, "workloads": ["a"], "score": 1.0,
                 "area_mm2": 1.0, "energy_j": [1.0], "latency_s": [1.0],
                 "edap_j_s_mm2": [1.0]} for x in X]

    def workload_sizes(self, scenario, convention):
        return [1]


def _part(k: int, front: list, front_x: list, best: float | None) -> dict:
    return {"part": [k, 2, 0, 0], "n_designs": 10, "n_feasible": len(front), "seconds": 0.1,
            "best_x": front_x[0] if front_x else None, "best_log10": best,
            "front_log10": front, "front_x": front_x,
            "workload_best_x": [front_x[0] if front_x else [0, 0]],
            "workload_best_log10": [best]}


def test_slice_without_feasible_design_merges() -> None:
    sc = ScenarioConfig(name="s", space="rram-paper", workloads="paper-4")
    empty = _part(0, [], [], None)
    full = _part(1, [[0.0, 1.0, 2.0], [1.0, 0.0, 2.0]], [[1, 2], [3, 4]], -1.0)
    opt, base = merge_optimum([empty, full], _Session(), sc, "physical")
    assert opt["n_feasible"] == 2 and opt["x"] == [1, 2]
    assert opt["front_x"] == [[1, 2], [3, 4]] and len(opt["front"]) == 2
    opt0, _ = merge_optimum([empty, _part(1, [], [], None)], _Session(), sc, "physical")
    assert opt0["score"] is None and opt0["front"] == []
