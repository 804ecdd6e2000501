"""Compute SNR of the analog dot products: what ADC precision, bits per cell, rows and device
noise do to a layer's output (accuracy proxy), vectorized over designs x layers.

Mapping (the same as the ``physical`` convention, `problems.hardware.physical`): a layer's
``C*R*S`` rows are tiled onto ``T = ceil(rows / xbar_rows)`` row tiles; one ADC conversion reads
``N = min(rows, xbar_rows)`` rows at once (every row of a tile; N is the largest tile, a
conservative choice for the ADC range of the last, partial tile; the column statistics use the
average tile, rows / T); inputs are bit-serial (1 input bit per step,
``input_bits`` steps); weights are cut into ``S = ceil(weight_bits / k)`` slices of k =
``bits_per_cell`` bits, aligned at the weight's MSB (a short LSB slice is stored shifted up, so
every conversion sees the same column range); the T x S x input_bits conversions of one output
are recombined digitally with shift-add weights 2^(input bit) x 2^(slice position).
SRAM cells hold one bit: a "k-bit SRAM cell" is k bit-cells (the area model charges k cells)
summed binary-weighted onto the column (charge domain), so its column range is the same as a
k-bit RRAM cell's - never free.

Signal statistics (documented assumption, overridable): input bits i.i.d. with P(1) = ``p_x``
(0.5 = uniformly distributed input values; a per-layer array, e.g. measured from activation
histograms via `measured_input_one_probability`), weight values uniform over their range.
The signal is the variance of the ideal integer dot product Y = sum_i X_i W_i over all rows;
the SNR is Var(Y) / Var(Y_hat - Y) (compute SNR of Gonugondla et al., IEEE TCAD 2021).

Noise per conversion (level-step units of one cell, column full scale FS = N (2^k - 1)):
- ADC quantization, ``adc_range``:
  ``full-range`` (default; the paper's evaluator): a b-bit ADC spans all FS + 1 column values;
  step D = (FS + 1) / 2^b integer values per code, error variance (D^2 - 1) / 12 (exact for an
  integer-valued column with integer D; 0 = lossless when FS + 1 <= 2^b, the ISAAC sizing rule,
  Shafiee et al., ISCA 2016), at most the column's own variance (a step wider than the signal
  conveys nothing: SNR >= 0 dB bound). For large D this is the additive-noise model
  SQNR = 6.02 b + 4.77 - 20 log10(zeta) dB with zeta = full range / (2 sigma), i.e. for an N-row
  binary column 6.02 b + 10 log10(12 p (1 - p)) - 10 log10 N dB (Gonugondla et al. 2021).
  ``clipped``: the range is mu +- zeta_opt(b) sigma with the optimal clipping criterion of Sakr &
  Shanbhag (IEEE TSP 2021) for a Gaussian column sum (quantization + clipping noise); never
  worse than full-range (the better of the two is used).
- analog: RRAM conductance variation sigma_G = ``rram_sigma_g_rel`` x conductance window per
  cell (absolute, level-independent: Pedretti & Ielmini, Electronics 2021), i.e.
  sigma_G_rel (2^k - 1) level steps - more bits per cell, closer levels, more relative noise;
  SRAM charge-domain capacitor mismatch: a row's cell capacitance (1 fF) is split into the
  2^k - 1 binary-weighted unit capacitors of a k-bit cell, so with sigma_C ~ sqrt(C) the error
  of a cell of value w has variance w (2^k - 1) sigma_rel^2 level steps^2 (mean over w:
  (2^k - 1)^2 sigma_rel^2 / 2). Both are static (programming / fabrication), so a cell's error
  is multiplied by its whole input X_i.
  Read noise: kT/C of the column sample-and-hold at a full-scale swing of the design's supply
  voltage, and the ADC's input-referred (thermal) noise, both relative to FS.
Composition: noise variances add (1/SNR_T = sum_i 1/SNR_i, Gonugondla et al. 2021).
Per workload: ``worst-layer`` (default: the minimum layer SNR) or ``accumulated`` (noise-to-
signal ratios summed over the layers, 1/SNR = sum_l 1/SNR_l: errors accumulated through the
network at unit gain - more conservative).
Not modelled: IR drop, RRAM HRS leakage and drift, ADC nonlinearity (INL/DNL), input DAC noise.

Monotone (tests/test_snr.py): more ADC bits never lower the SNR, more bits per cell never
raise it; more rows per conversion never raise a column's SQNR, nor a layer's SNR unless the
larger crossbar removes a partial row tile (one conversion fewer per output).

Speed: `SNRModel` binds a workload stack (layer-side quantities once, on unique (rows,
input_bits, weight_bits, p_x)); the NSR separates into a term of (xbar_rows, bits_per_cell,
adc_bits), a read-noise term of (xbar_rows, bits_per_cell) x f(voltage) and a static cell-noise
term of (memory, bits_per_cell), each tabulated on the unique keys of a batch and gathered
(benchmarks/bench_snr.py: a few percent of the joint problem's evaluation time).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from problems.errors import ImcoptError
from problems.hardware.design import DesignBatch
from problems.workloads.stack import WorkloadStack

ADC_RANGES: tuple[str, ...] = ("full-range", "clipped")
SNR_AGGREGATES: tuple[str, ...] = ("worst-layer", "accumulated")
#: RRAM write-verify conductance spread sigma_G / conductance window, ~1 uS over a ~40 uS window
#: after relaxation: an approximate reading of Wan et al., Nature 608, 504 (2022) (NeuRRAM),
#: Ext. Data Fig. 3c-e; an assumption, overridable through SNRConfig.rram_sigma_g_rel
RRAM_SIGMA_G_REL = 0.025
#: SRAM charge-domain unit capacitor (1 fF) mismatch, 28 nm k-model sigma_C = 2.1e-2.5 sqrt(C)
#: fF (Kavishwar & Shanbhag, arXiv 2507.09776, 2025, behavioural QR-SRAM model)
SRAM_CAP_SIGMA_REL = 2.1 * 10**-2.5
#: column sample-and-hold capacitance (same value as components.SH_CAP_F, 10 fF)
SH_CAP_F = 10e-15
BOLTZMANN_J_PER_K = 1.380649e-23
TEMPERATURE_K = 300.0
#: ADC input-referred thermal noise = the quantization noise of a 12-bit converter of the same
#: full scale (SAR ADCs above ~70 dB SNDR are thermal-noise limited; Murmann ADC survey)
ADC_THERMAL_ENOB = 12.0
#: reported for a zero-noise (lossless, noise-free) conversion chain
LOSSLESS_SNR_DB = np.inf


@dataclass(frozen=True)
class SNRConfig:
    """Options of the SNR model (see the module docstring)."""

    adc_range: str = "full-range"
    aggregate: str = "worst-layer"
    analog_noise: bool = True
    rram_sigma_g_rel: float = RRAM_SIGMA_G_REL
    sram_cap_sigma_rel: float = SRAM_CAP_SIGMA_REL

    def __post_init__(self) -> None:
        if self.adc_range not in ADC_RANGES:
            raise ImcoptError(f"snr adc_range {self.adc_range!r}; allowed: {list(ADC_RANGES)}")
        if self.aggregate not in SNR_AGGREGATES:
            raise ImcoptError(f"snr aggregate {self.aggregate!r}; allowed: "
                              f"{list(SNR_AGGREGATES)}")
        for name in ("rram_sigma_g_rel", "sram_cap_sigma_rel"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < 1:
                raise ImcoptError(f"snr {name} = {v!r} must be a number in [0, 1)")


@dataclass(frozen=True, eq=False)
class SNRResult:
    """Output SNR in dB: per workload (n_designs, n_workloads) and, on request, per layer."""

    workloads: tuple[str, ...]
    snr_db: np.ndarray
    layer_snr_db: np.ndarray | None = None


# ---- closed forms (each reproduced by tests/test_snr.py) --------------------------------------
def additive_sqnr_db(adc_bits: np.ndarray | float, zeta: np.ndarray | float) -> np.ndarray:
    """Additive-noise SQNR of a b-bit quantizer over +-zeta sigma: 6.02 b + 4.77 - 20 log10 zeta."""
    return 20 * np.log10(2.0) * np.asarray(adc_bits, float) + 10 * np.log10(3.0) \
        - 20 * np.log10(np.asarray(zeta, float))


def binary_column_sqnr_db(adc_bits: np.ndarray | float, rows: np.ndarray | float,
                          p: np.ndarray | float) -> np.ndarray:
    """Full-range ADC on an N-row binary column (Gonugondla et al. 2021):
    6.02 b + 10 log10(12 p (1 - p)) - 10 log10 N, p = P(product bit = 1)."""
    p = np.asarray(p, float)
    return 20 * np.log10(2.0) * np.asarray(adc_bits, float) + 10 * np.log10(12 * p * (1 - p)) \
        - 10 * np.log10(np.asarray(rows, float))


def gaussian_clipping_mse(zeta: np.ndarray | float, adc_bits: np.ndarray | float
                          ) -> np.ndarray:
    """Quantization (step^2 / 12) + clipping MSE of a unit Gaussian on a b-bit uniform quantizer
    over +-zeta: the optimal clipping criterion of Sakr & Shanbhag, IEEE TSP 2021."""
    z = np.asarray(zeta, float)
    step = 2 * z / 2.0 ** np.asarray(adc_bits, float)
    return step * step / 12 + _gaussian_clip_mse(z)


def _gaussian_clip_mse(z: np.ndarray) -> np.ndarray:
    """E[(|x| - z)^2; |x| > z] for a unit Gaussian x (both tails)."""
    from scipy import stats  # lazy: importing scipy costs ~1.5 s, for every command

    return 2 * ((1 + z * z) * stats.norm.sf(z) - z * stats.norm.pdf(z))


def mpc_sqnr_margin_db(delta_db: float = 0.5) -> float:
    """Minimum-precision criterion (Gonugondla et al., IEEE TCAD 2021): by 1/SNR_T = 1/SNR_a +
    1/SQNR, SNR_T stays within delta dB of the analog SNR_a iff SQNR >= SNR_a + this margin
    (9.14 dB for delta = 0.5 dB)."""
    return float(-10 * np.log10(10 ** (delta_db / 10) - 1))


def minimum_adc_bits_binary(snr_analog_db: float, rows: int, p: float,
                            delta_db: float = 0.5) -> int:
    """MPC applied to the full-range binary column: the smallest b whose SQNR
    (`binary_column_sqnr_db`) is at least SNR_a + `mpc_sqnr_margin_db`."""
    need = snr_analog_db + mpc_sqnr_margin_db(delta_db)
    b0 = float(binary_column_sqnr_db(0, rows, p))
    return max(1, int(np.ceil((need - b0) / (20 * np.log10(2.0)))))


@lru_cache(maxsize=32)
def _occ_zeta(adc_bits: int) -> float:
    from scipy import optimize  # lazy, as in `_gaussian_clip_mse`

    res = optimize.minimize_scalar(lambda z: float(gaussian_clipping_mse(z, adc_bits)),
                                   bounds=(0.05, 12.0), method="bounded",
                                   options={"xatol": 1e-6})
    return float(res.x)


def occ_zeta(adc_bits: np.ndarray | int) -> np.ndarray:
    """SQNR-optimal clipping ratio zeta_opt(b) (clip at mu +- zeta sigma) for a Gaussian."""
    b = np.asarray(adc_bits, dtype=np.int64)
    table = np.array([_occ_zeta(i) if i >= 1 else np.nan for i in range(int(b.max()) + 1)])
    return table[b]


def quantization_noise_var(full_scale: np.ndarray, sigma_y: np.ndarray, adc_bits: np.ndarray,
                           adc_range: str = "full-range") -> np.ndarray:
    """ADC error variance of one conversion of an integer column sum in [0, full_scale] with
    standard deviation sigma_y (broadcast arrays, level-step units)."""
    fs = np.asarray(full_scale, float)
    var_y = np.asarray(sigma_y, float) ** 2
    codes = 2.0 ** np.asarray(adc_bits, float)
    step = (fs + 1.0) / codes                          # column values per ADC code
    fr = np.minimum(np.maximum(step * step - 1.0, 0.0) / 12.0, var_y)
    if adc_range == "full-range":
        return fr
    if adc_range != "clipped":
        raise ImcoptError(f"adc_range {adc_range!r}; allowed: {list(ADC_RANGES)}")
    z = occ_zeta(np.broadcast_to(np.asarray(adc_bits), np.shape(step)))
    step_c = 2.0 * z * np.sqrt(var_y) / codes
    occ = step_c * step_c / 12.0 + var_y * _gaussian_clip_mse(z)   # thresholds not aligned
    return np.minimum(fr, occ)


def mapping(xbar_rows: np.ndarray, bits_per_cell: np.ndarray, rows: np.ndarray,
            weight_bits: np.ndarray) -> tuple[np.ndarray, ...]:
    """The physical convention's mapping of a layer: (rows read per conversion N, row tiles T,
    weight slices S, MSB-alignment pad bits) for broadcast design / layer arrays."""
    k = np.minimum(bits_per_cell, weight_bits)          # physical.check_inputs: k <= weight bits
    tiles = np.ceil(rows / xbar_rows)
    slices = np.ceil(weight_bits / k)
    return np.minimum(rows, xbar_rows), tiles, slices, slices * k - weight_bits


# ---- the model ----------------------------------------------------------------------------------
def _unique(*cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first index, inverse) of the unique rows of integer/float columns."""
    _, first, inv = np.unique(np.stack(cols, axis=1), axis=0, return_index=True,
                              return_inverse=True)
    return first, inv.reshape(-1)


