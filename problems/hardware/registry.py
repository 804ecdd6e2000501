"""Registry of the cost models (accounting conventions) by name; the default convention.

- ``"physical"``: what the hardware must do (default for new studies; `physical.py`);
- ``"cimloop"``: what the paper's CiMLoop evaluator counted (`cimloop.py`, CIMLOOP_MODEL.md).
"""

from __future__ import annotations

from problems.errors import ImcoptError
from problems.fingerprint import digest_named
from problems.hardware.cimloop import CimloopModel
from problems.hardware.model import CostModel, hardware_root
from problems.hardware.physical import PhysicalModel

COST_MODELS: dict[str, CostModel] = {m.name: m for m in (PhysicalModel(), CimloopModel())}
CONVENTIONS: tuple[str, ...] = tuple(COST_MODELS)
DEFAULT_CONVENTION = "physical"  # the physically complete accounting (README, "Conventions")


def get_cost_model(name: str) -> CostModel:
    """The registered cost model called ``name`` (ImcoptError listing the names otherwise)."""
    model = COST_MODELS.get(name) if isinstance(name, str) else None
    if model is None:
        raise ImcoptError(f"unknown accounting convention {name!r}; allowed: "
                          f"{list(CONVENTIONS)}")
    return model


def model_fingerprint(convention: str | None = None) -> str:
    """Fingerprint of one convention's files, or (None) of every source and data file of
    problems/hardware."""
    if convention is not None:
        return get_cost_model(convention).fingerprint()
    root = hardware_root()
    items: list[tuple[str, bytes]] = []

    def walk(node, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            rel = f"{prefix}{child.name}"
            if child.is_dir():
                if child.name != "__pycache__":
                    walk(child, rel + "/")
            elif child.name.endswith((".py", ".json", ".csv")):
                items.append((rel, child.read_bytes()))
    walk(root, "")
    return digest_named(items)
