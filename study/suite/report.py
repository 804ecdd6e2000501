"""The suite report: REPORT.md with the instance table, rankings, success rates with bootstrap
CIs, ERT, where each algorithm wins and fails, and the figures (see `study.suite.figures`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from problems.io import atomic_write_json, atomic_write_text
from study.suite import analytics as an
from study.suite import figures
from study.suite.export import export_iohprofiler

OWN = "imcopt-memetic"


METHOD = """## Method

- **Instances** (`configs/suite/instances.yaml`, `imcopt suite list`): {n_inst} scenarios chosen
  for span (RRAM and SRAM; paper-4, paper-9, mobile, transformer and mixed CNN + transformer
  sets; max, mean, product, geomean and normalised-to-specialist aggregation; both accounting
  conventions, cimloop only on CNN sets; two multi-objective forms; two accuracy-constrained
  spaces with `min_snr_db`). Spaces are cut with `fixed:` to keep each enumeration affordable;
  a held parameter takes the middle entry (index len//2) of its list. The budget is one declared
  rule of the space size N: clip(100 * round(sqrt(N) / 100), 500, 2800). Nothing was chosen or
  tuned on any algorithm's results; `imcopt suite screen` (random-search and ga, seeds 2000+)
  is the only hardness check.
- **Exact optima** (`imcopt suite optima`): every design of every instance's space is evaluated
  (`problems.exhaustive.exhaustive_search` in cached slices); the optimum, the exact (E, L, A)
  front and a hash of the definition, space, workloads and cost-model source are stored in
  `results/suite/optima/`; `imcopt suite show ID` says "stale" when any of them changed.
- **Runs** (`imcopt suite run`): {n_alg} algorithms x {n_seeds} seeds (0..{last}) x every
  instance at its budget, through the resumable study runner; every algorithm is stopped at
  exactly the same number of true evaluations; wall time is reported beside.
  `imcopt-memetic` was tuned on seeds 1000+ only.
- **Measures**: targets 10 %, 5 %, 2 %, 1 %, 0.5 %, 0.2 %, 0.1 % above the exact optimum;
  runtime = first evaluation reaching a target; ECDFs of (run, target) pairs (COCO/IOHanalyzer
  style); ERT = evaluations spent by all runs / successes; Dolan-More performance profiles of
  the 1 % ERT; Friedman test + Nemenyi post-hoc (scikit-posthocs) on the mean final gap per
  instance, drawn as a critical-difference diagram; hypervolume ratios and empirical attainment
  functions (moocore) for the multi-objective instances; 95 % percentile-bootstrap intervals
  of success rates (scipy.stats.bootstrap, seeded).
"""


def _pct(x: float) -> str:
    return "–" if not np.isfinite(x) else f"{100 * x:.0f}%"


def _num(x: float) -> str:
    return "∞" if not np.isfinite(x) else f"{x:,.0f}"


def build_tables(data: an.SuiteData) -> dict[str, Any]:
    """Every number the report prints (also written as summary.json)."""
    algs, inst = data.algorithms, data.instances
    k1 = an.TARGETS.index(an.SUCCESS_EPS)
    t: dict[str, Any] = {"algorithms": algs, "instances": inst, "targets": list(an.TARGETS),
                         "success_1pct": {}, "success_5pct": {}, "ci_1pct": {}, "ert": {},
                         "median_gap": {}, "seconds": {}, "hv_ratio": {}, "n_runs": {}}
    for i in inst:
        for a in algs:
            runs = data.select(i, a)
            if not runs:
                continue
            s1 = an.success(data, i, a)
            key = f"{i}|{a}"
            t["n_runs"][key] = len(runs)
            t["success_1pct"][key] = float(s1.mean())
            t["success_5pct"][key] = float(an.success(data, i, a, 0.05).mean())
            t["ci_1pct"][key] = an.bootstrap_ci(s1, seed=len(key))
            t["ert"][key] = an.ert(data, i, a).tolist()
            t["median_gap"][key] = float(np.median([r.gap(data.optimum(i)) for r in runs]))
            t["seconds"][key] = float(np.nanmean([r.seconds for r in runs]))
            if data.optima[i].get("definition", {}).get("objective", "single") != "single":
                t["hv_ratio"][key] = float(np.median(an.hypervolume_ratios(data, i, a)))
    grid = np.unique(np.geomspace(1, max(r.budget for r in data.runs), 200).round())
    t["ecdf_area"] = {a: float(np.mean(an.ecdf(data, a, grid))) for a in algs}
    t["ecdf_final"] = {a: float(an.ecdf(data, a, grid)[-1]) for a in algs}
    t["ert_1pct_index"] = k1
    return t


def write_report(root: Path, out: Path, title: str = "imcopt benchmark suite",
                 notes: str = "") -> Path:
    """Analyse the suite run in ``root``; write figures, IOHprofiler export, summary.json
    and REPORT.md into ``out``; return the report path."""
    data = an.load_suite_run(root, complete_only=True)
    figdir = out / "figures"
    figures.ecdf_suite(data, figdir / "ecdf_suite.png")
    figures.ecdf_instances(data, figdir / "ecdf_instances.png")
    figures.profile(data, figdir / "profile.png")
    _, fr = figures.cd_diagram(data, figdir / "cd.png")
    multi = [i for i in data.instances
             if data.optima[i].get("definition", {}).get("objective", "single") != "single"]
    for i in multi:
        figures.eaf(data, i, figdir / f"eaf_{i}.png")
    export_iohprofiler(data, root / "ioh")
    t = build_tables(data)
    t["friedman"] = {"ranks": fr["ranks"].to_dict(), "p_value": fr["p_value"],
                     "statistic": fr["statistic"]}
    atomic_write_json(out / "summary.json", t)
    md = _markdown(data, t, fr, multi, title, notes)
    atomic_write_text(out / "REPORT.md", md)
    return out / "REPORT.md"


def _markdown(data: an.SuiteData, t: dict[str, Any], fr: dict[str, Any], multi: list[str],
              title: str, notes: str) -> str:
    algs, inst = t["algorithms"], t["instances"]
    ranks = fr["ranks"]
    n_seeds = max(t["n_runs"].values())
    L: list[str] = [f"# {title}", ""]
    if notes:
        L += [notes.strip(), ""]
    L += METHOD.format(n_inst=len(inst), n_alg=len(algs), n_seeds=n_seeds,
                       last=n_seeds - 1).splitlines() + [""]
    L += ["## Instances", "",
          "| id | space | workloads | aggregation | form | convention | designs | budget | "
          "exact optimum |", "|---|---|---|---|---|---|---:|---:|---:|"]
    for i in inst:
        d = data.optima[i].get("definition", {})
        w = d.get("workloads")
        w = ", ".join(w) if isinstance(w, list) else w
        L.append(f"| {i} | {d.get('space')} | {w} | {d.get('aggregate')} | "
                 f"{d.get('objective', 'single')} | {d.get('convention')} | "
                 f"{data.optima[i]['n_designs']:,} | {d.get('budget')} | "
                 f"{data.optimum(i):.4g} |")
    if data.incomplete:
        L += ["", f"Not yet run by every algorithm with every seed, so left out of the "
              f"comparison: {', '.join(data.incomplete)}."]
    L += ["", "## Ranking", "",
          f"Mean rank of the mean final gap over {fr['n_instances']} instances (1 = best; "
          f"Friedman chi2 = {fr['statistic']:.1f}, p = {fr['p_value']:.1e}); success = final "
          f"best within 1 % of the exact optimum at the instance's budget, over all "
          f"(instance, seed) runs; ECDF area = mean fraction of (run, target) pairs reached "
          f"over log-spaced evaluation counts (anytime performance); time = mean wall "
          f"seconds per run (equal evaluation budgets).", "",
          "| rank | algorithm | mean rank | success 1 % | success 5 % | instances with "
          "100 % at 1 % | ECDF area | ECDF at budget | s / run |",
          "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for k, a in enumerate(ranks.index, start=1):
        s1 = [t["success_1pct"][f"{i}|{a}"] for i in inst if f"{i}|{a}" in t["success_1pct"]]
        s5 = [t["success_5pct"][f"{i}|{a}"] for i in inst if f"{i}|{a}" in t["success_5pct"]]
        sec = [t["seconds"][f"{i}|{a}"] for i in inst if f"{i}|{a}" in t["seconds"]]
        L.append(f"| {k} | {a} | {ranks[a]:.2f} | {_pct(np.mean(s1))} | {_pct(np.mean(s5))} "
                 f"| {sum(x == 1.0 for x in s1)}/{len(s1)} | {t['ecdf_area'][a]:.3f} | "
                 f"{t['ecdf_final'][a]:.3f} | {np.mean(sec):.2f} |")
    L += ["", "![critical difference](figures/cd.png)", "",
          "![runtime ECDF over the suite](figures/ecdf_suite.png)", "",
          "![performance profile](figures/profile.png)", "",
          "## Success within 1 % per instance", "",
          f"Fraction of {n_seeds} seeds whose final best is within 1 % of the exact optimum; "
          f"for {OWN} with a 95 % percentile-bootstrap interval (scipy.stats.bootstrap, "
          f"seeded).", "",
          "| instance | " + " | ".join(algs) + " | hard? |",
          "|---|" + "---:|" * len(algs) + "---|"]
    for i in inst:
        cells = []
        for a in algs:
            key = f"{i}|{a}"
            s = t["success_1pct"].get(key, np.nan)
            cell = _pct(s)
            if a == OWN and key in t["ci_1pct"]:
                lo, hi = t["ci_1pct"][key]
                cell += f" [{_pct(lo)}, {_pct(hi)}]"
            cells.append(cell)
        others = [t["success_1pct"].get(f"{i}|{a}", 0) for a in algs if a != OWN]
        hard = "yes" if others and max(others) < 1.0 else "no"
        L.append(f"| {i} | " + " | ".join(cells) + f" | {hard} |")
    n_hard = sum(max(t["success_1pct"].get(f"{i}|{a}", 0) for a in algs if a != OWN) < 1
                 for i in inst)
    L += ["", f"Hard instances (no algorithm other than {OWN} reaches 100 % of seeds within "
          f"1 %): {n_hard} of {len(inst)}.", "",
          "## Expected running time to 1 % above the optimum", "",
          "ERT = evaluations of all runs (up to their first hit, else their budget) / number "
          "of runs that hit; ∞: no run hit.", "",
          "| instance | " + " | ".join(algs) + " |", "|---|" + "---:|" * len(algs)]
    k1 = t["ert_1pct_index"]
    for i in inst:
        L.append(f"| {i} | " + " | ".join(_num(t["ert"].get(f"{i}|{a}", [np.inf] * 9)[k1])
                                         for a in algs) + " |")
    if OWN in algs:
        own = {i: t["success_1pct"].get(f"{i}|{OWN}", np.nan) for i in inst}
        ok = [i for i, v in own.items() if v >= 0.95]
        pos = list(ranks.index).index(OWN) + 1 if OWN in ranks.index else None
        L += ["", f"## Verdict on {OWN}", "",
              f"Target: within 1 % of the exact optimum in ≥ 95 % of seeds on every instance, "
              f"and the best mean rank. Reached on {len(ok)} of {len(inst)} instances"
              + (f"; missed on {', '.join(f'{i} ({_pct(own[i])})' for i in inst if i not in ok)}"
                 if len(ok) < len(inst) else "")
              + f". Mean rank position {pos} of {len(ranks)} ({ranks.get(OWN, np.nan):.2f}"
              f"; best {ranks.index[0]} {ranks.iloc[0]:.2f})."]
    L += ["", "## Where each algorithm wins and fails", ""]
    L += _wins_and_fails(t, algs, inst)
    if multi:
        L += ["", "## Multi-objective instances", "",
              "Median hypervolume of a run's feasible (E, L, A) designs over the exact front's "
              "(log10 space, reference 0.1 decade beyond the front's worst values; moocore), "
              "and median attainment surfaces (moocore.eaf) projected to (E x L, A).", "",
              "| instance | " + " | ".join(algs) + " |", "|---|" + "---:|" * len(algs)]
        for i in multi:
            L.append(f"| {i} | " + " | ".join(f"{t['hv_ratio'].get(f'{i}|{a}', np.nan):.3f}"
                                             for a in algs) + " |")
        L.append("")
        L += [f"![EAF {i}](figures/eaf_{i}.png)" for i in multi]
    L += ["", "## Per-instance runtime ECDFs", "", "![ECDF per instance]"
          "(figures/ecdf_instances.png)", "",
          "## Data", "",
          "Every number above is in `summary.json`. The runs are exported in the IOHprofiler "
          "format (IOHanalyzer reads it: one folder per algorithm with `.info` + `.dat` files; "
          "`raw_y` = score / optimum - 1) under the run directory's `ioh/`.", ""]
    return "\n".join(L)


def _wins_and_fails(t: dict[str, Any], algs: list[str], inst: list[str]) -> list[str]:
    out = []
    for a in algs:
        best, fail = [], []
        for i in inst:
            s = {b: t["success_1pct"].get(f"{i}|{b}", 0.0) for b in algs}
            g = {b: t["median_gap"].get(f"{i}|{b}", np.inf) for b in algs}
            top = max(s.values())
            if s[a] == top and (top > 0 or g[a] == min(g.values())):
                best.append(i)
            if t["success_5pct"].get(f"{i}|{a}", 0.0) < 0.5:
                fail.append(i)
        out.append(f"- **{a}** — best or tied best success on {len(best)}/{len(inst)}"
                   + (f" ({', '.join(best)})" if 0 < len(best) < len(inst) else "")
                   + f"; fails (under half of the seeds within 5 %) on {len(fail)}"
                   + (f" ({', '.join(fail)})" if fail else "") + ".")
    return out
