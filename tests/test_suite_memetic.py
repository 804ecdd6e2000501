"""imcopt-memetic: registered, exact budget, reproducible, never evaluates a design twice,
neighbourhoods as documented, and it finds the exact optimum of a small space."""

from __future__ import annotations

import numpy as np
import pytest

from problems.exhaustive import exhaustive_search
from problems.objectives import ObjectiveConfig
from problems.problem import JointIMCProblem
from problems.workloads import load_workloads
from study.algorithms import ALGORITHMS, run_algorithm
from study.backend import scenario_space
from study.config import ScenarioConfig
from study.memetic import _Search


@pytest.fixture(scope="module")
def small_problem() -> JointIMCProblem:
    space = scenario_space(ScenarioConfig(
        name="small", space="rram-paper", workloads=["alexnet", "resnet18"],
        fixed={"voltage_v": 0.7, "cycle_time_s": 6e-9, "bits_per_cell": 5,
               "glb_bytes": 4194304, "router_groups": 4}))
    return JointIMCProblem(space, load_workloads(["alexnet", "resnet18"]),
                           ObjectiveConfig(aggregate="max"))


def test_registered_with_checked_params():
    assert "imcopt-memetic" in ALGORITHMS
    with pytest.raises(Exception, match="unknown parameter"):
        ALGORITHMS["imcopt-memetic"].resolve({"nope": 1})
    with pytest.raises(Exception, match="positive integer"):
        ALGORITHMS["imcopt-memetic"].resolve({"n_init": 0})


def test_budget_reproducible_no_repeats(small_problem):
    a = run_algorithm("imcopt-memetic", small_problem, budget=150, seed=7)
    b = run_algorithm("imcopt-memetic", small_problem, budget=150, seed=7)
    c = run_algorithm("imcopt-memetic", small_problem, budget=150, seed=8)
    assert len(a) == 150
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)
    assert len(np.unique(a.X, axis=0)) == len(a)  # no design evaluated twice


def test_neighbourhoods(small_problem):
    s = _Search(small_problem, recorder=None, fits=None)  # type: ignore[arg-type]
    x = np.zeros(small_problem.n_var, np.int64)  # a corner: only +1 moves exist
    assert len(s.neighbours(x, 1)) == small_problem.n_var
    card = s.xu - s.xl + 1
    full = s.neighbours(x, None)  # every other value farther than one step
    assert len(full) == int(np.sum(np.maximum(card - 2, 0)))
    x[0] = 1
    ex = s.neighbours(x, "exchange")  # only coordinate 0 can go down
    assert len(ex) == small_problem.n_var - 1
    assert np.all(ex[:, 0] == 0) and np.all(ex.sum(axis=1) == x.sum())
    dia = s.neighbours(x, "diagonal")  # both up: any pair; both down: none (one is at 0)
    n = small_problem.n_var
    assert len(dia) == n * (n - 1) // 2
    assert np.all(np.abs(dia - x).sum(axis=1) == 2) and np.all(dia.sum(axis=1) == x.sum() + 2)


def test_finds_exact_optimum_of_small_space(small_problem):
    res = exhaustive_search(small_problem.space, small_problem.stack, small_problem.objective,
                            "physical", progress=False)
    best = 10 ** res.best_log10_score
    found = [run_algorithm("imcopt-memetic", small_problem, budget=200, seed=s).score.min()
             for s in range(3)]
    assert np.allclose(found, best, rtol=1e-9)


def test_ends_on_an_exhausted_space(small_problem):
    # a budget beyond the space's size: every design at most once, then the run ends
    a = run_algorithm("imcopt-memetic", small_problem, budget=5000, seed=1)
    assert len(np.unique(a.X, axis=0)) == len(a) <= small_problem.space.size


