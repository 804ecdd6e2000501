"""The cost-model interface: what every accounting convention implements.

A `CostModel` has a ``name``, says what it cannot model (`check_designs`, `check_workloads`
raise `ImcoptError` naming the parameter or layer), evaluates a design batch on a workload
stack (`evaluate` -> `CostResult`) and fingerprints its source and data files (cached optima
are keyed on it). Conventions are registered in `problems.hardware.registry`.

Energy is split the Accelergy way (`ActionTable`): how often each action happens (counts per
design x workload, from the mapping) x what one action costs (energy per action per design,
from the component models); a breakdown component is the sum of its actions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import numpy as np

from problems.errors import ImcoptError
from problems.fingerprint import digest_named
from problems.hardware.design import DesignBatch
from problems.hardware.result import CostResult
from problems.package_data import checked_file
from problems.workloads.stack import WorkloadStack

#: files every convention depends on (relative to problems/hardware)
SHARED_FILES: tuple[str, ...] = ("design.py", "result.py", "model.py")


def hardware_root() -> Traversable:
    """The installed ``problems.hardware`` package (source and data files)."""
    return resources.files("problems.hardware")


def data_file(name: str) -> Path:
    """A cost-model data file shipped in ``problems/hardware/data``; missing -> ImcoptError."""
    return checked_file(hardware_root() / "data" / name, f"problems/hardware/data/{name}")


@dataclass(frozen=True)
class Screen:
    """Designs the caller treats as infeasible whatever their energy and latency: chip area
    above ``max_area_mm2``, or (``rram_resident``) RRAM designs whose weights are resident for
    no workload. `CostModel.evaluate_factored` may skip their energy and latency (reported as
    inf, ``valid`` False); area and residency stay exact. The exhaustive search uses it."""

    max_area_mm2: float = float("inf")
    rram_resident: bool = False

    def keeps(self, area_mm2: np.ndarray, rram: np.ndarray, resident: np.ndarray) -> np.ndarray:
        """The designs not ruled out (n,), from their chip area (n,), whether they are RRAM
        (n,) and whether their weights are resident per workload (n, n_w)."""
        keep = np.asarray(area_mm2) <= self.max_area_mm2
        if self.rram_resident:
            keep &= ~np.asarray(rram, bool) | np.asarray(resident, bool).any(axis=1)
        return keep


@dataclass(frozen=True)
class BlockBounds:
    """What every design of a *block* shares or cannot beat, one row per block. A block is a
    set of designs with the same ``structure_fields`` (so the same mapping and action counts)
    whose other parameters range over a box. `CostModel.block_bounds` computes them; the
    branch and bound of `problems.branch_bound` prunes the blocks that cannot matter.

    ``energy_j``, ``latency_s`` (n_b, n_w): lower bounds of every design's energy / latency;
    ``area_min_mm2``, ``area_max_mm2`` (n_b,): bounds of every design's chip area;
    ``resident`` (n_b, n_w): whether the weights are resident (exact: structure-determined).
    """

    energy_j: np.ndarray
    latency_s: np.ndarray
    area_min_mm2: np.ndarray
    area_max_mm2: np.ndarray
    resident: np.ndarray


#: key prefix of the area components among a convention's probe quantities (the inputs of its
#: block bounds: e.g. `physical.probe_quantities`)
AREA_PREFIX = "area:"


def area_range_mm2(q: dict[str, np.ndarray], lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the chip area of each block of probes (block b: rows ``lo[b]`` up to the next
    start): the sums of each area component's (``AREA_PREFIX`` keys of ``q``) minimum and
    maximum over the block. Per component, because a sum of terms monotone in different
    directions need not be monotone."""
    area = [np.asarray(v, float) for k, v in q.items() if k.startswith(AREA_PREFIX)]
    return (sum(np.minimum.reduceat(v, lo) for v in area),
            sum(np.maximum.reduceat(v, lo) for v in area))


