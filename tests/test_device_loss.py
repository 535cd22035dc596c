"""A device that leaves the cluster mid-measurement: the measurement fails at once with
the reason (never waits for ``measure_timeout_s``, never hangs), and an error of the
measurement itself still reads as its own. The whole sweep with a worker unplugged
is ``bench/cluster_local.py``'s (namespaced nodes, a real ``ray up``)."""

import os
import threading
import time
from pathlib import Path

import pytest
import ray

from hwnas.config_sections import MeasureConfig
from hwnas.target import DeployTarget
from sweep.device import DeviceLostError, measure_on_device


class _FakeTask:
    def options(self, **kwargs):
        return self

    def remote(self, *args):
        return "ref"


def _fake_ray(monkeypatch, error):
    def get(ref, timeout=None):
        raise error

    monkeypatch.setattr(ray, "remote", lambda fn: _FakeTask())
    monkeypatch.setattr(ray, "get", get)
    monkeypatch.setattr(ray, "cancel", lambda *a, **k: None)


def test_node_death_is_reported_as_the_device_leaving(monkeypatch, tmp_path):
    model = tmp_path / "model.weights.pt"
    model.write_bytes(b"never read: the task does not run")
    _fake_ray(monkeypatch, ray.exceptions.NodeDiedError("node 10.77.0.11 died (health check failed)"))
    with pytest.raises(
        DeviceLostError,
        match=r"measuring model.weights.pt on device 'rpi4' failed: the device left "
        r"the cluster \(NodeDiedError: .*10.77.0.11 died",
    ):
        measure_on_device(model, MeasureConfig(device="rpi4"), timeout_s=900)


def test_worker_crash_is_reported_as_the_device_leaving(monkeypatch, tmp_path):
    model = tmp_path / "model.weights.pt"
    model.write_bytes(b"x")
    _fake_ray(monkeypatch, ray.exceptions.WorkerCrashedError())
    with pytest.raises(DeviceLostError, match="left the cluster \\(WorkerCrashedError"):
        measure_on_device(model, MeasureConfig(device="rpi4"), timeout_s=900)


def test_a_model_file_left_by_a_killed_measurement_is_removed_by_the_next(monkeypatch, tmp_path):
    """The device writes the model it measures in its spool folder, named by its process; a
    worker killed mid-measurement (a Pi unplugged: tests below) leaves its 9 MB file there,
    and the next measurement removes it; the files of live processes stay."""
    import subprocess
    import tempfile

    import sweep.device

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen(["true"])
    gone.wait()  # its pid: a process that has ended
    spool = tmp_path / "hwnas-device"
    spool.mkdir()
    (spool / f"{gone.pid}-abc.weights.pt").write_bytes(b"left")
    (spool / f"{os.getppid()}-def.pte").write_bytes(b"in flight")  # a live process's
    seen = {}

    def measure_file(path, **kwargs):
        seen["path"] = Path(path)
        seen["bytes"] = Path(path).read_bytes()
        return {"latency_ms": 1.0}

    monkeypatch.setattr(sweep.device, "measure_file", measure_file)
    monkeypatch.setattr(sweep.device, "node_record", lambda: {"ray_node_id": "n", "node_ip": "127.0.0.1"})
    measured = sweep.device._measure_bytes(b"model", ".pte", {})
    assert measured == {"latency_ms": 1.0, "ray_node_id": "n", "node_ip": "127.0.0.1"}
    assert seen["path"].parent == spool and seen["path"].name.startswith(f"{os.getpid()}-")
    assert seen["bytes"] == b"model"
    assert sorted(p.name for p in spool.iterdir()) == [f"{os.getppid()}-def.pte"]


def test_an_error_of_the_measurement_itself_is_not_a_lost_device(monkeypatch, tmp_path):
    model = tmp_path / "model.weights.pt"
    model.write_bytes(b"x")
    cause = ValueError("model file is not a childnet data file")
    _fake_ray(monkeypatch, ray.exceptions.RayTaskError("_measure_bytes", "traceback", cause))
    with pytest.raises(ray.exceptions.RayTaskError):
        measure_on_device(model, MeasureConfig(device="rpi4"), timeout_s=900)


def _mobilenet(path):
    import torch

    from childnet.export import save_model_data
    from hwnas.baselines import baseline_model

    torch.manual_seed(0)
    meta = {"input_shape": [3, 32, 32], "baseline": "mobilenet_v2", "num_classes": 10}
    return save_model_data(baseline_model("mobilenet_v2", 10).eval(), path, meta)


