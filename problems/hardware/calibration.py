"""Calibration of the ``cimloop`` cost model against stored CiMLoop results.

Fits what CIMLOOP_MODEL.md (CM) does not give; every documented value stays in
`problems.hardware.cimloop_components`. ``scripts/fit_cimloop.py`` runs `fit_calibration` and
writes ``problems/hardware/data/cimloop_calibration.json`` with provenance.

* area, 32 nm: CACTI tile-buffer areas for the (width, depth) cells that table §5B lacks, the
  GLB areas (table §5B values as priors) and the SRAM row-driver areas per (voltage, rows,
  columns): the stored areas depend on columns, which table §5A (square arrays only) does not
  show. Fitted by least squares on relative error, ridge-anchored to the documented / log-
  interpolated priors so directions the data cannot identify keep the documented value.
* area, other nodes: per-node factors for NeuroSim periphery, CACTI and router areas, plus the
  SRAM row-driver table at that node (the NeuroSim node tables are not documented).
* energy: multipliers on the activation-traffic counts (GLB in / out, router, tile buffers),
  the DRAM weight-traffic factor, leakage, SRAM row-driver (per voltage x columns) and
  cell-write (per voltage) energies, per-node NeuroSim / CACTI energy factors and a per-node
  factor on the SRAM cell-write energy (``sram_write_node:<nm>``: at 7-14 nm the SRAM
  energies hold a weight-bit-proportional term that rises with VOLTAGE and that the 32-nm
  write energy times the NeuroSim node factor misses by 10-60x; fitted from two starts, 1
  and WRITE_NODE_START, because from 1 alone the solver stops in a local minimum); ONE set
  shared by all networks and both memories, fitted on log10(model / reference) with each
  (memory, network) group weighted equally and a Huber loss (`EnergyFit.fit`).
* not fitted: the per-layer average input value ai (CM §4), which scales cell-read and
  row-driver energies, comes from CiMLoop's input histograms.
* leave-one-network-out CV (`leave_one_network_out`) refits the energy on the other networks
  and scores the left-out one; the yardstick, a per-network log-linear regression of log EDAP
  on the raw parameters fitted on that network itself, is scored too (`baseline_loglinear`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from problems.hardware import cimloop as cl
from problems.hardware import cimloop_area as ca
from problems.hardware import cimloop_components as cc
from problems.hardware import validation as val
from problems.hardware.cimloop_counts import structure_counts
from problems.workloads.stack import WorkloadStack

NODES = (7.0, 10.0, 14.0, 22.0, 45.0)
FITTED_COEFS = ("glb_in", "glb_out", "router", "input_buffer", "output_buffer", "dram",
                "leakage", "sram_row", "sram_write")
NS_FEATURES = ("cell_read", "row_drivers", "sram_row", "adc", "sram_write", "weight_drivers")
CACTI_FEATURES = ("glb_in", "glb_out", "input_buffer", "output_buffer")
RIDGE_AREA = 1e-12
RIDGE_ENERGY = 1e-4
WRITE_NODE_START = 100.0
HUBER_LOG10 = 0.05
ROBUST_PASSES = 2


# -- area ---------------------------------------------------------------------------------------
def unique_designs(results: pd.DataFrame) -> pd.DataFrame:
    keys = ["memory", "technology_nm", "voltage_v", "xbar_rows", "xbar_cols", "router_groups",
            "tiles_per_group", "macros_per_tile", "glb_bytes"]
    u = results.drop_duplicates(keys).reset_index(drop=True).copy()
    u["bits_per_cell"] = 1  # area does not depend on it (CM §6.7)
    return u


def _ridge_lstsq(X: np.ndarray, y: np.ndarray, prior: np.ndarray, lam: float) -> np.ndarray:
    """min ||(X theta - y) / y||^2 + lam ||theta / prior - 1||^2."""
    w = 1.0 / y
    A = np.vstack([X * prior[None, :] * w[:, None], np.sqrt(lam) * np.eye(prior.size)])
    b = np.concatenate([y * w, np.sqrt(lam) * np.ones(prior.size)])
    delta, *_ = np.linalg.lstsq(A, b, rcond=None)
    return delta * prior


def fit_area(results: pd.DataFrame) -> tuple[dict, dict]:
    """Fitted area table (key -> um^2, see `cimloop.area_keys`) and residual summary.

    One joint linear least-squares over all unique designs (all nodes) on relative error;
    documented parts (cells at F^2, RRAM row/column drivers) are fixed, the table entries
    are ridge-anchored to `cimloop.area_priors_um2` (documented / interpolated values)."""
    u = unique_designs(results)
    d = val.designs_of(u)
    y = u["area_mm2"].to_numpy() * 1e6
    base = ca.area_components_mm2(d, calibration={})
    fixed = (base["cells"] + np.where(d.is_sram, 0.0, base["row_drivers"])
             + base["column_drivers"]) * 1e6
    keys = ca.area_keys(d)
    prior = ca.area_priors_um2(d)
    arrays = d.n_macros.astype(float)
    coef = {"adc": arrays * d.xbar_cols, "buf_in": d.n_tiles.astype(float),
            "buf_out": d.n_tiles.astype(float), "glb": np.ones(len(u)),
            "rowdrv": np.where(d.is_sram, 2 * arrays, 0.0),
            "router": d.router_groups.astype(float)}
    names: dict[str, int] = {}
    pri: list[float] = []
    rows_i, cols_j, vals = [], [], []
    for k, ks in keys.items():
        for i, key in enumerate(ks):
            if coef[k][i] == 0:
                continue
            if key not in names:
                names[key] = len(names)
                pri.append(float(prior[k][i]))
            rows_i.append(i)
            cols_j.append(names[key])
            vals.append(coef[k][i])
    X = np.zeros((len(u), len(names)))
    np.add.at(X, (np.array(rows_i), np.array(cols_j)), np.array(vals))
    theta = _ridge_lstsq(X, y - fixed, np.array(pri), RIDGE_AREA)
    table = dict(zip(names, theta.tolist(), strict=True))
    area_cal = {"um2": table}
    pred = sum(ca.area_components_mm2(d, calibration={"area": area_cal}).values())
    rel = np.abs(pred / u["area_mm2"].to_numpy() - 1)
    resid = {}
    tt = d.technology_nm
    for node in sorted(set(tt.tolist())):
        m = np.isclose(tt, node)
        resid[f"{node:g}nm"] = {"designs": int(m.sum()), "median_rel": float(np.median(rel[m])),
                                "max_rel": float(rel[m].max())}
    return area_cal, resid


# -- energy -------------------------------------------------------------------------------------
def energy_features(results: pd.DataFrame, workloads: dict) -> tuple[dict, np.ndarray]:
    """Per-row raw energy features (J per fitted feature, no multipliers, no node factors),
    and the rows the model can evaluate."""
    ones = dict.fromkeys([f"{n:g}" for n in NODES], 1.0)
    raw_cal = {"energy": {"tech_scale_neurosim": ones, "tech_scale_cacti": ones}}
    feats: dict[str, np.ndarray] = {}
    valid = np.zeros(len(results), bool)
    for net, g in results.groupby("network", sort=False):
        d = val.designs_of(g)
        stack = WorkloadStack.of(workloads[str(net)])
        counts = structure_counts(d, stack, memo=None)
        f = cl.feature_energies_j(cl.action_table(d, stack, counts, raw_cal, fitted=False))
        pos = results.index.get_indexer(g.index)
        for k, v in f.items():
            feats.setdefault(k, np.zeros(len(results)))[pos] = v[:, 0]
        valid[pos] = counts["placed"][counts["inverse"], 0] | d.is_sram
    return feats, valid


class EnergyFit:
    """Shared multipliers + per-node factors: E = sum_j c_j F_j (x node factor of F_j).

    SRAM row-driver and cell-write features are split by (voltage, columns) / voltage, each
    with its own multiplier (the undocumented NeuroSim table cells); all others share one
    multiplier across every design and network; cell reads, RRAM row drivers, ADC and weight
    drivers keep the documented energy (multiplier fixed at 1)."""

    def __init__(self, feats: dict[str, np.ndarray], results: pd.DataFrame,
                 per_memory: tuple[str, ...] = ()) -> None:
        """``per_memory``: traffic features fitted with one multiplier per memory type (none
        by default: shared multipliers generalise better to a left-out network)."""
        self.node = results["technology_nm"].to_numpy(float)
        self.robust_passes = ROBUST_PASSES
        volt = results["voltage_v"].to_numpy(float)
        cols = results["xbar_cols"].to_numpy(int)
        sram = (results["memory"] == "SRAM").to_numpy()
        nets = results["network"].to_numpy()
        self.networks = sorted(set(nets.tolist()))
        columns, params, params2, group = [], [], [], []
        self.names: list[str] = []

        def param(name: str) -> int:
            if name not in self.names:
                self.names.append(name)
            return self.names.index(name)

        for k, v in feats.items():
            grp = "ns" if k in NS_FEATURES else ("ca" if k in CACTI_FEATURES else "")
            if k == "sram_row" or k == "sram_write":
                keys = np.array([ca.sram_row_key(a, c) if k == "sram_row" else
                                 ca.sram_write_key(a) for a, c in zip(volt, cols, strict=True)])
            elif k in per_memory:  # "<feature>:RRAM" / "<feature>:SRAM" (cimloop.py reads both)
                keys = np.where(sram, f"{k}:SRAM", f"{k}:RRAM")
            else:  # one multiplier shared by RRAM and SRAM
                keys = np.full(len(v), k)
            for key in sorted(set(keys[sram].tolist()) if k.startswith("sram_")
                              else set(keys.tolist())):
                if k == "sram_write":  # per-node write factor (none at the 32-nm reference)
                    splits = [(np.isclose(self.node, n),
                               None if n == cc.REF_NODE_NM else ca.sram_write_node_key(n))
                              for n in sorted(set(self.node.tolist()))]
                else:
                    splits = [(np.ones(len(v), bool), None)]
                for sel, name2 in splits:
                    m = (keys == key) & sel
                    if not m.any():
                        continue
                    columns.append(np.where(m, v, 0.0))
                    params.append(param(key) if (key != k or k in FITTED_COEFS) else -1)
                    params2.append(param(name2) if name2 is not None else -1)
                    group.append(grp)
        self.n_coef = len(self.names)
        self.names += [f"ns{n:g}" for n in NODES] + [f"ca{n:g}" for n in NODES]
        self.X = np.stack(columns, 1)
        self.param = np.array(params)
        self.param2 = np.array(params2)
        self.group = np.array(group)

    def unpack(self, theta: np.ndarray) -> tuple[dict, dict, dict]:
        p = dict(zip(self.names, np.exp(theta).tolist(), strict=True))
        coefs = {k: p[k] for k in self.names[:self.n_coef]}
        ns = {f"{n:g}": p[f"ns{n:g}"] for n in NODES}
        ca = {f"{n:g}": p[f"ca{n:g}"] for n in NODES}
        return coefs, ns, ca

    def _parts(self, theta: np.ndarray, rows: np.ndarray | slice
               ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        P = np.exp(theta)
        coef = np.where(self.param >= 0, P[np.maximum(self.param, 0)], 1.0)
        coef = coef * np.where(self.param2 >= 0, P[np.maximum(self.param2, 0)], 1.0)
        node = self.node[rows]
        s = {"": np.ones(node.size), "ns": np.ones(node.size), "ca": np.ones(node.size)}
        for i, n in enumerate(NODES):
            m = np.isclose(node, n)
            s["ns"][m] = P[self.n_coef + i]
            s["ca"][m] = P[self.n_coef + len(NODES) + i]
        return coef, node, s

    def predict(self, theta: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        sel = slice(None) if rows is None else rows
        coef, node, s = self._parts(theta, sel)
        X = self.X[sel]
        tot = np.zeros(node.size)
        for g, f in s.items():
            cols = self.group == g
            tot += (X[:, cols] @ coef[cols]) * f
        return tot

    def jacobian_tot(self, theta: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """d(total energy)/d(theta), (n_rows, n_params)."""
        coef, node, s = self._parts(theta, rows)
        X = self.X[rows]
        scale = np.stack([s[g] for g in self.group], 1)         # (n, n_cols)
        contrib = X * coef[None, :] * scale
        J = np.zeros((node.size, theta.size))
        for par in (self.param, self.param2):
            fitted = par >= 0
            np.add.at(J.T, par[fitted], contrib[:, fitted].T)
        for i, n in enumerate(NODES):
            m = np.isclose(node, n)
            J[m, self.n_coef + i] = contrib[m][:, self.group == "ns"].sum(1)
            J[m, self.n_coef + len(NODES) + i] = contrib[m][:, self.group == "ca"].sum(1)
        return J

    def initial(self) -> np.ndarray:
        init = [0.0] * self.n_coef
        init += [np.log(n / 32.0) for n in NODES]
        e, _ = cc.cacti_tech_scale(np.array(NODES))
        init += np.log(e).tolist()
        return np.array(init)

    def fit(self, ref: np.ndarray, groups: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Least squares on log10(model / ref), then ROBUST_PASSES Huber reweightings
        (threshold HUBER_LOG10): a few percent of the stored SRAM runs sit up to 10x above
        every structural prediction, scattered over the design space (the same design in
        several networks; presumably poor random_pruned mappings), and would otherwise bias
        the shared constants."""
        gsize = pd.Series(groups[rows]).map(pd.Series(groups[rows]).value_counts()).to_numpy()
        theta = self._fit(ref, rows, 1.0 / np.sqrt(gsize), None)
        for _ in range(self.robust_passes):
            r = np.abs(np.log10(self.predict(theta, rows) / ref[rows]))
            huber = np.sqrt(np.minimum(1.0, HUBER_LOG10 / np.maximum(r, 1e-12)))
            theta = self._fit(ref, rows, huber / np.sqrt(gsize), theta)
        return theta

    def _fit(self, ref: np.ndarray, rows: np.ndarray, w: np.ndarray,
             start: np.ndarray | None) -> np.ndarray:
        prior = self.initial()
        lam = np.sqrt(RIDGE_ENERGY)

        def resid(theta: np.ndarray) -> np.ndarray:
            r = np.log10(self.predict(theta, rows) / ref[rows]) * w
            return np.concatenate([r, lam * (theta - prior)])

        def jac(theta: np.ndarray) -> np.ndarray:
            tot = self.predict(theta, rows)
            J = self.jacobian_tot(theta, rows) * (w / (tot * np.log(10)))[:, None]
            return np.vstack([J, lam * np.eye(theta.size)])

        # two starts for the per-node write factors (documented 1 and WRITE_NODE_START): from 1
        # alone the solver stops in a local minimum where the NeuroSim node factor absorbs them
        best = None
        starts = []
        for s in (0.0, np.log(WRITE_NODE_START)):
            x0 = prior.copy()
            x0[[i for i, n in enumerate(self.names) if n.startswith("sram_write_node:")]] = s
            starts.append(x0)
        for x0 in ([start] if start is not None else starts):
            sol = least_squares(resid, x0, jac=jac, method="trf", max_nfev=300)
            if best is None or sol.cost < best.cost:
                best = sol
        return best.x


