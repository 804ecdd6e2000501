"""study/plots.py: a baseline that cannot serve a workload is drawn as infeasible with its
reason (issue 14), without a matplotlib warning or a silently missing bar."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd

from study.plots import plot_baselines

matplotlib.use("Agg")


def test_infeasible_baseline_drawn_with_reason(tmp_path) -> None:
    rows = []
    for src, detail, vals in (("ga", "seed 0", [1e-3, 2e-3]),
                              ("largest-workload", "vgg16", [1e-3, np.inf]),
                              ("specialist", "each", [None, 1e-4])):
        for w, v in zip(("vgg16", "mobilenet_v2"), vals, strict=True):
            rows.append({"scenario": "s", "source": src, "detail": detail, "workload": w,
                         "score_j_s_mm2": 1e-3, "edap_j_s_mm2": v})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        import matplotlib.pyplot as plt

        captured = {}
        real_save = plt.Figure.savefig

        def keep(fig, *a, **k):
            captured["fig"] = fig
            return real_save(fig, *a, **k)

        plt.Figure.savefig = keep
        try:
            out = plot_baselines(None, pd.DataFrame(rows), "s", tmp_path / "b.png")
        finally:
            plt.Figure.savefig = real_save
    assert out is not None and out.exists()
    texts = [t.get_text() for t in captured["fig"].axes[0].texts]
    assert texts.count("infeasible: weights not resident / not mappable") == 2
    heights = [p.get_height() for p in captured["fig"].axes[0].patches
               if hasattr(p, "get_height")]
    assert all(np.isfinite(h) for h in heights)
