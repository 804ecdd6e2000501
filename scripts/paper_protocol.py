"""The paper's own protocol beside the exact one: baselines found by ONE optimizer run per seed.

The paper found its largest-workload design and its per-workload specialists with one GA run of
one seed each, the same GA and budget as the joint design, not by enumeration. For a finished
study (`imcopt run configs/paper/X.yaml`) this script repeats that for every seed k of the
study: the baselines of pair k are `paper-ga` runs of seed k + 1000 on each single-workload
problem (the study's budget, 2,800 evaluations), set against the joint design of the study's
`paper-ga` run of seed k. The baseline seed differs from the joint one so that the two runs are
independent, as the paper's were: with the same seed a single-workload problem that coincides
with the joint one (the largest workload under `max` when it sets max E and max L and every
design fitting it fits all) replays the joint run exactly. It writes, per scenario,

  DIR/paper-protocol/<scenario>/seed-<k>.json   the seed's baseline designs and their EDAPs
  DIR/paper-protocol/<scenario>.json            all seeds + the exact figures (merged)

(resumable: a seed whose file matches its definition is not recomputed). `paper_report.py`
turns the merged file into the report's "paper's protocol vs exact" table.

Usage: python scripts/paper_protocol.py results/paper/raw/rram4-max [--algorithm paper-ga]
       [--seeds 0-19]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from problems.errors import ImcoptError
from problems.fingerprint import digest
from problems.io import atomic_write_json
from study.backend import Backend
from study.baselines import ProtocolSeed, paper_protocol, protocol_gains
from study.results import StudyResults, load_results
from study.tasks import cached, read_json, scenario_fingerprint

BASELINE_SEED_OFFSET = 1000  # baseline seed of pair k: k + 1000 (independent of joint seed k)


def seed_fingerprint(scenario_fp: str, algorithm: str, budget: int, seed: int) -> str:
    """Identity of one seed's protocol baselines (scenario + model identity, optimizer, budget,
    seed)."""
    return digest({"scenario": scenario_fp, "algorithm": algorithm, "budget": budget,
                   "seed": seed, "what": "paper-protocol baselines"}, 16)


def exact_figures(res: StudyResults, scenario: str) -> dict[str, Any] | None:
    """Exact joint optimum and exact baselines (per-workload EDAP) of a study, when
    enumerated."""
    opt, base = res.optimum.get(scenario), res.baselines.get(scenario)
    if not opt or not opt.get("metrics") or not base or base.get("source") != "enumeration":
        return None
    names = opt["metrics"]["workloads"]
    largest = base["largest_workload"]
    spec = [dict(zip(base["specialists"][w]["workloads"],
                     base["specialists"][w]["edap_j_s_mm2"], strict=True))[w] for w in names]
    lw = dict(zip(base["specialists"][largest]["workloads"],
                  base["specialists"][largest]["edap_j_s_mm2"], strict=True))
    return {"joint_edap": opt["metrics"]["edap_j_s_mm2"],
            "largest_edap": [lw[w] for w in names], "specialist_edap": spec}


def run_scenario(res: StudyResults, scenario: str, algorithm: str, seeds: list[int],
                 say: Any) -> dict[str, Any]:
    """Compute (or read back) every seed's protocol baselines of one scenario and merge them."""
    cfg = res.config
    sc = res.scenario(scenario)
    record, _ = read_json(res.out / "study.json")  # load_results has checked it
    ident = (record or {}).get("identities", {}).get(scenario, "")
    sfp = scenario_fingerprint(sc, cfg.convention, ident)
    folder = res.out / "paper-protocol" / scenario
    problem = None
    per_seed: list[dict[str, Any]] = []
    for seed in seeds:
        joint = res.records.get((scenario, algorithm, seed))
        if joint is None or joint.get("best_edap_j_s_mm2") is None:
            raise ImcoptError(f"{res.out}: no finished {algorithm} run of seed {seed} for "
                              f"scenario {scenario!r}; run `imcopt run` on the study first")
        bseed = seed + BASELINE_SEED_OFFSET
        fp = seed_fingerprint(sfp, algorithm, cfg.budget, bseed)
        path = folder / f"seed-{seed}.json"
        data, status = cached(path, fp)
        if data is None:
            if problem is None:
                problem = Backend().build_problem(sc, cfg.convention)
            t0 = time.perf_counter()
            (r,) = paper_protocol(problem, [bseed], algorithm, cfg.budget)
            data = seed_record(r, fp, time.perf_counter() - t0)
            atomic_write_json(path, data)
            say(f"{scenario} pair {seed}: baselines (seed {bseed}) in {data['seconds']:.1f} s")
        data["joint_seed"] = seed
        data["joint_edap"] = list(joint["best_edap_j_s_mm2"])
        data["joint_score"] = joint.get("best_score")
        per_seed.append(data)
    names = per_seed[0]["workloads"]
    J = np.array([d["joint_edap"] for d in per_seed], float)
    LG = np.array([d["largest_edap"] for d in per_seed], float)
    SP = np.array([d["specialist_edap"] for d in per_seed], float)
    merged: dict[str, Any] = {
        "scenario": scenario, "convention": cfg.convention, "algorithm": algorithm,
        "budget": cfg.budget, "workloads": names, "largest_workload": per_seed[0]["largest"],
        "seeds": [d["joint_seed"] for d in per_seed],
        "baseline_seeds": [d["seed"] for d in per_seed], "per_seed": per_seed,
        "paper_protocol": {k: v.tolist() for k, v in protocol_gains(J, LG, SP).items()},
    }
    ex = exact_figures(res, scenario)
    if ex is not None:
        eJ, eL, eS = (np.asarray(ex[k], float) for k in ("joint_edap", "largest_edap",
                                                         "specialist_edap"))
        merged["exact"] = ex | {k: v.tolist() for k, v in protocol_gains(eJ, eL, eS).items()}
        # the joint design of each seed against the EXACT baselines: what is left of the
        # paper-protocol gain once the baselines' search noise is removed
        merged["joint_vs_exact_baselines"] = {
            k: v.tolist() for k, v in protocol_gains(J, np.broadcast_to(eL, J.shape),
                                                     np.broadcast_to(eS, J.shape)).items()}
    atomic_write_json(res.out / "paper-protocol" / f"{scenario}.json", merged)
    return merged


