"""The compute-SNR model (problems/hardware/snr.py): published closed forms, seeded Monte-Carlo
checks through explicit quantizers, composition, monotonicity and the lossless (ISAAC) case.

Regimes where the sources disagree:
- the additive-noise closed forms (6.02 b + 4.77 - 20 log10 zeta; Gonugondla's binary-column
  6.02 b + 10 log10(12 p (1-p)) - 10 log10 N) treat the column sum as continuous; they hold when
  an ADC code spans many column values (step D >= 4). Near the ISAAC point (D -> 1) the integer
  column makes the error variance (D^2 - 1) / 12, and at D <= 1 the conversion is lossless,
  which the continuous forms cannot express (they stay finite);
- the optimal clipping criterion (Sakr & Shanbhag) assumes a Gaussian column sum; it holds for a
  binomial column with N p (1 - p) >= ~50 (checked at 3-6 bits); its clipped range is not aligned
  to the column's integer values, so unlike full range it never becomes lossless (the model then
  uses full range, the better of the two).
"""

from __future__ import annotations

import numpy as np
import pytest

from problems.hardware.design import DesignBatch
from problems.hardware.physical import workload_counts
from problems.hardware.snr import (
    SNRConfig,
    additive_sqnr_db,
    binary_column_sqnr_db,
    evaluate_snr,
    gaussian_clipping_mse,
    layer_noise_to_signal,
    mapping,
    minimum_adc_bits_binary,
    mpc_sqnr_margin_db,
    occ_zeta,
    quantization_noise_var,
)
from problems.workloads import load_workloads
from problems.workloads.layers import Workload
from problems.workloads.stack import WorkloadStack

RNG_SEED = 20211102
QUIET = SNRConfig(analog_noise=False)


def _db(signal: np.ndarray, error: np.ndarray) -> float:
    return float(10 * np.log10(np.var(signal) / np.var(error)))


def _adc(y: np.ndarray, lo: float, hi: float, bits: int) -> np.ndarray:
    """Explicit uniform mid-rise ADC on [lo, hi) with 2^bits codes (saturating)."""
    codes = 2 ** bits
    step = (hi - lo) / codes
    c = np.clip(np.floor((y - lo) / step), 0, codes - 1)
    return lo + (c + 0.5) * step


def _fc_layer(rows: int, ib: int = 8, wb: int = 8) -> WorkloadStack:
    one = np.ones(1, dtype=np.int64)
    return WorkloadStack.of(Workload(
        name=f"fc{rows}", layer_names=("fc",), N=one, C=one * rows, M=one * 16, R=one, S=one,
        P=one, Q=one, G=one, h_stride=one, w_stride=one, h_dilation=one, w_dilation=one,
        input_bits=one * ib, weight_bits=one * wb, output_bits=one * 8))


# ---- closed forms ---------------------------------------------------------------------------
def test_additive_quantizer_sqnr_matches_monte_carlo() -> None:
    """6.02 b + 4.77 - 20 log10 zeta dB (zeta = range / 2 sigma) for a uniform quantizer without
    overload (Gaussian, zeta = 4: clipping noise < 10 % of the quantization noise up to 8 b)."""
    rng = np.random.default_rng(RNG_SEED)
    x = rng.standard_normal(20_000)
    for b in range(4, 9):
        mc = _db(x, _adc(x, -4.0, 4.0, b) - x)
        assert abs(mc - float(additive_sqnr_db(b, 4.0))) < 0.5, b
    assert float(additive_sqnr_db(6, 1.0)) == pytest.approx(6.0206 * 6 + 4.7712, abs=1e-3)


