"""``ray up cluster.yaml`` for real with three namespaced nodes on this machine
(``bench/cluster_local.py``): minutes of CPU and root, so it runs only when asked,
``HWNAS_CLUSTER_TEST=1 python -m pytest -q tests/test_cluster_local.py``."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("HWNAS_CLUSTER_TEST") != "1", reason="set HWNAS_CLUSTER_TEST=1 (root, minutes)"),
]


def test_ray_up_profile_sweep_resume_worker_loss_down():
    venv = os.environ.get("HWNAS_VENV") or str(Path(sys.executable).resolve().parents[1])
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "cluster_local.py")],
        cwd=ROOT,
        env=dict(os.environ, HWNAS_VENV=venv),
        capture_output=True,
        text=True,
        timeout=3600,
    )
    last = run.stdout.strip().splitlines()[-1]
    m = re.fullmatch(
        r"nodes=(\d+) rpi4_workers=(\d+) lut_on=(\S+) trials=(\d+) measured_on_workers=(\d+)/(\d+) "
        r"resumed=(\w+) worker_loss_handled=(\w+) up_s=\d+",
        last,
    )
    assert m, run.stdout[-3000:] + run.stderr[-2000:]
    nodes, workers, lut_on, trials, on_workers, measured, resumed, loss = m.groups()
    assert (nodes, workers, trials) == ("3", "2", "4")
    assert lut_on.split("@")[1] in ("10.77.0.11", "10.77.0.12")
    assert on_workers == measured == "4"
    assert (resumed, loss) == ("yes", "yes"), run.stdout[-3000:]
    assert "no namespace, link or process left" in run.stdout
    assert run.returncode == 0
