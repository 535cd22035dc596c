"""The report renders its plots in a real headless browser (Debian's chromium), offline."""

import os
import shutil
import subprocess
import tempfile

import pytest

from pareto.report import build_report
from testdata import write_synthetic_experiment

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)")
def test_plots_render_in_headless_chromium(tmp_path):
    root = write_synthetic_experiment(str(tmp_path / "exp"), trials=20)
    build_report(root, str(tmp_path / "out"))
    page = os.path.join(tmp_path, "out", "report.html")
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                f"file://{page}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
    # plotly draws each figure as SVG layers: none before its script ran
    assert dom.count('class="main-svg"') >= 5
    assert "Pareto front" in dom
    assert "baseline: mobilenet_v2" in dom
