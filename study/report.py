"""Outputs of a study directory: runs.csv, best_designs.csv, summary.json, plots/ and a
Markdown report (report.md) with the tables and the figures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from problems.io import atomic_write_json, atomic_write_text
from study.analysis import DESIGN_PARAMS, analyse, best_designs_table

RUN_CSV_COLUMNS = {"seconds": "wall_time_s", "best_eval": "best_found_at_eval"}


def fmt(x: Any, digits: int = 4) -> str:
    """Compact number formatting for tables ('—' for missing / NaN / inf)."""
    if x is None:
        return "—"
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, float | np.floating):
        if not np.isfinite(x):
            return "—"
        return f"{x:.{digits}g}"
    return str(x)


def md_table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(fmt(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def text_table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """A plain-text aligned table for the terminal."""
    cells = [list(header)] + [[fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


ALG_HEADER = ["algorithm", "runs", "median best (J·s·mm²)", "IQR (J·s·mm²)", "median gap (%)",
              "success ≤5%", "success ≤1%", "evals to 5% (reached)", "evals to 1% (reached)",
              "HV", "IGD+", "median time (s)"]


def algorithm_rows(table: pd.DataFrame, scenario: str) -> list[list[Any]]:
    """Rows of the per-algorithm table of one scenario."""
    rows = []
    for _, r in table[table["scenario"] == scenario].iterrows():
        rows.append([r["algorithm"], int(r["runs"]), r["median_best_j_s_mm2"],
                     r["iqr_best_j_s_mm2"], r["median_gap_pct"],
                     f"{r['success_rate_5pct']:.0%}", f"{r['success_rate_1pct']:.0%}",
                     f"{fmt(r['median_evals_to_5pct'])} ({r['reached_5pct']}/{r['runs']})",
                     f"{fmt(r['median_evals_to_1pct'])} ({r['reached_1pct']}/{r['runs']})",
                     r["median_hv"], r["median_igd_plus"], r["median_seconds"]])
    return rows


PAIR_HEADER = ["A", "B", "median A", "median B", "U", "p", "p (Holm)", "A12 P(A better)",
               "effect", "significantly better"]


def pair_rows(df: pd.DataFrame) -> list[list[Any]]:
    """Rows of a pairwise-test table."""
    return [[r["a"], r["b"], r["median_a"], r["median_b"], r["u"], r["p_value"], r["p_holm"],
             r["a12_a_better"], r["effect"], r["better"] or "—"] for _, r in df.iterrows()]


def runs_csv(metrics: pd.DataFrame) -> pd.DataFrame:
    """The runs.csv frame: one row per scenario x algorithm x seed."""
    if metrics.empty:
        return metrics
    df = metrics.rename(columns=RUN_CSV_COLUMNS)
    first = ["scenario", "algorithm", "algorithm_name", "seed", "best_score_j_s_mm2",
             "gap_pct", "evaluations", "wall_time_s", "feasible", "best_found_at_eval",
             "success_5pct", "success_1pct", "evals_to_5pct", "evals_to_1pct", "hv",
             "igd_plus", "reference", "best_area_mm2"]
    params = [c for c in DESIGN_PARAMS if c in df.columns]
    return df[[c for c in first if c in df.columns] + params]


def finalize_study(out: str | Path, log: Callable[[str], None] | None = None,
                   plots: bool = True, backend: Any = None, jobs: int = 1) -> dict[str, Any]:
    """Write runs.csv, best_designs.csv, summary.json, the front CSVs, plots/ and report.md
    into ``out`` (the figures drawn on ``jobs`` processes meanwhile). Every target is checked
    writable before anything is computed; a failed write is one `ImcoptError` "cannot write
    PATH: reason"."""
    from study.backend import Backend
    from study.exports import front_files, front_tables
    from study.outdir import check_writable
    from study.results import load_results

    say = log or (lambda msg: None)
    out = Path(out)
    res = load_results(out)  # verifies every run file: a damaged one is an error here
    targets = [out / n for n in ("runs.csv", "best_designs.csv", "summary.json", "report.md")]
    if plots:
        from study.plots import figure_files

        targets += figure_files(res, out / "plots")
    check_writable(targets + front_files(res))
    best = best_designs_table(res)
    if plots:
        from study.plots import PlotJob

        drawing = PlotJob(res, best, out / "plots", jobs)
    try:
        a = analyse(res)
        _write(out / "runs.csv", runs_csv(a["metrics"]).to_csv(index=False))
        _write(out / "best_designs.csv", best.to_csv(index=False))
        _write(out / "summary.json", a["summary"])
        for path, table in front_tables(res, backend or Backend()).items():
            _write(path, table.to_csv(index=False))
    except BaseException:
        if plots:
            drawing.close()   # no figure process outlives a failed report
        raise
    if plots:
        figures = drawing.result()
    else:  # reuse the figures already in plots/ (if any)
        figures = sorted((out / "plots").glob("*.png")) if (out / "plots").is_dir() else []
    _write(out / "report.md", render_report(a, best, figures, out))
    say(f"wrote {out / 'runs.csv'}, {out / 'best_designs.csv'}, {out / 'summary.json'}, "
        f"the fronts (optimum/*-front.csv, fronts/), {len(figures)} figure(s) and "
        f"{out / 'report.md'}")
    a["best_designs"] = best
    a["figures"] = figures
    return a