@dataclass(frozen=True, eq=False)
class ActionTable:
    """Action counts x per-action energies (Accelergy's split), one entry per action.

    ``counts[a]``: (n_designs, n_workloads) how often action ``a`` happens per inference;
    ``energy_per_action_j[a]``: (n_designs,) J per action; ``component[a]``: the breakdown
    component the action belongs to.
    """

    counts: dict[str, np.ndarray]
    energy_per_action_j: dict[str, np.ndarray]
    component: dict[str, str]

    def energy_j(self, action: str) -> np.ndarray:
        """Energy of one action per design x workload, J."""
        return self.counts[action] * self.energy_per_action_j[action][:, None]

    def component_energy_j(self, order: tuple[str, ...]) -> dict[str, np.ndarray]:
        """Energy per breakdown component (J, (n_d, n_w)), components in ``order``; actions
        are summed in table order."""
        out: dict[str, np.ndarray] = {}
        for a in self.counts:
            c = self.component[a]
            e = self.energy_j(a)
            out[c] = out[c] + e if c in out else e
        unknown = set(out) - set(order)
        if unknown:
            raise ImcoptError(f"actions of unknown component(s) {sorted(unknown)}")
        return {c: out[c] for c in order if c in out}


class CostModel(ABC):
    """One accounting convention: checks, evaluation, fingerprint.

    Subclasses set ``name``, ``description``, ``source_files`` and ``data_files`` (paths
    relative to problems/hardware) and implement `_evaluate`; `evaluate` runs the checks once
    per call, then `_evaluate`.
    """

    name: str = ""
    description: str = ""
    source_files: tuple[str, ...] = ()
    data_files: tuple[str, ...] = ()
    #: design fields that decide the mapping and every action count (a block's fields)
    structure_fields: tuple[str, ...] = ()
    #: fields in which every per-action cost and area component is monotone (either way) for
    #: any fixed other fields, so its minimum and maximum over a box lie at the box's ends:
    #: `block_bounds` then needs only their extreme values (tests/test_bounds.py checks it)
    monotone_fields: tuple[str, ...] = ()

    def check_designs(self, designs: DesignBatch) -> None:
        """Raise ImcoptError for a design parameter value this convention cannot model."""
        return None

    def check_workloads(self, stack: WorkloadStack) -> None:
        """Raise ImcoptError for a layer this convention cannot model."""
        return None

    def check(self, designs: DesignBatch, stack: WorkloadStack) -> None:
        """Both checks (vectorized; cheap next to an evaluation)."""
        if len(designs) == 0:
            raise ImcoptError("no designs to evaluate")
        self.check_workloads(stack)
        self.check_designs(designs)

    def evaluate(self, designs: DesignBatch, stack: WorkloadStack,
                 breakdown: bool = False) -> CostResult:
        """Energy, latency, area of every design on every workload (checked first)."""
        self.check(designs, stack)
        return self._evaluate(designs, stack, breakdown)

    def evaluate_factored(self, designs: DesignBatch, stack: WorkloadStack,
                          screen: Screen | None = None) -> CostResult:
        """`evaluate` with the mapping-dependent part computed once per distinct structure
        (conventions override it; the same numbers up to summation order, rel. diff <= 1e-12);
        a convention may skip the designs ``screen`` rules out. The default is the plain
        evaluation of every design."""
        return self.evaluate(designs, stack)

    def block_bounds(self, probes: DesignBatch, starts: np.ndarray,
                     stack: WorkloadStack) -> BlockBounds | None:
        """Bounds of blocks of designs (`BlockBounds`), or None if the convention has none.

        ``probes``: for each block in turn (rows ``starts[b]:starts[b + 1]``), its designs at
        every combination of the extreme values of its ``monotone_fields`` and of all values
        of its other non-structure fields; the structure fields are the block's throughout.
        """
        return None

    def area_mm2(self, designs: DesignBatch) -> np.ndarray | None:
        """Chip area of each design (n,), mm^2, exactly as `evaluate` reports it, without
        the rest of the evaluation; None if the convention cannot give it alone."""
        return None

    @abstractmethod
    def _evaluate(self, designs: DesignBatch, stack: WorkloadStack,
                  breakdown: bool) -> CostResult:
        """The convention's computation, on checked input."""

    @property
    def files(self) -> tuple[str, ...]:
        """Every file the convention's numbers depend on (relative to problems/hardware)."""
        return SHARED_FILES + self.source_files + tuple(f"data/{f}" for f in self.data_files)

    def fingerprint(self, root: Traversable | None = None) -> str:
        """sha256 of the convention's source and data files (a missing one is an error)."""
        root = hardware_root() if root is None else root
        items = []
        for rel in self.files:
            f = root.joinpath(*rel.split("/"))
            if not f.is_file():
                raise ImcoptError(f"cost model {self.name!r}: file problems/hardware/{rel} is "
                                  f"missing")
            items.append((rel, f.read_bytes()))
        return digest_named(items)
