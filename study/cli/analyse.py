"""`imcopt compare|plot|report|best DIR`: analyse a study directory written by `imcopt run`.

Every command verifies the run files it reads (a damaged one is an error naming it) and checks
its output targets are writable before it computes."""

from __future__ import annotations

from pathlib import Path

import click

_DIR = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))


@click.command()
@_DIR
@click.option("--no-indicators", is_flag=True, help="Skip hypervolume / IGD+ (faster).")
def compare(directory: Path, no_indicators: bool) -> None:
    """Print per-algorithm tables and pairwise tests of a study."""
    from study.analysis import analyse
    from study.report import ALG_HEADER, PAIR_HEADER, algorithm_rows, fmt, pair_rows, text_table

    a = analyse(directory, indicators=not no_indicators)
    res = a["results"]
    for sc in res.scenario_names:
        ref, kind = res.reference(sc)
        click.echo(f"\n== scenario {sc}: reference {fmt(ref)} J*s*mm^2 ({kind}) ==")
        click.echo(text_table(algorithm_rows(a["table"], sc), ALG_HEADER))
        pw = a["pairwise"].get(sc)
        if pw is not None and len(pw):
            click.echo("\nMann-Whitney U (two-sided, Holm-corrected), A12 = P(A better):")
            click.echo(text_table(pair_rows(pw), PAIR_HEADER))
    fr = a["friedman"]
    click.echo("")
    if fr.get("p_value") is not None:
        click.echo(f"Friedman across {fr['n_blocks']} scenarios: chi2 = {fmt(fr['statistic'])}, "
                   f"p = {fmt(fr['p_value'])}")
    else:
        click.echo(f"Friedman test not applicable: {fr.get('note')}")
    if fr.get("mean_ranks"):
        ranks = sorted(fr["mean_ranks"].items(), key=lambda kv: kv[1])
        click.echo("mean ranks: " + ", ".join(f"{k} {v:.2f}" for k, v in ranks))


@click.command()
@_DIR
def plot(directory: Path) -> None:
    """Write the figures of a study into DIR/plots."""
    from study.analysis import best_designs_table, load_results
    from study.outdir import check_writable
    from study.plots import figure_files, plot_all

    res = load_results(directory)
    check_writable(figure_files(res, directory / "plots"))
    for p in plot_all(res, best_designs_table(res), directory / "plots"):
        click.echo(str(p))


@click.command()
@_DIR
@click.option("--no-plots", is_flag=True, help="Reuse the figures already in DIR/plots.")
@click.pass_obj
def report(obj: dict | None, directory: Path, no_plots: bool) -> None:
    """Rewrite runs.csv, best_designs.csv, summary.json, the front CSVs (optimum/*-front.csv,
    fronts/), plots and report.md of a study."""
    from study.executors import default_jobs
    from study.report import finalize_study

    finalize_study(directory, log=lambda msg: click.echo(msg, err=True), plots=not no_plots,
                   backend=(obj or {}).get("backend"), jobs=default_jobs())
    click.echo(str(directory / "report.md"))


@click.command()
@_DIR
@click.option("--scenario", default=None, help="Only this scenario (needed by --export when "
                                               "the study has several).")
@click.option("--export", "export", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the best design as a design YAML for "
                                 "`imcopt evaluate --design FILE`.")
def best(directory: Path, scenario: str | None, export: Path | None) -> None:
    """Print the study's best design per scenario (best over every finished run)."""
    from problems.errors import ImcoptError
    from problems.io import atomic_write_text
    from study.exports import best_design, design_yaml
    from study.outdir import check_writable
    from study.report import fmt
    from study.results import load_results

    res = load_results(directory)
    names = res.scenario_names
    if scenario is not None and scenario not in names:
        raise ImcoptError(f"--scenario {scenario!r}: not in the study (scenarios: "
                          f"{', '.join(names)})")
    chosen = [scenario] if scenario else names
    if export is not None:
        if len(chosen) != 1:
            raise ImcoptError(f"--export writes one design: add --scenario (one of "
                              f"{', '.join(names)})")
        check_writable([export])
    for sc in chosen:
        b = best_design(res, sc)
        if b is None:
            click.echo(f"{sc}: no finished feasible run")
            continue
        opt = b["optimum_j_s_mm2"]
        gap = f", {100 * (b['score_j_s_mm2'] / opt - 1):.2f} % above the exact optimum" \
            if opt else ""
        click.echo(f"{sc}: {fmt(b['score_j_s_mm2'])} J*s*mm^2 by {b['algorithm']} "
                   f"(seed {b['seed']}){gap}; area {fmt(b['area_mm2'])} mm^2")
        click.echo("  " + ", ".join(f"{k}={fmt(v)}" for k, v in b["design"].items()))
        if export is not None:
            cfg = res.scenario(sc)
            text = design_yaml(b, directory, cfg.workloads, res.config.convention)
            atomic_write_text(export, text)
            click.echo(f"wrote {export}")
