"""What device a measurement ran on, recorded in LUTs and metrics files, and where training runs.

Imports only torch and the standard library (runs on a Ray worker on a Pi)."""

from __future__ import annotations

import os
import platform
import socket

import torch

__all__ = ["cpu_model", "describe", "loadavg_1min", "train_device"]


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux; ``platform`` elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                # x86: "model name"; ARM (Raspberry Pi): "Model" or "Hardware"
                if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def describe(threads: int) -> dict:
    cpu = cpu_model()
    return {
        "name": f"{cpu} ({platform.machine()})",
        "cpu": cpu,
        "machine": platform.machine(),
        "torch": torch.__version__,
        "threads": threads,
        "hostname": socket.gethostname(),
    }


def loadavg_1min() -> float | None:
    """The 1-minute load average (how busy the device was around a timing), or None
    where the platform has none."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def train_device() -> torch.device:
    """Where training runs: the GPU when torch sees one (cluster configs), else the CPU.
    (Exact resume is only guaranteed on the CPU: GPU kernels may be nondeterministic.)"""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
