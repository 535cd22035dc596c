"""The web app's routes (FastAPI TestClient): forms checked by the CLIs' own rules with
one-line errors, LUT uploads, the knob preview's numbers, downloads that never leave
the storage directory, the token when not on loopback, jobs as processes."""

import json
import os
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from lut import load_lut  # noqa: E402
from sweep.knobs import start_costs  # noqa: E402
from sweep.web.__main__ import is_loopback  # noqa: E402
from sweep.web.app import LOOPBACK_HOSTS, create_app  # noqa: E402
from sweep.web.forms import sweep_job  # noqa: E402
from sweep.web.jobs import job_status, start_job, stop_job  # noqa: E402
from sweep.web.luts import MAX_UPLOAD_BYTES  # noqa: E402
from testdata import write_synthetic_experiment  # noqa: E402

RPI4 = Path(__file__).resolve().parents[1] / "lut" / "builtin" / "rpi4-hwnasbench.json"
RUN = {
    "config": "smoke.yaml",
    "lut": "builtin:rpi4-hwnasbench",
    "preset": "fbnet-cifar",
    "width": "1.0",
    "dataset": "fashion-mnist",
    "alpha": "0.2",
    "beta": "0.6",
    "gamma": "0",
    "delta": "0.6",
    "search_epochs": "3",
    "child_epochs": "1",
}


@pytest.fixture
def storage(tmp_path):
    return tmp_path / "experiments"


@pytest.fixture
def client(storage):
    return TestClient(create_app(storage))


def _one_line(response, status=400) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error
    assert "\n" not in error
    return error


def test_index_offers_builtin_luts_and_both_forms(client):
    page = client.get("/")
    assert page.status_code == 200
    for text in ('id="run-form"', 'id="sweep-form"', 'value="builtin:rpi4-hwnasbench" selected', "smoke.yaml"):
        assert text in page.text
    assert client.get("/static/plotly.js").text.startswith("/**")
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/nothing.js").status_code == 404


def test_knob_preview_is_the_luts_uniform_theta_cost(client):
    got = client.get(
        "/api/knobs", params={"lut": "builtin:rpi4-hwnasbench", "alpha": 0.5, "beta": 0.8, "gamma": 0, "delta": 0.6}
    ).json()
    lut = load_lut("builtin:rpi4-hwnasbench")
    lat0 = float(lut.tensors.latency_fixed_ms + lut.tensors.latency_ms.mean(dim=1).sum())
    assert got["lat0_ms"] == pytest.approx(lat0) == pytest.approx(start_costs(lut.cost_tensors()).lat0_ms)
    assert 30 < got["lat0_ms"] < 40  # the Pi 4 table: 17.5-34 ms networks
    assert got["v_lat"] == pytest.approx(0.5 * lat0**0.8)
    assert got["ener0_mj"] is None
    assert got["v_ener"] == 0
    assert got["dominant"] == "latency"
    assert got["lut_space"] == {"name": "fbnet-cifar", "width": 1.0}


@pytest.mark.parametrize(
    "knobs, field",
    [
        ({"alpha": "-1"}, "loss.alpha"),
        ({"beta": "abc"}, "loss.beta"),
        ({"delta": "inf"}, "loss.delta"),
        ({"gamma": ""}, "loss.gamma"),
    ],
)
def test_bad_knob_is_one_line_naming_it(client, knobs, field):
    params = {"lut": "builtin:rpi4-hwnasbench", "alpha": 0.2, "beta": 0.6, "gamma": 0, "delta": 0.6, **knobs}
    assert field in _one_line(client.get("/api/knobs", params=params))