def seed_record(r: ProtocolSeed, fingerprint: str, seconds: float) -> dict[str, Any]:
    """JSON of one seed's protocol baselines."""
    return {"fingerprint": fingerprint, "seed": r.seed, "workloads": r.workloads,
            "largest": r.largest, "x": r.x.tolist(), "edap": r.edap.tolist(),
            "feasible": r.feasible.tolist(), "largest_edap": r.largest_edap.tolist(),
            "specialist_edap": r.specialist_edap.tolist(), "seconds": seconds}


def parse_seeds(text: str | None, default: list[int]) -> list[int]:
    """"0-19" / "0,3,5" -> seeds (default: the study's)."""
    if not text:
        return list(default)
    out: list[int] = []
    try:
        for part in text.split(","):
            a, _, b = part.partition("-")
            out += list(range(int(a), int(b) + 1)) if b else [int(a)]
    except ValueError:
        raise ImcoptError(f"--seeds: expected e.g. 0-19 or 0,3,5, got {text!r}") from None
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study", type=Path, help="a finished study directory (imcopt run)")
    ap.add_argument("--algorithm", default="paper-ga",
                    help="the optimizer of the joint runs and of the baselines")
    ap.add_argument("--seeds", default=None, help="e.g. 0-19 (default: the study's seeds)")
    a = ap.parse_args()
    try:
        res = load_results(a.study)
        if a.algorithm not in res.algorithm_labels:
            raise ImcoptError(f"{a.study}: the study has no algorithm {a.algorithm!r}; it has "
                              f"{res.algorithm_labels}")
        seeds = parse_seeds(a.seeds, list(res.config.seeds))
        for sc in res.scenario_names:
            m = run_scenario(res, sc, a.algorithm, seeds, print)
            red = np.asarray(m["paper_protocol"]["reduction_vs_largest"])
            med = np.nanmedian(red, axis=0)
            print(f"{sc}: median reduction vs largest over {len(seeds)} seeds, paper protocol: "
                  + ", ".join(f"{w} {100 * v:.1f}%" for w, v in zip(m["workloads"], med,
                                                                    strict=True)))
    except ImcoptError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
