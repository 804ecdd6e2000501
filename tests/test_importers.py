"""Importers (CSV, Timeloop problem YAML folders, ONNX) and the spec resolver."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from problems.errors import ImcoptError
from problems.workloads import WorkloadStack, get_workload, load_workloads
from problems.workloads.importers import (
    load_csv,
    load_onnx,
    load_problem_dir,
    load_problem_yaml,
    natural_key,
)
from problems.workloads.layers import INT_FIELDS

HEADER = ("network,layer,N,C,M,R,S,P,Q,G,h_stride,w_stride,h_dilation,w_dilation,"
          "input_bits,weight_bits,output_bits,macs,weights")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------------ CSV
def test_csv_roundtrip_of_zoo_networks(tmp_path: Path) -> None:
    frames = []
    for name in ("mobilenet_v3", "vit_b16"):
        df = get_workload(name).to_frame()
        df.insert(0, "network", name)
        frames.append(df)
    import pandas as pd

    path = tmp_path / "two.csv"
    pd.concat(frames).to_csv(path, index=False)
    loaded = load_csv(path)
    assert [w.name for w in loaded] == ["mobilenet_v3", "vit_b16"]
    for w in loaded:
        ref = get_workload(w.name)
        assert w.layer_names == ref.layer_names and w.source == str(path)
        for f in INT_FIELDS:
            np.testing.assert_array_equal(getattr(w, f), getattr(ref, f), err_msg=f)
        np.testing.assert_array_equal(w.dynamic, ref.dynamic)


def test_csv_optional_columns_default(tmp_path: Path) -> None:
    path = write(tmp_path / "tiny.csv", "C,M,R,S,P,Q,G\n3,8,3,3,10,10,\n1,1,3,3,5,5,8\n")
    (w,) = load_csv(path)
    assert w.name == "tiny" and w.layer_names == ("0", "1")
    assert list(w.G) == [1, 8] and list(w.N) == [1, 1] and list(w.weight_bits) == [8, 8]
    assert list(w.macs) == [3 * 8 * 9 * 100, 9 * 25 * 8]
    assert not w.dynamic.any()


@pytest.mark.parametrize(("text", "pattern"), [
    ("C,M,R,S,P,Q,bogus\n1,1,1,1,1,1,1\n", r"unknown column\(s\) \['bogus'\]"),
    ("C,M,R,S,P\n1,1,1,1,1\n", r"missing required column\(s\) \['Q'\]"),
    ("C,M,R,S,P,Q\n", "no layer rows"),
    ("", "empty CSV"),
    ("network,layer,C,M,R,S,P,Q\nnet,a,1,1,1,1,1,1\nnet,b,x,1,1,1,1,1\n",
     r"row 3 \(network 'net', layer 'b'\): field C = 'x' is not an integer"),
    ("network,layer,C,M,R,S,P,Q\nnet,a,1,0,1,1,1,1\n",
     r"row 2 .*layer 'a'\): field M = 0 must be a positive integer"),
    ("network,layer,C,M,R,S,P,Q\nnet,a,1,2.5,1,1,1,1\n", r"layer 'a'\): field M = 2.5"),
    ("network,layer,C,M,R,S,P,Q\nnet,a,1,,1,1,1,1\n", r"layer 'a'\): field M is empty"),
    ("network,layer,C,M,R,S,P,Q\nnet,a,1,2,1,1\n", "row 2 has 6 cells, header has 8"),
    ("layer,C,M,R,S,P,Q,dynamic\na,1,2,1,1,1,1,maybe\n", "field dynamic = 'maybe'"),
])
def test_csv_errors(tmp_path: Path, text: str, pattern: str) -> None:
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(ImcoptError, match=pattern) as exc:
        load_csv(path)
    assert str(path) in str(exc.value)


def test_csv_checks_macs_and_weights_columns(tmp_path: Path) -> None:
    good = "alexnet,0,1,3,64,11,11,55,55,1,4,4,1,1,8,8,8,70276800,23232\n"
    (w,) = load_csv(write(tmp_path / "ok.csv", HEADER + "\n" + good))
    assert w.total_macs == 70276800 and w.total_weights == 23232
    bad = good.replace("70276800", "70276801")
    with pytest.raises(ImcoptError, match=r"row 3 .*layer '0'\): field macs = 70276801 but "
                                          r"the dimensions give 70276800"):
        load_csv(write(tmp_path / "bad.csv", HEADER + "\n" + good + bad))
    badw = good.replace(",23232", ",1")
    with pytest.raises(ImcoptError, match="field weights = 1 but"):
        load_csv(write(tmp_path / "badw.csv", HEADER + "\n" + badw))


def test_reference_layer_table_totals(reference_dir: Path, reference_layers) -> None:
    """The CiMLoop layer table loads, and per-network totals equal its macs/weights columns."""
    loaded = {w.name: w for w in load_csv(reference_dir / "cimloop_layers.csv")}
    sums = reference_layers.groupby("network")[["macs", "weights"]].sum()
    counts = reference_layers.groupby("network").size()
    assert set(loaded) == set(sums.index)
    for name, w in loaded.items():
        assert w.n_layers == counts[name]
        assert w.total_macs == sums.loc[name, "macs"], name
        assert int(w.weights.sum()) == sums.loc[name, "weights"], name


def test_zoo_cnns_equal_reference_layers(reference_dir: Path) -> None:
    """Built from hyperparameters, the zoo CNNs reproduce CiMLoop's layer shapes exactly."""
    ref = {w.name: w for w in load_csv(reference_dir / "cimloop_layers.csv")}
    for name in ("alexnet", "vgg16", "resnet18", "mobilenet_v3", "densenet201"):
        ours = get_workload(name)
        np.testing.assert_array_equal(ours.macs, ref[name].macs, err_msg=name)
        np.testing.assert_array_equal(ours.weights, ref[name].weights, err_msg=name)