def test_binary_column_full_range_formula_and_model() -> None:
    """Gonugondla et al. (TCAD 2021): full-range b-bit ADC on an N-row binary column with
    P(product = 1) = p; the model's integer-column noise agrees where an ADC code spans >= 4
    column values; Monte Carlo of random columns agrees with both within 1 dB there."""
    rng = np.random.default_rng(RNG_SEED)
    p = 0.25                                           # input bit 0.5 x weight bit 0.5
    for n, b in ((64, 4), (128, 5), (256, 4), (256, 6), (512, 7)):
        assert (n + 1) / 2 ** b >= 4
        closed = float(binary_column_sqnr_db(b, n, p))
        var_y = n * p * (1 - p)
        model = 10 * np.log10(var_y / float(quantization_noise_var(n, np.sqrt(var_y), b)))
        assert abs(model - closed) < 0.3, (n, b)
        y = rng.binomial(n, p, size=5000).astype(float)
        mc = _db(y, _adc(y, -0.5, n + 0.5, b) - y)
        assert abs(mc - closed) < 1.0, (n, b, mc, closed)


def test_near_isaac_point_the_discrete_form_holds_not_the_continuous_one() -> None:
    """A step of D = 2 column values per code: error variance (D^2 - 1)/12 = 0.25, not D^2/12."""
    rng = np.random.default_rng(RNG_SEED)
    n, b, p = 63, 5, 0.25
    y = rng.binomial(n, p, size=5000).astype(float)
    mc = _db(y, _adc(y, -0.5, n + 0.5, b) - y)
    var_y = n * p * (1 - p)
    model = 10 * np.log10(var_y / float(quantization_noise_var(n, np.sqrt(var_y), b)))
    assert abs(mc - model) < 0.3
    assert mc - float(binary_column_sqnr_db(b, n, p)) > 1.0   # continuous form is pessimistic


def test_isaac_lossless_sizing() -> None:
    """A b-bit ADC on a column whose sum takes at most 2^b values loses nothing (ISAAC)."""
    for n, k in ((127, 1), (255, 1), (85, 2), (36, 3)):
        full = n * (2 ** k - 1)
        b = int(np.ceil(np.log2(full + 1)))
        assert float(quantization_noise_var(full, 3.0, b)) == 0.0
        assert float(quantization_noise_var(full, 3.0, b - 1)) > 0.0
    d = DesignBatch.from_dict({"xbar_rows": 128, "bits_per_cell": 1, "adc_bits": 8})
    snr = evaluate_snr(d, _fc_layer(128), QUIET).snr_db
    assert np.all(snr >= 60.0)


def test_occ_reproduces_sakr_shanbhag_clipping_table() -> None:
    """Optimal clipping zeta_opt(b) for a Gaussian (Sakr & Shanbhag, IEEE TSP 2021)."""
    published = {2: 1.71, 3: 2.15, 4: 2.55, 5: 2.94, 6: 3.29, 7: 3.61, 8: 3.92, 9: 4.21,
                 10: 4.49}
    got = occ_zeta(np.array(list(published)))
    np.testing.assert_allclose(got, list(published.values()), atol=0.01)
    # it is the minimum: 5 % either side is worse
    for b, z in published.items():
        m = float(gaussian_clipping_mse(z, b))
        assert m < float(gaussian_clipping_mse(z * 1.05, b))
        assert m < float(gaussian_clipping_mse(z * 0.95, b))


def test_clipped_adc_monte_carlo_and_regimes() -> None:
    """OCC on a binomial column (N = 256, p = 0.25): within 1 dB of Monte Carlo at 3-6 bits
    and never worse than full range (3-bit: +10 dB over full range here)."""
    rng = np.random.default_rng(RNG_SEED)
    n, p = 256, 0.25
    mu, sd = n * p, np.sqrt(n * p * (1 - p))
    y = rng.binomial(n, p, size=5000).astype(float)
    for b in (3, 4, 6):
        z = float(occ_zeta(b))
        mc = _db(y, _adc(y, mu - z * sd, mu + z * sd, b) - y)
        closed = -10 * np.log10(float(gaussian_clipping_mse(z, b)))
        assert abs(mc - closed) < 1.0, (b, mc, closed)
        model = 10 * np.log10(sd ** 2 / float(quantization_noise_var(n, sd, b, "clipped")))
        assert abs(model - closed) < 0.01
    fr = quantization_noise_var(n, sd, 3, "full-range")
    cl = quantization_noise_var(n, sd, 3, "clipped")
    assert 10 * np.log10(fr / cl) > 10.0
    bits = np.arange(1, 13)
    assert np.all(quantization_noise_var(n, sd, bits, "clipped")
                  <= quantization_noise_var(n, sd, bits, "full-range"))


