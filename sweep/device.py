"""The target device inside a Ray cluster: is it there, and measure a model file on it.

``measure.device`` is ``local`` (the CPU of the node a trial runs on) or the name of a
Ray custom resource that the device's node declares (``ray start ...
--resources='{"rpi4": 1}'``). A measurement is a Ray task requiring that resource, so
it runs on the device; the model file travels as bytes. ``local`` (the host that also trains) is
measured after the trials, in the sweep's quiet measurement phase (``sweep.measurements``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import ray

from childnet.measure import measure_file
from hwnas.config_sections import MeasureConfig
from hwnas.device_name import is_local
from hwnas.ray_connect import check_resource, custom_resources, device_task_options, node_record
from hwnas.target import DeployTarget

__all__ = ["DeviceLostError", "check_device", "custom_resources", "measure_on_device"]


def check_device(device: str, resources: dict) -> None:
    """``UserError`` when no node offers ``device`` (called at sweep start: never hang)."""
    if not is_local(device):
        check_resource(device, resources, f"measure.device {device!r}")


class DeviceLostError(RuntimeError):
    """The device's node (or the worker process measuring on it) left the cluster
    during a measurement."""


def _spool() -> Path:
    """The device's folder for the model files it measures, each named by its process
    (``<pid>-...``): a worker killed mid-measurement (a Pi unplugged) leaves its file behind,
    and the next measurement removes those whose process is gone."""
    folder = Path(tempfile.gettempdir()) / "hwnas-device"
    folder.mkdir(exist_ok=True)
    for left in folder.iterdir():
        pid = left.name.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            left.unlink(missing_ok=True)
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _measure_bytes(model: bytes, suffix: str, kwargs: dict) -> dict:
    fd, tmp = tempfile.mkstemp(prefix=f"{os.getpid()}-", suffix=suffix, dir=_spool())
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(model)
        measured = measure_file(tmp, **kwargs)
    finally:
        os.unlink(tmp)
    node = node_record()  # which node measured: "node" is its host name
    return dict(measured, ray_node_id=node["ray_node_id"], node_ip=node["node_ip"])


def _suffix(path: Path) -> str:
    """``.weights.pt`` for a data file (the device checks the suffix against the runtime), else the suffix."""
    return ".weights.pt" if path.name.endswith(".weights.pt") else path.suffix


def _first_line(err: Exception) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0][:300] if lines else err.__class__.__name__


def measure_on_device(
    path: str | Path,
    measure: MeasureConfig,
    timeout_s: float | None = None,
    reference: dict | None = None,
    target: DeployTarget | None = None,
) -> dict:
    """Measure the model file ``path`` on the device ``measure.device`` names (a Ray
    custom resource) with the LUT's protocol (``childnet.measure``, timed against the
    LUT's speed ``reference``) in its deployment ``target`` (default ExecuTorch fp32);
    returns its ``measured`` dict, which names the node
    (``node``: host name, ``node_ip``, ``ray_node_id``). The task holds the device's
    resource, so one device times one model at a time. Never waits forever, never
    retries elsewhere: ``DeviceLostError`` as soon as Ray reports the node or its worker
    dead (a Pi unplugged mid-measurement), ``TimeoutError`` after ``timeout_s`` (e.g. no
    node with the resource is left to start it), each with the reason in one line; the
    trial fails with it and the sweep's other trials go on. An error of the measurement
    itself (``RayTaskError``) is raised as is. A ``local`` device is measured in the
    sweep's quiet phase (``sweep.measurements``), not here."""
    path = Path(path)
    if is_local(measure.device):
        raise ValueError("measure_on_device: the local device is measured in the sweep's measurement phase")
    task = ray.remote(_measure_bytes).options(**device_task_options(measure.device, measure.threads))
    kwargs = dict(measure.protocol(), reference=reference, target=target or DeployTarget())
    ref = task.remote(path.read_bytes(), _suffix(path), kwargs)
    try:
        return ray.get(ref, timeout=timeout_s)
    except ray.exceptions.GetTimeoutError:
        ray.cancel(ref, force=True)
        raise TimeoutError(
            f"measuring {path.name} on device {measure.device!r} took over {timeout_s:.0f} s "
            f"(sweep.measure_timeout_s); is a node with that resource still in the cluster?"
        ) from None
    except ray.exceptions.RayTaskError:
        raise  # the measurement failed on the device: its own error
    except ray.exceptions.RayError as err:  # the node or the worker process running the task died
        raise DeviceLostError(
            f"measuring {path.name} on device {measure.device!r} failed: the device left the "
            f"cluster ({err.__class__.__name__}: {_first_line(err)})"
        ) from None