#: raw design parameters of the baseline regression (log of each, voltage linear)
BASELINE_LOG = ("technology_nm", "bits_per_cell", "base_latency_s", "xbar_rows", "xbar_cols",
                "router_groups", "tiles_per_group", "macros_per_tile", "glb_bytes")


def baseline_loglinear(results: pd.DataFrame, rows: np.ndarray) -> list[dict]:
    """The issue's yardstick: per (memory, network), least squares of log EDAP on the raw
    parameters (their logs, and voltage), fitted and scored in-sample on that network's rows.
    Returns per group n and the Spearman rho of EDAP it reaches."""
    out = []
    sub = results.iloc[rows]
    for (mem, net), g in sub.groupby(["memory", "network"], sort=True):
        y = np.log(g["energy_j"] * g["latency_s"] * g["area_mm2"]).to_numpy()
        cols = [np.log(g[c].to_numpy(float)) for c in BASELINE_LOG] + [g["voltage_v"].to_numpy()]
        X = np.column_stack([np.ones(len(g))] + [c for c in cols if np.ptp(c) > 0])
        coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        out.append({"memory": mem, "network": net, "n": len(g),
                    "rho_edap": val._rho(X @ coef, y)})
    return out


def metrics_for(results: pd.DataFrame, model_e: np.ndarray, rows: np.ndarray,
                area: np.ndarray, lat: np.ndarray) -> list[dict]:
    model = pd.DataFrame({"model_energy_j": model_e, "model_latency_s": lat,
                          "model_area_mm2": area, "model_valid": True,
                          "model_utilization_pct": np.nan}, index=results.index)
    return val.group_metrics(results.iloc[rows], model.iloc[rows])


