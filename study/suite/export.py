"""Export a suite run in the IOHprofiler format (readable by IOHanalyzer).

Layout, one folder per algorithm (IOHexperimenter's "IOHprofiler" logger format)::

    ioh/<alg>/IOHprofiler_f<k>_<instance>.info
    ioh/<alg>/data_f<k>_<instance>/IOHprofiler_f<k>_DIM<n>.dat

The .info file has a header line (suite, funcId, funcName, DIM, maximization, algId, algInfo),
a comment line and one line listing the .dat file and each run as ``<seed>:<evals>|<best>``.
Each run in the .dat file starts with the header ``evaluations raw_y`` and lists the
evaluations at which the best-so-far improved. ``raw_y`` is the relative precision
``score / optimum - 1`` (0 = the exact optimum), so IOHanalyzer's fixed targets are the same
relative targets as in REPORT.md and comparable across instances (like COCO's Delta f).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from problems.io import atomic_write_text
from study.suite.analytics import SuiteData


def export_iohprofiler(data: SuiteData, out: Path) -> list[Path]:
    """Write the IOHprofiler files of every (algorithm, instance); return the .info paths."""
    written = []
    for a in data.algorithms:
        for k, iid in enumerate(data.instances, start=1):
            runs = data.select(iid, a)
            if not runs:
                continue
            opt = data.optimum(iid)
            dim = len(data.optima[iid].get("x") or [])
            rel = f"data_f{k}_{iid}/IOHprofiler_f{k}_DIM{dim}.dat"
            blocks, entries = [], []
            for r in runs:
                y = np.where(np.isfinite(r.best_so_far), r.best_so_far / opt - 1.0, np.inf)
                y = np.maximum(y, 0.0)
                change = np.r_[True, y[1:] < y[:-1]] & np.isfinite(y)
                lines = ["evaluations raw_y"] + [f"{i + 1} {y[i]:.10e}"
                                                 for i in np.nonzero(change)[0]]
                if len(y) and not change[-1] and np.isfinite(y[-1]):
                    lines.append(f"{len(y)} {y[-1]:.10e}")
                blocks.append("\n".join(lines))
                last = f"{y[-1]:.10e}" if len(y) and np.isfinite(y[-1]) else "inf"
                entries.append(f"{r.seed}:{len(y)}|{last}")
            d = out / a
            atomic_write_text(d / rel, "\n".join(blocks) + "\n")
            info = (f'suite = "imcopt-suite-v1", funcId = {k}, funcName = "{iid}", '
                    f'DIM = {dim}, maximization = "F", algId = "{a}", '
                    f'algInfo = "budget {runs[0].budget}; raw_y = score/optimum - 1"\n'
                    f"% relative precision to the exact optimum {opt:.10e}\n"
                    f"{rel}, " + ", ".join(entries) + "\n")
            p = d / f"IOHprofiler_f{k}_{iid}.info"
            atomic_write_text(p, info)
            written.append(p)
    return written
