"""A study session: one backend plus the problems and identities it has built, used by ONE
process for a batch of tasks (no module-level caches: every worker process / Dask task builds
its own session, so nothing is shared or stale across studies or tests).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import numpy as np

from problems.errors import ImcoptError
from problems.fingerprint import file_digest
from problems.io import atomic_write_json
from study.config import ScenarioConfig
from study.tasks import Task, TaskBatch, part_path, scenario_fingerprint


class StudySession:
    """Executes tasks with ``backend``; problems and content identities built once each."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self._problems: dict[str, Any] = {}
        self._identities: dict[str, str] = {}

    def problem(self, scenario: ScenarioConfig, convention: str) -> Any:
        """The scenario's problem (built on first use)."""
        key = scenario_fingerprint(scenario, convention)
        if key not in self._problems:
            self._problems[key] = self.backend.build_problem(scenario, convention)
        return self._problems[key]

    def identity(self, scenario: ScenarioConfig, convention: str) -> str:
        """Content hash of the scenario's space, workloads and cost model."""
        key = scenario_fingerprint(scenario, convention)
        if key not in self._identities:
            self._identities[key] = self.backend.identity(self.problem(scenario, convention),
                                                          convention)
        return self._identities[key]

    def check_identity(self, scenario: ScenarioConfig, convention: str, expected: str) -> None:
        """A worker (e.g. a remote Dask worker) must run the same model, space and workloads."""
        if expected and self.identity(scenario, convention) != expected:
            raise ImcoptError(f"scenario {scenario.name!r}: this worker's cost model, space or "
                              f"workloads differ from the study's (install the same imcopt "
                              f"version on every Dask worker)")

    def metrics(self, scenario: ScenarioConfig, convention: str, X: np.ndarray
                ) -> list[dict[str, Any]]:
        """Design records and per-workload metrics of index vectors X."""
        return self.backend.metrics(self.problem(scenario, convention), X)

    def workload_sizes(self, scenario: ScenarioConfig, convention: str) -> list[int]:
        return self.backend.workload_sizes(self.problem(scenario, convention))

    def warm_up(self, tasks: list[Task]) -> None:
        """Build every task's problem and let the backend load what the tasks use (before
        forking workers, which then inherit it). A backend without `warm_up` skips it; a
        failing warm-up is ignored (the task that needs the same thing reports it)."""
        warm = getattr(self.backend, "warm_up", None)
        if warm is None:
            return
        groups: dict[str, tuple[ScenarioConfig, str, list[str]]] = {}
        for t in tasks:
            sc, conv = t.where
            if sc is None:
                continue
            names = groups.setdefault(scenario_fingerprint(sc, conv), (sc, conv, []))[2]
            if t.run is not None:
                names.append(t.run.algorithm.name)
        for sc, conv, names in groups.values():
            with contextlib.suppress(Exception):
                warm(self.problem(sc, conv), names)

    def execute_batch(self, tasks: tuple[Task, ...] | list[Task]) -> list[dict[str, Any]]:
        return [self.execute(t) for t in tasks]

    def execute(self, task: Task) -> dict[str, Any]:
        """Run one task in this process and write its files atomically; return its summary."""
        if task.kind == "run":
            assert task.run is not None
            self.check_identity(task.run.scenario, task.run.convention, task.run.identity)
            return self._execute_run(task)
        sc = task.scenario
        assert sc is not None
        self.check_identity(sc, task.convention, task.identity)
        fp = scenario_fingerprint(sc, task.convention, task.identity)
        t0 = time.perf_counter()
        problem = self.problem(sc, task.convention)
        if task.kind == "optimum-part":
            k, n, start, stop = task.part
            result = self.backend.optimum_part(problem, start, stop)
            result.update(scenario=sc.name, fingerprint=fp, part=[k, n, start, stop],
                          seconds=time.perf_counter() - t0)
            atomic_write_json(part_path(task.out, sc.name, k, n), result)
            return result
        if task.kind == "baselines":  # optional extra: a failure is reported, not fatal
            try:
                result = dict(self.backend.baselines(problem, task.budget))
            except Exception as exc:  # noqa: BLE001
                return {"error": f"{type(exc).__name__}: {exc}"}
            result.update(scenario=sc.name, fingerprint=fp, seconds=time.perf_counter() - t0)
            atomic_write_json(task.out / "baselines" / f"{sc.name}.json", result)
            return result
        raise ImcoptError(f"unknown task kind {task.kind!r}")

    def _execute_run(self, task: Task) -> dict[str, Any]:
        spec = task.run
        assert spec is not None
        npz, js = spec.paths(task.out)
        problem = self.problem(spec.scenario, spec.convention)
        t0 = time.perf_counter()
        archive = self.backend.run(spec.algorithm, problem, spec.budget, spec.seed)
        seconds = time.perf_counter() - t0
        npz.parent.mkdir(parents=True, exist_ok=True)
        archive.save(npz)  # atomic: temp file in the same folder + os.replace
        summary = run_summary(archive, self.backend, problem)
        summary.update(scenario=spec.scenario.name, algorithm=spec.algorithm.label,
                       algorithm_name=spec.algorithm.name, seed=spec.seed, budget=spec.budget,
                       convention=spec.convention, seconds=seconds, archive=npz.name,
                       archive_sha256=file_digest(npz), fingerprint=spec.fingerprint())
        atomic_write_json(js, summary)  # written last: its presence marks the run finished
        return summary


def run_batch(batch: TaskBatch) -> list[dict[str, Any]]:
    """Execute a batch in a fresh session (the entry point of worker processes / Dask)."""
    return StudySession(batch.backend).execute_batch(batch.tasks)


def run_summary(archive: Any, backend: Any, problem: Any) -> dict[str, Any]:
    """Best design of an archive with its per-workload metrics (JSON-ready)."""
    score = np.asarray(archive.score, float)
    n = int(score.size)
    names = backend.workload_names(problem)
    out: dict[str, Any] = {"evaluations": n, "workloads": names}
    if n == 0 or not np.any(np.isfinite(score)):
        out.update(best_score=None, feasible=False, best_design=None)
        return out
    i = int(np.argmin(score))
    out.update(
        best_score=float(score[i]), feasible=bool(np.asarray(archive.feasible)[i]),
        best_eval=int(np.asarray(archive.eval_index)[i]) + 1,
        best_x=np.asarray(archive.X)[i].tolist(),
        best_design=backend.decode(problem, np.asarray(archive.X)[i])[0],
        best_area_mm2=float(np.asarray(archive.area_mm2)[i]),
        best_energy_j=np.asarray(archive.energy_j)[i].tolist(),
        best_latency_s=np.asarray(archive.latency_s)[i].tolist(),
        best_edap_j_s_mm2=np.asarray(archive.edap)[i].tolist(),
    )
    return out
