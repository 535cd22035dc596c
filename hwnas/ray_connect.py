"""Joining Ray: the one way every command (``lut.profile --device rpi4``,
``sweep.run``) starts or joins a Ray cluster, and what a task records about the node
it ran on.

``address``: ``None`` (``$RAY_ADDRESS`` if set, else, by Ray's own rule, the cluster
``ray start`` started on this machine while it runs, else a Ray started in this process),
``auto`` (the cluster this machine belongs to, e.g. on the head after ``ray up``),
``host:port`` (the head's GCS, port 6379 by default in ``cluster.yaml``) or
``ray://host:port`` (Ray Client, default port 10001). A named address is tried with a
plain TCP connection first: ``ray.init`` retries an unreachable one for minutes,
this fails in seconds with one line.

Signals: the CLI's SIGINT/SIGTERM handlers (``hwnas.errors``) stay in place while Ray runs
in this process. ``connect`` turns off Ray's C++ failure-signal handler for this process only
(what ``RAY_DISABLE_FAILURE_SIGNAL_HANDLER=1`` does; Ray's own processes keep theirs): it took
SIGTERM at ``ray.init`` and reset it to the default action in ``ray.shutdown``, so a SIGTERM in
that moment ended the CLI at once (rc -15, no stop line). ``disconnect`` holds a signal back
until Ray's processes are gone: one cutting ``ray.shutdown`` short left Ray's agents running and
the driver exiting 1 when its raylet vanished.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

from hwnas.errors import UserError, install_stop_handlers, signals_deferred

__all__ = [
    "check_address",
    "check_resource",
    "connect",
    "custom_resources",
    "device_task_options",
    "disconnect",
    "node_record",
    "this_node",
    "this_node_resource",
]

CLIENT_PORT = 10001  # ray://host without a port
GCS_PORT = 6379  # host without a port: the head's GCS (ray start --head --port=6379)
LOCAL = ("auto", "local")


def check_address(address: str | None, timeout_s: float = 5.0) -> None:
    """``UserError`` (one line, in seconds) unless ``address`` is local or reachable."""
    if not address or address in LOCAL:
        return
    client = "://" in address
    url = urlparse(address if client else f"gcs://{address}")
    try:
        host, port = url.hostname, url.port or (CLIENT_PORT if client else GCS_PORT)
    except ValueError:  # a port that is not a number in 0-65535
        raise UserError(f"--address {address}: expected host:port with a port in 1-65535") from None
    if not host or (client and url.scheme != "ray") or not 0 < port < 65536:
        raise UserError(f"--address {address}: expected auto, host:port or ray://host:port (port 1-65535)")
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as err:
        raise UserError(
            f"--address {address}: cannot connect to Ray at {host}:{port} ({err.strerror or err.__class__.__name__})"
        ) from None


def connect(address: str | None = None) -> None:
    """Start a local Ray (no address, no ``$RAY_ADDRESS``) or join a cluster; a no-op
    when this process is connected already. One-line ``UserError`` if unreachable."""
    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    check_address(address)
    _keep_stop_handlers()
    try:
        # Workers: Ray's per-checkpoint INFO lines and torch.jit's deprecation notices
        # (TorchScript export/measurement) would bury the progress table.
        ray.init(
            address=address,
            include_dashboard=False,
            logging_level="WARNING",
            logging_config=ray.LoggingConfig(log_level="WARNING"),
            runtime_env={"env_vars": {"PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::FutureWarning"}},
        )
    except (ConnectionError, RuntimeError, ValueError) as err:
        first = (str(err).strip().splitlines() or [err.__class__.__name__])[0]
        raise UserError(f"--address {address or 'local'}: cannot connect to Ray: {first}") from None
    finally:
        install_stop_handlers()  # ray.init put its own SIGTERM handler (sys.exit) in place of the CLI's


def _keep_stop_handlers() -> None:
    """Ray's C++ failure-signal handler off in this process (see the module docstring)."""
    from ray._private import ray_constants

    ray_constants.RAY_DISABLE_FAILURE_SIGNAL_HANDLER = True


def disconnect() -> None:
    """Leave Ray (stopping the Ray this process started); a SIGINT/SIGTERM arriving meanwhile
    is raised once Ray's processes are gone. A no-op when not connected."""
    import ray

    with signals_deferred():
        ray.shutdown()
        install_stop_handlers()  # ray.shutdown may have put Python's defaults back


_BUILTIN_RESOURCES = ("CPU", "GPU", "memory", "object_store_memory")


def custom_resources(resources: dict) -> list[str]:
    """The custom resources of ``ray.cluster_resources()`` (no CPU/GPU/memory/node ids)."""
    return sorted(
        k for k in resources if k not in _BUILTIN_RESOURCES and not k.startswith(("node:", "accelerator_type:"))
    )


def check_resource(resource: str, resources: dict, what: str) -> None:
    """``UserError`` naming ``what`` (e.g. ``measure.device 'rpi4'``) when no node of the
    cluster (``resources``: ``ray.cluster_resources()``) offers ``resource``: checked
    before any work, because a task asking for it would wait forever."""
    if resources.get(resource, 0) < 1:
        raise UserError(
            f"{what}: no node in the Ray cluster has resource {resource!r} "
            f"(custom resources: {', '.join(custom_resources(resources)) or 'none'}); start the device with "
            f"ray start --address=<head>:6379 --resources='{{\"{resource}\": 1}}'"
        )


def node_record() -> dict:
    """Which Ray node this code runs on (call it inside a task): node id, its address
    and host name, for the device record of a LUT or a measurement."""
    import ray

    return {
        "ray_node_id": ray.get_runtime_context().get_node_id(),
        "node_ip": ray.util.get_node_ip_address(),
        "hostname": socket.gethostname(),
    }


def this_node_resource() -> str:
    """The resource only this process's node has (``node:<ip>``, capacity 1): asking
    for a sliver of it keeps work on this node. Why: a sweep's trials write their
    checkpoints to the experiment directory on the driver's disk, so a trial placed on a
    Pi (which offers CPUs too) would write them where the driver never looks."""
    import ray

    return f"node:{ray.util.get_node_ip_address()}"


def device_task_options(resource: str, num_cpus: float) -> dict:
    """Ray task options for work on a device (``--resources='{"rpi4": 1}'``): one unit
    of its resource, no retry elsewhere, and outside any placement group. Why the
    last: a sweep trial runs in Ray Tune's placement group (CPUs, a GPU on the head)
    and its child tasks are captured by it by default, so a measurement asking for
    ``rpi4`` could never be placed ("cannot fit into any bundles")."""
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    return {
        "num_cpus": num_cpus,
        "resources": {resource: 1},
        "max_retries": 0,
        "scheduling_strategy": PlacementGroupSchedulingStrategy(placement_group=None),
    }


def this_node() -> tuple[str, dict]:
    """``(ip, total resources)`` of the node this process runs on."""
    import ray

    me = ray.get_runtime_context().get_node_id()
    node = next(n for n in ray.nodes() if n["NodeID"] == me)
    return node["NodeManagerAddress"], dict(node["Resources"])
