"""Calibrate the ``cimloop`` cost model against the stored CiMLoop results (entry point).

The fit itself is `problems.hardware.calibration` (what is fitted and why: its docstring).
Writes ``problems/hardware/data/cimloop_calibration.json`` with provenance (date, file hashes,
rows used, fitted values, residuals, leave-one-network-out scores).

Usage: python scripts/fit_cimloop.py [--reference DIR] [--out FILE] [--no-cv]
                                     [--robust-passes K] [--per-memory FEATURES]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

from problems.hardware import calibration as calib
from problems.hardware import validation as val
from problems.hardware.cimloop import TRAFFIC_FEATURES
from problems.hardware.cimloop_data import CALIBRATION_PATH
from problems.io import atomic_write_text
from problems.reference import reference_dir


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=CALIBRATION_PATH)
    ap.add_argument("--no-cv", action="store_true")
    ap.add_argument("--robust-passes", type=int, default=calib.ROBUST_PASSES,
                    help="Huber reweighting passes of the energy fit (0: plain least squares)")
    ap.add_argument("--per-memory", default="", metavar="FEATURES",
                    help=f"comma list of traffic features ({', '.join(TRAFFIC_FEATURES)}) "
                         "fitted with one multiplier per memory type")
    args = ap.parse_args(argv)
    per_memory = tuple(x for x in args.per_memory.split(",") if x)
    unknown = set(per_memory) - set(TRAFFIC_FEATURES)
    if unknown:
        ap.error(f"--per-memory: unknown feature(s) {sorted(unknown)}")
    ref_dir = args.reference or reference_dir()
    if ref_dir is None:
        print("reference data not found (set IMCOPT_REFERENCE)", file=sys.stderr)
        return 2
    res_path, lay_path = ref_dir / "cimloop_results.csv", ref_dir / "cimloop_layers.csv"
    results = val.load_results(res_path).reset_index(drop=True)
    workloads = val.load_layers(lay_path)
    fit = calib.fit_calibration(results, workloads, per_memory, args.robust_passes,
                                cv=not args.no_cv)
    cal = fit["calibration"]

    print("area residuals (relative):")
    for k, v in fit["area_residuals"].items():
        print(f"  {k:>5}: designs {v['designs']:5d}  median {v['median_rel']:.2e}  "
              f"max {v['max_rel']:.2e}")
    coefs = cal["energy"]["coefficients"]
    print("\nenergy multipliers:",
          {k: round(v, 3) for k, v in coefs.items() if not k.startswith("sram_")})
    split = {k: round(v, 2) for k, v in coefs.items() if k.startswith("sram_")}
    print(f"SRAM row / write multipliers ({len(split)}):", split)
    for name, key in (("NeuroSim", "tech_scale_neurosim"), ("CACTI:   ", "tech_scale_cacti")):
        print(f"node factors {name}:", {k: round(v, 4) for k, v in cal["energy"][key].items()})
    print("\nin-sample (fit on all networks):")
    _print_groups(fit["in_sample"])
    if fit["leave_one_network_out"]:
        print("\nleave-one-network-out CV (each network scored by a fit on the others):")
        _print_groups(fit["leave_one_network_out"])
    print("\nrho of EDAP: per-network log-linear regression (in-sample) vs this model "
          "(in-sample / leave-one-network-out):")
    cv_by = {(g["memory"], g["network"]): g for g in fit["leave_one_network_out"]}
    for b, g in zip(fit["baseline_loglinear"], fit["in_sample"], strict=True):
        lono = cv_by.get((g["memory"], g["network"]), {}).get("rho_edap", float("nan"))
        print(f"  {b['memory']:6} {b['network']:20} regression {b['rho_edap']:.4f}   model "
              f"{g['rho_edap']:.4f} / {lono:.4f}")

    cal["provenance"] = {
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "script": "scripts/fit_cimloop.py (problems.hardware.calibration)",
        "results_file": res_path.name, "results_sha256": sha256(res_path),
        "layers_file": lay_path.name, "layers_sha256": sha256(lay_path),
        "energy_fit": {"loss": "huber" if args.robust_passes else "least_squares",
                       "huber_log10": calib.HUBER_LOG10, "robust_passes": args.robust_passes,
                       "write_node_starts": [1.0, calib.WRITE_NODE_START]},
        "rows_used_energy": fit["rows_used"], "designs_used_area": int(
            sum(v["designs"] for v in fit["area_residuals"].values())),
        "area_residuals": fit["area_residuals"],
        "energy_in_sample": fit["in_sample"],
        "energy_leave_one_network_out": fit["leave_one_network_out"],
        # each fold's energy constants, so the tests re-score every held-out network
        "energy_held_out_calibration": fit["held_out_energy"],
        "baseline_loglinear_in_sample": fit["baseline_loglinear"],
    }
    atomic_write_text(args.out, json.dumps(cal, indent=1, sort_keys=True))
    print(f"\nwrote {args.out}")
    return 0


def _print_groups(groups: list[dict]) -> None:
    print(f"  {'memory':6} {'network':20} {'n':>5} {'rho_edap':>8} {'rho_E':>7} "
          f"{'mae_E':>7} {'mae_L':>7} {'mae_A':>8}")
    for g in groups:
        print(f"  {g['memory']:6} {g['network']:20} {g['n']:5d} {g['rho_edap']:8.4f} "
              f"{g['rho_energy']:7.4f} {g['mae_log10_energy']:7.4f} "
              f"{g['mae_log10_latency']:7.4f} {g['mae_log10_area']:8.2e}")


if __name__ == "__main__":
    sys.exit(main())