# ------------------------------------------------------------------------- Timeloop YAML
V4 = """problem:
  version: 0.4
  shape:
    name: CNN_Layer
    dimensions: [C, M, R, S, N, P, Q]
  instance: {C: 64, M: 128, R: 3, S: 3, P: 28, Q: 28, N: 1, HStride: 2, WStride: 2}
"""
OLD = """problem:
  shape: cnn-layer
  instance:
    C: 128
    K: 256
    R: 1
    S: 1
    P: 14
    Q: 14
    Hstride: 1
    Wstride: 1
    Hdilation: 2
"""
CIMLOOP = """{{include_text('../problem_base.yaml')}}
problem:
  <<<: *problem_base
  instance: {C: 256, M: 10, P: 1, Q: 1, R: 1, S: 1}
  name: Linear
"""
FLAT = """problem:
  C: 3
  K: 64
  R: 7
  S: 7
  P: 112
  Q: 112
  N: 1
  Hstride: 2
  Wstride: 2
  shape: cnn-layer
"""


def test_problem_dir_formats_and_natural_order(tmp_path: Path) -> None:
    d = tmp_path / "mynet"
    write(d / "10.yaml", CIMLOOP)
    write(d / "2.yaml", OLD)
    write(d / "1.yml", V4)
    write(d / "0.yaml", FLAT)
    write(d / "notes.txt", "ignored")
    w = load_problem_dir(d)
    assert w.name == "mynet" and w.layer_names == ("0", "1", "2", "10")
    assert list(w.C) == [3, 64, 128, 256] and list(w.M) == [64, 128, 256, 10]
    assert list(w.h_stride) == [2, 2, 1, 1] and list(w.w_stride) == [2, 2, 1, 1]
    assert list(w.h_dilation) == [1, 1, 2, 1] and list(w.w_dilation) == [1, 1, 1, 1]
    assert list(w.P) == [112, 28, 14, 1]
    assert w.macs[1] == 64 * 128 * 9 * 28 * 28
    assert sorted(["l10", "l2", "L1"], key=natural_key) == ["L1", "l2", "l10"]
    (single,) = load_workloads(str(d / "1.yml"))
    assert single.n_layers == 1 and single.total_macs == w.macs[1]


def test_problem_yaml_keeps_real_anchors(tmp_path: Path) -> None:
    """A defined YAML anchor merge is honoured (only CiMLoop's undefined ones are dropped)."""
    text = ("base: &b {C: 2, R: 3, S: 3, P: 7, Q: 7, Hstride: 2}\n"
            "problem:\n  instance:\n    <<: *b\n    M: 5\n")
    w = load_problem_yaml(write(tmp_path / "a.yaml", text))
    assert (w.C[0], w.M[0], w.R[0], w.P[0], w.h_stride[0], w.w_stride[0]) == (2, 5, 3, 7, 2, 1)


