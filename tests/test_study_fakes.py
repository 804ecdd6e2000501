"""A small, fast stand-in for the cost model used by the study tests (and their subprocesses).

`FakeBackend` implements the `study.backend.Backend` interface on a 120-design toy space with two
workloads, so runner / resume / Dask / analysis tests do not depend on the real model's speed.
Runs are deterministic functions of (algorithm, seed). Tests here check the fake itself.
"""

from __future__ import annotations

import time
import zlib
from typing import Any

import numpy as np

from study.archive import Archive
from study.backend import Backend

CARD = (6, 5, 4)
SIZE = int(np.prod(CARD))
NAMES = ["wa", "wb"]


def _params(X: np.ndarray) -> dict[str, np.ndarray]:
    X = np.atleast_2d(np.asarray(X, np.int64))
    return {"xbar_rows": 32 * 2 ** X[:, 0], "xbar_cols": 32 * 2 ** X[:, 1],
            "voltage_v": 0.5 + 0.1 * X[:, 2]}


def fake_eval(X: np.ndarray, area_budget: float = 800.0) -> dict[str, np.ndarray]:
    """E (J), L (s), A (mm^2) per design x workload, score = max E * max L * A."""
    p = _params(X)
    r, c, v = p["xbar_rows"] / 32.0, p["xbar_cols"] / 32.0, p["voltage_v"]
    area = 5.0 * r * c + 3.0 * v
    E = np.stack([1e-3 * v ** 2 * (1 + 2 / r) * (1 + 0.3 * c),
                  2e-3 * v ** 2 * (1 + 4 / c) * (1 + 0.2 * r)], axis=1)
    L = np.stack([1e-2 / v / np.sqrt(r * c) + 1e-4 * r,
                  3e-2 / v / c + 2e-4 * c], axis=1)
    feasible = area <= area_budget
    score = np.where(feasible, E.max(axis=1) * L.max(axis=1) * area, np.inf)
    return {"energy_j": E, "latency_s": L, "area_mm2": area, "edap": E * L * area[:, None],
            "score": score, "feasible": feasible}


class FakeProblem:
    def __init__(self, area_budget: float) -> None:
        self.workload_names = list(NAMES)
        self.area_budget = area_budget


class FakeBackend(Backend):
    """Toy backend: same interface as `study.backend.Backend`."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    def build_problem(self, scenario: Any, convention: str) -> FakeProblem:
        return FakeProblem(scenario.area_budget_mm2)

    def identity(self, problem: Any, convention: str) -> str:
        return "fake-model-v1"

    def space_size(self, scenario: Any) -> int:
        return SIZE

    def decode(self, problem: Any, X: np.ndarray) -> list[dict[str, Any]]:
        p = _params(X)
        n = len(p["xbar_rows"])
        return [{"memory": "RRAM", **{k: v[i].item() for k, v in p.items()}} for i in range(n)]

    def workload_names(self, problem: Any) -> list[str]:
        return list(problem.workload_names)

    def run(self, algorithm: Any, problem: Any, budget: int, seed: int) -> Archive:
        if self.delay:
            time.sleep(self.delay)
        rng = np.random.default_rng([zlib.crc32(algorithm.name.encode()), seed])
        X = rng.integers(0, CARD, size=(budget, 3))
        if "ga" in algorithm.name:  # local search around the best of the first half
            half = budget // 2
            s = fake_eval(X[:half], problem.area_budget)["score"]
            b = X[int(np.argmin(s))]
            step = rng.integers(-1, 2, size=(budget - half, 3))
            X[half:] = np.clip(b + step, 0, np.array(CARD) - 1)
        r = fake_eval(X, problem.area_budget)
        n = len(X)
        return Archive(X=X, F=np.log10(r["score"])[:, None], G=np.zeros((n, 1)),
                       score=r["score"], feasible=r["feasible"], energy_j=r["energy_j"],
                       latency_s=r["latency_s"], edap=r["edap"], area_mm2=r["area_mm2"],
                       eval_index=np.arange(n), meta={"algorithm": algorithm.name,
                                                      "seed": seed})

    def optimum_part(self, problem: Any, start: int, stop: int) -> dict[str, Any]:
        from study.indicators import nondominated_mask

        flat = np.arange(start, stop)
        X = np.stack(np.unravel_index(flat, CARD), axis=1)
        r = fake_eval(X, problem.area_budget)
        ok = r["feasible"]
        i = int(np.argmin(r["score"]))
        P = np.column_stack([r["energy_j"].max(1), r["latency_s"].max(1), r["area_mm2"]])
        P = np.where(ok[:, None], P, np.inf)
        m = nondominated_mask(P)
        W = np.where(ok[:, None], r["edap"], np.inf)
        wb = np.argmin(W, axis=0)
        return {"n_designs": len(flat), "n_feasible": int(ok.sum()),
                "best_x": X[i].tolist() if ok[i] else None,
                "best_log10": float(np.log10(r["score"][i])) if ok[i] else None,
                "front_log10": np.log10(P[m]).tolist(), "front_x": X[m].tolist(),
                "workload_best_x": X[wb].tolist(),
                "workload_best_log10": [float(np.log10(W[wb[w], w])) for w in range(2)]}

    def metrics(self, problem: Any, X: np.ndarray) -> list[dict[str, Any]]:
        X = np.atleast_2d(np.asarray(X))
        r = fake_eval(X, problem.area_budget)
        recs = self.decode(None, X)
        return [{"design": recs[i], "workloads": list(NAMES),
                 "score": float(r["score"][i]), "area_mm2": float(r["area_mm2"][i]),
                 "energy_j": r["energy_j"][i].tolist(), "latency_s": r["latency_s"][i].tolist(),
                 "edap_j_s_mm2": r["edap"][i].tolist()} for i in range(len(X))]

    def workload_sizes(self, problem: Any) -> list[int]:
        return [1, 2]

    def baselines(self, problem: Any, budget: int) -> dict[str, Any]:
        raise NotImplementedError("no baselines without enumeration in the fake")

    def designs(self, scenario: Any, X: np.ndarray) -> list[dict[str, Any]]:
        return self.decode(None, X)


def fake_optimum(area_budget: float = 800.0) -> float:
    X = np.stack(np.unravel_index(np.arange(SIZE), CARD), axis=1)
    return float(fake_eval(X, area_budget)["score"].min())


# -- tests of the fake itself ----------------------------------------------------------------
def test_fake_runs_are_deterministic_and_use_the_budget() -> None:
    from study.config import AlgorithmConfig

    b = FakeBackend()
    p = b.build_problem(type("S", (), {"area_budget_mm2": 800.0})(), "physical")
    a1 = b.run(AlgorithmConfig("paper-ga"), p, 50, 3)
    a2 = b.run(AlgorithmConfig("paper-ga"), p, 50, 3)
    a3 = b.run(AlgorithmConfig("paper-ga"), p, 50, 4)
    assert len(a1) == 50
    assert np.array_equal(a1.X, a2.X)
    assert not np.array_equal(a1.X, a3.X)
    assert a1.best_score >= fake_optimum()
