"""Workload model, stacking and design batches: the contracts every other module relies on."""

from __future__ import annotations

import numpy as np
import pytest

from problems.errors import ImcoptError
from problems.hardware.design import DesignBatch
from problems.workloads.layers import Workload
from problems.workloads.stack import WorkloadStack


def _w(name: str = "net", **extra) -> Workload:
    layers = [dict(C=64, M=128, R=3, S=3, P=28, Q=28),
              dict(C=1, M=1, R=3, S=3, P=14, Q=14, G=32),  # depthwise, 32 channels
              dict(C=512, M=10, R=1, S=1, P=1, Q=1, **extra)]
    return Workload.from_records(name, layers)


def test_derived_counts_follow_the_stated_convention():
    w = _w()
    assert w.macs.tolist() == [64 * 128 * 9 * 28 * 28, 9 * 14 * 14 * 32, 5120]
    assert w.weights.tolist() == [64 * 128 * 9, 9 * 32, 5120]
    assert w.xbar_rows.tolist() == [576, 9, 512]
    assert w.xbar_cols(1).tolist() == [128 * 8, 8, 80]
    assert w.xbar_cols(3).tolist() == [128 * 3, 3, 30]  # ceil(8/3) = 3 slices
    assert w.xbar_cols(8).tolist() == [128, 1, 10]
    # per design (broadcast over a bits-per-cell array)
    assert w.xbar_cols(np.array([1, 2])).shape == (2, 3)


@pytest.mark.parametrize("field,value,match", [
    ("C", 0, "field C = 0 must be a positive integer"),
    ("P", -3, "field P = -3 must be a positive integer"),
    ("M", 2.5, "field M = '2.5' is not an integer"),
    ("R", "x", "field R = 'x' is not an integer"),
])
def test_bad_layer_fields_name_layer_and_field(field, value, match):
    rec = dict(C=4, M=4, R=1, S=1, P=1, Q=1, layer="fc1")
    rec[field] = value
    with pytest.raises(ImcoptError, match=match) as err:
        Workload.from_records("net", [rec], source="net.csv")
    assert "fc1" in str(err.value) and "net.csv" in str(err.value)


def test_missing_dimension_is_named():
    with pytest.raises(ImcoptError, match="missing field Q"):
        Workload.from_records("net", [dict(C=4, M=4, R=1, S=1, P=1, layer="l0")])


def test_stack_sums_per_workload_and_keeps_order():
    a, b = _w("a"), _w("b", G=2)
    st = WorkloadStack.of([a, b])
    assert st.n_layers == 6 and st.names == ["a", "b"]
    per_layer = np.arange(12, dtype=float).reshape(2, 6)
    np.testing.assert_allclose(st.per_workload(per_layer), [[3, 12], [21, 30]])
    np.testing.assert_allclose(st.per_workload_max(per_layer), [[2, 5], [8, 11]])
    assert st.macs.sum() == a.total_macs + b.total_macs
    with pytest.raises(ImcoptError, match="duplicate"):
        WorkloadStack.of([a, a])


def test_design_batch_defaults_broadcast_and_errors():
    d = DesignBatch.from_dict({"memory": ["RRAM", "SRAM"], "xbar_rows": [64, 256]})
    assert len(d) == 2 and d.memory.tolist() == [0, 1]
    assert d.n_macros.tolist() == [4 * 16 * 16] * 2
    assert d.take(1).to_records()[0]["memory"] == "SRAM"
    with pytest.raises(ImcoptError, match="unknown memory type"):
        DesignBatch.from_dict({"memory": "FLASH"})
    with pytest.raises(ImcoptError, match=r"xbar_rows = 0 .*allowed range"):
        DesignBatch.from_dict({"xbar_rows": 0})
    with pytest.raises(ImcoptError, match=r"technology_nm = 5 .*\[7, 65\]"):
        DesignBatch.from_dict({"technology_nm": 5})
    with pytest.raises(ImcoptError, match="bits_per_cell"):
        DesignBatch.from_dict({"bits_per_cell": 9})
    with pytest.raises(ImcoptError, match="unknown design parameter"):
        DesignBatch.from_dict({"rows": 9})
