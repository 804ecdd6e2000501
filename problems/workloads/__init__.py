"""Workloads: per-layer tables (`Workload`), stacks of them, the built-in zoo and importers."""

from problems.workloads.layers import Workload
from problems.workloads.resolve import load_workloads
from problems.workloads.stack import WorkloadStack
from problems.workloads.zoo import SETS, ZOO, get_workload, list_workloads

__all__ = ["Workload", "WorkloadStack", "load_workloads", "get_workload", "list_workloads",
           "ZOO", "SETS"]
