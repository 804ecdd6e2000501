"""The physical convention's mapping (problems/hardware/mapping.py) against published figures.

Published figure used: the im2col computing cycles of VW-SDK's results table (VGG13 and
ResNet-18 layers on one 512 x 512 PIM array, one cell column per weight). No published
quantitative figure was found for depthwise utilisation of an IMC MobileNet mapping or for
ISAAC / PUMA pipeline throughput; those checks stay analytic (tests/test_mapping.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from problems.hardware.deployment import Deployment
from problems.hardware.design import DesignBatch
from problems.hardware.mapping import tile
from problems.hardware.physical_counts import workload_counts
from problems.workloads.layers import Workload
from problems.workloads.stack import WorkloadStack

# VW-SDK (DATE 2022, arXiv:2112.11282), results table of the authors' repository
# (github.com/djwhsdj/VW-SDK, README "Results": "array size 512x512, bit precision 1"), im2col
# column: (input size H = W, kernel K, input channels C, output channels M) -> cycles.
VW_SDK_IM2COL_512 = [
    ((224, 3, 3, 64), 49284), ((224, 3, 64, 64), 98568),        # VGG13
    ((112, 3, 64, 128), 24200), ((112, 3, 128, 128), 36300),
    ((56, 3, 128, 256), 8748), ((56, 3, 256, 256), 14580),
    ((112, 7, 3, 64), 11236), ((56, 3, 64, 64), 5832),          # ResNet-18
    ((28, 3, 64, 128), 1352), ((28, 3, 128, 128), 2028),
    ((14, 3, 128, 256), 432), ((14, 3, 256, 256), 720),
]


def _vw_sdk_stack() -> WorkloadStack:
    """The table's layers under its assumptions: stride 1 and no padding (its counts are
    (H - K + 1)^2 windows per tile, e.g. 49284 = 222^2), one MVM per window (input_bits 1:
    imcopt counts one bit-serial step per input bit)."""
    recs = [{"layer": f"{h}x{h} {k}x{k}x{c}x{m}", "C": c, "M": m, "R": k, "S": k,
             "P": h - k + 1, "Q": h - k + 1, "input_bits": 1}
            for (h, k, c, m), _ in VW_SDK_IM2COL_512]
    return WorkloadStack.of([Workload.from_records("vw_sdk", recs)])


@pytest.mark.parametrize("packing", ["block-diagonal", "one-per-group"])
def test_im2col_cycles_match_vw_sdk(packing: str) -> None:
    """One 512 x 512 array (macros = 1), 8-bit weights in 8-bit cells (one column per weight,
    VW-SDK's "bit precision 1"): the sequential MVM steps of every layer
    (bit_steps_layer = windows x ceil(C*K*K / 512) x ceil(M / 512) passes) equal the published
    im2col cycles exactly (tolerance 0: integer counts). Weight rewriting between passes is
    not part of VW-SDK's count and not compared. Neither layer is grouped, so the packing
    must not matter."""
    stack = _vw_sdk_stack()
    d = DesignBatch.from_dict({"memory": ["RRAM"], "xbar_rows": [512], "xbar_cols": [512],
                               "bits_per_cell": [8], "macros_per_tile": [1],
                               "tiles_per_group": [1], "router_groups": [1],
                               "adcs_per_macro": [16]})
    assert int(d.n_macros[0]) == 1
    counts = workload_counts(d, stack, Deployment(packing=packing))
    published = np.array([cycles for _, cycles in VW_SDK_IM2COL_512], dtype=float)
    np.testing.assert_array_equal(counts["bit_steps_layer"][0], published)
    # the same figure from the tiling alone: windows x crossbars of one copy
    t = tile(np.array([512]), np.array([512]), np.array([8]), stack, packing)
    np.testing.assert_array_equal((stack.P * stack.Q * t.arrays)[0], published)
