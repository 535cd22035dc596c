"""Profiling on a Ray device: ``--device <resource>`` (``hwnas.device_name``) runs one
profiling session (``lut.session.profile_data``) in a Ray task on a node offering that resource."""

from __future__ import annotations

from hwnas.errors import UserError
from lut.session import profile_data

__all__ = ["profile_on_ray"]


def _profile_on_node(**kwargs) -> dict:
    """``profile_data`` in a Ray task; the LUT's device record names the node it ran on."""
    from hwnas.ray_connect import node_record

    data = profile_data(**kwargs)
    data["device"].update(node_record())
    return data


def profile_on_ray(resource: str, address: str | None, threads: int, kwargs: dict) -> dict:
    """``profile_data(**kwargs)`` on a node with ``resource`` (``threads`` CPUs); a
    device that leaves the cluster meanwhile is a one-line ``UserError``."""
    import ray

    from hwnas.ray_connect import check_resource, connect, device_task_options

    connect(address)
    check_resource(resource, ray.cluster_resources(), f"device {resource!r}")
    task = ray.remote(_profile_on_node).options(**device_task_options(resource, threads))
    try:
        data = ray.get(task.remote(**kwargs))
    except ray.exceptions.RayTaskError:
        raise  # the profiling failed on the device: its own error
    except ray.exceptions.RayError as err:  # the node or the worker process running the task died
        first = (str(err).strip().splitlines() or [""])[0][:200]
        raise UserError(
            f"device {resource!r}: the device left the cluster while profiling ({err.__class__.__name__}: {first})"
        ) from None
    data["device"]["ray_resource"] = resource
    return data
