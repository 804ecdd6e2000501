"""Benchmark: wall time of whole studies, beside the reference's 20-27 h / 99.6 h on 64 cores.

Prints, each as a line and as a JSON line at the end:
- a paper-size run: `paper-ga` (population 70, Hamming start, four phases; 2,800 evaluations =
  the paper's 40 generations x 70) on the paper's 4-workload RRAM study and 9-workload SRAM
  study, for both accounting conventions, one seed each;
- the quickstart study (`imcopt run`, configs/quickstart.yaml, --jobs 2) in a fresh folder.

    python benchmarks/bench_study.py [--skip-quickstart] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: (label, space, workloads, aggregate, reference wall time on 64 cores from PAPER.md)
PAPER_RUNS = [
    ("RRAM x paper-4 x max", "rram-paper", "paper-4", "max", "20-27 h"),
    ("SRAM x paper-9 x mean", "sram-paper-9", "paper-9", "mean", "99.6 h"),
]


def paper_size_run(space_name: str, workloads: str, aggregate: str, convention: str) -> dict:
    from problems.objectives import ObjectiveConfig
    from problems.problem import JointIMCProblem
    from problems.spaces import SearchSpace
    from problems.workloads import load_workloads
    from study.algorithms import run_algorithm

    problem = JointIMCProblem(SearchSpace.load(space_name), load_workloads(workloads),
                              ObjectiveConfig(aggregate=aggregate), convention=convention)
    t0 = time.perf_counter()
    archive = run_algorithm("paper-ga", problem, budget=2800, seed=0)
    return {"seconds": time.perf_counter() - t0, "evaluations": int(archive.n_eval),
            "best_score": float(archive.best_score)}


def main(argv: list[str] | None = None) -> int:
    from problems.errors import ImcoptError

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-quickstart", action="store_true")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args(argv)
    out: dict[str, object] = {"cpu_count": os.cpu_count(), "paper_size_runs": []}
    for label, space, wl, agg, ref in PAPER_RUNS:
        for convention in ("physical", "cimloop"):
            try:
                r = paper_size_run(space, wl, agg, convention)
            except ImcoptError as exc:   # a convention that cannot model the workloads
                print(f"paper-size run {label:<24} {convention:<9}      n/a ({exc})",
                      flush=True)
                continue
            r.update(label=label, convention=convention, reference_64_cores=ref)
            out["paper_size_runs"].append(r)
            print(f"paper-size run {label:<24} {convention:<9} {r['seconds']:8.1f} s "
                  f"({r['evaluations']} evaluations, one core; reference {ref} on 64 cores)",
                  flush=True)
    if not a.skip_quickstart:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "study.cli.main", "run", "--out",
                                   str(Path(tmp) / "qs"), "--jobs", str(a.jobs),
                                   "--no-progress"], cwd=ROOT, capture_output=True, text=True)
            secs = time.perf_counter() - t0
        if proc.returncode != 0:
            print(proc.stdout + proc.stderr, file=sys.stderr)
            return proc.returncode
        out["quickstart_seconds"] = secs
        print(f"quickstart study (imcopt run, --jobs {a.jobs}): {secs:.1f} s wall "
              f"(target <= 15 s on 2 cores)")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
