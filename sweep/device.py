"""The target device inside a Ray cluster: is it there, and measure a model file on it.

``measure.device`` is ``local`` (the CPU of the node a trial runs on) or the name of a
Ray custom resource that the device's node declares (``ray start ...
--resources='{"rpi4": 1}'``). A measurement is a Ray task requiring that resource, so
it runs on the device; the model file travels as bytes. ``local`` measurements are
pinned to the trial's node and take no CPU of their own: the trial holds its CPU and
waits, so the measurement runs on the trial's core instead of queueing behind it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from hwnas.config import MeasureConfig
from hwnas.errors import UserError

__all__ = ["check_device", "custom_resources", "measure_on_device"]

_BUILTIN_RESOURCES = ("CPU", "GPU", "memory", "object_store_memory")


def custom_resources(resources: dict) -> list[str]:
    """The custom resources of ``ray.cluster_resources()`` (no CPU/GPU/memory/node ids)."""
    return sorted(k for k in resources if k not in _BUILTIN_RESOURCES
                  and not k.startswith(("node:", "accelerator_type:")))


def check_device(device: str, resources: dict) -> None:
    """``UserError`` when no node offers ``device`` (called at sweep start: never hang)."""
    if device == "local":
        return
    if resources.get(device, 0) < 1:
        raise UserError(
            f"measure.device {device!r}: no node in the Ray cluster has resource {device!r} "
            f"(custom resources: {', '.join(custom_resources(resources)) or 'none'}); start the device with "
            f"ray start --address=<head>:6379 --resources='{{\"{device}\": 1}}'")


def _measure_bytes(model: bytes, suffix: str, kwargs: dict) -> dict:
    from childnet.measure import measure_file  # imported on the device node

    fd, tmp = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(model)
        return measure_file(tmp, **kwargs)
    finally:
        os.unlink(tmp)


def measure_on_device(path: str | Path, measure: MeasureConfig, timeout_s: float | None = None) -> dict:
    """Measure the model file ``path`` on ``measure.device`` with the shared protocol
    (``childnet.measure.measure_file``); returns its ``measured`` dict. Raises
    ``TimeoutError`` after ``timeout_s`` (e.g. the device left the cluster) instead of
    waiting forever."""
    path = Path(path)
    kwargs = dict(threads=measure.threads, warmup=measure.warmup, repeats=measure.repeats,
                  meter=measure.meter, batch_size=measure.batch_size)
    if measure.device == "local":
        options = dict(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(
            ray.get_runtime_context().get_node_id(), soft=False))
    else:
        options = dict(num_cpus=measure.threads, resources={measure.device: 1})
    task = ray.remote(_measure_bytes).options(max_retries=0, **options)
    ref = task.remote(path.read_bytes(), path.suffix, kwargs)
    try:
        return ray.get(ref, timeout=timeout_s)
    except ray.exceptions.GetTimeoutError:
        ray.cancel(ref, force=True)
        raise TimeoutError(f"measuring {path.name} on device {measure.device!r} took over {timeout_s:.0f} s "
                           f"(sweep.measure_timeout_s); is a node with that resource still in the cluster?") from None