def _unique_int(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    return first, inv.reshape(-1)


def read_noise_rel2(voltage_v: np.ndarray) -> np.ndarray:
    """Read-noise variance relative to the column full scale squared: kT/C of the sample-and-
    hold at a full-scale swing of the supply voltage + the ADC's input-referred noise."""
    v = np.asarray(voltage_v, float)
    kt_c = BOLTZMANN_J_PER_K * TEMPERATURE_K / SH_CAP_F
    return kt_c / (v * v) + 1.0 / (12.0 * 4.0 ** ADC_THERMAL_ENOB)


class SNRModel:
    """The SNR model bound to one workload stack (layer-side quantities computed once).

    The noise-to-signal ratio of layer l on design d separates into
    NSR = Q(xbar_rows, k, adc_bits; l) + R(xbar_rows, k; l) x read_noise_rel2(voltage)
    + S(memory, k; l), each term tabulated on the unique design keys it depends on.
    """

    def __init__(self, stack: WorkloadStack, cfg: SNRConfig | None = None,
                 input_one_probability: np.ndarray | float = 0.5) -> None:
        self.stack = stack
        self.cfg = cfg or SNRConfig()
        px = np.broadcast_to(np.asarray(input_one_probability, float), (stack.n_layers,))
        if not np.all((px > 0) & (px < 1)):
            raise ImcoptError("input_one_probability must be in (0, 1) for every layer")
        rows = stack.C * stack.R * stack.S
        first, self._inv_l = _unique(rows, stack.input_bits, stack.weight_bits, px)
        self._rows = rows[first].astype(float)[None, :]
        self._ib = stack.input_bits[first].astype(float)[None, :]
        self._wb = stack.weight_bits[first].astype(float)[None, :]
        self._px = px[first][None, :]
        ex = self._px * (2.0 ** self._ib - 1.0)          # X = sum_j 2^j x_j, x_j ~ B(px)
        self._ex2 = self._px * (1 - self._px) * (4.0 ** self._ib - 1.0) / 3.0 + ex * ex
        ew = (2.0 ** self._wb - 1.0) / 2.0               # W uniform on [0, 2^wb - 1]
        ew2 = (4.0 ** self._wb - 1.0) / 12.0 + ew * ew
        self._signal = self._rows * (self._ex2 * ew2 - (ex * ew) ** 2)   # Var(sum X_i W_i)
        self._f_x = (4.0 ** self._ib - 1.0) / 3.0        # shift-add gain of the input bits
        self._counts = np.zeros((first.size, stack.n_workloads))
        np.add.at(self._counts, (self._inv_l, stack.workload_index), 1.0)
        self._members = [np.flatnonzero(c > 0) for c in self._counts.T]

    # -- per-term tables on unique design keys, (n_keys, n_layer_keys) -----------------------
    def _geometry(self, xr: np.ndarray, k: np.ndarray) -> dict[str, np.ndarray]:
        n, tiles, slices, pad = mapping(xr[:, None], k[:, None], self._rows, self._wb)
        kk = np.minimum(k[:, None], self._wb)
        levels = 2.0 ** kk - 1.0
        f_w = (4.0 ** (kk * slices) - 1.0) / (4.0 ** kk - 1.0) / 4.0 ** pad  # slice gains
        gain = tiles * f_w * self._f_x / self._signal    # per-conversion variance -> NSR
        return {"n": n, "tiles": tiles, "levels": levels, "f_w": f_w, "gain": gain}

    def _q_term(self, xr: np.ndarray, k: np.ndarray, b: np.ndarray) -> np.ndarray:
        g = self._geometry(xr, k)
        levels, px = g["levels"], self._px
        es = levels / 2.0                                # slice value uniform on [0, 2^k - 1]
        es2 = ((levels + 1.0) ** 2 - 1.0) / 12.0 + es * es
        # column statistics of the average tile (rows / T), the ADC range of the largest (N)
        var_y = self._rows / g["tiles"] * (px * es2 - (px * es) ** 2)
        q = quantization_noise_var(g["n"] * levels, np.sqrt(var_y), b[:, None],
                                   self.cfg.adc_range)
        return g["gain"] * q

    def _r_term(self, xr: np.ndarray, k: np.ndarray) -> np.ndarray:
        g = self._geometry(xr, k)
        return g["gain"] * (g["n"] * g["levels"]) ** 2

    def _s_term(self, mem: np.ndarray, k: np.ndarray) -> np.ndarray:
        kk = np.minimum(k[:, None], self._wb)
        levels = 2.0 ** kk - 1.0
        slices = np.ceil(self._wb / kk)
        f_w = (4.0 ** (kk * slices) - 1.0) / (4.0 ** kk - 1.0) / 4.0 ** (slices * kk - self._wb)
        sigma2 = np.where(mem[:, None] == 1, 0.5 * self.cfg.sram_cap_sigma_rel ** 2,
                          self.cfg.rram_sigma_g_rel ** 2)
        # static cell errors e_i, multiplied by the whole input X_i: sum_i X_i e_i
        return self._rows * self._ex2 * f_w * levels ** 2 * sigma2 / self._signal

    def noise_to_signal(self, designs: DesignBatch) -> np.ndarray:
        """NSR (linear) on every design x unique layer key, (n_designs, n_layer_keys)."""
        if len(designs) == 0:
            raise ImcoptError("no designs to evaluate")
        d = designs
        xr, k = d.xbar_rows.astype(float), d.bits_per_cell.astype(float)
        geo = d.xbar_rows * 9 + d.bits_per_cell             # integer keys (k <= 8, b <= 12)
        fq, iq = _unique_int(geo * 13 + d.adc_bits)
        nsr = self._q_term(xr[fq], k[fq], d.adc_bits[fq].astype(float))[iq]
        if self.cfg.analog_noise:
            fr, ir = _unique_int(geo)
            fs, is_ = _unique_int(d.memory * 9 + d.bits_per_cell)
            nsr = nsr + self._r_term(xr[fr], k[fr])[ir] * read_noise_rel2(d.voltage_v)[:, None]
            nsr = nsr + self._s_term(d.memory[fs], k[fs])[is_]
        return nsr

    def evaluate(self, designs: DesignBatch, layers: bool = False) -> SNRResult:
        """Output SNR (dB) per workload (and per layer with ``layers``) of every design."""
        nsr = self.noise_to_signal(designs)
        if self.cfg.aggregate == "accumulated":
            per_w = nsr @ self._counts
        else:
            per_w = np.stack([nsr[:, m].max(axis=1) for m in self._members], axis=1)
        return SNRResult(workloads=tuple(self.stack.names), snr_db=to_db(per_w),
                         layer_snr_db=to_db(nsr[:, self._inv_l]) if layers else None)


def layer_noise_to_signal(designs: DesignBatch, stack: WorkloadStack,
                          cfg: SNRConfig | None = None,
                          input_one_probability: np.ndarray | float = 0.5) -> np.ndarray:
    """Noise-to-signal ratio (linear) of every layer on every design, (n_designs, n_layers)."""
    m = SNRModel(stack, cfg, input_one_probability)
    return m.noise_to_signal(designs)[:, m._inv_l]


def to_db(nsr: np.ndarray) -> np.ndarray:
    """SNR in dB from a noise-to-signal ratio (inf where the noise is zero)."""
    with np.errstate(divide="ignore"):
        return -10.0 * np.log10(nsr)


def evaluate_snr(designs: DesignBatch, stack: WorkloadStack, cfg: SNRConfig | None = None,
                 layers: bool = False,
                 input_one_probability: np.ndarray | float = 0.5) -> SNRResult:
    """Output SNR (dB) of every design on every workload (and every layer with ``layers``)."""
    return SNRModel(stack, cfg, input_one_probability).evaluate(designs, layers)


def measured_input_one_probability(stack: WorkloadStack) -> np.ndarray:
    """P(input bit = 1) per layer from CiMLoop's measured input histograms (the average
    normalised input value of `problems.hardware.cimloop.average_input_values`; 0.5 for layers
    without histograms). With i.i.d. bits, E[X] = p (2^b - 1), so p = the average value."""
    from problems.hardware.cimloop import average_input_values

    return np.clip(average_input_values(stack), 1e-3, 1 - 1e-3)
