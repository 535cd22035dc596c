"""The web app in a real browser (Debian's headless chromium driven by selenium through
Debian's chromium-driver; nothing downloaded): upload a LUT (a bad one first: the
one-line error shows), set a knob and see the preview follow, start a smoke search +
childnet, wait for it to finish, see the architecture and the heat map, download arch.json; on a
sweep page, pick a trial and see its search's heat map."""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lut import load_lut
from sweep.knobs import start_costs

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM and DRIVER),
        reason="needs Debian chromium and chromium-driver (apt-get install -y chromium chromium-driver)",
    ),
]


@pytest.fixture(scope="module")
def storage(tmp_path_factory) -> Path:
    """The server's experiments folder, one for the module: its tests write different names."""
    return tmp_path_factory.mktemp("web") / "experiments"


@pytest.fixture(scope="module")
def server(storage):
    """The web app, started once for the module's tests (as the browser is)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sweep.web", "--port", str(port), "--storage", str(storage)],
        cwd=storage.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/api/jobs", timeout=2).read()
            break
        except OSError:
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1300",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    downloads = tmp_path_factory.mktemp("downloads")
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=webdriver.ChromeService(DRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


def _upload(driver, path: Path) -> None:
    driver.find_element(By.ID, "lut-file").send_keys(str(path))
    driver.find_element(By.ID, "lut-upload").click()


def _type(driver, field: str, value: str) -> None:
    box = driver.find_element(By.ID, f"f-{field}")
    box.clear()
    box.send_keys(value)


def test_search_from_the_browser_to_arch_json(server, browser, tmp_path):
    wait = WebDriverWait(browser, 20)
    browser.get(server + "/")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "hwnas-lut"}')
    _upload(browser, bad)
    wait.until(lambda d: d.find_element(By.ID, "lut-error").text)
    assert browser.find_element(By.ID, "lut-error").text == "LUT bad.json: field version: expected an integer (missing)"
    browser.get_log("browser")  # drain: the console shows that upload's 400, as expected

    data = json.loads((ROOT / "lut" / "builtin" / "rpi4-hwnasbench.json").read_text())
    data["device"]["name"] = "the Pi 4 on my desk"
    mine = tmp_path / "my-pi.json"
    mine.write_text(json.dumps(data))
    _upload(browser, mine)
    wait.until(lambda d: d.find_element(By.ID, "f-lut").get_attribute("value").startswith("upload:"))

    _type(browser, "alpha", "1")
    browser.find_element(By.ID, "f-alpha").send_keys(Keys.BACKSPACE)  # a box being retyped: a hint, no request
    wait.until(lambda d: d.find_element(By.ID, "preview").text.startswith("enter alpha"))
    _type(browser, "alpha", "0.5")
    lat0 = start_costs(load_lut(str(mine)).cost_tensors()).lat0_ms
    wait.until(lambda d: f"vLAT = {0.5 * lat0**0.6:.3g}" in d.find_element(By.ID, "preview").text)
    assert "latency dominates" in browser.find_element(By.ID, "preview").text
    _type(browser, "name", "browser")
    _type(browser, "search_epochs", "2")
    browser.find_element(By.CSS_SELECTOR, "#run-form button[type=submit]").click()
    wait.until(lambda d: d.current_url.endswith("/runs/browser"))

    WebDriverWait(browser, 420, poll_frequency=1).until(
        lambda d: d.find_element(By.ID, "status").text in ("finished", "failed")
    )
    assert browser.find_element(By.ID, "status").text == "finished", browser.find_element(By.ID, "reason").text
    ops = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#arch li")]
    assert len(ops) == 22
    assert set(ops) <= set(data["ops"])
    assert browser.find_elements(By.CSS_SELECTOR, "#heatmap .main-svg")  # plotly drew the P(op) heat map
    assert "LUT " in browser.find_element(By.ID, "setup").text
    assert "alpha=0.5" in browser.find_element(By.ID, "setup").text
    browser.save_screenshot(str(tmp_path / "run.png"))

    browser.find_element(By.CSS_SELECTOR, 'a[data-file="search/arch.json"]').click()
    target = browser.downloads / "arch.json"
    WebDriverWait(browser, 30).until(lambda d: target.is_file())
    assert json.loads(target.read_text())["ops"] == ops
    names = {a.get_attribute("data-file") for a in browser.find_elements(By.CSS_SELECTOR, "#files a")}
    # the run's LUT is a published table (eager PyTorch): its deployed file is the data file
    assert {"search/theta.json", "child/metrics.json", "child/model.weights.pt"} <= names
    assert "child/model.pt" not in names
    # no script error, no failed request since
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_a_sweep_page_shows_a_picked_trials_search(server, browser, storage):
    from testdata import write_synthetic_experiment

    browser.get_log("browser")  # drain: only this test's messages count below
    write_synthetic_experiment(str(storage / "swept"), trials=3)
    trial = sorted(p for p in (storage / "swept").glob("trial_*") if p.is_dir())[1]
    progress = {
        "metrics": {"epoch": 4, "epochs": 4, "val_acc": 0.5, "temperature": 2.0, "expected_latency_ms": 1.25},
        "op_names": ["k3_e1", "skip"],
        "probabilities": [[0.9, 0.1], [0.2, 0.8]],
    }
    (trial / "search").mkdir(exist_ok=True)
    (trial / "search" / "progress.json").write_text(json.dumps(progress))
    browser.get(server + "/sweeps/swept")
    wait = WebDriverWait(browser, 20)
    link = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f'a[data-trial="{trial.name}"]'))
    assert browser.find_element(By.ID, "status").text == "unknown"  # started outside the page, no report yet
    link.click()
    wait.until(lambda d: trial.name in d.find_element(By.ID, "trial-pick").text)
    text = browser.find_element(By.ID, "trial-pick").text
    assert "epoch 4 of 4" in text, text
    assert "expected LAT 1.25 ms" in text, text
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#heatmap .heatmaplayer"))
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
