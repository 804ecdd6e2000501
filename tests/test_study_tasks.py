"""The task model: one hash scheme, run fingerprints that change with what a run depends on,
integrity checks of run files, and the one non-dominated filter against brute force."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from test_study_fakes import FakeBackend
from test_study_runner import write_config

from problems.fingerprint import digest
from problems.pareto import nondominated_mask
from study.config import load_study
from study.session import StudySession
from study.tasks import RunSpec, Task, plan_study, run_status


def test_digest_is_canonical_and_content_sensitive() -> None:
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": [1, 2], "a": 1})
    assert digest({"a": 1}) != digest({"a": 2})
    assert len(digest({"a": 1}, 16)) == 16 and digest({"a": 1}).startswith(digest({"a": 1}, 16))


def test_run_fingerprint_follows_budget_seed_and_identity(tmp_path: Path) -> None:
    cfg = load_study(write_config(tmp_path, seeds=1))
    sc, alg = cfg.scenarios[0], cfg.algorithms[0]
    base = RunSpec(sc, alg, 0, 40, "physical", "m1").fingerprint()
    others = [RunSpec(sc, alg, 1, 40, "physical", "m1"), RunSpec(sc, alg, 0, 41, "physical", "m1"),
              RunSpec(sc, alg, 0, 40, "cimloop", "m1"), RunSpec(sc, alg, 0, 40, "physical", "m2")]
    assert len({base, *(r.fingerprint() for r in others)}) == 5


def test_run_status_detects_damage(tmp_path: Path) -> None:
    cfg = load_study(write_config(tmp_path, seeds=1))
    spec = RunSpec(cfg.scenarios[0], cfg.algorithms[0], 0, 30, "physical", "fake-model-v1")
    out = tmp_path / "o"
    assert run_status(spec, out)[1] == "missing"
    StudySession(FakeBackend()).execute(Task("run", out, run=spec))
    rec, status, _ = run_status(spec, out)
    assert status == "ok" and rec["evaluations"] == 30
    npz, js = spec.paths(out)
    data = npz.read_bytes()
    npz.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one flipped bit
    _, status, path = run_status(spec, out)
    assert status.startswith("damaged") and "checksum" in status and path == npz
    npz.write_bytes(data)
    js.write_text(js.read_text()[:40])  # a truncated summary
    _, status, path = run_status(spec, out)
    assert status.startswith("damaged (not valid JSON") and path == js
    identities = {s.name: "fake-model-v1" for s in cfg.scenarios}
    plan = plan_study(cfg, out, lambda s: 120, identities, baselines=False)
    assert (js, status[len("damaged ("):-1]) in plan.damaged


@settings(max_examples=60, deadline=None)
@given(F=arrays(float, st.tuples(st.integers(1, 200), st.integers(1, 4)),
                elements=st.one_of(st.integers(0, 5).map(float), st.just(np.inf))))
def test_nondominated_mask_matches_brute_force(F: np.ndarray) -> None:
    mask = nondominated_mask(F)
    for i in range(len(F)):
        finite = np.all(np.isfinite(F), axis=1)
        dominated = np.any(np.all(F[i] >= F, axis=1) & np.any(F[i] > F, axis=1) & finite)
        first = not np.any(np.all(F[:i] == F[i], axis=1))
        assert mask[i] == (bool(finite[i]) and not dominated and first)