@pytest.fixture(scope="module")
def cluster():
    """Real Ray nodes on this machine (``ray.cluster_utils``), one start for the module's
    tests: a head (1 CPU) and a device node ``rpi4`` (2 CPUs: a trial's bundle and a
    measurement fit on it together); a test that removes a node adds its own."""
    from ray._common.utils import reset_ray_address
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    # Cluster wrote its address to /tmp/ray/ray_current_cluster, where every ray.init() without an
    # address looks first: another test's sweep running meanwhile would join this cluster and
    # lose its trials when it shuts down. The tests here pass the address themselves.
    reset_ray_address()
    cluster.add_node(num_cpus=2, resources={"rpi4": 1})
    ray.init(address=cluster.address, logging_level="ERROR")
    try:
        cluster.wait_for_nodes()
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def _running(parent: int, title: str) -> bool:
    """A process started by ``parent`` (a node's raylet starts its workers) runs ``title``
    (Ray names a worker's process ``ray::<task>`` while it runs that task)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid == parent and title in (stat.parent / "cmdline").read_bytes().decode(errors="replace"):
                return True
        except (OSError, ValueError, IndexError):  # the process ended meanwhile
            continue
    return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="finds the measuring process in /proc (Linux)")
def test_a_node_removed_mid_measurement_fails_it_within_the_timeout(tmp_path, cluster):
    """The node with the device resource is removed (its processes killed) once its worker
    runs the measurement; the measurement fails then, with the reason, long before its timeout."""
    model = _mobilenet(tmp_path / "mbv2.weights.pt")
    pi = cluster.add_node(num_cpus=1, resources={"pi_gone": 1})
    cluster.wait_for_nodes()
    raylet = pi.all_processes["raylet"][0].process.pid
    unplugged = {}

    def unplug():
        deadline = time.monotonic() + 100
        while not _running(raylet, "ray::_measure_bytes") and time.monotonic() < deadline:
            time.sleep(0.1)
        unplugged["measuring"] = _running(raylet, "ray::_measure_bytes")
        time.sleep(1.0)  # into its timing
        unplugged["at"] = time.perf_counter()
        cluster.remove_node(pi)

    # ~1000 s of samples: only the node's removal ends it
    measure = MeasureConfig(device="pi_gone", warmup=0, repeats=100_000, rounds=1, tries=1)
    thread = threading.Thread(target=unplug)
    thread.start()
    started = time.perf_counter()
    timeout_s = 120.0
    with pytest.raises(DeviceLostError, match="on device 'pi_gone' failed: the device left the cluster") as err:
        measure_on_device(model, measure, timeout_s=timeout_s, target=DeployTarget("pytorch"))
    ended = time.perf_counter()
    thread.join()
    assert unplugged["measuring"], "the device node never ran the measurement"
    assert "\n" not in str(err.value)
    assert unplugged["at"] <= ended, "the measurement failed before its node was removed"
    assert ended - started < timeout_s, ended - started


@pytest.mark.slow
def test_a_measurement_from_inside_a_trial_placement_group_reaches_the_device(tmp_path, cluster):
    """A Ray Tune trial runs in a placement group whose child tasks it captures; the
    measurement asks for ``rpi4``, which no bundle has, so it must leave the group (it
    failed with "cannot fit into any bundles" on the first real cluster)."""
    from ray.util.placement_group import placement_group, remove_placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    model = _mobilenet(tmp_path / "mbv2.weights.pt")
    group = placement_group([{"CPU": 1}])
    ray.get(group.ready(), timeout=60)
    try:

        @ray.remote(num_cpus=1)
        def trial(path):
            return measure_on_device(
                path,
                MeasureConfig(device="rpi4", warmup=1, repeats=3, rounds=1, tries=1),
                timeout_s=120,
                target=DeployTarget("pytorch"),
            )

        strategy = PlacementGroupSchedulingStrategy(group, placement_group_capture_child_tasks=True)
        measured = ray.get(trial.options(scheduling_strategy=strategy).remote(str(model)), timeout=180)
    finally:
        remove_placement_group(group)
    assert measured["latency_ms"] > 0
    assert measured["node_ip"] == ray.util.get_node_ip_address()
    [device] = [n["NodeID"] for n in ray.nodes() if n["Alive"] and "rpi4" in n["Resources"]]
    assert measured["ray_node_id"] == device  # measured on the device's node


@pytest.mark.slow
def test_measurement_on_a_vanished_device_times_out(tmp_path, cluster):
    """No node has the resource (any more): the measurement waits ``timeout_s``, not forever."""
    model = tmp_path / "model.pt"
    model.write_bytes(b"not measured: no node has the resource")
    with pytest.raises(TimeoutError, match="device 'gone'.*took over 1 s"):
        measure_on_device(model, MeasureConfig(device="gone"), timeout_s=1.0)
