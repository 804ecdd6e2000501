"""Build results/paper/REPORT.md (+ small PNGs) from the paper studies run with `imcopt run`.

Usage: python scripts/paper_report.py [--raw results/paper/raw] [--out results/paper]
Reads each study's summary.json, optimum/*.json, baselines/*.json and best_designs.csv.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pandas as pd

STUDIES: dict[str, str] = {
    "rram4-max": "RRAM x 4 CNNs, max aggregation (ISCAS objective)",
    "rram4-mean": "RRAM x 4 CNNs, mean aggregation",
    "rram4-product": "RRAM x 4 CNNs, product aggregation",
    "sram4-max": "SRAM x 4 CNNs, max aggregation",
    "sram9-mean": "SRAM x 9 workloads, mean aggregation",
    "tech-cost": "SRAM x 4 CNNs, 7-45 nm, max E * max L * A * k(node)",
    "sequential": "sequential level-by-level search vs joint search",
    "ablations": "Hamming-sampling and four-phase ablations",
    "rram4-max-cimloop": "RRAM x 4 CNNs, max, under the cimloop convention",
}
#: the ISCAS paper's EDAP reductions of the joint design vs the largest-workload design
PAPER_VS_LARGEST = {"vgg16": 36, "resnet18": 36, "alexnet": 20, "mobilenet_v3": 69}


def pct(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{100 * x:.1f}%" if abs(x) >= 5e-4 else "0.0%"  # float noise around the optimum


def joint_metrics(study: Path, scenario: str) -> tuple[dict, str] | None:
    """Per-workload metrics of the joint design: the exact optimum, else the best found."""
    opt = study / "optimum" / f"{scenario}.json"
    if opt.is_file():
        return json.loads(opt.read_text())["metrics"], "exact optimum"
    f = study / "best_designs.csv"
    if not f.is_file():
        return None
    df = pd.read_csv(f)
    df = df[~df["source"].isin(["optimum", "largest-workload", "specialist"])]
    df = df[df.scenario == scenario]
    if df.empty:
        return None
    best = df.loc[df.score_j_s_mm2.idxmin()]
    rows = df[(df.source == best.source) & (df.detail == best.detail)]
    return ({"workloads": rows.workload.tolist(), "edap_j_s_mm2": rows.edap_j_s_mm2.tolist(),
             "score": float(best.score_j_s_mm2)}, f"best found ({best.source}, {best.detail})")


def study_section(name: str, title: str, study: Path, figures: Path) -> list[str]:
    summary = json.loads((study / "summary.json").read_text())
    lines = [f"## {name}: {title}", ""]
    for sc in summary["scenarios"]:
        opt = sc["optimum"]
        lines.append(f"Exact optimum (enumeration): {opt:.4g} J·s·mm²" if opt is not None
                     else "Exact optimum: not enumerated (gaps below are to the best found).")
        lines += ["", "| algorithm | seeds | median best (J·s·mm²) | IQR | median gap | "
                  "within 5% |", "|---|---|---|---|---|---|"]
        for a in sc["algorithms"]:
            iqr = a["iqr_best"]
            iqr_s = f"{iqr[0]:.4g}–{iqr[1]:.4g}" if isinstance(iqr, list) else f"{iqr:.3g}"
            lines.append(f"| {a['name']} | {a['seeds']} | {a['median_best']:.4g} | {iqr_s} | "
                         f"{pct(a['median_gap'])} | {pct(a['success_rate_5pct'])} |")
        lines.append("")
        jm = joint_metrics(study, sc["name"])
        base = study / "baselines" / f"{sc['name']}.json"
        if jm and base.is_file():
            joint, label = jm
            b = json.loads(base.read_text())
            jw = dict(zip(joint["workloads"], joint["edap_j_s_mm2"], strict=True))
            largest = next(iter(b["designs"].values()))
            lw = dict(zip(largest["workloads"], largest["edap_j_s_mm2"], strict=True))
            lines += [f"Joint design = {label}; largest workload = {b['largest_workload']} "
                      f"(baselines from {b['source']}).", "",
                      "| workload | joint EDAP | largest-workload EDAP | reduction vs largest |"
                      " specialist EDAP | specialist is lower by |", "|---|---|---|---|---|---|"]
            for w, e in jw.items():
                spec = b["specialists"].get(w, {})
                sw = dict(zip(spec.get("workloads", []), spec.get("edap_j_s_mm2", []),
                              strict=True)).get(w)
                red = 1 - e / lw[w] if lw.get(w) else None
                loss = 1 - sw / e if sw else None
                lines.append(f"| {w} | {e:.4g} | {lw[w]:.4g} | {pct(red)} | "
                             f"{'–' if sw is None else f'{sw:.4g}'} | {pct(loss)} |")
            lines.append("")
        for kind in ("convergence", "baselines"):
            src = study / "plots" / f"{kind}_{sc['name']}.png"
            if src.is_file():
                dst = figures / f"{name}_{kind}.png"
                shutil.copyfile(src, dst)
                lines.append(f"![{kind} {name}](figures/{dst.name})")
        lines.append("")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--raw", type=Path, default=Path("results/paper/raw"))
    ap.add_argument("--out", type=Path, default=Path("results/paper"))
    ap.add_argument("--preamble", type=Path, default=Path("results/paper/PREAMBLE.md"))
    args = ap.parse_args()
    figures = args.out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    lines = [args.preamble.read_text()] if args.preamble.is_file() else ["# Paper results", ""]
    snr = args.out / "SNR.md"                       # accuracy section (scripts/paper_snr.py)
    if snr.is_file():
        lines.append(snr.read_text())
    for name, title in STUDIES.items():
        study = args.raw / name
        if (study / "summary.json").is_file():
            lines += study_section(name, title, study, figures)
        else:
            lines += [f"## {name}: {title}", "", "_Not run (no summary.json)._", ""]
    tmp = args.out / "REPORT.md.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(args.out / "REPORT.md")
    print(f"wrote {args.out / 'REPORT.md'}")


if __name__ == "__main__":
    main()