def test_composition_and_minimum_precision_criterion() -> None:
    """1/SNR_T = sum 1/SNR_i (Gonugondla et al. 2021): measured on a quantized noisy column and
    in the model (analog noise adds the same NSR at every ADC precision); MPC: the smallest b
    whose SQNR >= SNR_a + 9.14 dB keeps SNR_T within 0.5 dB of SNR_a, one bit less does not."""
    rng = np.random.default_rng(RNG_SEED)
    n, p, b = 256, 0.25, 5
    y = rng.binomial(n, p, size=20_000).astype(float)
    a = rng.normal(0.0, 1.5, size=y.size)
    q_err = _adc(y + a, -0.5, n + 0.5, b) - (y + a)
    snr_q, snr_a = _db(y, q_err), _db(y, a)
    expect = -10 * np.log10(10 ** (-snr_q / 10) + 10 ** (-snr_a / 10))
    assert abs(_db(y, q_err + a) - expect) < 0.3

    stack = WorkloadStack.of(load_workloads("resnet18"))
    d = DesignBatch.from_dict({"memory": "RRAM", "xbar_rows": 256, "bits_per_cell": 2,
                               "adc_bits": list(range(3, 11))})
    diff = (layer_noise_to_signal(d, stack, SNRConfig())
            - layer_noise_to_signal(d, stack, QUIET))
    np.testing.assert_allclose(diff, np.broadcast_to(diff[:1], diff.shape), rtol=1e-9)

    assert mpc_sqnr_margin_db(0.5) == pytest.approx(9.14, abs=0.01)
    def total(snr_a_db: float, bits: int, rows: int) -> float:
        return -10 * np.log10(10 ** (-snr_a_db / 10)
                              + 10 ** (-float(binary_column_sqnr_db(bits, rows, p)) / 10))

    for snr_a_db, rows in ((20.0, 256), (30.0, 128), (15.0, 512)):
        bmin = minimum_adc_bits_binary(snr_a_db, rows, p)
        assert total(snr_a_db, bmin, rows) >= snr_a_db - 0.5
        assert total(snr_a_db, bmin - 1, rows) < snr_a_db - 0.5


