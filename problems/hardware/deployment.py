"""How a device is deployed (physical convention): residency policy, request mix between model
switches, execution mode, batch size, grouped-conv packing. A scenario setting
(``deployment:`` in a study, `ObjectiveConfig.deployment`), kept apart from the design (what
is built) and from the workload (what is asked); the mapping (`mapping.py`) follows from all
three.

- ``residency``:
  ``all-resident`` (default, the paper's rule and this repo's so far): each workload's static
  weights must fit the chip (checked per workload) and are written once; switching between
  workloads is free. Optimistic for several workloads: their union need not fit.
  ``co-resident``: the union of every workload's static weights fits at once (written once);
  spare macros hold replicas shared by all workloads: floor(n_macros / sum_w arrays_w).
  ``per-workload``: each workload must fit alone and gets the whole chip (replicas included);
  every switch to a workload rewrites its weights (RRAM write-verify programming, or SRAM
  array writes fed from LPDDR4), amortised over ``requests_between_switches`` inferences.
- ``requests_between_switches``: inferences of a workload run back to back before the device
  switches to the next one (round robin). One number for every workload or {workload: n}.
  Default 1000 (a device serving batches of requests per model, not interleaving them).
  Only ``per-workload`` uses it; a one-workload set never switches.
- ``execution``: ``sequential`` (default: layers one after another) or ``pipelined`` (ISAAC /
  PUMA style: every layer on its own macros, ``batch`` requests in flight; time per inference
  = (fill + (batch - 1) x slowest stage) / batch, with fill = the sum of the stages, so batch 1
  equals sequential; the GLB / routers are shared by the stages, so the period is at least
  the sum of the layers' activation-transfer times). Workloads whose weights are not resident
  cannot be pipelined (the arrays are rewritten every layer) and run sequentially.
  Published check (qualitative; no ISAAC / PUMA throughput figure usable here was found):
  ISAAC's deep pipeline "is only beneficial when a large number of consecutive images can be
  fed into the architecture" (Song et al., PipeLayer, HPCA 2017, abstract): batch 1 gains
  nothing, n equal stages approach n x as batch grows (tests/test_mapping.py). ISAAC also
  balances the stages by replicating early layers ("we work our way back from the last
  layer"); this model does not (uniform copies), so its pipelined period is conservative.
- ``batch``: requests processed per weight load. Weights written at run time (not resident
  static weights: RRAM programming or the SRAM LPDDR4 stream) are loaded once per batch, and
  the activations of the whole batch share the GLB (spill computed for ``batch`` x the
  tensors). Dynamic (attention) operands are per request and never amortised.
- ``packing``: ``block-diagonal`` (default: several groups of a grouped / depthwise conv
  share one crossbar, `mapping.py`) or ``one-per-group`` (one crossbar per group: the old
  rule, kept to measure the difference).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from problems.errors import ImcoptError, short

RESIDENCY = ("all-resident", "co-resident", "per-workload")
EXECUTION = ("sequential", "pipelined")
PACKING = ("block-diagonal", "one-per-group")
DEFAULT_REQUESTS_BETWEEN_SWITCHES = 1000
#: RRAM write endurance, cycles. HfOx / TaOx RRAM spans 1e6-1e12 cycles (Wong et al.,
#: "Metal-oxide RRAM", Proc. IEEE 100(6), 2012, Table 1); 1e6 is the conservative end used for
#: multi-level cells.
RRAM_ENDURANCE_CYCLES = 1.0e6
KEYS = ("residency", "requests_between_switches", "execution", "batch", "packing")


@dataclass(frozen=True)
class Deployment:
    """The deployment settings (defaults = today's rule: figures unchanged)."""

    residency: str = "all-resident"
    requests_between_switches: float | Mapping[str, float] = DEFAULT_REQUESTS_BETWEEN_SWITCHES
    execution: str = "sequential"
    batch: int = 1
    packing: str = "block-diagonal"

    def __post_init__(self) -> None:
        for name, value, allowed in (("residency", self.residency, RESIDENCY),
                                     ("execution", self.execution, EXECUTION),
                                     ("packing", self.packing, PACKING)):
            if value not in allowed:
                raise ImcoptError(f"deployment {name} = {short(value)}; allowed: "
                                  f"{list(allowed)}")
        b = self.batch
        if isinstance(b, bool) or not isinstance(b, int | np.integer) or b < 1:
            raise ImcoptError(f"deployment batch = {short(b)} must be a positive integer")
        object.__setattr__(self, "batch", int(b))
        r = self.requests_between_switches
        items = r.items() if isinstance(r, Mapping) else [(None, r)]
        clean: dict[str | None, float] = {}
        for k, v in items:
            if isinstance(v, bool) or not isinstance(v, int | float | np.number) \
                    or not np.isfinite(v) or v < 1:
                where = "" if k is None else f"[{k!r}]"
                raise ImcoptError(f"deployment requests_between_switches{where} = {short(v)} "
                                  f"must be a number >= 1 (inferences between switches)")
            clean[k] = float(v)
        if isinstance(r, Mapping):
            object.__setattr__(self, "requests_between_switches",
                               {str(k): v for k, v in clean.items()})
        else:
            object.__setattr__(self, "requests_between_switches", clean[None])

    @property
    def is_default(self) -> bool:
        """True for the default settings (the rule every earlier figure was computed with)."""
        return self == Deployment()

    def requests_per_switch(self, workloads: list[str]) -> np.ndarray:
        """Inferences between switches per workload, (n_w,) ("default" key for the rest)."""
        r = self.requests_between_switches
        if not isinstance(r, Mapping):
            return np.full(len(workloads), float(r))
        d = r.get("default", DEFAULT_REQUESTS_BETWEEN_SWITCHES)
        return np.array([float(r.get(w, d)) for w in workloads])

    def to_dict(self) -> dict[str, object]:
        r = self.requests_between_switches
        return {"residency": self.residency,
                "requests_between_switches": dict(r) if isinstance(r, Mapping) else r,
                "execution": self.execution, "batch": self.batch, "packing": self.packing}

    @classmethod
    def from_dict(cls, d: Mapping[str, object] | Deployment | None) -> Deployment:
        """From a scenario's ``deployment:`` mapping (None -> defaults); unknown keys are an
        error."""
        if d is None:
            return cls()
        if isinstance(d, Deployment):
            return d
        if not isinstance(d, Mapping):
            raise ImcoptError(f"deployment must be a mapping with keys {list(KEYS)}, got "
                              f"{short(d)}")
        unknown = sorted(str(k) for k in set(d) - set(KEYS))
        if unknown:
            raise ImcoptError(f"deployment: unknown key(s) {unknown}; allowed: {list(KEYS)}")
        return cls(**d)  # type: ignore[arg-type]


def lifetime_inferences(requests_per_switch: np.ndarray, is_rram: np.ndarray,
                        residency: str,
                        endurance_cycles: float = RRAM_ENDURANCE_CYCLES) -> np.ndarray:
    """Inferences an RRAM device serves before its most-written cells wear out, (n_d, n_w)
    broadcast: each switch rewrites every cell of the incoming workload once, so a cell
    endures ``endurance_cycles`` switches; between two switches ``requests_per_switch``
    inferences run (n_w of them per round of switches; conservatively every cell is rewritten
    at every switch). inf for SRAM and for the policies that never rewrite."""
    rps = np.asarray(requests_per_switch, dtype=float)
    n_w = rps.size
    if residency != "per-workload" or n_w < 2:
        return np.full((np.size(is_rram), n_w), np.inf)
    life = endurance_cycles * np.broadcast_to(rps.mean(), (n_w,))
    return np.where(np.asarray(is_rram)[:, None], life[None, :], np.inf)
