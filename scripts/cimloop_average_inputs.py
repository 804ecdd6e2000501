"""Per-layer average input values (ai) of CiMLoop workloads, from their input histograms.

CiMLoop's NeuroSim cell-read and row-driver energies are linear in AVERAGE_INPUT_VALUE, which
it derives from each layer YAML's ``histograms: Inputs`` (CIMLOOP_MODEL.md §4). The layer table
(``cimloop_layers.csv``) does not carry the histograms, so this script computes ai from a folder
of CiMLoop workload YAMLs and writes ``problems/hardware/data/cimloop_average_inputs.csv``
(network, layer, shape, ai, source), which the ``cimloop`` convention reads. Nothing is fitted.

Encoding (re-implemented from CiMLoop's ``workspace/models/include/slicing_encoding.py``,
functions ``offset_encode_hist`` and ``encoded_hist_to_avg_slice``, with the settings of the
``basic_analog`` macro: INPUT_ENCODING_FUNC = offset_encode_hist, 8 input bits, one 8-bit
temporal DAC slice):
* a histogram of 2^n - 1 zero-centred bins maps bin i to the unsigned integer i in n bits,
  most significant bit first (bin 0 = the most negative value = all zeros);
* the 8-bit slice's value is sum_j p(bit j = 1) 2^(8-j-1) / 255, where a bit position beyond
  the n encoded bits takes the mean of that code's own bits.

Usage: python scripts/cimloop_average_inputs.py WORKLOADS_DIR [NETWORK ...]
           [--source TEXT] [--out FILE] [--append]
WORKLOADS_DIR holds one folder per network (CiMLoop's ``workspace/models/workloads``), each with
numbered layer files (``00.yaml``, ``000.yaml`` ...); the file number is the layer index.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from problems.io import atomic_write_text, parse_yaml

OUT = Path(__file__).resolve().parents[1] / "problems" / "hardware" / "data" / \
    "cimloop_average_inputs.csv"
INPUT_BITS = 8
SHAPE = ("C", "M", "R", "S", "P", "Q", "G")


def code_bits(n_bins: int) -> int:
    """Bits of the offset code of a zero-centred histogram with n_bins = 2^n - 1 bins."""
    n = int(np.log2(n_bins + 1))
    if n_bins < 1 or 2 ** n - 1 != n_bins:
        raise ValueError(f"histogram has {n_bins} bins; expected 2^n - 1 (e.g. 31 or 63)")
    return n


def average_input_value(hist: list[float] | np.ndarray, slice_bits: int = INPUT_BITS) -> float:
    """CiMLoop's AVERAGE_INPUT_VALUE for one Inputs histogram (offset encoding, one slice)."""
    p = np.asarray(hist, float)
    if p.ndim != 1 or np.any(p < 0) or p.sum() <= 0:
        raise ValueError("histogram must be a non-empty list of non-negative numbers")
    p = p / p.sum()
    n = code_bits(p.size)
    codes = np.arange(p.size)
    bits = (codes[:, None] >> np.arange(n - 1, -1, -1)[None, :]) & 1   # MSB first
    own_mean = bits.mean(axis=1)
    weights = 2.0 ** np.arange(slice_bits - 1, -1, -1) / (2 ** slice_bits - 1)
    per_bit = np.stack([bits[:, j] if j < n else own_mean for j in range(slice_bits)], 1)
    return float(p @ (per_bit @ weights))


def _load_layer_yaml(path: Path) -> dict:
    """The ``problem`` mapping of a CiMLoop layer file (its Jinja include and YAML merge-key
    lines are dropped: they only pull in the shared problem base)."""
    text = "\n".join(line for line in path.read_text().splitlines()
                     if "{{" not in line and "<<<" not in line)
    doc = parse_yaml(text) or {}  # duplicate keys are errors, as everywhere
    prob = doc.get("problem", doc)
    if not isinstance(prob, dict) or "histograms" not in prob:
        raise ValueError(f"{path}: no problem.histograms")
    return prob


def network_rows(folder: Path, source: str) -> list[dict]:
    """One row per layer file of a network folder."""
    rows = []
    files = sorted((p for p in folder.glob("*.yaml") if re.fullmatch(r"\d+", p.stem)),
                   key=lambda p: int(p.stem))
    if not files:
        raise ValueError(f"{folder}: no numbered layer files (00.yaml ...)")
    for p in files:
        prob = _load_layer_yaml(p)
        inst = prob.get("instance", {}) or {}
        hist = prob["histograms"].get("Inputs")
        if hist is None:
            raise ValueError(f"{p}: no Inputs histogram")
        rows.append({"network": folder.name, "layer": int(p.stem),
                     **{d: int(inst.get(d, 1)) for d in SHAPE},
                     "average_input_value": round(average_input_value(hist), 6),
                     "source": f"{source}/{folder.name}/{p.name}" if source else p.name})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workloads", type=Path)
    ap.add_argument("networks", nargs="*")
    ap.add_argument("--source", default="", help="provenance prefix (repository@commit/path)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--append", action="store_true",
                    help="replace only the given networks in an existing table")
    args = ap.parse_args(argv)
    nets = args.networks or sorted(p.name for p in args.workloads.iterdir() if p.is_dir())
    rows = []
    try:
        for net in nets:
            rows += network_rows(args.workloads / net, args.source)
    except (ValueError, OSError, yaml.YAMLError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    new = pd.DataFrame(rows)
    if args.append and args.out.is_file():
        old = pd.read_csv(args.out)
        new = pd.concat([old[~old["network"].isin(nets)], new], ignore_index=True)
    new = new.sort_values(["network", "layer"]).reset_index(drop=True)
    atomic_write_text(args.out, new.to_csv(index=False))
    for net, g in new.groupby("network"):
        a = g["average_input_value"]
        print(f"{net:20s} {len(g):4d} layers  ai min {a.min():.3f} median {a.median():.3f} "
              f"max {a.max():.3f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