def test_lut_upload_is_validated_and_offered(client, storage):
    data = RPI4.read_bytes()
    up = client.post("/api/luts", files={"file": ("my-pi.json", data, "application/json")})
    assert up.status_code == 200, up.text
    choice = up.json()["value"]
    assert choice.startswith("upload:")
    assert (storage / "luts" / choice.split(":")[1]).read_bytes() == data
    assert choice in [c["value"] for c in client.get("/api/luts").json()]
    preview = client.get("/api/knobs", params={"lut": choice, "alpha": 1, "beta": 1, "gamma": 0, "delta": 1}).json()
    assert preview["lat0_ms"] == pytest.approx(start_costs(load_lut(str(RPI4)).cost_tensors()).lat0_ms)


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda d: d.pop("ops"), "LUT bad.json: field ops: expected a list (missing)"),
        (
            lambda d: d.update(version=9),
            "LUT bad.json: field version: expected 1 or 2, got 9 (written by another version of hwnas)",
        ),
        (lambda d: d["layers"][0]["ops"]["k3_e1"].update(latency_ms=-1), "layers[0].ops.k3_e1.latency_ms"),
    ],
)
def test_bad_lut_upload_is_the_projects_one_line_error(client, storage, mutate, expected):
    data = json.loads(RPI4.read_text())
    mutate(data)
    error = _one_line(client.post("/api/luts", files={"file": ("bad.json", json.dumps(data).encode(), "x")}))
    assert expected in error
    assert not (storage / "luts").exists() or not list((storage / "luts").iterdir())


def test_lut_upload_not_json_and_too_large(client):
    assert "not valid JSON" in _one_line(client.post("/api/luts", files={"file": ("x.json", b"{oops", "x")}))
    big = b" " * (MAX_UPLOAD_BYTES + 70_000)
    assert "at most" in _one_line(client.post("/api/luts", files={"file": ("x.json", big, "x")}), 413)


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("width", "abc", "smoke.yaml: space.width: expected a number, got 'abc'"),
        ("alpha", "-0.5", "loss.alpha: expected a number >= 0"),
        ("search_epochs", "1.5", "search.epochs: expected an integer"),
        ("dataset", "mnist", "data.dataset 'mnist': expected one of"),
        ("lut", "/etc/passwd", "lut '/etc/passwd': expected one of the offered LUTs"),
        ("preset", "fbnet-cpu", "LUT builtin:rpi4-hwnasbench: made for space fbnet-cifar"),
        ("child_epochs", "-1", "child.epochs: expected an integer >= 0, got -1"),
        ("gamma", "0.5", "loss.gamma=0.5 weighs energy, but builtin:rpi4-hwnasbench has no energy data"),
        ("name", "../up", "name '../up': expected letters"),
        ("config", "../pyproject.toml", "config '../pyproject.toml': expected one of"),
        ("runtime", "tflite", "deploy.runtime 'tflite': expected one of executorch, onnxruntime, torchscript, pytorch"),
        ("precision", "int4", "deploy.precision 'int4': expected one of fp32, int8"),
        ("precision", "int8", "deploy: precision=int8 needs runtime executorch or onnxruntime, got runtime=pytorch"),
        # the builtin table measured eager PyTorch: a search for another target cannot use its costs
        (
            "runtime",
            "executorch",
            "LUT builtin:rpi4-hwnasbench: describes pytorch fp32, not the deployment target executorch fp32",
        ),
        ("runtime", "onnx\nruntime", "deploy.runtime: expected one line"),
    ],
)
def test_bad_run_field_is_one_line_and_nothing_starts(client, storage, field, value, expected):
    error = _one_line(client.post("/api/runs", data={**RUN, field: value}))
    assert expected in error, error
    assert not (storage / "runs").exists() or not list((storage / "runs").iterdir())


def test_the_forms_offer_the_deployment_target(client, storage):
    page = client.get("/").text
    assert page.count('<select name="runtime"') == 2
    assert page.count('<select name="precision"') == 2
    assert page.count('<option value="executorch" selected>executorch (XNNPACK)</option>') == 2  # the default
    assert page.count('<option value="torchscript">torchscript (deprecated)</option>') == 2
    assert '<option value="int8">int8</option>' in page
    # each LUT says its target, so picking one picks the run's (app.js)
    assert 'value="builtin:rpi4-hwnasbench" selected data-target="pytorch-fp32"' in page
    assert {c["target"] for c in client.get("/api/luts").json() if c["value"].startswith("builtin:")} == {
        "pytorch-fp32"
    }


