"""A device that leaves the cluster mid-measurement: the measurement fails at once with
the reason (never waits for ``measure_timeout_s``, never hangs), and an error of the
measurement itself still reads as its own. The whole sweep with a worker unplugged
is ``bench/cluster_local.py``'s (namespaced nodes, a real ``ray up``)."""

import threading
import time

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


def test_an_error_of_the_measurement_itself_is_not_a_lost_device(monkeypatch, tmp_path):
    model = tmp_path / "model.weights.pt"
    model.write_bytes(b"x")
    cause = ValueError("model file is not a childnet data file")
    _fake_ray(monkeypatch, ray.exceptions.RayTaskError("_measure_bytes", "traceback", cause))
    with pytest.raises(ray.exceptions.RayTaskError):
        measure_on_device(model, MeasureConfig(device="rpi4"), timeout_s=900)


@pytest.mark.slow
def test_a_node_removed_mid_measurement_fails_it_within_the_timeout(tmp_path):
    """Two real Ray nodes on this machine (``ray.cluster_utils``): the one with the
    device resource is removed (its processes killed) while it measures."""
    import torch
    from ray.cluster_utils import Cluster

    from childnet.export import save_model_data
    from hwnas.baselines import baseline_model

    torch.manual_seed(0)
    model = save_model_data(
        baseline_model("mobilenet_v2", 10).eval(),
        tmp_path / "mbv2.weights.pt",
        {"input_shape": [3, 32, 32], "baseline": "mobilenet_v2", "num_classes": 10},
    )
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    pi = cluster.add_node(num_cpus=1, resources={"rpi4": 1})
    ray.init(address=cluster.address, logging_level="ERROR")
    try:
        cluster.wait_for_nodes()
        # ~1000 s of samples: only the node's removal ends it
        measure = MeasureConfig(device="rpi4", warmup=0, repeats=100_000, rounds=1, tries=1)
        unplug = threading.Timer(12.0, cluster.remove_node, args=(pi,))
        unplug.start()
        started = time.perf_counter()
        timeout_s = 120.0
        with pytest.raises(DeviceLostError, match="on device 'rpi4' failed: the device left the cluster") as err:
            measure_on_device(model, measure, timeout_s=timeout_s, target=DeployTarget("pytorch"))
        waited = time.perf_counter() - started
        unplug.join()
        assert "\n" not in str(err.value)
        assert 12.0 <= waited < timeout_s, waited
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.mark.slow
def test_a_measurement_from_inside_a_trial_placement_group_reaches_the_device(tmp_path):
    """A Ray Tune trial runs in a placement group whose child tasks it captures; the
    measurement asks for ``rpi4``, which no bundle has, so it must leave the group (it
    failed with "cannot fit into any bundles" on the first real cluster)."""
    import torch
    from ray.util.placement_group import placement_group, remove_placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    from childnet.export import save_model_data
    from hwnas.baselines import baseline_model

    torch.manual_seed(0)
    model = save_model_data(
        baseline_model("mobilenet_v2", 10).eval(),
        tmp_path / "mbv2.weights.pt",
        {"input_shape": [3, 32, 32], "baseline": "mobilenet_v2", "num_classes": 10},
    )
    ray.init(num_cpus=2, resources={"rpi4": 1}, include_dashboard=False, logging_level="ERROR")
    try:
        group = placement_group([{"CPU": 1}])
        ray.get(group.ready(), timeout=60)

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
        assert measured["latency_ms"] > 0
        assert measured["node_ip"] == ray.util.get_node_ip_address()
        assert measured["ray_node_id"]
        remove_placement_group(group)
    finally:
        ray.shutdown()
