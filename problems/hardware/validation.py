"""Validation of the ``cimloop`` cost model against stored CiMLoop results.

Reads ``cimloop_results.csv`` / ``cimloop_layers.csv`` (format: ../shared/reference/README.md),
evaluates the model at every row's design on that row's network and scores it per
(memory, network): Spearman rho of log EDAP, energy, latency, area and the median
|log10(model / reference)|; and per (memory, experiment) the design-selection regret.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from problems.errors import ImcoptError
from problems.hardware.design import DesignBatch
from problems.workloads.importers import load_csv
from problems.workloads.layers import Workload
from problems.workloads.stack import WorkloadStack

RESULT_COLUMNS: tuple[str, ...] = (
    "memory", "network", "technology_nm", "voltage_v", "bits_per_cell", "base_latency_s",
    "xbar_rows", "xbar_cols", "router_groups", "tiles_per_group", "macros_per_tile",
    "glb_bytes", "energy_j", "latency_s", "area_mm2",
)
DESIGN_COLUMNS: tuple[str, ...] = (
    "memory", "technology_nm", "voltage_v", "bits_per_cell", "base_latency_s", "xbar_rows",
    "xbar_cols", "router_groups", "tiles_per_group", "macros_per_tile", "glb_bytes",
)


def _read_csv(path: str | Path, required: Sequence[str], what: str) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise ImcoptError(f"{what} file {p} does not exist")
    try:
        df = pd.read_csv(p)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ImcoptError(f"{what} file {p}: cannot parse as CSV ({exc})") from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ImcoptError(f"{what} file {p}: missing column(s) {missing}; "
                          f"have {list(df.columns)}")
    return df


def load_layers(path: str | Path) -> dict[str, Workload]:
    """Workloads (one per network) from a cimloop_layers.csv-style table, keyed by name
    (through the layer-table importer, which names the file, row and field of bad input)."""
    return {w.name: w for w in load_csv(path)}


def load_results(path: str | Path) -> pd.DataFrame:
    """Reference results table, checked for columns and numeric values."""
    df = _read_csv(path, RESULT_COLUMNS, "results")
    for c in RESULT_COLUMNS[2:]:
        vals = pd.to_numeric(df[c], errors="coerce")
        bad = vals.isna() | ~np.isfinite(vals) | (vals <= 0)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ImcoptError(f"results file {path}: row {i + 2}, column {c} = "
                              f"{df[c].iloc[i]!r} is not a positive number")
        df[c] = vals
    mem = df["memory"].astype(str).str.upper()
    bad = ~mem.isin(["RRAM", "SRAM"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ImcoptError(f"results file {path}: row {i + 2}, column memory = "
                          f"{df['memory'].iloc[i]!r}; allowed RRAM, SRAM")
    df["memory"] = mem
    if "experiment" not in df.columns:
        df["experiment"] = "all"
    return df


def designs_of(df: pd.DataFrame) -> DesignBatch:
    """DesignBatch of a results table's rows (base_latency_s -> cycle_time_s)."""
    return DesignBatch.from_dict({
        "memory": df["memory"].to_numpy(), "technology_nm": df["technology_nm"].to_numpy(),
        "voltage_v": df["voltage_v"].to_numpy(), "bits_per_cell": df["bits_per_cell"].to_numpy(),
        "cycle_time_s": df["base_latency_s"].to_numpy(),
        "xbar_rows": df["xbar_rows"].to_numpy(), "xbar_cols": df["xbar_cols"].to_numpy(),
        "adc_bits": 5, "adcs_per_macro": 16,
        "router_groups": df["router_groups"].to_numpy(),
        "tiles_per_group": df["tiles_per_group"].to_numpy(),
        "macros_per_tile": df["macros_per_tile"].to_numpy(),
        "glb_bytes": df["glb_bytes"].to_numpy(),
    })


