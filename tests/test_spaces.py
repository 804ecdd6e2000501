"""Search spaces: built-in sizes and values, YAML validation, decode/encode, enumeration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from problems.errors import ImcoptError
from problems.hardware.design import DesignBatch
from problems.spaces import SearchSpace, Variable, list_spaces

SIZES = {"rram-paper": 12_096_000, "sram-paper-4": 1_512_000, "sram-paper-9": 4_064_256,
         "extended": 1_016_064_000}


@pytest.mark.parametrize("name,size", sorted(SIZES.items()))
def test_builtin_space_sizes(name: str, size: int) -> None:
    space = SearchSpace.load(name)
    assert space.size == size
    assert int(np.prod(space.cardinalities.astype(object))) == size
    assert name in list_spaces()


def test_rram_paper_values() -> None:
    s = SearchSpace.load("rram-paper")
    v = {var.name: var.values for var in s.variables}
    np.testing.assert_allclose(v["voltage_v"], np.arange(8) * 0.05 + 0.5)
    assert v["voltage_v"][-1] == 0.85
    assert v["cycle_time_s"].tolist() == [1e-9, 2e-9, 4e-9, 6e-9, 8e-9, 1e-8]
    assert v["bits_per_cell"].tolist() == list(range(1, 9))
    assert v["glb_bytes"].tolist() == [2**19 * 2**k for k in range(7)]
    assert s.fixed["memory"] == 0 and s.fixed["technology_nm"] == 32.0


def test_sram4_top_values_reachable() -> None:
    s = SearchSpace.load("sram-paper-4")
    d = s.decode(s.cardinalities - 1)
    assert d.xbar_rows[0] == 256 and d.xbar_cols[0] == 256
    assert d.memory[0] == 1 and d.bits_per_cell[0] == 1
    s9 = SearchSpace.load("sram-paper-9")
    assert s9.decode(s9.cardinalities - 1).xbar_cols[0] == 512


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(SIZES)), seed=st.integers(0, 2**32 - 1))
def test_decode_encode_roundtrip(name: str, seed: int) -> None:
    s = SearchSpace.load(name)
    X = s.random(25, np.random.default_rng(seed))
    d = s.decode(X)
    assert isinstance(d, DesignBatch) and len(d) == 25
    np.testing.assert_array_equal(s.encode(d), X)
    # through records (what JSON reports store) as well
    np.testing.assert_array_equal(s.encode(DesignBatch.from_records(d.to_records())), X)


def test_decode_out_of_range_names_variable() -> None:
    s = SearchSpace.load("rram-paper")
    X = np.zeros((2, s.n_var), dtype=int)
    X[1, 3] = 5
    with pytest.raises(ImcoptError, match=r"xbar_rows.*\[0, 4\]"):
        s.decode(X)
    with pytest.raises(ImcoptError, match="shape"):
        s.decode(np.zeros((2, 3), dtype=int))
    with pytest.raises(ImcoptError, match="integers"):
        s.decode(np.full((1, s.n_var), 0.5))


def test_encode_rejects_values_not_in_lists() -> None:
    s = SearchSpace.load("rram-paper")
    good = s.decode(np.zeros((1, s.n_var), dtype=int)).to_records()[0]
    with pytest.raises(ImcoptError, match="xbar_rows"):
        s.encode(DesignBatch.from_records([{**good, "xbar_rows": 100}]))
    with pytest.raises(ImcoptError, match="technology_nm"):
        s.encode(DesignBatch.from_records([{**good, "technology_nm": 45}]))


def test_enumeration_is_mixed_radix_and_chunks_tile_the_space() -> None:
    s = SearchSpace("t", [Variable("xbar_rows", np.array([32, 64, 128]), "rows"),
                          Variable("bits_per_cell", np.array([1, 2]), "bit"),
                          Variable("voltage_v", np.array([0.5, 0.6, 0.7, 0.8]), "V")])
    assert s.size == 24
    full = s.index_range(0, s.size)
    assert full[1].tolist() == [0, 0, 1] and full[4].tolist() == [0, 1, 0]
    assert len({tuple(r) for r in full}) == 24
    parts = np.concatenate([s.enumerate_chunk(k, 5) for k in range(5)])
    np.testing.assert_array_equal(parts, full)
    np.testing.assert_array_equal(s.flat_index(full), np.arange(24))
    with pytest.raises(ImcoptError):
        s.enumerate_chunk(5, 5)
    with pytest.raises(ImcoptError):
        s.index_range(3, 25)


def _write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "space.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


BASE = {"name": "x", "variables": [{"name": "xbar_rows", "values": [32, 64], "unit": "rows"}]}


@pytest.mark.parametrize("mutate,match", [
    (lambda d: d["variables"][0].update(name="rows"), r"variables\[0\]\.name"),
    (lambda d: d["variables"][0].update(values=[]), "values must be a non-empty list"),
    (lambda d: d["variables"][0].update(values=[32, 32]), "duplicate value 32"),
    (lambda d: d["variables"][0].update(unit="cols"), r"xbar_rows\)\.unit"),
    (lambda d: d["variables"][0].update(values=[32.5]), "not an integer"),
    (lambda d: d["variables"][0].update(values=[10**6]), "outside the allowed range"),
    (lambda d: d.update(variables=[]), "variables must be a non-empty list"),
    (lambda d: d.update(fixed={"bogus": 1}), "fixed: unknown design parameter"),
    (lambda d: d.update(fixed={"xbar_rows": 64}), "both variables and fixed"),
    (lambda d: d.update(fixed={"memory": "PCM"}), "fixed.memory"),
    (lambda d: d.update(extra=1), "unknown top-level"),
    (lambda d: d["variables"].append({"name": "xbar_rows", "values": [8], "unit": "rows"}),
     "listed twice"),
    (lambda d: d["variables"].append(
        {"name": "voltage_v", "range": {"start": 0.5, "stop": 0.82, "step": 0.05}, "unit": "V"}),
     "inclusive stop"),
])
def test_yaml_validation_names_file_and_field(tmp_path: Path, mutate, match: str) -> None:
    import copy

    data = copy.deepcopy(BASE)
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(ImcoptError, match=match) as info:
        SearchSpace.load(path)
    assert "space" in str(info.value)


def test_yaml_units_and_roundtrip(tmp_path: Path) -> None:
    data = {"name": "u", "description": "units",
            "variables": [{"name": "cycle_time_s", "values": [1, 10], "unit": "ns"},
                          {"name": "glb_bytes", "values": [0.5, 2], "unit": "MiB"},
                          {"name": "voltage_v", "range": {"start": 0.5, "stop": 0.85,
                                                          "step": 0.05}, "unit": "V"},
                          {"name": "memory", "values": ["RRAM", "SRAM"], "unit": "type"}],
            "fixed": {"technology_nm": 22}}
    s = SearchSpace.load(_write(tmp_path, data))
    assert s.variables[0].values.tolist() == [1e-9, 1e-8]
    assert s.variables[1].values.tolist() == [2**19, 2**21]
    assert len(s.variables[2].values) == 8
    assert s.fixed["technology_nm"] == 22.0
    again = SearchSpace.from_dict(s.to_dict())
    assert again.fingerprint() == s.fingerprint() and again.size == s.size == 64
    d = s.decode(np.array([[1, 1, 7, 1]]))
    assert d.memory[0] == 1 and d.voltage_v[0] == 0.85 and d.technology_nm[0] == 22


def test_load_unknown_name_lists_builtins() -> None:
    with pytest.raises(ImcoptError, match="rram-paper"):
        SearchSpace.load("no-such-space")
    with pytest.raises(ImcoptError, match="does not exist"):
        SearchSpace.load("/nonexistent/dir/space.yaml")


def test_iter_blocks_walks_the_enumeration_in_order() -> None:
    s = SearchSpace.load("sram-paper-4")
    start, stop = 1_000, 1_000 + 2 * 777 + 5
    blocks = list(s.iter_blocks(start, stop, 777))
    assert [f.size for f, _ in blocks] == [777, 777, 5]
    flat = np.concatenate([f for f, _ in blocks])
    np.testing.assert_array_equal(flat, np.arange(start, stop))
    X = np.concatenate([x for _, x in blocks])
    np.testing.assert_array_equal(X, s.index_range(start, stop))
    np.testing.assert_array_equal(s.flat_index(X), flat)
    np.testing.assert_array_equal(s.indices_of(flat[::-7]), X[::-7])
    assert list(s.iter_blocks(5, 5, 10)) == []
    with pytest.raises(ImcoptError, match="block size"):
        next(s.iter_blocks(0, 10, 0))
    with pytest.raises(ImcoptError, match="outside"):
        next(s.iter_blocks(0, s.size + 1, 10))
    with pytest.raises(ImcoptError, match="flat index"):
        s.indices_of(np.array([s.size]))
