"""Issue 16, bad input: every case is ONE `Error:` line naming the file / field / rule, exit 2,
no traceback, and nothing already on disk changed (the inputs of the issue text)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from bad_input_helpers import onnx_init, refused, run, run_process, save_onnx, snapshot

from problems.errors import ImcoptError, short
from problems.hardware.design import DesignBatch
from problems.io import parse_yaml, read_yaml
from problems.spaces import SearchSpace
from problems.workloads import load_workloads
from problems.workloads.onnx_import import DroppedLayersWarning, load_onnx


@pytest.fixture()
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's folder with files that must survive every refused command."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("my notes\n")
    (tmp_path / ".notes.tmp.txt").write_text("half-written notes\n")
    (tmp_path / "old.json").write_text('{"mine": true}\n')
    return tmp_path


# -- 1. workload dimensions that overflow int64 --------------------------------------------------
@pytest.mark.parametrize("c,m,product", [(10**12, 10**12, "macs (N*C*M*R*S*P*Q*G) = 1e+24"),
                                         (10**20, 1, "macs (N*C*M*R*S*P*Q*G) = 1e+20")])
def test_overflowing_layer_csv_is_refused(folder, capsys, c, m, product):
    f = folder / "big.csv"
    f.write_text(f"layer,C,M,R,S,P,Q\nfc1,{c},{m},1,1,1,1\n")
    for cmd in (["evaluate", "-w", str(f)], ["workloads", "show", str(f)]):
        refused(capsys, cmd, folder, str(f), "layer 'fc1'", product, "overflows int64",
                f"C = {c}")


def test_every_int64_count_is_checked():
    base = dict(N=1, C=1, M=1, R=1, S=1, P=1, Q=1, layer="l0")
    from problems.workloads.layers import MAX_DIMENSION, Workload

    cases = [  # (fields, the count that overflows)
        (dict(C=2**31 - 1, M=2**31 - 1, P=2**3), "macs"),
        (dict(N=2**20, C=2**20, P=2**10, h_stride=2**20), "input tensor bits"),
        (dict(N=2**20, M=2**20, P=2**20, output_bits=2**10), "output tensor bits"),
        (dict(C=2**28, M=2**28, weight_bits=2**8), "weight bits"),
    ]
    for fields, what in cases:
        with pytest.raises(ImcoptError, match=rf"layer 'l0': {what} \(.*overflows int64"):
            Workload.from_records("net", [{**base, **fields}], source="net.csv")
    # a sum over layers that overflows although each layer fits
    layer = {**base, "C": 2**29, "M": 2**30}
    with pytest.raises(ImcoptError, match="total macs over all layers"):
        Workload.from_records("net", [layer] * 16)
    with pytest.raises(ImcoptError, match=rf"field C = {2**31} exceeds .* {MAX_DIMENSION}"):
        Workload.from_records("net", [{**base, "C": 2**31}])
    # just below every limit is accepted and exact
    w = Workload.from_records("net", [layer] * 15)
    assert w.total_macs == 15 * 2**59 and w.macs.dtype == np.int64


def test_overflow_in_timeloop_yaml_names_file(folder, capsys):
    f = folder / "layer.yaml"
    f.write_text("problem:\n  instance: {C: 1000000000000, M: 1000000000000, R: 1, S: 1, "
                 "P: 1, Q: 1}\n")
    refused(capsys, ["workloads", "show", str(f)], folder, str(f), "layer 'layer'",
            "overflows int64")


# -- 2. physically impossible designs ------------------------------------------------------------
@pytest.mark.parametrize("args,needles", [
    (["--adcs-per-macro", "8192", "--xbar-cols", "4"],
     ("adcs_per_macro = 8192 > xbar_cols = 4", "rule 'at most one ADC per column'")),
    (["--xbar-rows", "nan"], ("--xbar-rows", "xbar_rows", "must be finite")),
    (["--xbar-rows", "inf"], ("--xbar-rows", "xbar_rows", "must be finite")),
    (["--voltage-v", "-inf"], ("voltage_v", "must be finite")),
    (["--xbar-rows", "abc"], ("xbar_rows", "is not a number")),
    (["--macros-per-tile", "2.5"], ("macros_per_tile", "must be an integer")),
    (["--memory", "FLASH"], ("memory", "unknown memory type")),
    (["--bits-per-cell", "9"], ("bits_per_cell = 9", "allowed range [1, 8]")),
])
def test_impossible_design_flags(folder, capsys, args, needles):
    refused(capsys, ["evaluate", "-w", "alexnet", *args], folder, *needles)


def test_issue_cases_in_a_real_process(folder):
    for args, needle in ((["--adcs-per-macro", "8192", "--xbar-cols", "4"], "adcs_per_macro"),
                         (["--xbar-rows", "nan"], "xbar_rows")):
        before = snapshot(folder)
        proc = run_process(["evaluate", "-w", "alexnet", *args], folder)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert proc.stderr.startswith("Error: ") and len(proc.stderr.splitlines()) == 1
        assert needle in proc.stderr and snapshot(folder) == before


@pytest.mark.parametrize("text,needles", [
    ("xbar_rows: .nan\n", ("xbar_rows", "finite")),
    ("xbar_rows: .inf\n", ("xbar_rows", "finite")),
    ("xbar_rows: 100.5\n", ("xbar_rows = 100.5", "integer")),
    ("xbar_cols: 8\nadcs_per_macro: 64\n", ("adcs_per_macro = 64 > xbar_cols = 8", "rule")),
    ("xbar_rows: [64, 128]\nxbar_cols: [64, 128, 256]\n", ("xbar_rows: got 2 values",
                                                         "expected 3")),
])
def test_impossible_design_files(folder, capsys, text, needles):
    f = folder / "d.yaml"
    f.write_text(text)
    refused(capsys, ["evaluate", "-w", "alexnet", "--design", str(f)], folder, *needles)


def test_design_rules_are_vectorized_and_spare_the_paper_spaces():
    with pytest.raises(ImcoptError, match=r"design 1: adcs_per_macro = 64 > xbar_cols = 32"):
        DesignBatch.from_dict({"adcs_per_macro": [16, 64], "xbar_cols": [32, 32]})
    # multi-bit SRAM is in the extended space: not forbidden (the cost models decide)
    assert len(DesignBatch.from_dict({"memory": "SRAM", "bits_per_cell": 4})) == 1
    for name in ("rram-paper", "sram-paper-4", "sram-paper-9", "extended", "sram-tech"):
        space = SearchSpace.load(name)
        rng = np.random.default_rng(0)
        X = np.stack([rng.integers(0, c, 200) for c in space.cardinalities], axis=1)
        assert len(space.decode(X)) == 200


def test_space_that_breaks_a_design_rule_is_refused_at_load(folder, capsys):
    f = folder / "space.yaml"
    f.write_text("name: s\nvariables:\n  - {name: xbar_cols, values: [8, 16, 32], "
                 "unit: columns}\nfixed: {adcs_per_macro: 16}\n")
    refused(capsys, ["exhaustive", "--space", str(f), "--workloads", "alexnet"], folder,
            "space 's'", "adcs_per_macro = 16 > xbar_cols = 8", "at most one ADC per column")


def test_evaluate_help_types():
    from click.testing import CliRunner

    from study.cli.main import cli

    text = CliRunner().invoke(cli, ["evaluate", "--help"], terminal_width=200).output
    lines = {ln.split()[0]: ln for ln in text.splitlines() if ln.strip().startswith("--")}
    for flag in ("--xbar-rows", "--xbar-cols", "--bits-per-cell", "--adcs-per-macro",
                 "--glb-bytes", "--router-groups"):
        assert "INTEGER" in lines[flag] and "FLOAT" not in lines[flag]
    assert "FLOAT" in lines["--voltage-v"] and "FLOAT" in lines["--cycle-time-s"]
    assert "RRAM|SRAM" in lines["--memory"] and "[0, 1]" not in lines["--memory"]


# -- 3. ONNX: unsupported weight ops are never dropped silently ----------------------------------
def _conv_plus_transpose(path: Path, batch: int | str = 1, group: int = 1) -> Path:
    from onnx import helper

    return save_onnx(path, [
        helper.make_node("Conv", ["x", "w1"], ["y1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("ConvTranspose", ["y1", "w2"], ["y2"], name="up", strides=[2, 2],
                         group=group),
    ], [("x", [batch, 3, 8, 8])], [onnx_init("w1", (16, 3, 3, 3)),
                                   onnx_init("w2", (16, 4 // group, 2, 2))])


def _conv_plus_einsum(path: Path, batch: int | str = 1) -> Path:
    from onnx import helper

    return save_onnx(path, [
        helper.make_node("Conv", ["x", "w1"], ["y1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Flatten", ["y1"], ["f"]),
        helper.make_node("Einsum", ["f", "we"], ["y2"], name="head", equation="ij,jk->ik"),
    ], [("x", [batch, 3, 8, 8])], [onnx_init("w1", (16, 3, 3, 3)),
                                   onnx_init("we", (16 * 64, 10))])


def _conv3d(path: Path) -> Path:
    from onnx import helper

    return save_onnx(path, [
        helper.make_node("Conv", ["x", "w0"], ["y0"], name="conv2d"),
        helper.make_node("Reshape", ["y0", "shape"], ["v"]),
        helper.make_node("Conv", ["v", "w1"], ["y1"], name="c3d", pads=[1, 1, 1, 1, 1, 1]),
    ], [("x", [1, 4, 6, 6])], [onnx_init("w0", (8, 4, 1, 1)), onnx_init("w1", (5, 2, 3, 3, 3)),
                               _int64("shape", [1, 2, 4, 6, 6])])


def _int64(name: str, values: list[int]):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.array(values, np.int64), name)


@pytest.mark.parametrize("group", [1, 2])
def test_onnx_conv_transpose_counts_match_hand_formulas(tmp_path, group):
    """The issue's Conv + ConvTranspose model: both layers, MACs/weights by hand."""
    w = load_onnx(_conv_plus_transpose(tmp_path / "ct.onnx", group=group))
    assert w.layer_names == ("conv1", "up")
    c_in, m_out, k, h_in = 16, 4, 2, 8  # ConvTranspose: 16 -> 4 channels, 2x2 kernel, 8x8 in
    macs_up = 1 * c_in * (m_out // group) * k * k * h_in * h_in  # every input pixel x taps
    weights_up = c_in * (m_out // group) * k * k
    assert w.macs.tolist() == [16 * 8 * 8 * 3 * 3 * 3, macs_up]
    assert w.weights.tolist() == [16 * 3 * 3 * 3, weights_up]
    up = w.to_frame().set_index("layer").loc["up"]
    got = (up.C, up.M, up.G, up.P, up.Q, up.R)
    assert got == (c_in // group, m_out // group * k * k, group, h_in, h_in, 1)


def test_onnx_unsupported_weight_op_is_refused_naming_node_and_op(folder, capsys):
    f = _conv_plus_einsum(folder / "ein.onnx")
    refused(capsys, ["workloads", "show", str(f)], folder, str(f), "node 'head'",
            "op Einsum", "--onnx-skip-unsupported")
    refused(capsys, ["evaluate", "-w", str(f)], folder, "node 'head'", "Einsum")


def test_onnx_skip_flag_warns_the_dropped_macs(folder, capsys):
    f = _conv_plus_einsum(folder / "ein.onnx")
    capsys.readouterr()
    assert run(["workloads", "show", str(f), "--onnx-skip-unsupported", "--json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["n_layers"] == 1 and data["macs"] == 16 * 8 * 8 * 3 * 3 * 3  # conv1 alone
    assert err.startswith("Warning: ") and "head (Einsum)" in err
    assert "an unknown number of MACs dropped" in err
    with pytest.warns(DroppedLayersWarning, match="skipped 1 unsupported weight node"):
        load_onnx(f, skip_unsupported=True)


def test_onnx_3d_transposed_conv_skipped_with_hand_counted_macs(tmp_path):
    from onnx import helper

    f = save_onnx(tmp_path / "t3.onnx", [
        helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up3", strides=[2, 2, 2]),
        helper.make_node("Conv", ["y", "w2"], ["z"], name="c3"),
    ], [("x", [1, 4, 3, 3, 3])], [onnx_init("w", (4, 2, 2, 2, 2)),
                                  onnx_init("w2", (1, 2, 1, 1, 1))])
    with pytest.raises(ImcoptError, match=r"node 'up3' \(ConvTranspose\): a 3-D ConvTranspose"):
        load_onnx(f)
    dropped = 4 * 27 * 2 * 8  # C_in x input voxels x M_out x kernel taps
    with (pytest.warns(DroppedLayersWarning, match=f"{dropped + 2 * 6**3:,} MACs dropped"),
          pytest.raises(ImcoptError, match="no Conv, ConvTranspose, Gemm, MatMul nodes")):
        load_onnx(f, skip_unsupported=True)


def test_onnx_3d_conv_is_refused_or_skipped_with_hand_counted_macs(folder, capsys):
    f = _conv3d(folder / "c3.onnx")
    refused(capsys, ["workloads", "show", str(f)], folder, "node 'c3d'", "(Conv)", "3-D")
    macs = 5 * 4 * 6 * 6 * 2 * 3 * 3 * 3  # output M*D*H*W x C*kd*kh*kw (pads keep the size)
    with pytest.warns(DroppedLayersWarning, match=f"{macs:,} MACs dropped"):
        w = load_onnx(f, skip_unsupported=True)
    assert w.layer_names == ("conv2d",) and w.total_macs == 8 * 4 * 36


def test_onnx_weights_inside_a_loop_body_are_refused(folder, capsys):
    from onnx import TensorProto, helper

    body = helper.make_graph(
        [helper.make_node("MatMul", ["xin", "wb"], ["xout"], name="inner")], "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("c", TensorProto.BOOL, []),
         helper.make_tensor_value_info("xin", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("c", TensorProto.BOOL, []),
         helper.make_tensor_value_info("xout", TensorProto.FLOAT, [1, 4])],
        [onnx_init("wb", (4, 4))])
    f = save_onnx(folder / "loop.onnx", [
        helper.make_node("MatMul", ["x", "w"], ["y"], name="outer"),
        helper.make_node("Loop", ["n", "", "y"], ["z"], name="rep", body=body),
    ], [("x", [1, 4])], [onnx_init("w", (4, 4)), _int64("n", [3])])
    refused(capsys, ["workloads", "show", str(f)], folder, "node 'rep' (Loop)", "MatMul 'inner'")


def test_onnx_constant_and_folded_weights_count_as_weights(tmp_path):
    from onnx import helper, numpy_helper

    wc = numpy_helper.from_array(np.zeros((6, 4), np.float32), "wc")
    f = save_onnx(tmp_path / "c.onnx", [
        helper.make_node("Constant", [], ["wk"], value=wc),
        helper.make_node("Transpose", ["wk"], ["wt"], perm=[1, 0]),      # (4, 6)
        helper.make_node("MatMul", ["x", "wt"], ["y"], name="fc"),
    ], [("x", [2, 4])], [])
    w = load_onnx(f)
    assert not w.dynamic[0] and w.total_weights == 24 and w.total_macs == 2 * 4 * 6


def test_onnx_dims_on_the_cli(folder, capsys):
    f = _conv_plus_transpose(folder / "sym.onnx", batch="batch")
    refused(capsys, ["workloads", "show", str(f)], folder, "'batch'", "--dims batch=N")
    capsys.readouterr()
    assert run(["workloads", "show", str(f), "--dims", "batch=3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["macs"] == 3 * (16 * 8 * 8 * 27 + 16 * 4 * 4 * 64)
    for bad in ("batch", "batch=0", "batch=x", "=2"):
        refused(capsys, ["workloads", "show", str(f), "--dims", bad], folder, "--dims",
                "NAME=N")


def test_onnx_skip_in_a_workload_list(tmp_path):
    _conv_plus_einsum(tmp_path / "ct.onnx")
    lst = tmp_path / "list.yaml"
    lst.write_text("workloads:\n  - {path: ct.onnx, skip_unsupported: true}\n")
    with pytest.warns(DroppedLayersWarning):
        (w,) = load_workloads(str(lst))
    assert w.layer_names == ("conv1",)
    lst.write_text("workloads:\n  - {path: ct.onnx, skip_unsupported: 2}\n")
    with pytest.raises(ImcoptError, match="skip_unsupported must be true or false"):
        load_workloads(str(lst))


# -- 4. YAML: duplicate keys, capped echoes ------------------------------------------------------
DUP_STUDY = """name: s
budget: 100
scenarios:
  - {name: a, space: rram-paper, workloads: resnet18}
budget: 200
algorithms: [random-search]
"""


def test_duplicate_key_in_a_study_config(folder, capsys):
    f = folder / "study.yaml"
    f.write_text(DUP_STUDY)
    refused(capsys, ["run", str(f)], folder, str(f), "duplicate key 'budget'", "line 5",
            "first given at line 2")


@pytest.mark.parametrize("kind", ["space", "design", "layer", "list", "schedule"])
def test_duplicate_keys_everywhere(folder, capsys, kind):
    f = folder / f"{kind}.yaml"
    if kind == "space":
        f.write_text("name: s\nname: t\nvariables:\n  - {name: xbar_rows, values: [64]}\n")
        refused(capsys, ["exhaustive", "--space", str(f), "--workloads", "alexnet"], folder,
                "duplicate key 'name'", "line 2")
    elif kind == "design":
        f.write_text("design:\n  xbar_rows: 64\n  xbar_rows: 128\n")
        refused(capsys, ["evaluate", "--design", str(f)], folder, "duplicate key 'xbar_rows'",
                "line 3")
    elif kind == "layer":  # a Timeloop layer file, also in CiMLoop's template form
        f.write_text("{{include_text('defines.yaml')}}\nproblem:\n  instance:\n    C: 4\n"
                     "    M: 4\n    C: 8\n    R: 1\n    S: 1\n    P: 1\n    Q: 1\n")
        refused(capsys, ["workloads", "show", str(f)], folder, str(f), "duplicate key 'C'",
                "line 6")
    elif kind == "list":
        f.write_text("workloads: [alexnet]\nworkloads: [resnet18]\n")
        refused(capsys, ["workloads", "show", str(f)], folder, "duplicate key 'workloads'")
    else:
        from study.schedule import PhaseSchedule

        f.write_text("basis: evaluations\nbasis: generations\n")
        with pytest.raises(ImcoptError, match="line 2: duplicate key 'basis'"):
            PhaseSchedule.from_yaml(f)


def test_yaml_merge_keys_may_still_override():
    data = parse_yaml("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 5\ne:\n  <<: *b\n")
    assert data["d"] == {"x": 5, "y": 2} and data["e"] == {"x": 1, "y": 2}


def test_nested_anchor_yaml_error_is_short(folder, capsys):
    levels = ["budget: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, 8):
        levels.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    f = folder / "laughs.yaml"
    f.write_text("name: x\n" + "\n".join(levels) + f"\nscenarios: [{', '.join(['*a7'] * 30)}]\n")
    capsys.readouterr()
    before = snapshot(folder)
    assert run(["run", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "Traceback" not in err
    assert len(err) < 6000 and max(len(ln) for ln in err.splitlines()) < 400
    assert "budget: must be a positive integer" in err and "... and 13 more" in err
    assert snapshot(folder) == before


def test_short_caps_and_bounds_the_cost():
    nested: list = [1] * 9
    for _ in range(12):  # 9**13 elements if expanded
        nested = [nested] * 9
    assert len(short(nested)) <= 200 and short("x" * 10**6).startswith("'xxx")
    assert len(short("x" * 10**6)) <= 200 and short(3.5) == "3.5"


def test_read_yaml_reports_missing_and_bad_files(tmp_path):
    with pytest.raises(ImcoptError, match="does not exist"):
        read_yaml(tmp_path / "nope.yaml", "design file")
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    with pytest.raises(ImcoptError, match="not valid YAML at line"):
        read_yaml(tmp_path / "bad.yaml", "design file")


@pytest.mark.parametrize("args,needles", [
    (["evaluate", "--area-budget", "abc"], ("'--area-budget'", "not a valid float",
                                            "imcopt evaluate --help")),
    (["exhaustive", "--space", "rram-paper"], ("Missing option '--workloads'",)),
    (["exhaustive", "--space", "rram-paper", "--workloads", "alexnet", "--top-k", "x"],
     ("'--top-k'", "not a valid integer")),
    (["exhaustive", "--space", "rram-paper", "--workloads", "alexnet", "--method", "fast"],
     ("--method 'fast'", "auto, enumerate, bound")),
    (["evaluate", "--no-such-flag"], ("No such option '--no-such-flag'",)),
])
def test_click_usage_errors_are_one_line_too(folder, capsys, args, needles):
    refused(capsys, args, folder, *needles)