def test_the_deployment_target_becomes_config_overrides(storage):
    from sweep.web.forms import run_config

    assert run_config(RUN, storage).deploy.target().key == "pytorch-fp32"  # no field: the config file's
    cfg = run_config({**RUN, "runtime": "pytorch", "precision": "fp32"}, storage)
    assert (cfg.deploy.runtime, cfg.deploy.precision) == ("pytorch", "fp32")
    form = {"trials": "2", "dominant": "any", "runtime": "onnxruntime", "precision": "int8"}
    name, _, steps = sweep_job(form, storage)
    argv = steps[0]
    assert argv[argv.index("deploy.runtime=onnxruntime") - 1] == "--set"
    assert argv[argv.index("deploy.precision=int8") - 1] == "--set"
    assert not (storage / name).exists()  # checked only: nothing written
    assert "--set" not in sweep_job({"trials": "2", "dominant": "any"}, storage)[2][0]  # the config's target


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"runtime": "tflite"}, "deploy.runtime 'tflite': expected one of executorch, onnxruntime"),
        ({"precision": "fp16"}, "deploy.precision 'fp16': expected one of fp32, int8"),
        (
            {"runtime": "torchscript", "precision": "int8"},
            "precision=int8 needs runtime executorch or onnxruntime, got runtime=torchscript",
        ),
    ],
)
def test_a_bad_sweep_target_is_one_line(client, storage, fields, expected):
    error = _one_line(client.post("/api/sweeps", data={"trials": "2", "dominant": "any", **fields}))
    assert expected in error, error
    assert not storage.exists() or not [p for p in storage.iterdir() if p.name != "luts"]


def test_bad_sweep_fields_are_one_line(client, storage):
    assert "sweep.trials: expected an integer >= 1" in _one_line(
        client.post("/api/sweeps", data={"trials": "0", "dominant": "any"})
    )
    assert "sweep fields" in _one_line(client.post("/api/sweeps", data={"trials": "x", "dominant": "any"}))
    assert "--resume: no sweep experiment" in _one_line(client.post("/api/sweeps/nope/resume"))
    assert "sweep.budget.max_latency_ms: expected a number > 0" in _one_line(
        client.post("/api/sweeps", data={"trials": "2", "dominant": "any", "max_latency_ms": "-3"})
    )


def test_a_trials_search_progress_is_served_by_plain_trial_name_only(client, storage):
    write_synthetic_experiment(str(storage / "swept"), trials=3)
    trial = sorted(p for p in (storage / "swept").glob("trial_*") if p.is_dir())[0]
    progress = {"metrics": {"epoch": 3, "epochs": 3}, "op_names": ["skip", "k3_e1"], "probabilities": [[0.25, 0.75]]}
    (trial / "search").mkdir(exist_ok=True)
    (trial / "search" / "progress.json").write_text(json.dumps(progress))
    assert client.get(f"/api/sweeps/swept/trials/{trial.name}/progress").json() == progress
    assert 'id="heatmap"' in client.get("/sweeps/swept").text
    for bad in ("trial_nope", "..", "trial_..", "%2e%2e", "child"):
        assert client.get(f"/api/sweeps/swept/trials/{bad}/progress").status_code == 404, bad
    assert client.get(f"/api/sweeps/nope/trials/{trial.name}/progress").status_code == 404
    # started from the command line (no job here): its files tell its state, on the page as in the job list
    assert client.get("/api/sweeps/swept").json()["status"]["state"] == "unknown"
    (storage / "swept" / "report").mkdir()
    (storage / "swept" / "report" / "report.html").write_text("<html></html>")
    assert client.get("/api/sweeps/swept").json()["status"]["state"] == "finished"