def leave_one_network_out(ef: EnergyFit, ref_e: np.ndarray, groups: np.ndarray,
                          rows: np.ndarray, networks: np.ndarray
                          ) -> tuple[np.ndarray, dict[str, dict]]:
    """Energy of every row predicted by a fit on the other networks' rows (nan elsewhere),
    and each fold's fitted energy constants by held-out network ({"coefficients",
    "tech_scale_neurosim", "tech_scale_cacti"}: the ``energy`` part of a calibration)."""
    pred = np.full(len(ref_e), np.nan)
    folds: dict[str, dict] = {}
    for net in sorted(set(networks[rows].tolist())):
        train = rows[networks[rows] != net]
        test = rows[networks[rows] == net]
        theta = ef.fit(ref_e, groups, train)
        pred[test] = ef.predict(theta, test)
        coefs, ns, cac = ef.unpack(theta)
        folds[net] = {"coefficients": coefs, "tech_scale_neurosim": ns,
                      "tech_scale_cacti": cac}
    return pred, folds


def fit_calibration(results: pd.DataFrame, workloads: dict,
                    per_memory: tuple[str, ...] = (), robust_passes: int = ROBUST_PASSES,
                    cv: bool = True) -> dict:
    """The whole fit: {"calibration": area + energy tables, "area_residuals", "rows_used",
    "in_sample", "leave_one_network_out" (scores; empty without ``cv``), "held_out_energy"
    (each fold's energy constants by held-out network), "baseline_loglinear"}."""
    unknown = set(per_memory) - set(cl.TRAFFIC_FEATURES)
    if unknown:
        raise ValueError(f"per_memory: unknown feature(s) {sorted(unknown)}")
    results = results.reset_index(drop=True)
    area_cal, area_resid = fit_area(results)
    feats, valid = energy_features(results, workloads)
    rows = np.flatnonzero(valid)
    ref_e = results["energy_j"].to_numpy()
    groups = (results["memory"] + "/" + results["network"]).to_numpy()
    ef = EnergyFit(feats, results, per_memory)
    ef.robust_passes = robust_passes
    theta = ef.fit(ref_e, groups, rows)
    coefs, ns, cac = ef.unpack(theta)
    cal = {"area": area_cal, "energy": {"coefficients": coefs, "tech_scale_neurosim": ns,
                                        "tech_scale_cacti": cac}}
    d_all = val.designs_of(results)
    area_all = sum(ca.area_components_mm2(d_all, calibration=cal).values())
    lat_all = results["latency_s"].to_numpy()  # latency is exact (checked by the tests)
    in_sample = metrics_for(results, ef.predict(theta), rows, area_all, lat_all)
    cv_groups: list[dict] = []
    folds: dict[str, dict] = {}
    if cv:
        pred, folds = leave_one_network_out(ef, ref_e, groups, rows,
                                            results["network"].to_numpy())
        cv_groups = metrics_for(results, pred, rows, area_all, lat_all)
    return {"calibration": cal, "area_residuals": area_resid, "rows_used": int(rows.size),
            "in_sample": in_sample, "leave_one_network_out": cv_groups,
            "held_out_energy": folds,
            "baseline_loglinear": baseline_loglinear(results, rows)}