@pytest.mark.parametrize(("text", "pattern"), [
    ("problem: {instance: {C: 1, M: 2, R: 1, S: 1, P: 3}}\n",
     r"layer '3'.*missing field\(s\) \['Q'\]"),
    ("problem: {instance: {C: 1, M: two, R: 1, S: 1, P: 3, Q: 1}}\n",
     r"layer '3'.*field instance.M = 'two' is not an integer"),
    ("problem: {instance: {C: 1, M: 2, R: 1, S: 1, P: -3, Q: 1}}\n",
     r"field instance.P = -3 must be a positive integer"),
    ("problem:\n  instance: {C: 1\n  M: [\n", r"invalid YAML at line"),
    ("- just\n- a list\n", r"layer '3'.*expected a mapping"),
    ("problem: {instance: {C: 1, M: 2, K: 2, R: 1, S: 1, P: 3, Q: 1}}\n",
     r"field M given twice"),
])
def test_problem_yaml_errors(tmp_path: Path, text: str, pattern: str) -> None:
    d = tmp_path / "net"
    write(d / "1.yaml", "problem: {instance: {C: 1, M: 2, R: 1, S: 1, P: 3, Q: 1}}\n")
    bad = write(d / "3.yaml", text)
    with pytest.raises(ImcoptError, match=pattern) as exc:
        load_problem_dir(d)
    assert str(bad) in str(exc.value)


def test_problem_dir_empty(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImcoptError, match="no .yaml/.yml problem files"):
        load_problem_dir(tmp_path / "empty")
    with pytest.raises(ImcoptError, match="not a directory"):
        load_problem_dir(tmp_path / "missing")
    with pytest.raises(ImcoptError, match="cannot read YAML"):
        load_problem_yaml(tmp_path / "missing.yaml")


# ------------------------------------------------------------------------------------ ONNX
def _init(name: str, shape: tuple[int, ...]):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.zeros(shape, np.float32), name)


def make_model(path: Path, batch: int | str = 1) -> Path:
    """x[b,3,32,32] -> grouped/strided/dilated convs -> flatten -> Gemm; plus attention."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["y1"], name="conv1", strides=[2, 2],
                         pads=[1, 1, 1, 1], kernel_shape=[3, 3]),           # 16x16x16
        helper.make_node("Conv", ["y1", "w2"], ["y2"], name="dw", group=16,
                         pads=[2, 2, 2, 2], dilations=[2, 2]),              # depthwise, 16x16
        helper.make_node("Conv", ["y2", "w3"], ["y3"], name="pw"),          # 16 -> 8, 1x1
        helper.make_node("Flatten", ["y3"], ["f"], axis=1),                 # b x 2048
        helper.make_node("Gemm", ["f", "w4"], ["logits"], name="fc", transB=1),  # -> 10
        # attention on t[b,4,6,8]: Q.K^T then A.V, plus a token projection with a weight
        helper.make_node("MatMul", ["t", "wq"], ["q"], name="proj"),        # [b,4,6,8]@[8,8]
        helper.make_node("Transpose", ["q"], ["kt"], perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["q", "kt"], ["s"], name="qk"),          # -> [b,4,6,6]
        helper.make_node("MatMul", ["s", "q"], ["o"], name="av"),           # -> [b,4,6,8]
        helper.make_node("Relu", ["o"], ["o2"]),
    ]
    graph = helper.make_graph(
        nodes, "testnet",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, 32, 32]),
         helper.make_tensor_value_info("t", TensorProto.FLOAT, [batch, 4, 6, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("o2", TensorProto.FLOAT, None)],
        [_init("w1", (16, 3, 3, 3)), _init("w2", (16, 1, 3, 3)), _init("w3", (8, 16, 1, 1)),
         _init("w4", (10, 2048)), _init("wq", (8, 8))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


def test_onnx_layers(tmp_path: Path) -> None:
    w = load_onnx(make_model(tmp_path / "net.onnx"))
    assert w.name == "net" and w.layer_names == ("conv1", "dw", "pw", "fc", "proj", "qk", "av")
    f = w.to_frame().set_index("layer")
    c1 = f.loc["conv1"]
    assert (c1.C, c1.M, c1.R, c1.S, c1.P, c1.Q, c1.G, c1.h_stride) == (3, 16, 3, 3, 16, 16, 1, 2)
    dw = f.loc["dw"]
    assert (dw.C, dw.M, dw.G, dw.P, dw.h_dilation, dw.weights) == (1, 1, 16, 16, 2, 16 * 9)
    assert (f.loc["pw"].C, f.loc["pw"].M, f.loc["pw"].P) == (16, 8, 16)
    fc = f.loc["fc"]
    assert (fc.C, fc.M, fc.P, fc.dynamic) == (2048, 10, 1, False)
    pr = f.loc["proj"]
    # leading activation dims (batch x 4) share one weight matrix: N = 4, G = 1
    assert (pr.N, pr.C, pr.M, pr.P, pr.G, pr.dynamic) == (4, 8, 8, 6, 1, False)
    qk, av = f.loc["qk"], f.loc["av"]
    assert (qk.C, qk.M, qk.P, qk.G, qk.dynamic) == (8, 6, 6, 4, True)
    assert (av.C, av.M, av.P, av.G, av.dynamic) == (6, 8, 6, 4, True)
    assert w.total_weights == 16 * 27 + 16 * 9 + 128 + 20480 + 64


def test_onnx_symbolic_batch(tmp_path: Path) -> None:
    path = make_model(tmp_path / "sym.onnx", batch="batch")
    with pytest.raises(ImcoptError, match=r"layer 'conv1' \(Conv\): field input: dimension 0 "
                                          r"of tensor 'x' is 'batch'.*dims="):
        load_onnx(path)
    w = load_onnx(path, dims={"batch": 2})
    assert (w.N[[0, 1, 2]] == 2).all() and w.N[5] == 2
    assert w.total_macs == 2 * load_onnx(make_model(tmp_path / "one.onnx")).total_macs


def test_onnx_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    junk = write(tmp_path / "junk.onnx", "this is not a protobuf")
    with pytest.raises(ImcoptError, match=r"junk.onnx: cannot read ONNX model"):
        load_onnx(junk)
    empty = tmp_path / "empty.onnx"
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    onnx.save(helper.make_model(graph), str(empty))
    with pytest.raises(ImcoptError, match="no Conv, ConvTranspose, Gemm, MatMul nodes"):
        load_onnx(empty)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImcoptError, match=r"optional dependency 'onnx'.*imcopt\[onnx\]"):
        load_onnx(empty)


# ---------------------------------------------------------------------------------- resolve
def test_resolve_names_sets_lists(tmp_path: Path) -> None:
    assert [w.name for w in load_workloads("resnet18")] == ["resnet18"]
    assert [w.name for w in load_workloads("paper-4")] == ["resnet18", "vgg16", "alexnet",
                                                           "mobilenet_v3"]
    ws = load_workloads("paper-4, resnet50,alexnet")  # duplicate alexnet kept once
    assert [w.name for w in ws] == ["resnet18", "vgg16", "alexnet", "mobilenet_v3", "resnet50"]
    WorkloadStack.of(ws)
    assert len(load_workloads(["alexnet", "paper-9"])) == 9
    with pytest.raises(ImcoptError, match="unknown workload 'resnet19'.*known networks: "
                                          "alexnet.*sets: paper-4, paper-9"):
        load_workloads("alexnet,resnet19")
    with pytest.raises(ImcoptError, match="empty workload spec"):
        load_workloads(" , ")


def test_resolve_paths_and_list_file(tmp_path: Path) -> None:
    write(tmp_path / "sub" / "layers.csv", "network,C,M,R,S,P,Q\nmini,4,4,1,1,2,2\n")
    write(tmp_path / "sub" / "yamlnet" / "0.yaml", V4)
    make_model(tmp_path / "sub" / "m.onnx", batch="b")
    lst = write(tmp_path / "sub" / "list.yaml", """workloads:
  - alexnet
  - layers.csv
  - yamlnet
  - {name: bert_base, seq_len: 32}
  - {path: m.onnx, dims: {b: 1}}
