"""The optimizers as plain pymoo: `minimize` with PaperGA / TunedGA / make_moea / make_de gives
the registry's run seed for seed, the exact budget never raises, and plain pymoo algorithms
(continuous operators) give decodable results on JointIMCProblem."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers_search import tiny_space, tiny_workloads
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.core.termination import TerminateIfAny
from pymoo.optimize import minimize
from pymoo.termination.max_eval import MaximumFunctionCallTermination
from pymoo.termination.max_gen import MaximumGenerationTermination
from test_optimizers import SyntheticProblem

from problems.errors import ImcoptError
from problems.objectives import ObjectiveConfig
from problems.problem import JointIMCProblem
from study.algorithms import ALGORITHMS, SOURCES, objective_variant, run_algorithm
from study.paper_ga import PaperGA, TunedGA
from study.pymoo_algorithms import make_de, make_moea
from study.recorder import ArchiveRecorder
from study.sampling import HammingDiverseSampling


@pytest.fixture(scope="module")
def problem() -> SyntheticProblem:
    return SyntheticProblem()


SMALL_START = {"n_candidates": 300, "n_diverse": 150}


@pytest.mark.parametrize("name, make, params", [
    ("paper-ga", lambda: PaperGA(**SMALL_START), SMALL_START),
    ("tuned-ga", lambda: TunedGA(**SMALL_START), SMALL_START),
    ("ga", lambda: PaperGA(sampling="random", schedule="constant"), None),
    ("ga-phases", lambda: PaperGA(sampling="random"), None),
    ("nsga2", lambda: make_moea("nsga2"), None),
    ("nsga3", lambda: make_moea("nsga3", n_partitions=10), None),
    ("de", lambda: make_de(), None),
])
def test_minimize_gives_the_registry_run(name: str, make, params,
                                         problem: SyntheticProblem) -> None:
    budget, seed = 717, 11  # 717: the last generation is cut
    kind = ALGORITHMS[name].objective_kind
    res = minimize(objective_variant(problem, kind), make(), ("n_eval", budget), seed=seed)
    via_minimize = res.algorithm.evaluator.archive()
    via_registry = run_algorithm(name, problem, budget, seed, params)
    assert via_registry.meta["restarts"] == 0  # one pymoo run: the two paths can agree
    assert np.array_equal(via_minimize.X, via_registry.X)
    assert np.array_equal(via_minimize.score, via_registry.score)
    assert res.algorithm.evaluator.n_eval == budget


def test_minimize_stops_at_the_budget_without_raising(problem: SyntheticProblem) -> None:
    # cut inside the Hamming start (100 < 150 evaluated candidates) and inside a generation
    for budget in (100, 517):
        res = minimize(problem, PaperGA(pop_size=40, **SMALL_START), ("n_eval", budget), seed=2)
        rec = res.algorithm.evaluator
        assert rec.n_eval == rec.n_recorded == budget and len(rec.archive()) == budget
        best = rec.archive()
        assert res.F[0] == pytest.approx(np.log10(best.best_score))  # the result is kept
        assert not res.opt[0].get("over_budget")
    # an explicit budget wins over the termination; composite terminations are searched
    res = minimize(problem, GA(pop_size=30, evaluator=ArchiveRecorder(250)),
                   ("n_eval", 10_000), seed=0)
    assert res.algorithm.evaluator.n_eval == 250
    stop = TerminateIfAny(MaximumFunctionCallTermination(333), MaximumGenerationTermination(99))
    res = minimize(problem, PaperGA(**SMALL_START), stop, seed=0)
    assert res.algorithm.evaluator.n_recorded == 333


def test_over_budget_individuals_rank_last(problem: SyntheticProblem) -> None:
    from pymoo.core.population import Population

    from study.initialization import rank_population

    rec = ArchiveRecorder(3)
    pop = Population.new("X", np.random.default_rng(0).integers(0, 5, size=(5, 9)))
    rec.eval(problem, pop)
    assert rec.n_eval == 3 and rec.remaining == 0
    assert [bool(ind.get("over_budget")) for ind in pop] == [False] * 3 + [True] * 2
    assert np.all(np.isinf(pop[3:].get("F"))) and set(rank_population(pop)[-2:]) == {3, 4}
    assert rec.evaluate(problem, pop.get("X")) == {}  # nothing left: no evaluation, no error


def test_archive_dedup_needs_a_recorder(problem: SyntheticProblem) -> None:
    from pymoo.core.evaluator import Evaluator

    with pytest.raises(ImcoptError, match="ArchiveRecorder"):
        minimize(problem, TunedGA(evaluator=Evaluator()), ("n_eval", 200), seed=0)
    with pytest.raises(ImcoptError, match="dedup"):
        PaperGA(dedup="never")


@pytest.fixture(scope="module")
def joint() -> JointIMCProblem:
    return JointIMCProblem(tiny_space(), tiny_workloads(), ObjectiveConfig(aggregate="max"))


def test_plain_pymoo_algorithms_give_decodable_designs(joint: JointIMCProblem) -> None:
    """pymoo's default (continuous) operators: X is rounded and written back."""
    for algorithm, prob in ((GA(pop_size=20), joint),
                            (NSGA2(pop_size=20), objective_variant(joint, "multi"))):
        res = minimize(prob, algorithm, ("n_eval", 200), seed=1)
        X = np.atleast_2d(res.X)
        assert np.array_equal(X, np.rint(X))  # integral although the operators are float
        designs = joint.space.decode(X)
        assert len(designs) == len(X)
        # the design decoded is the one evaluated: re-evaluating gives the same objectives
        again = prob.evaluate(X.astype(np.int64), return_values_of=["F"])
        assert np.allclose(again, np.atleast_2d(res.F))
        pop_X = res.algorithm.pop.get("X")
        assert np.array_equal(pop_X, np.rint(pop_X))


