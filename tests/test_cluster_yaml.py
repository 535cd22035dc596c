"""cluster.yaml is a valid Ray on-premise cluster config (Ray's own schema and the
preparation ``ray up`` does), with Pis that offer the rpi4 resource and no secrets."""

import json
import re
from pathlib import Path

import jsonschema
import pytest
import ray.autoscaler
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = Path(ray.autoscaler.__file__).parent / "ray-schema.json"


@pytest.fixture(scope="module")
def cluster():
    return yaml.safe_load((ROOT / "cluster.yaml").read_text())


def test_validates_against_rays_schema(cluster):
    jsonschema.validate(cluster, json.loads(SCHEMA.read_text()))


def test_prepared_like_ray_up_still_validates(cluster):
    # what `ray up` does before launching: fill the local provider's node type and defaults
    from ray.autoscaler._private.util import prepare_config, validate_config

    prepared = prepare_config(cluster)
    validate_config(prepared)
    node_type = prepared["available_node_types"][prepared["head_node_type"]]
    assert node_type["max_workers"] == len(cluster["provider"]["worker_ips"])


def test_bad_config_is_rejected_by_the_schema(cluster):
    bad = dict(cluster, provider="local")  # provider must be a mapping
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, json.loads(SCHEMA.read_text()))


def test_on_premise_head_and_pis(cluster):
    provider = cluster["provider"]
    assert provider["type"] == "local"
    assert provider["head_ip"]
    assert len(provider["worker_ips"]) >= 1
    workers = " ".join(cluster["worker_start_ray_commands"])
    assert "--resources='{\"rpi4\": 1}'" in workers
    assert "$RAY_HEAD_IP:6379" in workers
    assert any("pip install -e ." in c for c in cluster["setup_commands"])
    assert any("luts" in target for target in cluster["file_mounts"])


def test_no_secrets(cluster):
    text = (ROOT / "cluster.yaml").read_text().lower()
    assert "ssh_password" not in text
    assert "password:" not in text
    assert not re.search(r"-----begin [a-z ]*private key-----", text)
    assert "ssh_private_key" not in cluster.get("auth", {})


def test_results_venv_and_datasets_stay_off_the_pis(cluster):
    # rsync_exclude applies to `ray up`'s copy to the head and the head's copy to every Pi
    excluded = set(cluster["rsync_exclude"])
    assert {".venv", ".git", "experiments", "/data", "**/__pycache__"} <= excluded
    assert cluster["file_mounts"]["~/hwnas"] == "."


def test_cluster_local_down_removes_only_its_clusters_ssh_sockets(tmp_path):
    # where Ray's command runner keeps ssh control sockets (ray.autoscaler._private.command_runner)
    import getpass
    import hashlib
    import subprocess
    import uuid

    def short(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    name = f"hwnas-test-{uuid.uuid4().hex[:8]}"
    state = tmp_path / "state"
    state.mkdir()
    (state / "cluster.yaml").write_text(f"cluster_name: {name}\n")
    control = Path("/tmp") / f"ray_ssh_{short(getpass.getuser())}"
    ours, other = control / short(name), control / short(name + "-other")
    ours.mkdir(parents=True)
    other.mkdir()
    try:
        down = subprocess.run(
            ["bash", str(ROOT / "scripts" / "cluster_local.sh"), "down"],
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HWNAS_CLUSTER_STATE": str(state)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert down.returncode == 0, down.stderr
        assert not ours.exists()
        assert other.is_dir()
        assert not state.exists()
    finally:
        other.rmdir()
        if not any(control.iterdir()):
            control.rmdir()
