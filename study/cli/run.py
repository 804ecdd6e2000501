"""`imcopt run [CONFIG]`: run (or resume) a study; without CONFIG, the quickstart study."""

from __future__ import annotations

import time
from pathlib import Path

import click

from problems.errors import ImcoptError
from problems.package_data import data_file


def quickstart_config() -> Path:
    """The built-in quickstart study (package data ``study/data/quickstart.yaml``, which
    ``configs/quickstart.yaml`` links to); its output is ``results/quickstart`` under the cwd."""
    return data_file("study", "data", "quickstart.yaml")


@click.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output directory (default: the config's `output`).")
@click.option("--jobs", "-j", type=int, default=None,
              help="Local worker processes (default: all cores; 1 = serial).")
@click.option("--dask", "dask", default=None, metavar="ADDRESS",
              help="Run on a Dask scheduler at ADDRESS (tcp://host:port), or 'local' to start "
                   "a LocalCluster on 127.0.0.1 (needs the optional extra imcopt[dask]).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--no-plots", is_flag=True, help="Skip the figures (tables and report only).")
@click.option("--force", is_flag=True,
              help="If DIR holds another study (other config or cost model), move its results "
                   "to DIR/.previous-<time>/ and start afresh (nothing is deleted).")
@click.pass_obj
def run(obj: dict | None, config: Path | None, out: Path | None, jobs: int | None,
        dask: str | None, no_progress: bool, no_plots: bool, force: bool) -> None:
    """Run the study in CONFIG (YAML; default: the built-in quickstart study).

    Re-running with the same output directory resumes: finished runs and cached optima are
    skipped, damaged ones recomputed. One study per directory: a second run on it fails while
    the first holds it; another config is refused unless --force. With --dask, every worker
    needs the same imcopt version installed.
    """
    from study.config import load_study
    from study.runner import run_study

    if jobs is not None and jobs < 1:
        raise ImcoptError(f"--jobs must be >= 1, got {jobs}")
    path = config if config is not None else quickstart_config()
    t0 = time.perf_counter()
    cfg = load_study(path)
    if out is not None:
        cfg = cfg.with_output(out)
    result = run_study(cfg, jobs=jobs, dask=dask, backend=(obj or {}).get("backend"),
                       progress=not no_progress,
                       plots=not no_plots, log=lambda msg: click.echo(msg, err=True),
                       force=force)
    click.echo(f"study {cfg.name!r} done in {time.perf_counter() - t0:.1f} s: "
               f"{result / 'report.md'}")