def _write(path: Path, data: str | dict[str, Any]) -> None:
    """Atomic write of text or JSON (an OSError is `OutputError` "cannot write PATH: ...")."""
    if isinstance(data, str):
        atomic_write_text(path, data)
    else:
        atomic_write_json(path, data)


def _design_text(d: dict[str, Any] | None) -> str:
    if not d:
        return "—"
    keys = [k for k in DESIGN_PARAMS if k in d and k not in ("adc_bits", "adcs_per_macro")]
    return ", ".join(f"{k}={fmt(d[k])}" for k in keys)


def render_report(a: dict[str, Any], best: pd.DataFrame, figures: list[Path],
                  out: Path) -> str:
    """The Markdown report."""
    res = a["results"]
    cfg = res.config
    table = a["table"]
    lines = [f"# Study `{cfg.name}`", "",
             f"Budget {cfg.budget} evaluations per run, seeds {cfg.seeds}, accounting "
             f"convention `{cfg.convention}`; {len(res.runs)} of "
             f"{len(cfg.scenarios) * len(cfg.algorithms) * len(cfg.seeds)} runs finished. "
             "Scores are aggregated EDAP (J·s·mm²; lower is better). Gaps and success rates "
             "are relative to the exact optimum where it was enumerated, otherwise to the best "
             "design any run found (column *reference*). HV / IGD+ are computed on the "
             "(aggregated energy, aggregated latency, area) front in log10 space normalised "
             "by the reference front (exact, else the union of all runs).", "",
             "## Scenarios", ""]
    lines.append(md_table([[s.name, s.space, s.workloads if isinstance(s.workloads, str)
                            else ", ".join(s.workloads), s.aggregate,
                            s.area_budget_mm2, s.fabrication_cost or "—",
                            s.fixed or "—", s.exact_optimum]
                           for s in cfg.scenarios],
                          ["scenario", "space", "workloads", "aggregate", "area budget (mm²)",
                           "fabrication cost", "fixed", "exact optimum"]))
    lines += ["", "Algorithms: " + ", ".join(
        f"`{x.label}`" + (f" ({x.name}, {x.params})" if x.params or x.label != x.name else "")
        for x in cfg.algorithms), ""]
    figs = {p.name: p for p in figures}
    for sc in res.scenario_names:
        ref, kind = res.reference(sc)
        lines += [f"## Scenario `{sc}`", ""]
        opt = res.optimum.get(sc)
        if opt is not None:
            n_d, n_e = opt.get("n_designs", 0), opt.get("n_evaluated")
            how = ("by enumeration" if n_e is None or n_e >= n_d else
                   f"by branch and bound ({n_e:,} designs evaluated, the rest pruned by bounds)")
            lines += [f"Exact optimum {how}: **{fmt(opt.get('score'))} J·s·mm²** "
                      f"({n_d:,} designs, {opt.get('n_feasible', 0):,} "
                      f"feasible, {fmt(opt.get('seconds'))} s summed over slices; Pareto front of "
                      f"{len(opt.get('front') or [])} designs): {_design_text(opt.get('design'))}",
                      ""]
        else:
            lines += [f"No exact optimum; reference = best design found by any run "
                      f"({fmt(ref)} J·s·mm²).", ""]
        if res.scenario(sc).fabrication_cost:
            lines += [f"With fabrication cost `{res.scenario(sc).fabrication_cost}`, the area "
                      "term of every score in this scenario is A × k(node) (k = 100 at 32 nm), "
                      "so the J·s·mm² columns carry that factor.", ""]
        lines += [md_table(algorithm_rows(table, sc), ALG_HEADER), ""]
        sub = table[table["scenario"] == sc] if not table.empty else table
        if kind == "exact" and len(sub) and (sub["min_best_j_s_mm2"] < ref * (1 - 1e-9)).any():
            lines += ["**Warning:** some runs found designs better than the enumerated "
                      "optimum, so the cached optimum and the runs disagree (model changed "
                      "between them?); delete `optimum/` and re-run.", ""]
        pw = a["pairwise"].get(sc)
        if pw is not None and len(pw):
            lines += ["Pairwise two-sided Mann–Whitney U tests on the final best scores, "
                      "p-values Holm-corrected within the scenario (α = 0.05); A12 = "
                      "P(a run of A ends below a run of B).", "",
                      md_table(pair_rows(pw), PAIR_HEADER), ""]
        for name, title in ((f"convergence_{sc}.png", "Convergence"),
                            (f"fronts_{sc}.png", "Pareto fronts"),
                            (f"baselines_{sc}.png", "Joint design vs baselines"),
                            (f"parameters_{sc}.png", "Parameters of the best designs")):
            if name in figs:
                lines += [f"![{title} — {sc}]({figs[name].relative_to(out).as_posix()})", ""]
        lines += _best_design_section(best, sc)
    fr = a["friedman"]
    lines += ["## Across scenarios", ""]
    if fr.get("mean_ranks"):
        lines += [md_table(sorted(([k, v] for k, v in fr["mean_ranks"].items()),
                                  key=lambda r: r[1]),
                           ["algorithm", "mean rank of median best (1 = best)"]), ""]
    if fr.get("p_value") is not None:
        lines += [f"Friedman test over {fr['n_blocks']} scenarios × {fr['n_algorithms']} "
                  f"algorithms: χ² = {fmt(fr['statistic'])}, p = {fmt(fr['p_value'])}.", ""]
    else:
        lines += [f"Friedman test not applicable: {fr.get('note')}.", ""]
    if "final_scores.png" in figs:
        lines += ["![Final scores](plots/final_scores.png)", ""]
    lines += ["Files: `runs.csv` (one row per run), `best_designs.csv` (per-workload metrics of "
              "the best designs and baselines), `summary.json`, `runs/` (archives of every "
              "evaluation), `optimum/`, `baselines/`.", ""]
    return "\n".join(lines)


