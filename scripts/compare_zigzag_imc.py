"""Cross-check the ``physical`` macro model against ZigZag-IMC's analog-IMC macro model.

ZigZag (KU Leuven, ``pip install zigzag-dse``; never a runtime dependency of imcopt) has an
analytical 28 nm SRAM AIMC macro model (``zigzag.hardware.architecture.imc_array.ImcArray``)
validated against published AIMC macros. This script compares its macro-level peak TOPS/W and
TOPS/mm^2 with `problems.hardware.physical.macro_figures` for the same geometry: 28 nm, 0.9 V,
8-b inputs (bit-serial, 1 b per cycle) x 8-b weights on 1-b SRAM cells, 5-b ADCs. ZigZag puts
one ADC on every column; imcopt is shown with the same (adcs_per_macro = xbar_cols) and with
its default of 16 shared ADCs per macro.

    python -m venv /tmp/zz && /tmp/zz/bin/pip install zigzag-dse numpy pandas
    PYTHONPATH=. /tmp/zz/bin/python scripts/compare_zigzag_imc.py
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GEOMETRIES = ((128, 128), (256, 128), (512, 128), (256, 256), (1024, 256))  # (rows, columns)


def zigzag_macro(rows: int, cols: int, adc_bits: int, cell_area_mm2: float) -> dict[str, float]:
    """ZigZag-IMC macro-level peak figures (its 28 nm, 0.9 V technology)."""
    from zigzag.datatypes import OADimension
    from zigzag.hardware.architecture.imc_array import ImcArray

    logging.getLogger("zigzag").setLevel(logging.WARNING)
    weights_per_row = cols // 8                       # D1: 8-b weights along a wordline
    a = ImcArray(is_analog_imc=True, bit_serial_precision=1, input_precision=[8, 8],
                 adc_resolution=adc_bits, cells_size=8, cells_area=8 * cell_area_mm2,
                 dimension_sizes={OADimension("D1"): weights_per_row, OADimension("D2"): rows})
    return {"tops_per_w": a.topsw_peak, "tops_per_mm2": a.topsmm2_peak,
            "mvm_latency_s": 8 * a.tclk * 1e-9, "area_mm2": a.area}


def main() -> int:
    """Print the comparison table; exit 1 when zigzag-dse is not installed."""
    try:
        import zigzag  # noqa: F401
    except ImportError:
        print("zigzag-dse is not installed (see the module docstring)", file=sys.stderr)
        return 1
    from problems.hardware import components as comp
    from problems.hardware.design import DesignBatch
    from problems.hardware.physical import macro_figures

    cell = float(comp.cell_area_mm2(1, 28.0))
    print(f"{'rows x cols':>12} | {'ZigZag TOPS/W':>13} {'TOPS/mm2':>9} {'MVM ns':>7} | "
          f"{'imcopt (ADC/col)':>16} {'TOPS/mm2':>9} {'MVM ns':>7} | "
          f"{'imcopt (16 ADC)':>15} {'TOPS/mm2':>9} {'MVM ns':>7}")
    for rows, cols in GEOMETRIES:
        z = zigzag_macro(rows, cols, 5, cell)
        d = DesignBatch.from_dict(dict(memory="SRAM", technology_nm=28.0, voltage_v=0.9,
                                       bits_per_cell=1, cycle_time_s=2e-9, xbar_rows=rows,
                                       xbar_cols=cols, adc_bits=5,
                                       adcs_per_macro=[cols, 16]))
        m = macro_figures(d)
        print(f"{rows:>5} x {cols:<5} | {z['tops_per_w']:>13.1f} {z['tops_per_mm2']:>9.2f} "
              f"{z['mvm_latency_s'] * 1e9:>7.1f} | {m['tops_per_w'][0]:>16.1f} "
              f"{m['tops_per_mm2'][0]:>9.2f} {m['mvm_latency_s'][0] * 1e9:>7.1f} | "
              f"{m['tops_per_w'][1]:>15.1f} {m['tops_per_mm2'][1]:>9.2f} "
              f"{m['mvm_latency_s'][1] * 1e9:>7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