def test_a_trial_written_before_the_key_renames_shows_under_the_new_names(client, storage, monkeypatch):
    from hwnas import keys

    monkeypatch.setattr(keys, "_TOLD", set())
    write_synthetic_experiment(str(storage / "old"), trials=3, failed=0, running=0)
    trial = sorted(p for p in (storage / "old").glob("trial_*") if p.is_dir())[0]
    progress = {"metrics": {"epoch": 3, "epochs": 3, "latency_ms": 1.5}, "op_names": ["skip"], "probabilities": [[1]]}
    (trial / "search" / "progress.json").write_text(json.dumps(progress))
    rows = [json.loads(line) for line in (trial / "result.json").read_text().splitlines()]
    rows[-1]["latency_ms"] = rows[-1].pop("lut_latency_ms")  # the done row as trials wrote it before
    (trial / "result.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = client.get(f"/api/sweeps/old/trials/{trial.name}/progress").json()
    assert got["metrics"]["expected_latency_ms"] == 1.5, "the old expected cost is not shown"
    row = next(t for t in client.get("/api/sweeps/old").json()["trials"] if t["trial"] == trial.name)
    assert row["lut_latency_ms"] == rows[-1]["latency_ms"], "the old row's LUT latency is not shown"


def test_a_sweep_record_written_before_sweep_dominant_shows_its_dominant_term(client, storage, monkeypatch):
    from hwnas import keys

    monkeypatch.setattr(keys, "_TOLD", set())
    write_synthetic_experiment(str(storage / "old"), trials=3)
    record = json.loads((storage / "old" / "sweep.json").read_text())
    record["mode"] = "latency"  # the key sweep.json had before sweep.mode became sweep.dominant
    del record["dominant"]
    (storage / "old" / "sweep.json").write_text(json.dumps(record))
    view = client.get("/api/sweeps/old").json()
    assert view["dominant"] == "latency", view.get("dominant")
    assert "mode" not in view


def test_the_sweep_form_takes_its_dominant_term_and_the_older_field_name(storage, monkeypatch, capsys):
    from hwnas import keys

    monkeypatch.setattr(keys, "_TOLD", set())
    argv = sweep_job({"trials": "2", "dominant": "energy"}, storage)[2][0]
    assert argv[argv.index("--dominant") + 1] == "energy"
    assert capsys.readouterr().err == ""
    for _ in range(2):  # an API client from before the rename posts mode: one deprecation line
        argv = sweep_job({"trials": "2", "mode": "latency"}, storage)[2][0]
        assert argv[argv.index("--dominant") + 1] == "latency"
    assert capsys.readouterr().err.splitlines() == [
        "sweep form: field mode is deprecated, read as dominant; use dominant"
    ]


@pytest.mark.parametrize(
    "last_run, state, reason",
    [
        ({"wall_s": 996.9, "finished": 30, "failed": 0, "unfinished": 0}, "finished", ""),
        ({"wall_s": 900.0, "finished": 29, "failed": 1}, "finished", ""),  # before unfinished was recorded
        ({"wall_s": 120.0, "finished": 12, "failed": 0, "unfinished": 18}, "failed", "18 trials unfinished"),
        ({}, "unknown", "running, or stopped"),  # not ended: still running, or killed
    ],
)
def test_a_command_line_sweep_is_told_by_its_last_run(client, storage, last_run, state, reason):
    write_synthetic_experiment(str(storage / "cli"), trials=3)  # no web job, no report
    record = json.loads((storage / "cli" / "sweep.json").read_text())
    record["runs"] = [{"started": "2026-12-05T10:00:00", "resume": False, "trials": 30, **last_run}]
    (storage / "cli" / "sweep.json").write_text(json.dumps(record))
    status = client.get("/api/sweeps/cli").json()["status"]
    assert status["state"] == state
    assert reason in status["reason"]
    listed = [j for j in client.get("/api/jobs").json() if j["name"] == "cli"]
    assert listed[0]["state"] == state
    assert listed[0]["started"] == "2026-12-05T10:00:00"


def test_resume_may_extend_a_sweep_and_checks_the_new_count(client, storage):
    write_synthetic_experiment(str(storage / "grown"), trials=4)
    name, folder, steps = sweep_job({"name": "grown", "trials": "12"}, storage, resume=True)
    assert (name, folder) == ("grown", storage / "grown")
    assert steps[0][3:7] == ["--resume", "--trials", "12", "--storage"]
    as_before = sweep_job({"name": "grown"}, storage, resume=True)[2][0]
    assert "--resume" in as_before
    assert "--trials" not in as_before
    refused = _one_line(client.post("/api/sweeps/grown/resume", data={"trials": "0"}))
    assert "sweep.trials: expected an integer >= 1" in refused, refused
    assert "sweep fields" in _one_line(client.post("/api/sweeps/grown/resume", data={"trials": "many"}))
    assert not (storage / "grown" / "job.json").exists()  # nothing started


@pytest.fixture
def files(storage, tmp_path):
    (storage / "runs" / "r" / "search").mkdir(parents=True)
    (storage / "runs" / "r" / "search" / "arch.json").write_text('{"ops": []}')
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", storage / "out-link.json")
    os.symlink(storage / "runs" / "r" / "search" / "arch.json", storage / "in-link.json")
    return storage


@pytest.mark.parametrize(
    "path",
    [
        "../secret.txt",
        "%2e%2e/secret.txt",
        "runs/../../secret.txt",
        "runs/%2E%2E/%2E%2E/secret.txt",
        "..%2fsecret.txt",
        "%2Fetc%2Fpasswd",
        "/etc/passwd",
        "out-link.json",
        "runs/r",
        "runs/r/search/missing.json",
        "runs\\..\\..\\secret.txt",
        "runs/r/%00",
    ],
)
def test_downloads_outside_storage_or_not_files_are_404(client, files, path):
    response = client.get(f"/files/{path}")
    assert response.status_code == 404
    assert "secret" not in response.text


def test_downloads_of_files_inside_storage(client, files):
    got = client.get("/files/runs/r/search/arch.json")
    assert got.status_code == 200
    assert got.json() == {"ops": []}
    assert "attachment" in got.headers["content-disposition"]
    assert client.get("/files/in-link.json").json() == {"ops": []}  # a symlink staying inside is fine


def test_token_required_when_not_on_loopback(storage):
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.168.1.20")
    assert not is_loopback("pi.local")
    client = TestClient(create_app(storage, token="s3cret-token"))
    assert client.get("/").status_code == 401
    assert client.get("/api/jobs").status_code == 401
    assert client.get("/files/x", headers={"X-Token": "wrong"}).status_code == 401
    assert client.get("/api/jobs", headers={"X-Token": "s3cret-token"}).status_code == 200
    first = client.get("/?token=s3cret-token")
    assert first.status_code == 200
    assert "hwnas_token" in first.headers["set-cookie"]
    assert client.get("/api/jobs").status_code == 200  # the cookie the query set


def test_a_loopback_server_answers_only_its_own_host_names(storage):
    client = TestClient(create_app(storage, hosts=LOOPBACK_HOSTS), base_url="http://127.0.0.1:8686")
    assert client.get("/").status_code == 200
    assert client.get("/", headers={"Host": "localhost:8686"}).status_code == 200
    assert client.get("/", headers={"Host": "[::1]:8686"}).status_code == 200
    rebound = client.get("/api/jobs", headers={"Host": "attacker.example:8686"})  # DNS rebinding
    assert rebound.status_code == 400
    assert "Invalid host header" in rebound.text


def test_cross_origin_post_is_refused(client):
    refused = client.post("/api/runs", data=RUN, headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "null"},  # a sandboxed iframe on any web page
        {"Origin": "http://testserver.evil.example"},
        {"Origin": "https://testserver"},  # same host, another scheme: another origin
        {"Sec-Fetch-Site": "cross-site"},  # a browser that sent no Origin
        {"Sec-Fetch-Site": "same-site"},  # another origin of the same site
    ],
)
def test_a_post_from_any_other_origin_is_refused(storage, headers):
    for client in (TestClient(create_app(storage)), TestClient(create_app(storage, token="t0ken"))):
        for path in ("/api/runs", "/api/sweeps/x/stop", "/api/luts"):
            response = client.post(path, data={}, headers={"X-Token": "t0ken", **headers})
            assert response.status_code == 403, path
            assert response.text == "403: cross-origin request refused", path
    assert not (storage / "runs").exists()


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl, scripts: no Origin, no Sec-Fetch-Site
        {"Origin": "http://testserver"},  # the page itself
        {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},  # typed by the user
    ],
)
def test_a_post_from_this_servers_origin_or_no_browser_passes(storage, headers):
    for client in (TestClient(create_app(storage)), TestClient(create_app(storage, token="t0ken"))):
        refused = client.post("/api/runs", data={**RUN, "alpha": "-1"}, headers={"X-Token": "t0ken", **headers})
        assert "loss.alpha" in _one_line(refused)  # reached the form's checks


