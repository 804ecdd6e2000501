"""SNR in the joint problem: the min_snr_db constraint (with its reason), the SNR objective,
the study-config keys and `imcopt evaluate` output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from problems.errors import ImcoptError
from problems.exhaustive import exhaustive_search
from problems.hardware.snr import evaluate_snr
from problems.objectives import ObjectiveConfig
from problems.problem import JointIMCProblem
from problems.spaces import SearchSpace
from problems.workloads import load_workloads
from study.cli.main import cli
from study.config import parse_study

SPACE = {"name": "tiny-accuracy", "variables": [
    {"name": "adc_bits", "values": [3, 5, 8], "unit": "bit"},
    {"name": "bits_per_cell", "values": [1, 2, 4], "unit": "bit"},
    {"name": "xbar_rows", "values": [64, 256], "unit": "rows"}],
    "fixed": {"memory": "RRAM", "xbar_cols": 128, "router_groups": 8, "tiles_per_group": 16,
              "macros_per_tile": 32, "glb_bytes": 8388608}}


def _space() -> SearchSpace:
    return SearchSpace.from_dict(SPACE)


def _all(space: SearchSpace) -> np.ndarray:
    return np.array(np.meshgrid(*[np.arange(c) for c in space.cardinalities],
                                indexing="ij")).reshape(space.n_var, -1).T


def test_constraint_makes_low_snr_designs_infeasible_with_reason() -> None:
    space, ws = _space(), load_workloads("resnet18,alexnet")
    free = JointIMCProblem(space, ws)
    target = JointIMCProblem(space, ws, ObjectiveConfig(min_snr_db={"resnet18": 20.0}))
    X = _all(space)
    a, b = free.evaluate_batch(X), target.evaluate_batch(X)
    assert "snr_db" not in a and b["G"].shape == (len(X), 2 + 2 + 2)
    snr = evaluate_snr(space.decode(X), target.stack).snr_db
    np.testing.assert_allclose(b["snr_db"], snr)
    low = snr[:, 0] < 20.0
    assert low.any() and (~low).any()
    assert not b["feasible"][low].any()
    assert np.all(b["feasible"][~low] == a["feasible"][~low])
    assert np.all(b["snr_ok"][:, 0] == ~low) and np.all(b["snr_ok"][:, 1])  # alexnet free
    assert np.all(b["G"][low, 4] > 0) and np.all(b["G"][:, 5] <= 0)
    assert np.all(np.isinf(b["score"][low]))
    # the exact optimum under the target meets it and is no better than without it
    opt = exhaustive_search(space, ws, ObjectiveConfig(min_snr_db={"resnet18": 20.0}))
    opt0 = exhaustive_search(space, ws, ObjectiveConfig())
    best = target.evaluate_batch(opt.best_x[None, :])
    assert best["snr_db"][0, 0] >= 20.0 and opt.best_score >= opt0.best_score


def test_snr_objective_in_multi_form_and_ignored_by_single() -> None:
    space, ws = _space(), load_workloads("resnet18")
    multi = JointIMCProblem(space, ws, ObjectiveConfig(kind="multi", snr_objective=True))
    single = JointIMCProblem(space, ws, ObjectiveConfig(kind="single", snr_objective=True))
    assert multi.n_obj == 4 and single.n_obj == 1 and multi.n_ieq_constr == 3
    r = multi.evaluate_batch(_all(space))
    np.testing.assert_allclose(r["F"][:, 3], -np.minimum(r["snr_db"].min(axis=1), 100) / 10)
    with pytest.raises(ImcoptError, match="min_snr_db"):
        ObjectiveConfig(min_snr_db="high")
    with pytest.raises(ImcoptError, match="adc_range"):
        ObjectiveConfig(snr_adc_range="half")
    d = ObjectiveConfig(min_snr_db={"vgg16": 25}).to_dict()
    assert ObjectiveConfig.from_dict(d).min_snr_db == {"vgg16": 25.0}


def _study(tmp_path: Path, scenario: dict) -> dict:
    return {"name": "acc", "output": str(tmp_path / "out"), "algorithms": ["paper-ga"],
            "scenarios": [{"name": "s", "space": "rram-paper", "workloads": "paper-4"}
                          | scenario]}


def test_study_config_keys(tmp_path: Path) -> None:
    cfg = parse_study(_study(tmp_path, {
        "constraints": {"area_budget_mm2": 500, "min_snr_db": {"vgg16": 25, "default": 18}},
        "snr": {"adc_range": "clipped", "objective": True}, "objective": "multi"}))
    sc = cfg.scenarios[0]
    assert sc.min_snr_db == {"vgg16": 25.0, "default": 18.0}
    assert sc.snr_objective_fields() == {"min_snr_db": sc.min_snr_db,
                                         "snr_adc_range": "clipped", "snr_objective": True}
    again = parse_study(cfg.to_dict())
    assert again.scenarios[0].min_snr_db == sc.min_snr_db
    assert again.scenarios[0].snr == sc.snr
    plain = parse_study(_study(tmp_path, {}))
    assert "snr" not in plain.to_dict()["scenarios"][0]
    with pytest.raises(ImcoptError) as err:
        parse_study(_study(tmp_path, {"constraints": {"min_snr_db": "high"},
                                      "snr": {"adc_range": "half", "colour": 1}}))
    msg = str(err.value)
    assert "unknown key(s) ['colour']" in msg and "adc_range 'half'" in msg
    with pytest.raises(ImcoptError, match="min_snr_db = 'high' must be a finite number"):
        parse_study(_study(tmp_path, {"constraints": {"min_snr_db": "high"}}))


def test_study_config_unknown_workload_in_target(tmp_path: Path) -> None:
    with pytest.raises(ImcoptError, match="unknown workload.*vgg61"):
        parse_study(_study(tmp_path, {"constraints": {"min_snr_db": {"vgg61": 20}}}))


def test_evaluate_cli_gives_snr(tmp_path: Path) -> None:
    run = CliRunner().invoke(cli, ["evaluate", "--xbar-rows", "128", "--adc-bits", "5", "-w",
                                   "resnet18,alexnet", "--json", "--snr-layers"])
    assert run.exit_code == 0, run.output
    data = json.loads(run.output)
    for w in data["workloads"]:
        layers = [x["layer_snr_db"] for x in w["layers"]]
        assert w["snr_db"] == pytest.approx(min(layers))
    assert data["snr_model"]["adc_range"] == "full-range"
    text = CliRunner().invoke(cli, ["evaluate", "-w", "resnet18", "--snr-adc-range", "clipped"])
    assert text.exit_code == 0 and "output SNR (clipped ADC" in text.output
    bad = CliRunner().invoke(cli, ["evaluate", "--snr-adc-range", "half"])
    assert bad.exit_code == 2 and "Error" in bad.output
