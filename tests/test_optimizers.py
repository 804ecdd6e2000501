"""Optimizers: Hamming sampling, integer operators, phase schedule, archive, algorithm registry."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.core.problem import Problem
from pymoo.termination.max_eval import MaximumFunctionCallTermination

from problems.errors import ImcoptError
from problems.objectives import ObjectiveConfig
from study.algorithms import ALGORITHMS, run_algorithm, sequential_levels
from study.archive import Archive
from study.operators import PhasePM, PhaseSBX, cross_sbx_int, mut_pm_int
from study.recorder import ArchiveRecorder
from study.sampling import HammingDiverseSampling, farthest_point_hamming
from study.schedule import Phase, PhaseSchedule

NAMES = ("voltage_v", "bits_per_cell", "cycle_time_s", "xbar_rows", "xbar_cols",
         "router_groups", "tiles_per_group", "macros_per_tile", "glb_bytes")
CARDS = (8, 8, 6, 5, 5, 6, 5, 6, 7)


class _Space:
    def __init__(self, names: tuple[str, ...], cards: tuple[int, ...]) -> None:
        self.names = list(names)
        self.cardinalities = np.array(cards)
        self.n_var = len(cards)
        self.size = int(np.prod(cards))
        self.name = "synthetic"


class SyntheticProblem(Problem):
    """Two-workload toy with the JointIMCProblem outputs (F, G, score, energy_j, ...)."""

    def __init__(self, cards: tuple[int, ...] = CARDS, names: tuple[str, ...] = NAMES,
                 objective: ObjectiveConfig | None = None) -> None:
        self.space = _Space(names, cards)
        self.objective = objective or ObjectiveConfig()
        self.workload_names = ["w0", "w1"]
        n_obj = {"single": 1, "multi": 3}[self.objective.kind]
        super().__init__(n_var=len(cards), n_obj=n_obj, n_ieq_constr=2, xl=0,
                         xu=np.array(cards) - 1, vtype=int)
        rng = np.random.default_rng(123)
        self.c = rng.random((2, len(cards)))
        self.d = rng.random((2, len(cards)))

    def with_objective(self, objective: ObjectiveConfig) -> SyntheticProblem:
        return SyntheticProblem(tuple(self.space.cardinalities), tuple(self.space.names),
                                objective)

    def _evaluate(self, X, out, *args, **kwargs):
        t = np.asarray(X, dtype=float) / (self.space.cardinalities - 1)
        E = np.exp(3 * ((t[:, None, :] - self.c[None]) ** 2).sum(-1))  # (n, 2)
        L = np.exp(2 * ((t[:, None, :] - self.d[None]) ** 2).sum(-1))
        A = 10 * np.exp(((t - 0.3) ** 2).sum(-1))
        g = 1.5 - t.sum(axis=1)
        flag = (np.asarray(X)[:, -1] == 0).astype(float)  # 0/1 flag: ties in CV, like the real G
        feas = (g <= 0) & (flag == 0)
        score = np.where(feas, E.max(1) * L.max(1) * A, np.inf)
        if self.objective.kind == "single":
            out["F"] = np.log10(E.max(1) * L.max(1) * A)[:, None]
        else:
            out["F"] = np.log10(np.stack([E.max(1), L.max(1), A], axis=1))
        out["G"] = np.stack([g, flag], axis=1)
        out["score"] = score
        out["energy_j"], out["latency_s"] = E, L
        out["edap"] = E * L * A[:, None]
        out["area_mm2"] = A
        out["is_feasible"] = feas


@pytest.fixture(scope="module")
def problem() -> SyntheticProblem:
    return SyntheticProblem()


# ------------------------------------------------------------------------------ sampling
def _min_pairwise(X: np.ndarray) -> tuple[int, float]:
    D = (X[:, None, :] != X[None, :, :]).sum(-1)
    iu = np.triu_indices(len(X), 1)
    return int(D[iu].min()), float(D[iu].mean())


def test_hamming_selection_is_more_spread_than_random() -> None:
    rng = np.random.default_rng(0)
    X = rng.integers(0, 4, size=(1000, 9))
    idx = farthest_point_hamming(X, 60, np.random.default_rng(1))
    assert len(set(idx.tolist())) == 60
    picked_min, picked_mean = _min_pairwise(X[idx])
    rand_min, rand_mean = _min_pairwise(X[rng.choice(1000, 60, replace=False)])
    assert picked_min > rand_min
    assert picked_mean > rand_mean
    # greedy property: pick i maximises its distance to picks 0..i-1
    for i in range(1, 10):
        d_prev = np.min([np.not_equal(X, X[j]).sum(1) for j in idx[:i]], axis=0)
        assert d_prev[idx[i]] == d_prev.max()


def test_hamming_sampling_honours_n_samples_and_evaluates_nothing(
        problem: SyntheticProblem) -> None:
    calls: list[int] = []

    class Counting(SyntheticProblem):
        def _evaluate(self, X, out, *args, **kwargs):
            calls.append(len(X))
            super()._evaluate(X, out, *args, **kwargs)

    counting = Counting()
    s = HammingDiverseSampling(n_candidates=300)
    pop = s.do(counting, 37, random_state=np.random.default_rng(0))
    X = pop.get("X")
    assert X.shape == (37, 9) and calls == []
    assert len(np.unique(X, axis=0)) == 37
    with pytest.raises(ImcoptError, match="n_samples"):
        s.do(counting, 301, random_state=np.random.default_rng(0))


def test_best_of_sample_initialization_counts_its_evaluations(
        problem: SyntheticProblem) -> None:
    from study.initialization import BestOfSampleInitialization

    recorder = ArchiveRecorder(200)
    ga = GA(pop_size=30, crossover=PhaseSBX(), mutation=PhasePM(), eliminate_duplicates=True)
    ga.initialization = BestOfSampleInitialization(HammingDiverseSampling(n_candidates=300),
                                                   n_evaluate=120)
    ga.setup(problem, termination=MaximumFunctionCallTermination(200), seed=3,
             evaluator=recorder)
    ga.next()  # initialization: 120 evaluations, best 30 kept
    assert recorder.n_recorded == 120 and ga.evaluator.n_eval == 120
    arch = recorder.archive()
    kept = np.sort(ga.pop.get("score"))
    assert np.allclose(kept, np.sort(arch.score)[:30])


def test_feasible_only_sampling_and_errors(problem: SyntheticProblem) -> None:
    fits = lambda X: X.sum(axis=1) > 25  # noqa: E731
    s = HammingDiverseSampling(n_candidates=200, feasible_only=True, feasible_fn=fits)
    X = s.do(problem, 10, random_state=np.random.default_rng(0)).get("X")
    assert X.shape == (10, 9) and np.all(X.sum(axis=1) > 25)
    never = HammingDiverseSampling(n_candidates=20, feasible_only=True,
                                   feasible_fn=lambda X: X[:, 0] < 0, max_rounds=3)
    with pytest.raises(ImcoptError, match="no feasible design"):
        never.do(problem, 5, random_state=np.random.default_rng(0))
    with pytest.raises(ImcoptError, match="fits"):  # asked for, but the problem has no check
        HammingDiverseSampling(feasible_only=True).do(problem, 5)
    with pytest.raises(ImcoptError, match="n_candidates"):
        HammingDiverseSampling(n_candidates=0)


# ------------------------------------------------------------------------------ operators
def _in_bounds(A: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> bool:
    return bool(np.all(np.greater_equal(A, lo) & np.less_equal(A, hi)))


def _close_mean(v: np.ndarray, target: float) -> bool:
    """Sample mean within 5 standard errors of ``target``."""
    v = np.asarray(v, dtype=float).ravel()
    return abs(v.mean() - target) < 5 * v.std() / np.sqrt(v.size) + 1e-12


def test_integer_operators_unbiased_and_in_bounds() -> None:
    rng = np.random.default_rng(0)
    n = 40000
    xl, xu = np.array([0, 0, 3]), np.array([10, 1, 3])
    P = np.empty((2, n, 3), dtype=np.int64)
    P[0], P[1] = [3, 0, 3], [7, 1, 3]
    Q = cross_sbx_int(P, xl, xu, eta=3.0, prob_var=1.0, random_state=rng)
    assert Q.dtype.kind == "i" and _in_bounds(Q, xl, xu)
    assert _close_mean(Q[..., 0], 5.0)  # parents' mean, no rounding drift
    assert _close_mean(Q[..., 1], 0.5)
    assert np.all(Q[..., 2] == 3)  # fixed variable stays fixed
    assert Q[..., 0].min() == 0 and Q[..., 0].max() == 10  # bounds are reachable
    # far from the bounds SBX is mean-preserving: integer mean tracks the parents' mean
    P2 = np.empty((2, n, 1), dtype=np.int64)
    P2[0], P2[1] = 40, 43
    Q2 = cross_sbx_int(P2, np.array([0]), np.array([100]), 3.0, 1.0, rng)
    assert _close_mean(Q2, 41.5)
    Y = mut_pm_int(np.tile([5, 0, 3], (n, 1)), xl, xu, eta=3.0, prob_var=1.0, random_state=rng)
    assert Y.dtype.kind == "i" and _in_bounds(Y, xl, xu)
    assert _close_mean(Y[:, 0], 5.0)
    assert (Y[:, 0] != 5).mean() > 0.5  # mutation does move integer values
    Y2 = mut_pm_int(np.full((n, 1), 50), np.array([0]), np.array([100]), 20.0, 1.0, rng)
    assert _close_mean(Y2, 50.0)


# ------------------------------------------------------------------------------ schedule
def test_schedule_paper_defaults_and_validation(tmp_path: Path) -> None:
    s = PhaseSchedule.paper()
    assert s.starts == (0.0, 0.25, 0.5, 0.75)
    assert [(p.sbx_prob, p.sbx_eta, p.pm_prob, p.pm_eta) for p in s.phases] == [
        (1.0, 3.0, 1.0, 3.0), (0.9, 7.0, 0.5, 7.0), (1.0, 15.0, 0.2, 15.0),
        (1.0, 25.0, 0.05, 25.0)]
    assert [s.index_at(f) for f in (0, 0.2499, 0.25, 0.6, 0.99)] == [0, 0, 1, 2, 3]
    assert PhaseSchedule.from_dict(s.to_dict()) == s
    import yaml
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(s.to_dict()))
    assert PhaseSchedule.from_yaml(path) == s
    with pytest.raises(ImcoptError, match="unknown key"):
        PhaseSchedule.from_dict({"phases": [{"sbx_prob": 1, "sbx_eta": 3, "pm_prob": 1,
                                             "pm_eta": 3, "bogus": 1}]})
    with pytest.raises(ImcoptError, match="increase"):
        PhaseSchedule(s.phases, (0.0, 0.5, 0.4, 0.8))
    with pytest.raises(ImcoptError, match="probability"):
        Phase("x", 1.5, 3, 1, 3)


def test_phases_switch_at_evaluation_counts(problem: SyntheticProblem) -> None:
    seen: list[tuple[int, str]] = []

    class Spy(PhaseSBX):
        def do(self, problem, pop, parents=None, *args, **kwargs):
            out = super().do(problem, pop, parents, *args, **kwargs)
            seen.append((kwargs["algorithm"].evaluator.n_eval, self._phase.name))
            return out

    budget = 1000
    sched = PhaseSchedule.paper()
    ga = GA(pop_size=40, crossover=Spy(sched), mutation=PhasePM(sched),
            eliminate_duplicates=True)
    from study.sampling import IntegerRandomSampling
    ga.sampling = IntegerRandomSampling()
    ga.initialization.sampling = IntegerRandomSampling()
    recorder = ArchiveRecorder(budget)
    ga.setup(problem, termination=MaximumFunctionCallTermination(budget), seed=0,
             evaluator=recorder)
    while ga.has_next():  # the last batch is cut at the budget; nothing is raised
        ga.next()
    names = [p.name for p in sched.phases]
    assert {name for _, name in seen} == set(names)
    for n_eval, name in seen:
        assert names.index(name) == int(n_eval // (budget // 4)), (n_eval, name)
    first = {name: min(n for n, nm in seen if nm == name) for name in names}
    assert first["transition"] == min(n for n, _ in seen if n >= 250)
    assert recorder.n_recorded == budget


# ------------------------------------------------------------------------------ archive
def test_archive_round_trip(tmp_path: Path, problem: SyntheticProblem) -> None:
    arch = run_algorithm("random-search", problem, budget=250, seed=4)
    assert np.all(np.diff(arch.best_so_far()) <= 0)
    assert arch.best_so_far()[-1] == arch.score.min() == arch.score[arch.best()]
    path = arch.save(tmp_path / "run.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]  # no temp file left behind
    back = Archive.load(path)
    for f in dataclasses.fields(Archive):
        a, b = getattr(arch, f.name), getattr(back, f.name)
        if f.name == "meta":
            assert a == b
        else:
            assert a.dtype == b.dtype and np.array_equal(a, b)
    assert back.feasible.dtype == bool and back.X.dtype.kind == "i"
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ImcoptError):
        Archive.load(tmp_path / "bad.npz")
    with pytest.raises(ImcoptError, match="not found"):
        Archive.load(tmp_path / "missing.npz")


# ------------------------------------------------------------------------------ registry
# agemoea2 is left out: numba's JIT compile alone takes ~20 s; it runs through the same
# pymoo runner as nsga2 (tested here) and is exercised by benchmarks/bench_optimizers.py.
@pytest.mark.parametrize("name", sorted(set(ALGORITHMS) - {"agemoea2"}))
def test_budget_is_exact(name: str, problem: SyntheticProblem) -> None:
    budget = 317  # not a multiple of any population size
    arch = run_algorithm(name, problem, budget=budget, seed=1)
    assert len(arch) == budget
    assert np.array_equal(arch.eval_index, np.arange(budget))
    assert arch.X.shape == (budget, problem.n_var)
    assert _in_bounds(arch.X, problem.xl, problem.xu)
    assert arch.meta["algorithm"] == name and arch.meta["budget"] == budget
    assert np.isfinite(arch.best_score)


def test_exhaustive_small_space_and_multiobjective_scores() -> None:
    small = SyntheticProblem(cards=(3, 4, 5), names=("xbar_rows", "voltage_v", "glb_bytes"))
    arch = run_algorithm("exhaustive", small, budget=1000)
    assert len(arch) == 60 and len(np.unique(arch.X, axis=0)) == 60
    assert len(run_algorithm("exhaustive", small, budget=25)) == 25
    arch = run_algorithm("nsga2", small, budget=120, seed=0)
    assert arch.F.shape == (120, 3)
    ref = small.evaluate(arch.X, return_values_of=["F"], return_as_dictionary=True)["score"]
    assert np.array_equal(arch.score, ref)  # the aggregated EDAP, not a multi-objective F


@pytest.mark.parametrize("name", ["paper-ga", "tuned-ga", "nsga2", "nsga3", "smsemoa", "de",
                                  "sequential", "random-search"])
def test_determinism_per_seed(name: str, problem: SyntheticProblem) -> None:
    a = run_algorithm(name, problem, budget=300, seed=7)
    b = run_algorithm(name, problem, budget=300, seed=7)
    c = run_algorithm(name, problem, budget=300, seed=8)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.score, b.score)
    assert not np.array_equal(a.X, c.X)


def test_paper_ga_beats_random_search(problem: SyntheticProblem) -> None:
    ga = [run_algorithm("paper-ga", problem, 1000, s).best_score for s in range(3)]
    rs = [run_algorithm("random-search", problem, 1000, s).best_score for s in range(3)]
    assert np.median(ga) < np.median(rs)


def test_params_are_validated(problem: SyntheticProblem) -> None:
    with pytest.raises(ImcoptError, match=r"bogus.*allowed.*pop_size"):
        run_algorithm("paper-ga", problem, 100, params={"bogus": 1})
    with pytest.raises(ImcoptError, match="unknown algorithm"):
        run_algorithm("nope", problem, 100)
    with pytest.raises(ImcoptError, match="pop_size"):
        run_algorithm("ga", problem, 100, params={"pop_size": 0})
    with pytest.raises(ImcoptError, match="budget"):
        run_algorithm("ga", problem, 0)
    arch = run_algorithm("ga", problem, 150, params={"pop_size": 10, "schedule": "paper"})
    assert len(arch) == 150 and arch.meta["params"]["pop_size"] == 10
    with pytest.raises(ImcoptError, match="dedup"):
        run_algorithm("ga", problem, 100, params={"dedup": "never"})


def test_archive_dedup_never_pays_twice(problem: SyntheticProblem) -> None:
    from pymoo.core.population import Population

    from study.recorder import ArchiveDuplicateElimination

    recorder = ArchiveRecorder(50)
    seen = np.array([[1, 2, 3, 4, 0, 1, 2, 3, 4], [0] * 9])
    recorder.evaluate(problem, seen)
    pop = Population.new("X", np.array([[1, 2, 3, 4, 0, 1, 2, 3, 4], [1] * 9, [1] * 9]))
    kept = ArchiveDuplicateElimination(recorder).do(pop)
    assert kept.get("X").tolist() == [[1] * 9]  # seen design and in-batch twin dropped
    arch = run_algorithm("ga", problem, 400, seed=0, params={"pop_size": 20, "dedup": "archive"})
    assert len(arch) == 400 and len(np.unique(arch.X, axis=0)) == 400


def test_sequential_levels_follow_the_paper(problem: SyntheticProblem) -> None:
    levels = sequential_levels(problem)
    names = problem.space.names
    assert [lv for lv, _ in levels] == ["device", "circuit", "architecture", "system"]
    assert [names[j] for j in levels[1][1]] == ["xbar_rows", "xbar_cols"]
    assert [names[j] for j in levels[3][1]] == ["voltage_v", "cycle_time_s"]


# ------------------------------------------------------------------------------ real problem
@pytest.fixture(scope="module")
def rram_problem():
    from problems.problem import JointIMCProblem
    from problems.spaces import SearchSpace
    from problems.workloads import load_workloads

    return JointIMCProblem(SearchSpace.load("rram-paper"), load_workloads("paper-4"),
                           ObjectiveConfig(aggregate="max"), convention="physical")


def test_real_problem_paper_ga_and_baselines(rram_problem) -> None:
    from study.baselines import deploy, largest_workload, largest_workload_design

    arch = run_algorithm("paper-ga", rram_problem, budget=900, seed=0)
    assert len(arch) == 900 and arch.F.shape == (900, 1)
    assert arch.feasible.any() and np.isfinite(arch.best_score)
    assert np.array_equal(np.isfinite(arch.score), arch.feasible)
    assert largest_workload(rram_problem) == "vgg16"
    base = largest_workload_design(rram_problem, algorithm="ga", budget=400, seed=0)
    assert base.workload == "vgg16" and base.archive is not None and len(base.archive) == 400
    joint = deploy(rram_problem, np.stack([arch.X[arch.best()], base.x]))
    assert joint["edap"].shape == (2, 4)
    assert joint["score"][0] == pytest.approx(arch.best_score)