def _start_python(folder, procs, *scripts: str) -> int:
    """A "run" job named after its folder whose steps run each script with this Python."""
    steps = [[sys.executable, "-c", script] for script in scripts]
    return start_job(folder, "run", folder.name, steps, procs, folder.parent)


def _wait(folder, procs, timeout=60):
    deadline = time.monotonic() + timeout
    while job_status(folder, procs)["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    return job_status(folder, procs)


@pytest.mark.heavy
def test_jobs_run_steps_in_order_and_report_how_they_ended(tmp_path):
    procs = {}
    ok = tmp_path / "ok"
    _start_python(ok, procs, "print('one')", "print('two')")
    assert _wait(ok, procs) == {
        "state": "finished",
        "reason": "",
        "step": 2,
        "steps": 2,
        "started": json.loads((ok / "job.json").read_text())["started"],
    }
    assert "one\n" in (ok / "job.log").read_text()
    assert "two\n" in (ok / "job.log").read_text()
    bad = tmp_path / "bad"
    _start_python(bad, procs, "import sys; sys.exit('error: field x: bad')", "print('never')")
    status = _wait(bad, procs)
    assert status["state"] == "failed"
    assert status["reason"] == "exit code 1: error: field x: bad"
    assert "never" not in (bad / "job.log").read_text()


def test_a_killed_job_is_failed_not_running(tmp_path):
    procs = {}
    folder = tmp_path / "killed"
    pid = _start_python(folder, procs, "import time; print('busy', flush=True); time.sleep(60)")
    assert job_status(folder, procs)["state"] == "running"
    os.killpg(pid, 9)
    status = _wait(folder, procs)
    assert status["state"] == "failed"
    assert status["reason"].startswith("stopped without an exit code")
    assert job_status(folder, {})["state"] == "failed"  # a restarted server: the pid is gone


@pytest.mark.heavy
def test_stop_ends_the_job_and_says_so(tmp_path, storage):
    procs = {}
    folder = tmp_path / "long"
    _start_python(folder, procs, "import time; print('working', flush=True); time.sleep(60)", "print('never')")
    deadline = time.monotonic() + 30
    while "working" not in (folder / "job.log").read_text() and time.monotonic() < deadline:
        time.sleep(0.1)  # the runner took note of SIGTERM only once it runs the step
    assert stop_job(folder, procs)
    status = _wait(folder, procs)
    assert status["state"] == "failed"
    assert status["reason"] == "stopped from the page during step 1"
    assert "never" not in (folder / "job.log").read_text()
    assert not stop_job(folder, procs)
    client = TestClient(create_app(storage))
    assert client.post("/api/runs/none/stop").status_code == 404
    assert client.post("/api/sweeps/none/stop").status_code == 404


def test_sweep_page_shows_trials_of_an_experiment(client, storage):
    write_synthetic_experiment(str(storage / "synth"), trials=6, failed=1, running=1)
    (storage / "synth" / "report").mkdir()
    (storage / "synth" / "report" / "report.html").write_text("<html>report</html>")
    jobs = client.get("/api/jobs").json()
    assert [(j["kind"], j["name"]) for j in jobs] == [("sweep", "synth")]
    view = client.get("/api/sweeps/synth").json()
    assert len(view["trials"]) == 6
    assert view["report"]
    assert sum(t["error"] is not None for t in view["trials"]) == 1
    assert client.get("/sweeps/synth").status_code == 200
    assert client.get("/sweeps/none").status_code == 404
    assert client.get("/files/synth/report/report.html").headers["content-type"].startswith("text/html")
    assert client.get("/runs/none").status_code == 404
    assert client.get("/api/runs/none").status_code == 404


def test_the_pages_offer_the_deployed_file_and_name_the_target(client, storage):
    from pareto.report import build_report

    root = storage / "deployed"
    write_synthetic_experiment(str(root), trials=4, failed=0, running=0, precision="int8")
    trials = sorted(p for p in root.glob("trial_*"))
    for trial in trials:
        for name in ("model.pte", "model.weights.pt", "model.pt"):  # model.pt: a stale file, never offered
            (trial / "child" / name).write_bytes(b"x")
    view = client.get("/api/sweeps/deployed").json()
    assert view["target"] == "ExecuTorch int8 (1.5.1)"  # from sweep.json before any report
    first = view["trials"][0]
    assert [f["name"] for f in first["files"]] == [
        "search/arch.json",
        "child/metrics.json",
        "child/model.pte",
        "child/model.weights.pt",
    ]
    assert first["target"] == "ExecuTorch int8 (1.5.1)"
    assert first["int8_drop_points"] == pytest.approx(100 * (first["test_acc"] - first["test_acc_int8"]))
    assert client.get(f"/files/{first['files'][2]['path']}").content == b"x"
    build_report(str(root), str(root / "report"))
    rec = client.get("/api/sweeps/deployed").json()["recommended"]
    assert rec["target"] == "ExecuTorch int8 (1.5.1)"
    assert rec["test_acc_int8"] is not None
    assert [f["name"] for f in rec["files"]] == ["child/model.pte", "child/model.weights.pt", "search/arch.json"]
    assert 'id="target-head"' in client.get("/sweeps/deployed").text

    run = storage / "runs" / "r"
    (run / "child").mkdir(parents=True)
    (run / "job.json").write_text(json.dumps({"kind": "run", "name": "r", "steps": [], "pid": None, "started": "x"}))
    metrics = json.loads((trials[0] / "child" / "metrics.json").read_text())
    metrics["model"] = "model.onnx"
    (run / "child" / "metrics.json").write_text(json.dumps(metrics))
    for name in ("model.onnx", "model.weights.pt", "model.pt"):
        (run / "child" / name).write_bytes(b"x")
    got = client.get("/api/runs/r").json()
    assert [f["name"] for f in got["files"]] == ["child/metrics.json", "child/model.onnx", "child/model.weights.pt"]
    assert got["child"]["target"] == "ExecuTorch int8 (1.5.1)"
    assert got["child"]["test_acc_int8"] is not None
    metrics["model"] = "../../../secret.txt"  # a path in the file: not offered
    (run / "child" / "metrics.json").write_text(json.dumps(metrics))
    assert [f["name"] for f in client.get("/api/runs/r").json()["files"]] == [
        "child/metrics.json",
        "child/model.weights.pt",
    ]


def test_the_server_starts_at_most_one_run_and_one_sweep_at_once(storage, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    import sweep.web.app as web_app

    def sleeping(kind):  # a job of the form's name that only sleeps: no search really starts
        def make(form, storage):
            name = form["name"]
            folder = storage / ("runs" if kind == "run" else "") / name
            return name, folder, [[sys.executable, "-c", "import time; time.sleep(60)"]]

        return make

    monkeypatch.setattr(web_app, "run_job", sleeping("run"))
    monkeypatch.setattr(web_app, "sweep_job", sleeping("sweep"))
    client = TestClient(create_app(storage))
    with ThreadPoolExecutor(8) as pool:  # 8 rapid POSTs
        answers = list(pool.map(lambda i: client.post("/api/runs", data={"name": f"r{i}"}), range(8)))
    started = [a.json()["name"] for a in answers if a.status_code == 200]
    try:
        assert len(started) == 1, [a.text for a in answers]
        refusals = {_one_line(a, 409) for a in answers if a.status_code != 200}
        assert refusals == {
            f"1 run is running already ({started[0]}); this server runs at most 1 at once: wait for it "
            "to end or stop it"
        }
        assert len([p for p in (storage / "runs").iterdir() if (p / "job.json").is_file()]) == 1
        sweep = client.post("/api/sweeps", data={"name": "s1"})  # a sweep beside the run: its own limit
        assert sweep.status_code == 200, sweep.text
        assert "1 sweep is running already (s1)" in _one_line(client.post("/api/sweeps/s1/resume"), 409)
        assert client.post(f"/api/runs/{started[0]}/stop").json() == {"stopped": True}
        assert _wait(storage / "runs" / started[0], {})["state"] == "failed"
        again = client.post("/api/runs", data={"name": "r-next"})
        assert again.status_code == 200, again.text
        started.append("r-next")
    finally:
        for name in started:
            stop_job(storage / "runs" / name, {})
        stop_job(storage / "s1", {})


def test_the_forms_take_an_image_folder(client, storage, tmp_path):
    from image_folders import image_folder

    from sweep.web.forms import run_config

    page = client.get("/").text
    assert page.count('<input name="data_root"') == 2
    assert page.count('<option value="imagefolder">') == 2
    root = image_folder(tmp_path / "pictures", classes=2, per_class=4, size=16)
    cfg = run_config({**RUN, "dataset": "imagefolder", "data_root": str(root)}, storage)
    assert (cfg.data.dataset, cfg.data.root, cfg.search_space().num_classes) == ("imagefolder", str(root), 2)
    error = _one_line(client.post("/api/runs", data={**RUN, "dataset": "imagefolder", "data_root": str(root / "x")}))
    assert f"data.root {root / 'x'}: no such folder" in error
    # the offered LUT was profiled at 3x32x32: another input is refused before anything starts
    error = _one_line(client.post("/api/runs", data={**RUN, "input_size": "64"}))
    assert "made for inputs 3x32x32, but the space takes 3x64x64" in error
    form = {"trials": "2", "dominant": "any", "dataset": "imagefolder", "data_root": str(root), "input_size": "48"}
    argv = sweep_job(form, storage)[2][0]
    for override in ("data.dataset=imagefolder", f"data.root={root}", "space.input_size=48"):
        assert argv[argv.index(override) - 1] == "--set"
    assert "space.channels=" not in " ".join(argv)  # empty: the config's


def test_the_sweep_page_shows_the_final_model_with_its_files(client, storage):
    from pareto.report import build_report

    root = storage / "withfinal"
    write_synthetic_experiment(str(root), trials=4, failed=0, running=0)
    build_report(str(root), str(root / "report"))
    rec = json.loads((root / "report" / "report.json").read_text())["recommended"]
    assert client.get("/api/sweeps/withfinal").json()["final"] is None  # the final stage has not run
    final = root / "final" / rec["trial_dir"]
    final.mkdir(parents=True)
    metrics = json.loads((root / rec["trial_dir"] / "child" / "metrics.json").read_text())
    metrics.update(
        test_acc=0.93,
        model="model.pte",
        final={"recipe": {"epochs": 10}, "trial": rec["trial_id"], "proxy_test_acc": rec["test_acc"]},
    )
    (final / "metrics.json").write_text(json.dumps(metrics))
    for name in ("model.pte", "model.weights.pt"):
        (final / name).write_bytes(b"x")
    build_report(str(root), str(root / "report"))
    got = client.get("/api/sweeps/withfinal").json()["final"]
    assert got["trial"] == rec["trial_id"]
    assert got["test_acc"] == 0.93
    assert got["proxy_test_acc"] == rec["test_acc"]
    assert [f["name"] for f in got["files"]] == ["model.pte", "model.weights.pt"]
    assert client.get(f"/files/{got['files'][0]['path']}").content == b"x"
    assert 'id="final"' in client.get("/sweeps/withfinal").text
    # a report.json whose final folder is a path, not a trial folder's name: nothing offered
    report = json.loads((root / "report" / "report.json").read_text())
    report["final_models"][0]["folder"] = "../../../etc"
    (root / "report" / "report.json").write_text(json.dumps(report))
    assert client.get("/api/sweeps/withfinal").json()["final"] is None