def _best_design_section(best: pd.DataFrame, sc: str) -> list[str]:
    if best.empty:
        return []
    sub = best[best["scenario"] == sc]
    if sub.empty:
        return []
    spec = sub[sub["source"] == "specialist"].set_index("workload")["edap_j_s_mm2"]
    big = sub[sub["source"].astype(str).str.startswith("largest-workload")]
    big = big.set_index("workload")["edap_j_s_mm2"]
    rows = []
    for (src, w), r in sub.set_index(["source", "workload"]).iterrows():
        rows.append([src, r["detail"], w, r["energy_j"], r["latency_s"], r["area_mm2"],
                     r["edap_j_s_mm2"], _change(r["edap_j_s_mm2"], spec, w, src),
                     _change(r["edap_j_s_mm2"], big, w, src)])
    lines = ["Best designs and baselines, per workload (EDAP change relative to that "
             "workload's specialist design, and to the largest-workload design):", "",
             md_table(rows, ["design", "detail", "workload", "energy (J)", "latency (s)",
                             "area (mm²)", "EDAP (J·s·mm²)", "vs specialist (%)",
                             "vs largest-workload (%)"]), ""]
    designs = sub.drop_duplicates(["source", "detail"])
    params = [c for c in DESIGN_PARAMS if c in designs.columns]
    if params:
        lines += [md_table(designs[["source", "detail", *params]].to_numpy().tolist(),
                           ["design", "detail", *params]), ""]
    return lines


def _change(value: Any, ref: pd.Series, workload: str, source: str) -> float | None:
    """100 * (value / ref[workload] - 1), None when either is missing or it is the reference."""
    if workload not in ref.index or value is None or source == "specialist":
        return None
    r = float(ref[workload])
    v = float(value)
    if not (np.isfinite(r) and np.isfinite(v) and r > 0):
        return None
    return 100.0 * (v / r - 1.0)