# ---- the layer model ------------------------------------------------------------------------
def _simulate_layer(rows: int, xbar_rows: int, k: int, ib: int, wb: int, adc_bits: int,
                    samples: int, rng: np.random.Generator) -> float:
    """Explicit bit-serial, bit-sliced, row-tiled dot products through a full-range ADC."""
    x = rng.integers(0, 2 ** ib, size=(samples, rows))
    w = rng.integers(0, 2 ** wb, size=(samples, rows))
    slices = -(-wb // k)
    pad = slices * k - wb
    wp = w << pad                                      # MSB-aligned slicing
    n = min(rows, xbar_rows)
    full = n * (2 ** k - 1)
    out = np.zeros(samples)
    for t in range(0, rows, xbar_rows):
        sl = slice(t, t + xbar_rows)
        for j in range(ib):
            xb = (x[:, sl] >> j) & 1
            for s in range(slices):
                ws = (wp[:, sl] >> (k * s)) & (2 ** k - 1)
                col = (xb * ws).sum(axis=1).astype(float)
                out += _adc(col, -0.5, full + 0.5, adc_bits) * 2.0 ** (j + k * s - pad)
    ideal = (x * w).sum(axis=1).astype(float)
    return _db(ideal, out - ideal)


@pytest.mark.parametrize("rows, xbar_rows, k, ib, wb, adc_bits", [
    (128, 64, 2, 4, 4, 4), (96, 64, 3, 4, 8, 5), (256, 256, 1, 4, 4, 6)])
def test_layer_model_matches_monte_carlo(rows: int, xbar_rows: int, k: int, ib: int, wb: int,
                                         adc_bits: int) -> None:
    """A few thousand random dot products through the explicit mapping agree with the closed
    form within 1 dB (lossy regime: each ADC code spans >= 4 column values)."""
    assert (min(rows, xbar_rows) * (2 ** k - 1) + 1) / 2 ** adc_bits >= 4
    mc = _simulate_layer(rows, xbar_rows, k, ib, wb, adc_bits, 3000,
                         np.random.default_rng(RNG_SEED))
    d = DesignBatch.from_dict({"xbar_rows": xbar_rows, "bits_per_cell": k,
                               "adc_bits": adc_bits})
    model = float(evaluate_snr(d, _fc_layer(rows, ib, wb), QUIET).snr_db[0, 0])
    assert abs(mc - model) < 1.0, (mc, model)


def test_monte_carlo_is_reproducible() -> None:
    a = _simulate_layer(64, 64, 2, 4, 4, 4, 500, np.random.default_rng(7))
    b = _simulate_layer(64, 64, 2, 4, 4, 4, 500, np.random.default_rng(7))
    assert a == b


def test_mapping_is_the_physical_conventions() -> None:
    """Conversions implied by the SNR mapping (T x S x input bits per output) equal the physical
    convention's conversion counts."""
    stack = WorkloadStack.of(load_workloads("paper-4"))
    d = DesignBatch.from_dict({"xbar_rows": [32, 128, 512], "xbar_cols": 128,
                               "bits_per_cell": [1, 3, 8]})
    rows = stack.C * stack.R * stack.S
    _, tiles, slices, _ = mapping(d.xbar_rows[:, None], d.bits_per_cell[:, None],
                                  rows[None, :], stack.weight_bits[None, :])
    outputs = stack.M * stack.G * stack.N * stack.P * stack.Q
    conv = stack.per_workload(tiles * slices * stack.input_bits * outputs)
    np.testing.assert_allclose(conv, workload_counts(d, stack)["conversions"], rtol=1e-12)


# ---- monotonicity -----------------------------------------------------------------------------
@pytest.mark.parametrize("cfg", [QUIET, SNRConfig(), SNRConfig(adc_range="clipped")],
                         ids=["quiet", "noisy", "clipped"])
@pytest.mark.parametrize("memory", ["RRAM", "SRAM"])
def test_monotonicity(cfg: SNRConfig, memory: str) -> None:
    """More ADC bits never lower the SNR; more bits per cell never raise it (fixed ADC bits), on
    every layer of the paper's four CNNs; more rows per conversion never raise it for layers
    tiled without a partial tile (see the next test for the exception)."""
    stack = WorkloadStack.of(load_workloads("paper-4")
                             + [_fc_layer(r).workloads[0] for r in (8, 1024, 3072, 4096)])
    rows = [16, 32, 64, 128, 256, 512, 1024]
    grid = np.array(np.meshgrid(rows, np.arange(1, 9), np.arange(1, 13), indexing="ij"))
    r, k, b = (g.ravel() for g in grid)
    d = DesignBatch.from_dict({"memory": memory, "xbar_rows": r, "bits_per_cell": k,
                               "adc_bits": b})
    snr = evaluate_snr(d, stack, cfg, layers=True).layer_snr_db
    snr = snr.reshape(len(rows), 8, 12, -1)
    tol = 1e-9                                         # inf (lossless) compares as equal
    assert np.all(snr[:, :, 1:] >= snr[:, :, :-1] - tol)   # ADC bits up
    assert np.all(snr[:, 1:] <= snr[:, :-1] + tol)         # bits per cell up
    whole = np.flatnonzero(((stack.C * stack.R * stack.S) % 1024 == 0)
                           | (stack.C * stack.R * stack.S <= 16))
    assert whole.size >= 4
    assert np.all(snr[1:, ..., whole] <= snr[:-1, ..., whole] + tol)  # rows per conversion up
    assert np.ptp(snr[np.isfinite(snr)]) > 20.0           # and the grid is not degenerate


def test_rows_per_conversion_per_column_and_partial_tiles() -> None:
    """Per conversion, more rows never raise the SQNR (full range); a layer of 40 rows on
    32-row crossbars needs two conversions (32 + 8 rows), on 64-row ones one (40 rows): the
    larger crossbar then has the higher layer SNR - tiling, not a violation."""
    bits = np.arange(1, 13)[:, None]
    n = np.array([8, 16, 32, 64, 128, 256, 512, 1024])[None, :]
    for k in (1, 2, 4, 8):
        full = n * (2 ** k - 1)
        var = n * 0.5 * ((4 ** k - 1) / 12 + (2 ** k - 1) ** 2 / 4) - n * ((2 ** k - 1) / 4) ** 2
        with np.errstate(divide="ignore"):
            sq = 10 * np.log10(var / quantization_noise_var(full, np.sqrt(var), bits))
        assert np.all(sq[:, 1:] <= sq[:, :-1] + 1e-9)
    d = DesignBatch.from_dict({"xbar_rows": [32, 64], "bits_per_cell": 1, "adc_bits": 3})
    s = evaluate_snr(d, _fc_layer(40), QUIET).snr_db[:, 0]
    assert s[1] > s[0]


def test_issue_example_and_multibit_sram_is_not_free() -> None:
    """A 3-bit ADC on a 512-row column of 8-bit cells destroys the dot product (< 3 dB); an
    8-bit SRAM 'cell' (8 bit-cells on one column) is worse than 1-bit cells at the same ADC."""
    stack = WorkloadStack.of(load_workloads("paper-4"))
    bad = DesignBatch.from_dict({"memory": "SRAM", "xbar_rows": 512, "bits_per_cell": 8,
                                 "adc_bits": 3})
    assert np.all(evaluate_snr(bad, stack).snr_db < 3.0)
    sram = DesignBatch.from_dict({"memory": "SRAM", "xbar_rows": 128, "bits_per_cell": [1, 8],
                                  "adc_bits": 8})
    s = evaluate_snr(sram, stack).snr_db
    assert np.all(s[1] < s[0] - 5.0)


def test_aggregates_and_measured_statistics() -> None:
    """accumulated <= worst-layer; per-layer values reduce to the workload value; measured input
    statistics (CiMLoop histograms) change the SNR; bad options give ImcoptError."""
    from problems.errors import ImcoptError
    from problems.hardware.snr import measured_input_one_probability

    stack = WorkloadStack.of(load_workloads("paper-4"))
    d = DesignBatch.from_dict({"xbar_rows": [64, 256], "bits_per_cell": [2, 4],
                               "adc_bits": [5, 7]})
    worst = evaluate_snr(d, stack, layers=True)
    acc = evaluate_snr(d, stack, SNRConfig(aggregate="accumulated")).snr_db
    assert np.all(acc < worst.snr_db)
    np.testing.assert_allclose(worst.snr_db, stack.per_workload_min(worst.layer_snr_db)
                               if hasattr(stack, "per_workload_min")
                               else np.minimum.reduceat(worst.layer_snr_db,
                                                        stack.offsets[:-1], axis=1))
    px = measured_input_one_probability(stack)
    assert px.shape == (stack.n_layers,) and np.all((px > 0) & (px < 1))
    assert not np.allclose(evaluate_snr(d, stack, input_one_probability=px).snr_db,
                           worst.snr_db)
    with pytest.raises(ImcoptError):
        SNRConfig(adc_range="half")
    with pytest.raises(ImcoptError):
        SNRConfig(aggregate="median")
    with pytest.raises(ImcoptError):
        evaluate_snr(d, stack, input_one_probability=1.0)
