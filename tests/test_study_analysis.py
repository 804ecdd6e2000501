"""Analysis numbers: statistics with known values, indicators, and the per-algorithm table of a
study whose archives are synthetic (every gap and hitting time chosen in advance)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats as sps
from test_study_fakes import FakeBackend, fake_optimum

from study.analysis import analyse, evaluations_to_reach
from study.archive import Archive
from study.cli.main import main
from study.config import load_study
from study.indicators import hypervolume, igd_plus, nondominated, nondominated_mask
from study.runner import run_study
from study.stats import a12, friedman, holm, mann_whitney, pairwise_tests


# -- statistics ------------------------------------------------------------------------------
def test_a12_known_values() -> None:
    assert a12([1, 2, 3], [1, 2, 3]) == 0.5
    assert a12([4, 5], [1, 2]) == 1.0
    assert a12([1, 2], [4, 5]) == 0.0
    # pairs (1,2) (1,3) (2,2) (2,3): one tie, no win -> 0.5 / 4
    assert a12([1, 2], [2, 3]) == pytest.approx(0.125)


def test_holm_known_values() -> None:
    # sorted 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, max(0.04*1, 0.06)=0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1, monotone
    assert holm([0.2]) == pytest.approx([0.2])
    assert holm([]).size == 0


def test_mann_whitney_matches_scipy_and_handles_ties() -> None:
    x, y = [1.0, 2.0, 3.5, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 3.0]
    u, p = mann_whitney(x, y)
    ref = sps.mannwhitneyu(x, y, alternative="two-sided")
    assert (u, p) == pytest.approx((ref.statistic, ref.pvalue))
    assert mann_whitney([2.0, 2.0], [2.0, 2.0, 2.0])[1] == 1.0


def test_pairwise_tests_holm_and_effect_sizes() -> None:
    groups = {"a": [1, 2, 3, 4, 5], "b": [6, 7, 8, 9, 10], "c": [1.5, 2.5, 3.5, 4.5, 5.5]}
    df = pairwise_tests(groups).set_index(["a", "b"])
    ab = df.loc[("a", "b")]
    assert ab["p_value"] == pytest.approx(2 / 252)  # exact: the most extreme of C(10,5)
    assert ab["a12_a_better"] == 1.0 and ab["effect"] == "large"
    raw = df["p_value"].to_numpy()
    assert df["p_holm"].to_numpy() == pytest.approx(holm(raw))
    assert ab["significant"] and ab["better"] == "a"
    ac = df.loc[("a", "c")]
    assert not ac["significant"] and ac["better"] == ""
    assert 0.5 < ac["a12_a_better"] < 1


def test_friedman_known_value_and_applicability() -> None:
    # 4 scenarios, algorithm ranks always 1 < 2 < 3: chi2 = 12/(4*3*4)*(16+64+144) - 48 = 8
    table = pd.DataFrame({"A": [1, 10, 100, 5], "B": [2, 20, 200, 6], "C": [3, 30, 300, 7]},
                         index=["s1", "s2", "s3", "s4"])
    r = friedman(table)
    assert r["statistic"] == pytest.approx(8.0)
    assert r["p_value"] == pytest.approx(np.exp(-4.0))
    assert r["mean_ranks"] == {"A": 1.0, "B": 2.0, "C": 3.0}
    few = friedman(table[["A", "B"]])
    assert few["p_value"] is None and "3 algorithms" in few["note"]


# -- indicators ------------------------------------------------------------------------------
def test_nondominated_and_log_space_indicators() -> None:
    F = np.array([[1, 10], [10, 1], [10, 10], [1, 10], [5, 5], [np.inf, 0.1]])
    assert nondominated_mask(F).tolist() == [True, True, False, False, True, False]
    assert nondominated(F).tolist() == [[1, 10], [5, 5], [10, 1]]
    ref = np.array([[1.0, 10.0], [10.0, 1.0]])  # log-normalised to (0, 1), (1, 0)
    assert hypervolume([[1.0, 1.0]], ref) == pytest.approx(1.1 ** 2)  # the ideal point
    assert hypervolume([[10.0, 10.0]], ref) == pytest.approx(0.1 ** 2)  # the nadir point
    assert hypervolume([[100.0, 100.0]], ref) == 0.0  # beyond the reference point
    assert hypervolume(ref, ref) == pytest.approx(1.1 ** 2 - 1.0)
    assert igd_plus(ref, ref) == 0.0
    assert igd_plus([[10.0, 10.0]], ref) == pytest.approx(1.0)


def test_evaluations_to_reach() -> None:
    assert evaluations_to_reach(np.array([5.0, 4.0, 3.0, 2.0]), 3.0) == 3.0
    assert np.isnan(evaluations_to_reach(np.array([5.0, 4.0]), 1.0))


# -- a study with synthetic archives ---------------------------------------------------------
GAPS = {"paper-ga": ([0.0, 0.02, 0.04, 0.10], [5, 10, 15, 20]),
        "random-search": ([0.2, 0.3, 0.5, 0.01], [30, 30, 30, 30])}


class SyntheticBackend(FakeBackend):
    """Runs whose final best is optimum * (1 + gap), first reached at a chosen evaluation."""

    def run(self, algorithm, problem, budget, seed):  # noqa: ANN001, ANN201
        arc = super().run(algorithm, problem, budget, seed)
        opt = fake_optimum()
        gap, at = GAPS[algorithm.name][0][seed], GAPS[algorithm.name][1][seed]
        score = np.full(budget, 5.0 * opt)
        score[0] = 3.0 * opt
        score[at - 1] = (1 + gap) * opt
        return Archive(X=arc.X, F=np.log10(score)[:, None], G=arc.G, score=score,
                       feasible=np.ones(budget, bool), energy_j=arc.energy_j,
                       latency_s=arc.latency_s, edap=arc.edap, area_mm2=arc.area_mm2,
                       eval_index=arc.eval_index, meta=arc.meta)


@pytest.fixture(scope="module")
def synthetic_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("synthetic")
    cfg = tmp / "s.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "synthetic", "output": str(tmp / "out"), "budget": 40, "seeds": 4,
        "scenarios": [{"name": "toy", "space": "rram-paper", "workloads": "paper-4",
                       "exact_optimum": True}],
        "algorithms": ["paper-ga", "random-search"]}))
    return run_study(load_study(cfg), jobs=1, backend=SyntheticBackend(), progress=False,
                     plots=False)


def test_algorithm_table_on_synthetic_archives(synthetic_study: Path) -> None:
    a = analyse(synthetic_study)
    t = a["table"].set_index("algorithm")
    pg, rs = t.loc["paper-ga"], t.loc["random-search"]
    opt = fake_optimum()
    assert pg["median_best_j_s_mm2"] == pytest.approx(1.03 * opt)
    assert pg["iqr_best_j_s_mm2"] == pytest.approx((1.055 - 1.015) * opt)
    assert pg["median_gap_pct"] == pytest.approx(3.0)
    assert (pg["success_rate_5pct"], pg["success_rate_1pct"]) == (0.75, 0.25)
    assert pg["median_evals_to_5pct"] == 12.5 and pg["reached_5pct"] == 3
    assert np.isinf(pg["median_evals_to_1pct"]) and pg["reached_1pct"] == 1
    assert rs["median_gap_pct"] == pytest.approx(25.0)
    assert (rs["success_rate_5pct"], rs["median_evals_to_5pct"]) == (0.25, np.inf)
    assert (pg["reference"], pg["reference_j_s_mm2"]) == ("exact", pytest.approx(opt))
    m = a["metrics"].set_index(["algorithm", "seed"])
    assert m.loc[("paper-ga", 1), "evals_to_5pct"] == 10
    assert m.loc[("paper-ga", 1), "evals_to_1pct"] != m.loc[("paper-ga", 1), "evals_to_1pct"]
    assert ((m["hv"] > 0) & (m["hv"] <= 1.1 ** 3) & (m["igd_plus"] >= 0)).all()
    pw = a["pairwise"]["toy"].iloc[0]
    assert pw["a12_a_better"] == pytest.approx(13 / 16)
    s = json.loads((synthetic_study / "summary.json").read_text())["scenarios"][0]
    algs = {x["name"]: x for x in s["algorithms"]}
    assert algs["paper-ga"]["median_gap"] == pytest.approx(0.03)
    assert algs["random-search"]["success_rate_5pct"] == 0.25


def test_cli_compare_plot_report(synthetic_study: Path, tmp_path: Path, capsys) -> None:
    main(["compare", str(synthetic_study)])
    out = capsys.readouterr().out
    assert "scenario toy" in out and "paper-ga" in out and "12.5 (3/4)" in out
    assert "Mann-Whitney" in out and "Friedman test not applicable" in out
    main(["plot", str(synthetic_study)])
    pngs = sorted(p.name for p in (synthetic_study / "plots").glob("*.png"))
    assert pngs == ["baselines_toy.png", "convergence_toy.png", "final_scores.png",
                    "fronts_toy.png", "parameters_toy.png"]
    assert all((synthetic_study / "plots" / p).read_bytes()[:4] == b"\x89PNG" for p in pngs)
    main(["report", str(synthetic_study), "--no-plots"], obj={"backend": SyntheticBackend()})
    report = (synthetic_study / "report.md").read_text()
    assert "| paper-ga | 4 |" in report and "plots/convergence_toy.png" in report
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(tmp_path)])
    assert exc.value.code == 2
    assert "not a study directory" in capsys.readouterr().err


def test_report_of_a_study_without_finished_runs(synthetic_study: Path, tmp_path: Path) -> None:
    (tmp_path / "study.json").write_text((synthetic_study / "study.json").read_text())
    main(["report", str(tmp_path), "--no-plots"], obj={"backend": SyntheticBackend()})
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary == {"scenarios": [{"name": "toy", "optimum": None, "algorithms": []}]}
    assert "0 of 8 runs finished" in (tmp_path / "report.md").read_text()