def test_guided_moves_rank_two_and_three_coordinate_trades(small_problem):
    # at a local optimum every single move is known; the guided stage proposes unseen
    # Hamming-2/3 moves ranked by an additive model of the single moves' changes of the
    # objective F and of the constraint values G (predicted-feasible ones first)
    import itertools

    s = _Search(small_problem, recorder=None, fits=None)  # type: ignore[arg-type]
    x = (s.xl + s.xu) // 2
    g0 = np.array([-0.5])
    s.fg[x.tobytes()] = (0.0, g0)
    rng = np.random.default_rng(0)
    dF, dG = {}, {}
    for j in range(len(x)):
        for v in range(s.xl[j], s.xu[j] + 1):
            if v != x[j]:
                y = x.copy()
                y[j] = v
                dF[(j, v)], dG[(j, v)] = rng.uniform(0.01, 1.0), rng.uniform(-0.4, 0.6)
                s.seen[y.tobytes()] = 1.0  # score irrelevant: the model reads F and G
                s.fg[y.tobytes()] = (dF[(j, v)], g0 + dG[(j, v)])

    def predicted(g: np.ndarray) -> tuple[bool, float]:
        moved = [(j, int(g[j])) for j in np.nonzero(g != x)[0]]
        return (g0[0] + sum(dG[m] for m in moved) <= 0, sum(dF[m] for m in moved))

    cand = s.guided(x, 60)
    assert len(cand) == 60
    assert set(np.sum(cand != x, axis=1).tolist()) <= {2, 3}
    assert not any(g.tobytes() in s.seen for g in cand)
    pred = [predicted(g) for g in cand]
    feas = [p[0] for p in pred]
    assert feas == sorted(feas, reverse=True)              # predicted-feasible moves first
    f_feas = [p[1] for p in pred if p[0]]
    assert f_feas == sorted(f_feas) and len(f_feas) > 0
    best = min(p[1] for h in (2, 3) for cols in itertools.combinations(range(len(x)), h)
               for vals in itertools.product(*[[v for v in range(s.xl[c], s.xu[c] + 1)
                                                if v != x[c]] for c in cols])
               for p in [predicted(_with(x, cols, vals))] if p[0])
    assert f_feas[0] == pytest.approx(best)                # the best predicted trade first


def _with(x: np.ndarray, cols: tuple[int, ...], vals: tuple[int, ...]) -> np.ndarray:
    y = x.copy()
    y[list(cols)] = vals
    return y


def test_guided_moves_fit_pair_interactions(small_problem, monkeypatch):
    # F quadratic around a local optimum x with one strong bilinear pair term (i, j): the
    # model with pair terms fitted from the evaluated +-1 pair moves (exchange and diagonal
    # stages) is exact for it, so the guided moves come in true order, the first an
    # (i, j) trade, which the additive model alone does not
    import study.memetic as mm

    s = _Search(small_problem, recorder=None, fits=None)  # type: ignore[arg-type]
    card = s.xu - s.xl + 1
    i, j = [int(c) for c in np.argsort(-card, kind="stable")[:2]]  # two widest coordinates
    assert card[i] >= 5 and card[j] >= 5
    x = s.xl + card // 2

    def f(y: np.ndarray) -> float:
        d = (y - x).astype(float)
        return float(0.5 * (d ** 2).sum() + 0.9 * d[i] * d[j] + 0.3 * d[i] ** 2)

    def put(y: np.ndarray) -> None:
        s.seen[y.tobytes()] = f(y)
        s.fg[y.tobytes()] = (f(y), np.array([-1.0]))

    put(x)
    for k in range(len(x)):  # every single move
        for v in range(s.xl[k], s.xu[k] + 1):
            if v != x[k]:
                put(_with(x, (k,), (v,)))
    for a in range(len(x)):  # the +-1 pair moves a local search has evaluated
        for b in range(a + 1, len(x)):
            for da in (-1, 1):
                for db in (-1, 1):
                    y = x.copy()
                    y[a] += da
                    y[b] += db
                    if np.all(y >= s.xl) and np.all(y <= s.xu):
                        put(y)
    best = min(f(y) for y in s.guided(x, 10 ** 6))   # over all unseen Hamming-2/3 moves
    cand = s.guided(x, 40)
    true = [f(y) for y in cand]
    assert true == sorted(true) and true[0] == pytest.approx(best)  # exact model: true order
    assert {i, j} <= set(np.nonzero(cand[0] != x)[0].tolist())
    monkeypatch.setattr(mm, "GUIDED_PAIRS", False)    # additive model only
    additive = s.guided(x, 40)
    assert f(additive[0]) > best + 0.5
