"""Latency and energy lookup tables (LUTs): profile, estimate, validate."""

from lut.cost import CostModel, CostTensors, TableCost

__all__ = ["CostModel", "CostTensors", "TableCost"]
