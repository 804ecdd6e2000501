"""How much grouped-conv packing moved the paper's exact optima (physical convention).

For each physical paper study (`configs/paper/*.yaml`, one entry per distinct scenario) this
enumerates the space with the old mapping (`deployment: {packing: one-per-group}`, one crossbar
per group) and takes the block-diagonal optimum (today's default) from the study's own
`optimum/<scenario>.json` under --raw (or enumerates it too when that file is missing), then
writes results/paper/PACKING.json, which `paper_report.py` turns into a table.

Usage: python scripts/paper_packing.py [--raw results/paper/raw] [--out results/paper/PACKING.json]
       [--studies rram4-max,sram4-max]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

from problems.errors import ImcoptError
from problems.exhaustive import exhaustive_search
from problems.io import atomic_write_json
from study.backend import Backend
from study.config import load_study

#: physical studies with distinct scenarios (sequential / ablations repeat rram4-max's)
STUDIES = ("rram4-max", "rram4-mean", "rram4-product", "sram4-max", "sram9-mean", "tech-cost")


def enumerate_optimum(scenario: Any, packing: str) -> dict[str, Any]:
    """Exact optimum of a physical scenario with the given grouped-conv packing."""
    dep = dict(scenario.deployment or {}) | {"packing": packing}
    sc = dataclasses.replace(scenario, deployment=dep)
    backend = Backend()
    problem = backend.build_problem(sc, "physical")
    t0 = time.perf_counter()
    res = exhaustive_search(problem.space, problem.stack, problem.objective, "physical",
                            top_k=1, progress=False)
    design = None if res.best_x is None else backend.decode(problem, res.best_x)[0]
    return {"score": None if res.best_x is None else float(10.0 ** res.best_log10_score),
            "n_feasible": int(res.n_feasible), "n_designs": int(res.n_designs),
            "design": design, "seconds": time.perf_counter() - t0}


def from_study(raw: Path, name: str) -> dict[str, Any] | None:
    """The block-diagonal optimum a study already enumerated (None if it has none)."""
    f = raw / name / "optimum" / f"{name}.json"
    if not f.is_file():
        return None
    o = json.loads(f.read_text())
    return {"score": o["score"], "n_feasible": o["n_feasible"], "n_designs": o["n_designs"],
            "design": o["design"], "seconds": o["seconds"], "from": str(f)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", type=Path, default=Path("results/paper/raw"))
    ap.add_argument("--out", type=Path, default=Path("results/paper/PACKING.json"))
    ap.add_argument("--studies", default=",".join(STUDIES))
    a = ap.parse_args()
    rows = []
    try:
        for name in a.studies.split(","):
            cfg = load_study(Path("configs/paper") / f"{name}.yaml")
            if cfg.convention != "physical":
                raise ImcoptError(f"study {name}: packing is a physical-convention setting")
            sc = cfg.scenarios[0]
            old = enumerate_optimum(sc, "one-per-group")
            new = from_study(a.raw, sc.name) or enumerate_optimum(sc, "block-diagonal")
            rows.append({"name": name, "one-per-group": old, "block-diagonal": new})
            print(f"{name}: one-per-group {old['score']:.6g} ({old['n_feasible']:,} feasible, "
                  f"{old['seconds']:.0f} s) -> block-diagonal {new['score']:.6g} "
                  f"({new['n_feasible']:,} feasible)", flush=True)
    except ImcoptError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    note = ("Only MobileNetV3's 15 depthwise layers are packed: the other CNNs have no grouped "
            "convolutions and the transformers' per-head attention products are dynamic "
            "(written at run time), which stay one group per array. The cimloop convention "
            "keeps CiMLoop's own rule, so its numbers do not move.")
    atomic_write_json(a.out, {"scenarios": rows, "note": note})
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