def model_for_rows(results: pd.DataFrame, workloads: dict[str, Workload],
                   calibration: dict | None = None, evaluator=None,
                   average_inputs: str | Path | None = None) -> pd.DataFrame:
    """Model energy/latency/area at every row's design on that row's network.

    Returns a frame aligned with `results` with columns model_energy_j, model_latency_s,
    model_area_mm2, model_utilization_pct, model_valid."""
    from problems.hardware.cimloop import evaluate_cimloop

    unknown = sorted(set(results["network"].astype(str)) - set(workloads))
    if unknown:
        raise ImcoptError(f"results reference network(s) {unknown} that the layers file does "
                          f"not define; it has {sorted(workloads)}")
    out = pd.DataFrame(index=results.index, columns=["model_energy_j", "model_latency_s",
                                                     "model_area_mm2",
                                                     "model_utilization_pct"], dtype=float)
    out["model_valid"] = False
    ev = evaluator or (lambda d, s: evaluate_cimloop(d, s, calibration=calibration,
                                                      average_inputs=average_inputs))
    for net, g in results.groupby("network", sort=False):
        res = ev(designs_of(g), WorkloadStack.of(workloads[str(net)]))
        out.loc[g.index, "model_energy_j"] = res.energy_j[:, 0]
        out.loc[g.index, "model_latency_s"] = res.latency_s[:, 0]
        out.loc[g.index, "model_area_mm2"] = res.area_mm2
        out.loc[g.index, "model_utilization_pct"] = 100 * res.utilisation[:, 0]
        out.loc[g.index, "model_valid"] = res.valid[:, 0]
    return out


def _rho(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    return float(spearmanr(a, b).statistic)


def _mae_log10(model: np.ndarray, ref: np.ndarray) -> float:
    return float(np.median(np.abs(np.log10(model / ref))))


def group_metrics(results: pd.DataFrame, model: pd.DataFrame) -> list[dict[str, object]]:
    """Per (memory, network) agreement metrics (rows where the model is valid)."""
    groups = []
    df = results.join(model)
    for (mem, net), g in df.groupby(["memory", "network"], sort=True):
        g = g[g["model_valid"].astype(bool)]
        ref = {q: g[f"{q}_j" if q == "energy" else ("latency_s" if q == "latency"
                                                     else "area_mm2")].to_numpy(float)
               for q in ("energy", "latency", "area")}
        mod = {"energy": g["model_energy_j"].to_numpy(float),
               "latency": g["model_latency_s"].to_numpy(float),
               "area": g["model_area_mm2"].to_numpy(float)}
        edap_r = np.log(ref["energy"] * ref["latency"] * ref["area"])
        edap_m = np.log(mod["energy"] * mod["latency"] * mod["area"])
        row = {"memory": str(mem), "network": str(net), "n": int(len(g)),
               "rho_edap": _rho(edap_m, edap_r)}
        for q in ("energy", "latency", "area"):
            row[f"rho_{q}"] = _rho(mod[q], ref[q])
        for q in ("energy", "latency", "area"):
            row[f"mae_log10_{q}"] = _mae_log10(mod[q], ref[q]) if len(g) else float("nan")
        groups.append(row)
    return groups


def regret(results: pd.DataFrame, model: pd.DataFrame) -> list[dict[str, object]]:
    """Per (memory, experiment): among designs present for every network of the experiment,
    max-aggregated EDAP (max E x max L x A); regret = reference score of the model's best
    design / best reference score (1 = the model picks the reference optimum)."""
    df = results.join(model)
    out = []
    for (mem, exp), g in df.groupby(["memory", "experiment"], sort=True):
        nets = g["network"].unique()
        key = g[list(DESIGN_COLUMNS)].astype(str).agg("|".join, axis=1)
        g = g.assign(_key=key).drop_duplicates(["_key", "network"])
        counts = g.groupby("_key")["network"].nunique()
        full = counts.index[counts == len(nets)]
        g = g[g["_key"].isin(full)]
        if g.empty:
            continue
        agg = g.groupby("_key").agg(re=("energy_j", "max"), rl=("latency_s", "max"),
                                    ra=("area_mm2", "first"), me=("model_energy_j", "max"),
                                    ml=("model_latency_s", "max"),
                                    ma=("model_area_mm2", "first"))
        ref_score = agg["re"] * agg["rl"] * agg["ra"]
        mod_score = (agg["me"] * agg["ml"] * agg["ma"]).replace(np.nan, np.inf)
        best_model = mod_score.idxmin()
        out.append({"memory": str(mem), "experiment": str(exp),
                    "n_designs": int(len(agg)),
                    "regret": float(ref_score[best_model] / ref_score.min())})
    return out


def validate(results_path: str | Path, layers_path: str | Path,
             calibration: dict | None = None,
             average_inputs: str | Path | None = None) -> dict[str, list[dict[str, object]]]:
    """Full validation report: {"groups": [...], "regret": [...]}. ``average_inputs``: the
    per-layer input-activity table of the networks in ``layers_path`` (default: built-in)."""
    results = load_results(results_path)
    workloads = load_layers(layers_path)
    model = model_for_rows(results, workloads, calibration, average_inputs=average_inputs)
    return {"groups": group_metrics(results, model), "regret": regret(results, model)}
