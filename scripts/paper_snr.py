"""Compute SNR of the paper's joint optimum (rram-paper x paper-4 x max, the paper's 5-bit ADC)
-> results/paper/SNR.md, the section `scripts/paper_report.py` appends to REPORT.md.

The optimum is the JSON of `imcopt run configs/paper/rram4-max.yaml`
(results/paper/raw/rram4-max/optimum/rram4-max.json) or of
  imcopt exhaustive --space rram-paper --workloads paper-4 --aggregate max --json /tmp/opt.json
Usage: python scripts/paper_snr.py results/paper/raw/rram4-max/optimum/rram4-max.json
       [--out results/paper/SNR.md]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from problems.hardware.design import DesignBatch
from problems.hardware.snr import SNRConfig, SNRModel
from problems.io import atomic_write_text
from problems.workloads import load_workloads
from problems.workloads.stack import WorkloadStack

ADC_BITS = (5, 6, 7, 8, 9, 10)


def fmt(x: float) -> str:
    return "lossless" if not np.isfinite(x) else f"{x:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("optimum", type=Path,
                    help="optimum JSON of a study (optimum/<scenario>.json) or of "
                         "imcopt exhaustive --json")
    ap.add_argument("--out", type=Path, default=Path("results/paper/SNR.md"))
    a = ap.parse_args()
    opt = json.loads(a.optimum.read_text())
    if "best" in opt:   # imcopt exhaustive --json
        design, names, score = dict(opt["best"]["design"]), opt["workloads"], opt["best"]["score"]
    else:               # a study's optimum/<scenario>.json
        design, names, score = dict(opt["design"]), opt["metrics"]["workloads"], opt["score"]
    stack = WorkloadStack.of(load_workloads(",".join(names)))
    base = DesignBatch.from_records([design])
    variants = DesignBatch.from_records([design | {"adc_bits": b} for b in ADC_BITS])
    models = {(r, g): SNRModel(stack, SNRConfig(adc_range=r, aggregate=g))
              for r in ("full-range", "clipped") for g in ("worst-layer", "accumulated")}
    res = {k: m.evaluate(base, layers=True) for k, m in models.items()}
    worst = res[("full-range", "worst-layer")]
    names = list(stack.names)
    keys = ("xbar_rows", "xbar_cols", "bits_per_cell", "adc_bits", "voltage_v", "cycle_time_s")
    lines = [
        "## Accuracy of the paper's joint optimum (compute SNR)", "",
        f"The exact optimum of `rram-paper` × paper-4 × `max` ({score:.4g} J·s·mm², physical "
        "convention with grouped-conv packing; " + ", ".join(
            f"{k} = {design[k]}" for k in keys) + ") has the paper's fixed 5-bit ADC. Its output "
        "SNR per workload from `problems/hardware/snr.py` (bit-serial inputs, MSB-aligned weight "
        "slices, N = min(layer rows, crossbar rows) rows per conversion, RRAM σ_G = 2.5 % of the "
        "conductance window, kT/C and ADC thermal noise; signal: uniform 8-bit inputs and "
        "weights). `full-range` is what the paper's evaluator assumes; `clipped` is the "
        "SQNR-optimal clipping of Sakr & Shanbhag; worst layer is the default aggregate, "
        "accumulated sums the layers' noise-to-signal ratios. Produced by `python "
        "scripts/paper_snr.py` from the optimum's JSON.", "",
        "| workload | full range, worst layer (dB) | clipped, worst layer | full range, "
        "accumulated | worst layer (rows) |",
        "|---|---|---|---|---|"]
    for w, name in enumerate(names):
        sel = np.flatnonzero(stack.workload_index == w)
        li = sel[int(np.argmin(worst.layer_snr_db[0, sel]))]
        layer = stack.workloads[w].layer_names[li - sel[0]]
        rows = int(stack.C[li] * stack.R[li] * stack.S[li])
        lines.append(f"| {name} | {fmt(worst.snr_db[0, w])} | "
                     f"{fmt(res[('clipped', 'worst-layer')].snr_db[0, w])} | "
                     f"{fmt(res[('full-range', 'accumulated')].snr_db[0, w])} | "
                     f"{layer} ({rows}) |")
    sweep = models[("full-range", "worst-layer")].evaluate(variants).snr_db
    lines += ["", "The same design with a wider ADC (full range, worst layer, dB): " + "; ".join(
        f"{b} bit: {fmt(sweep[i].min())}–{fmt(sweep[i].max())}"
        for i, b in enumerate(ADC_BITS)) + ".", ""]
    atomic_write_text(a.out, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