""")
    ws = load_workloads(lst)
    assert [w.name for w in ws] == ["alexnet", "mini", "yamlnet", "bert_base", "m"]
    assert ws[3].total_macs == get_workload("bert_base", seq_len=32).total_macs
    assert [w.name for w in load_workloads(str(tmp_path / "sub" / "layers.csv"))] == ["mini"]
    assert load_workloads([tmp_path / "sub" / "yamlnet"])[0].n_layers == 1

    bad = write(tmp_path / "bad.yaml", "workloads:\n  - {name: resnet19}\n")
    with pytest.raises(ImcoptError, match=r"bad.yaml: workloads\[0\]: field name = 'resnet19'"):
        load_workloads(bad)
    bad = write(tmp_path / "bad2.yaml", "workloads:\n  - alexnet\n  - nothere.csv\n")
    with pytest.raises(ImcoptError, match=r"workloads\[1\]: unknown workload 'nothere.csv'"):
        load_workloads(bad)
    loop = write(tmp_path / "loop.yaml", "workloads: [loop.yaml]\n")
    with pytest.raises(ImcoptError, match="includes itself"):
        load_workloads(loop)
    write(tmp_path / "x.txt", "hello")
    with pytest.raises(ImcoptError, match="unsupported workload file type '.txt'"):
        load_workloads(tmp_path / "x.txt")
    write(tmp_path / "clash.csv", "network,C,M,R,S,P,Q\nalexnet,4,4,1,1,2,2\n")
    with pytest.raises(ImcoptError, match="two different workloads are named 'alexnet'"):
        load_workloads(["alexnet", str(tmp_path / "clash.csv")])