def test_registry_specs_have_sources_and_defaults() -> None:
    assert {s.source for s in ALGORITHMS.values()} <= set(SOURCES)
    assert ALGORITHMS["paper-ga"].source == "paper" and ALGORITHMS["nsga2"].source == "pymoo"
    assert ALGORITHMS["tuned-ga"].source == "imcopt"
    d = ALGORITHMS["paper-ga"].to_dict()
    assert d["parameters"]["pop_size"]["default"] == 70
    assert d["parameters"]["n_diverse"]["default"] == 500
    assert d["parameters"]["schedule"]["default"] == "paper"
    assert d["library"] == "study.paper_ga.PaperGA"


# ------------------------------------------------------------------------------ imcopt algorithms
def _cli(*args: str):
    from click.testing import CliRunner

    from study.cli.main import cli

    return CliRunner().invoke(cli, ["algorithms", *args])


def test_cli_algorithms_list_and_show() -> None:
    res = _cli("list")
    assert res.exit_code == 0, res.output
    rows = {ln.split()[0]: ln.split() for ln in res.output.splitlines()[1:]}
    assert set(rows) == set(ALGORITHMS)
    assert rows["paper-ga"][1:3] == ["paper", "single"] and rows["nsga2"][1] == "pymoo"
    data = json.loads(_cli("list", "--json").output)
    assert [d["name"] for d in data] == list(ALGORITHMS)
    assert all(d["source"] in SOURCES for d in data)
    res = _cli("show", "de")
    assert res.exit_code == 0, res.output
    assert "source: pymoo" in res.output and "study.pymoo_algorithms.make_de" in res.output
    row = next(ln.split() for ln in res.output.splitlines() if ln.strip().startswith("CR "))
    assert row[1] == "0.9"
    shown = json.loads(_cli("show", "tuned-ga", "--json").output)
    assert shown["parameters"]["pop_size"]["default"] == 30
    assert shown["parameters"]["dedup"]["default"] == "archive"
    # every documented default is what the registry really runs with
    for name, spec in ALGORITHMS.items():
        d = json.loads(_cli("show", name, "--json").output)
        assert {k: v["default"] for k, v in d["parameters"].items()} == \
            {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in spec.defaults.items()}
        assert all(v["help"] for v in d["parameters"].values()), name


def test_cli_algorithms_unknown_name_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    from study.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["algorithms", "show", "paper-gaa"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: unknown algorithm 'paper-gaa'") and "Traceback" not in err


def test_hamming_sampling_works_as_a_plain_pymoo_sampling(problem: SyntheticProblem) -> None:
    """Used directly as GA(sampling=...): pop_size rows, evaluated by pymoo as usual."""
    rec = ArchiveRecorder()
    ga = GA(pop_size=30, sampling=HammingDiverseSampling(n_candidates=200), evaluator=rec)
    minimize(problem, ga, ("n_eval", 90), seed=4, copy_algorithm=False)
    start = rec.archive().X[:30]
    assert rec.n_recorded == 90 and len(np.unique(start, axis=0)) == 30
    d = (start[:, None, :] != start[None, :, :]).sum(-1)[np.triu_indices(30, 1)]
    rand = np.random.default_rng(4).integers(problem.xl, problem.xu + 1, size=(30, 9))
    d_rand = (rand[:, None, :] != rand[None, :, :]).sum(-1)[np.triu_indices(30, 1)]
    assert d.min() >= d_rand.min() and d.mean() > d_rand.mean()
