"""Run algorithms on suite instances with the resumable study runner.

Each instance becomes one study (its own budget) in ``DIR/<id>/``; the stored exact optima are
copied to ``DIR/optima/`` so the directory is self-contained, and ``DIR/suite.json`` records
what was asked. Re-running resumes: finished runs are skipped by the runner.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from problems.errors import ImcoptError
from problems.io import atomic_write_json
from study.suite.instances import Instance, load_optimum, optimum_status
from study.tasks import read_json

#: the default comparison: the paper's GA and its relatives, MOEA, DE, random search, ours
DEFAULT_ALGORITHMS: tuple[str, ...] = (
    "imcopt-memetic", "paper-ga", "tuned-ga", "ga", "ga-hamming", "nsga2", "de", "random-search")
SCREEN_ALGORITHMS: tuple[str, ...] = ("random-search", "ga")
SCREEN_FIRST_SEED = 2000  # screening seeds are disjoint from tuning (1000+) and report (0..)


def check_algorithms(names: list[str]) -> list[str]:
    """Registry names, checked; one ImcoptError naming the unknown ones."""
    from study.algorithms import ALGORITHMS

    unknown = [a for a in names if a not in ALGORITHMS]
    if unknown:
        raise ImcoptError(f"unknown algorithm(s) {unknown}; allowed: {sorted(ALGORITHMS)}")
    if len(set(names)) != len(names):
        raise ImcoptError(f"algorithms listed twice in {names}")
    return list(names)


def run_suite(instances: list[Instance], algorithms: list[str], seeds: list[int], out: Path,
              jobs: int | None = None, progress: bool = True,
              log: Callable[[str], None] | None = None,
              optima_dir: Path | None = None) -> dict[str, Any]:
    """Run every (instance, algorithm, seed) at the instance's budget; return timings."""
    from study.runner import run_study

    say = log or (lambda msg: None)
    algorithms = check_algorithms(algorithms)
    bad = [(i.id, s) for i in instances if (s := optimum_status(i, optima_dir)) != "ok"]
    if bad:
        raise ImcoptError("exact optimum missing or stale for "
                          + ", ".join(f"{i} ({s})" for i, s in bad)
                          + "; run 'imcopt suite optima' first")
    out = Path(out)
    try:
        (out / "optima").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImcoptError(f"cannot create output directory {str(out)!r}: {exc}") from None
    for inst in instances:
        atomic_write_json(out / "optima" / f"{inst.id}.json", load_optimum(inst, optima_dir))
    meta = read_json(out / "suite.json")[0] or {}
    # a resumed or extended run keeps what earlier calls added (the report reads them all)
    meta.update(instances=_union(meta.get("instances", []), [i.id for i in instances]),
                algorithms=_union(meta.get("algorithms", []), algorithms),
                seeds=sorted(set(meta.get("seeds", [])) | set(seeds)),
                budgets={**meta.get("budgets", {}), **{i.id: i.budget for i in instances}})
    timings = dict(meta.get("timings", {}))
    t_all = time.perf_counter()
    for k, inst in enumerate(instances):
        say(f"[{k + 1}/{len(instances)}] {inst.id}: {len(algorithms)} algorithms x "
            f"{len(seeds)} seeds at {inst.budget} evaluations")
        cfg = inst.study_config(algorithms, seeds, out / inst.id, exact=False)
        t0 = time.perf_counter()
        run_study(cfg, out=out / inst.id, jobs=jobs, progress=progress, finalize=False,
                  **_no_baselines(run_study))
        timings[inst.id] = time.perf_counter() - t0
        meta["timings"] = timings
        atomic_write_json(out / "suite.json", meta)
    meta["wall_seconds_last_call"] = time.perf_counter() - t_all
    atomic_write_json(out / "suite.json", meta)
    return meta


def _union(a: list[str], b: list[str]) -> list[str]:
    return list(dict.fromkeys([*a, *b]))


def _no_baselines(fn: Callable[..., Any]) -> dict[str, Any]:
    """``baselines=False`` when the runner accepts it (the suite scores against optima)."""
    import inspect

    return {"baselines": False} if "baselines" in inspect.signature(fn).parameters else {}
