"""The fault matrix (issue 22): faults a real user meets, and what must hold afterwards.

Each ``Fault`` builds its situation in a fresh folder, applies the fault (a second process,
SIGINT/SIGTERM at a phase, a tmpfs that fills up, a damaged file, a hostile POST to the web
app, a YAML alias bomb, a bad ``--name``, a failed start then the same command, a LUT with
NaN metadata) and returns an ``Outcome``: exit code, stderr, whether a traceback was
printed, whether data was lost (a file that held results changed or vanished, or the resume
afterwards did not complete), orphans (processes of the command alive after it ended),
whether a failed start blocked the name, whether a signal ended in exit 0, and the fault's
own expectations that failed (``Outcome.failed``). Run by ``tests/test_faults.py``, which
records each outcome for ``bench/faults.py`` (``Outcome.record``).

Cheap faults run the CLIs' ``main(argv)`` in this process (Ray's start guarded: reaching it
counts as "would start a sweep") or the web app through FastAPI's TestClient. Faults that
need a real experiment (``needs_sweep``) share one tiny finished sweep
(configs/sweep-smoke.yaml on a small image folder, 2 trials, ``build_experiment``; the session
fixture ``fault_template`` of tests/conftest.py, which the other tests/test_faults_*.py and the
readers of ``folder_sweep`` use too),
copied into each fault's own folder (a resume runs where the experiment is now), and run
``sweep.run`` as a subprocess in its own session so that its leftovers can be found.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import sweep  # noqa: E402 - where the code under test is (a worktree on PYTHONPATH)

ROOT = Path(sweep.__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "sweep-smoke.yaml"
NAME = "tiny"


# --- what a fault left ----------------------------------------------------------------

FLAGS = ("traceback", "data_lost", "orphans", "blocked_name", "zero_exit_on_signal")  # each: a broken rule


@dataclass
class Outcome:
    code: object = None
    stderr: str = ""
    traceback: bool = False
    data_lost: bool = False
    orphans: list = field(default_factory=list)  # "pid cmdline" of each process left alive
    blocked_name: bool = False
    zero_exit_on_signal: bool = False
    failed: list = field(default_factory=list)  # the fault's own expectations that did not hold

    def expect(self, ok: bool, what: str) -> None:
        if not ok:
            self.failed.append(what)

    def expect_one_line(self, code: int, *parts: str) -> None:
        """Exit ``code`` and stderr exactly one ``error:`` line holding every part."""
        self.traceback = self.traceback or "Traceback" in self.stderr
        lines = self.stderr.strip().splitlines()
        self.expect(self.code == code, f"exit {code} (got {self.code})")
        line = lines[0] if len(lines) == 1 else ""
        self.expect(line.startswith("error: "), f"one 'error:' line (got {len(lines)} lines)")
        for part in parts:
            self.expect(part in line, f"the line names {part!r}")

    @property
    def ok(self) -> bool:
        return not any(getattr(self, k) for k in FLAGS) and not self.failed

    def why(self) -> str:
        flags = [k for k in FLAGS if getattr(self, k)]
        last = (self.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        return f"exit {self.code}; {', '.join(flags + self.failed) or 'ok'}; last line: {last[:200]}"

    def record(self, fault: Fault) -> dict:
        """What bench/faults.py counts of ``fault``'s outcome: each flag of ``FLAGS`` as a bool
        (orphans: any), ``ok`` and ``why``; plain values, as pytest's ``record_property`` keeps them."""
        return {"name": fault.name, "item": fault.item, "ok": self.ok, "why": self.why()} | {
            k: bool(getattr(self, k)) for k in FLAGS
        }


@dataclass(frozen=True)
class Fault:
    name: str
    item: str  # the issue's item ("1".."10") or "found"
    apply: Callable  # apply(folder, experiment | None) -> Outcome
    needs_sweep: bool = False  # uses the shared real experiment (slow)


# --- helpers --------------------------------------------------------------------------


def snapshot(folder: Path, skip=(".lock",)) -> dict:
    """Every file's hash under ``folder`` (the lock file, whose content names its holder, left out)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(folder).rglob("*"))
        if p.is_file() and p.name not in skip
    }


def results_of(experiment: Path) -> dict:
    """The files that hold a finished trial's results (hash each)."""
    files = [*experiment.glob("*/child/metrics.json"), *experiment.glob("*/search/arch.json")]
    return {str(p.relative_to(experiment)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(files)}


def measured(experiment: Path) -> dict:
    path = experiment / "measurements.json"
    return json.loads(path.read_text()).get("models", {}) if path.is_file() else {}


class _Reached(RuntimeError):
    pass


def _reached(*args, **kwargs):
    raise _Reached("got past the start checks: Ray would start now")


def run_cli(module: str, argv: list, env: dict | None = None) -> tuple[Outcome, bool]:
    """``main(argv)`` of ``module`` in this process, Ray's start and the timing of models
    guarded; ``(outcome, reached)``: reached is True when it got to Ray's start."""
    err = io.StringIO()
    out = Outcome()
    reached = False
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch("sweep.run.connect_and_check", _reached))
        stack.enter_context(mock.patch("sweep.startup.connect", _reached))
        stack.enter_context(mock.patch("childnet.measure.measure_files", _reached))
        stack.enter_context(mock.patch.dict(os.environ, env or {}))
        stack.enter_context(contextlib.redirect_stderr(err))
        stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
        try:
            out.code = importlib.import_module(module).main(argv)
        except SystemExit as exit_:
            out.code = exit_.code
        except _Reached:
            reached = True
        except BaseException:  # noqa: BLE001 - every escape is a traceback
            out.traceback = True
            err.write(traceback.format_exc())
    out.stderr = err.getvalue()
    out.traceback = out.traceback or "Traceback" in out.stderr
    return out, reached


def _procs() -> dict[int, tuple[int, str]]:
    """pid -> (session id, cmdline) of every process now."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            found[int(entry.name)] = (int(fields[3]), cmd)
    return found


def _alive(sessions: set, folder: Path) -> dict[int, str]:
    return {
        pid: cmd
        for pid, (sid, cmd) in _procs().items()
        if pid != os.getpid() and (sid in sessions or (str(folder) in cmd and "pytest" not in cmd))
    }


def orphans_of(session, folder: Path, grace_s: float = 10.0) -> list[str]:
    """Processes left by a command that has just ended: those naming ``folder`` in their
    command line (its own children: the measurement phase, the final stage) still alive a
    second later, and those of its session ``session`` (a pid or a set; Ray's, which stop
    on their own when their driver ends) still alive after ``grace_s``. They are killed
    (the matrix started them)."""
    sessions = session if isinstance(session, set) else {session}
    time.sleep(1.0)
    named = _alive(set(), folder)
    deadline = time.monotonic() + grace_s
    left = _alive(sessions, folder)
    while left.keys() - named.keys() and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _alive(sessions, folder)
    left.update(named)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return [f"{pid} {cmd[:120]}" for pid, cmd in left.items()]


def names_resume(line: str, experiment: Path) -> bool:
    """The line ends with a ``--resume`` command that, pasted into a shell, resumes ``experiment``."""
    try:
        argv = shlex.split(line.rsplit("continue:", 1)[1])
    except (ValueError, IndexError):
        return False
    return argv == ["python", "-m", "sweep.run", "--resume", "--storage", str(experiment.parent), "--name", NAME]


def sweep_cmd(experiment: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "sweep.run",
        "--resume",
        "--storage",
        str(experiment.parent),
        "--name",
        experiment.name,
        *extra,
    ]


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")


def start(cmd: list, folder: Path, tag: str) -> subprocess.Popen:
    """``cmd`` in its own session, its output in ``folder/<tag>.out|.err``."""
    out = open(folder / f"{tag}.out", "w")  # noqa: SIM115 - closed by finish()
    err = open(folder / f"{tag}.err", "w")  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=folder, env=_env(), stdout=out, stderr=err, start_new_session=True)
    proc.files = (out, err)
    return proc


def finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, str, str]:
    """Wait (killing the session at ``timeout``): ``(code, stdout, stderr)``."""
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        code = proc.wait()
    for f in proc.files:
        f.close()
    return (
        code,
        Path(proc.files[0].name).read_text(errors="replace"),
        Path(proc.files[1].name).read_text(errors="replace"),
    )


def wait_until(check: Callable, proc: subprocess.Popen, timeout: float = 300, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if check():
            return True
        time.sleep(step)
    return False


# --- the shared real experiment ---------------------------------------------------------


def profile_smoke_lut(path: Path) -> Path:
    """A quickly profiled LUT for configs/sweep-smoke.yaml's space (like tests/conftest.py's ``smoke_lut``)."""
    from hwnas.config import load_config
    from lut import profile_lut, save_lut

    cfg = load_config(CONFIG)
    lut = profile_lut(
        cfg.search_space(), warmup=1, repeats=3, rounds=1, fit_per_op=1, progress=False, target=cfg.deploy.target()
    )
    save_lut(lut, path)
    return path


BUILT = "built.out"  # sweep.run's output, written once the template is whole


@dataclass(frozen=True)
class Template:
    """One finished 2-trial sweep, built once (``original``: shared by every test and pytest-xdist
    worker, so never changed) and copied into a test's folder to change or resume it. A copy
    resumes where it is (a moved experiment: ``sweep.searcher.sweep_at``)."""

    original: Path  # <root>/my runs/it's/tiny: a storage path with a space and a quote
    images: Path  # <root>/images: the image folder it was trained on (3 classes)
    stdout: str  # sweep.run's output when it built it

    @classmethod
    def at(cls, root: Path) -> Template:
        """The template ``build_experiment(root, ...)`` built."""
        return cls(root / "my runs" / "it's" / NAME, root / "images", (root / BUILT).read_text())

    def restore(self, folder: Path, name: str = NAME) -> Path:
        """A fresh copy at ``folder/my runs/it's/<name>`` (the same kind of path; another
        ``name``: a renamed experiment too)."""
        experiment = Path(folder) / "my runs" / "it's" / name
        if experiment.exists():
            shutil.rmtree(experiment)
        shutil.copytree(self.original, experiment, symlinks=True)
        return experiment


def build_experiment(root: Path, lut: Path) -> Template:
    """sweep-smoke.yaml's sweep on the user's own images: an image folder of 3 classes x 40 real
    16x16 gray PNGs (resized and replicated to the space's 3x32x32), 2 trials, every stage but the
    baselines (tests/test_sweep_resume.py checks those), the final stage 1 epoch."""
    from image_folders import image_folder

    images = image_folder(root / "images", classes=3, per_class=40, size=16)
    storage = root / "my runs" / "it's"
    cmd = [sys.executable, "-m", "sweep.run", "--config", str(CONFIG), "--storage", str(storage), "--name", NAME]
    cmd += ["--trials", "2", "--set", f"lut.path={lut}", "--set", "baselines=null"]
    cmd += ["--set", "data.dataset=imagefolder", "--set", f"data.root={images}"]
    # every resume of the template runs with these (sweep.json keeps them): each phase a fault
    # stops in stays (trials, measurements, final); a trial still trains for seconds (the signal
    # faults stop one): 40 steps of 16 images, where a childnet learns these three classes (3 x 2
    # steps did not); the final stage, which only signal/sigterm-in-final needs, is one epoch
    cmd += ["--set", "search.epochs=2", "--set", "child.epochs=8", "--set", "child.batch_size=16"]
    cmd += ["--set", "final.epochs=1"]
    run = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=900, env=_env())
    if run.returncode != 0:
        raise RuntimeError(f"the shared experiment failed to build: {run.stderr[-3000:]}")
    (root / BUILT).write_text(run.stdout)
    return Template.at(root)


# --- item 1: the web page and cross-site requests -----------------------------------------


def _client(storage: Path, token=None):
    from fastapi.testclient import TestClient

    from sweep.web.app import create_app

    return TestClient(create_app(storage, token=token))


def web_origin_null(folder: Path, template=None) -> Outcome:
    """A sandboxed iframe on any page POSTs with ``Origin: null``: start a run, upload a LUT."""
    storage = folder / "experiments"
    client = _client(storage)
    out = Outcome()
    run = client.post("/api/runs", data={"config": "smoke.yaml", "name": "csrf"}, headers={"Origin": "null"})
    lut = client.post(
        "/api/luts",
        files={"file": ("x.json", (ROOT / "lut" / "builtin" / "rpi4-hwnasbench.json").read_bytes())},
        headers={"Origin": "null"},
    )
    out.code = run.status_code
    out.expect(
        run.status_code == 403 and lut.status_code == 403, f"403 twice (got {run.status_code}, {lut.status_code})"
    )
    out.expect(not storage.exists() or not any(storage.rglob("*")), "nothing written in the storage")
    return out


def web_foreign_stop(folder: Path, template=None) -> Outcome:
    """Another site's page POSTs the stop of a sweep (no Origin, ``Sec-Fetch-Site: cross-site``)."""
    from testdata import write_synthetic_experiment

    storage = folder / "experiments"
    write_synthetic_experiment(str(storage / "s"), trials=3)
    before = snapshot(storage)
    client = _client(storage)
    out = Outcome()
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        answer = client.post("/api/sweeps/s/stop", headers=headers)
        out.code = answer.status_code
        out.expect(answer.status_code == 403, f"403 for {headers} (got {answer.status_code})")
    out.data_lost = snapshot(storage) != before
    return out


# --- item 9: rapid POSTs ----------------------------------------------------------------------


def web_rapid_posts(folder: Path, template=None) -> Outcome:
    """8 rapid POSTs of a run: at most one starts (the rest refused with a visible message)."""
    from concurrent.futures import ThreadPoolExecutor

    import sweep.web.app as web_app
    from sweep.web.jobs import read_json_or_none, stop_job

    storage = folder / "experiments"

    def sleeping(form, storage):  # a job that only sleeps: no search really starts
        return form["name"], storage / "runs" / form["name"], [[sys.executable, "-c", "import time; time.sleep(60)"]]

    out = Outcome()
    with mock.patch.object(web_app, "run_job", sleeping):
        client = _client(storage)
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda i: client.post("/api/runs", data={"name": f"r{i}"}), range(8)))
    started = [a.json()["name"] for a in answers if a.status_code == 200]
    jobs = {(read_json_or_none(storage / "runs" / name / "job.json") or {}).get("pid") for name in started}
    for name in started:
        stop_job(storage / "runs" / name, {})
    refused = [a for a in answers if a.status_code == 409 and "at most" in a.json().get("error", "")]
    out.code = len(started)
    out.expect(len(started) == 1, f"one run started (got {len(started)})")
    out.expect(len(refused) == 7, f"7 refused with a message (got {len(refused)})")
    out.orphans = orphans_of(jobs - {None}, storage, grace_s=10)
    return out


# --- items 3, 7, 8, 10: start checks ------------------------------------------------------------


def yaml_alias_bomb(folder: Path, template=None) -> Outcome:
    """``loss.alpha: *big``: 10^9 zeros in a few hundred bytes of YAML aliases."""
    from bad_inputs_table import ALIAS_BOMB

    cfg = folder / "bomb.yaml"
    cfg.write_text(ALIAS_BOMB)
    began = time.monotonic()
    out, _ = run_cli("sweep.run", ["--config", str(cfg), "--storage", str(folder / "exps")])
    seconds = time.monotonic() - began
    out.expect_one_line(2, "alias")
    out.expect(seconds < 10, f"refused within 10 s (took {seconds:.1f})")
    out.expect(not (folder / "exps").exists(), "nothing written")
    return out


def _bad_name(name: str, escapes: str):
    def apply(folder: Path, template=None) -> Outcome:
        storage = folder / "s" / "exps"
        storage.mkdir(parents=True)
        before = sorted(folder.rglob("*"))
        out, reached = run_cli("sweep.run", ["--config", str(CONFIG), "--storage", str(storage), "--name", name])
        out.expect(not reached, f"{escapes}: refused before the sweep starts")
        out.expect_one_line(2, "--name")
        out.expect(sorted(folder.rglob("*")) == before, "nothing written in the folder")
        out.expect(not Path(name).is_absolute() or not Path(name).exists(), "nothing written at the absolute path")
        return out

    return apply


def failed_start_then_fixed(folder: Path, template=None) -> Outcome:
    """``dataset not found``, the same command again, then the same name with the dataset found:
    the failed start must leave nothing that blocks the name."""
    empty = folder / "no-data"
    empty.mkdir()
    base = ["--config", str(CONFIG), "--storage", str(folder / "exps"), "--name", "e"]
    out, _ = run_cli("sweep.run", [*base, "--set", f"data.root={empty}"])
    first = out.stderr
    out.expect_one_line(2, "not found")
    again, _ = run_cli("sweep.run", [*base, "--set", f"data.root={empty}"])
    out.expect(again.stderr == first, "the same command again: the same line")
    fixed, reached = run_cli("sweep.run", base)
    out.traceback = out.traceback or again.traceback or fixed.traceback
    out.blocked_name = not reached or again.stderr != first
    if out.blocked_name:
        out.stderr += again.stderr + fixed.stderr
    return out


def _lut_meta(change, expect: str):
    def apply(folder: Path, template=None) -> Outcome:
        from bad_inputs_table import lut_file

        lut = lut_file(folder / "lut.json", change)
        before = snapshot(folder)
        out, _ = run_cli("lut.estimate", ["--lut", str(lut), "--arch", ",".join(["skip"] * 22)])
        out.expect_one_line(2, expect, str(lut))
        out.data_lost = snapshot(folder) != before
        return out

    return apply


# --- item 2: one writer per experiment ---------------------------------------------------------

# holds the flock on <experiment>/.lock (docs/formats.md) as sweep.run does, naming itself
_HOLDER = (
    "import fcntl, json, os, socket, sys, time\n"
    "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX)\n"
    "os.write(fd, (json.dumps({'pid': os.getpid(), 'host': socket.gethostname(), 'command': 'sweep.run',"
    " 'since': '2026-12-05T12:00:00'}) + '\\n').encode())\n"
    "print('held', flush=True); time.sleep(120)\n"
)


@contextlib.contextmanager
def lock_held(experiment: Path):
    """A second process holding the experiment's lock, as a running ``sweep.run`` does: its PID."""
    experiment.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(experiment / ".lock")], stdout=subprocess.PIPE)
    try:
        holder.stdout.readline()
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


def _record(experiment: Path) -> Path:
    from bad_inputs_table import sweep_record

    return sweep_record(experiment)


def _while_locked(module: str, argv: Callable, record: bool):
    def apply(folder: Path, template=None) -> Outcome:
        experiment = folder / "exps" / "e"
        if record:
            _record(experiment)
        with lock_held(experiment) as pid:
            before = snapshot(folder)
            out, reached = run_cli(module, argv(experiment))
            out.data_lost = snapshot(folder) != before
        out.expect(not reached, "refused before the sweep starts")
        out.expect_one_line(2, f"PID {pid}", socket.gethostname())
        return out

    return apply


def _new_sweep(e: Path) -> list:
    return ["--config", str(CONFIG), "--storage", str(e.parent), "--name", e.name]


def _resume(e: Path) -> list:
    return ["--resume", "--storage", str(e.parent), "--name", e.name]


def web_sweep_while_locked(folder: Path, template=None) -> Outcome:
    storage = folder / "experiments"
    experiment = _record(storage / "busy")
    client = _client(storage)
    out = Outcome()
    with lock_held(experiment) as pid:
        answer = client.post("/api/sweeps/busy/resume")
    if (experiment / "job.json").exists():  # it started one: stop it, whatever it does
        from sweep.web.jobs import stop_job

        stop_job(experiment, {})
        out.orphans = orphans_of(-1, experiment)
    out.code = answer.status_code
    out.stderr = answer.text
    out.expect(answer.status_code == 409, f"409 (got {answer.status_code})")
    out.expect(f"PID {pid}" in answer.text, "names the holder's PID")
    out.expect(not (experiment / "job.json").exists(), "nothing started")
    return out


def resume_while_running(folder: Path, template) -> Outcome:
    """``--resume`` from a second terminal while the sweep runs its trials."""
    experiment = template.restore(folder)
    keep = results_of(experiment)
    first = start(sweep_cmd(experiment, "--trials", "3"), folder, "first")
    out = Outcome()
    in_trials = wait_until(lambda: len(list(experiment.glob("*/params.json"))) >= 3, first)
    out.expect(in_trials, "the first sweep reached its third trial")
    second = start(sweep_cmd(experiment, "--trials", "3"), folder, "second")  # the same command
    out.code, _, out.stderr = finish(second, 300)
    out.expect_one_line(2, f"PID {first.pid}")
    with contextlib.suppress(OSError):
        os.killpg(first.pid, signal.SIGINT)
    code, _, err = finish(first, 300)
    out.traceback = out.traceback or "Traceback" in err
    out.orphans = orphans_of({first.pid, second.pid}, experiment)
    out.data_lost = not keep.items() <= results_of(experiment).items()
    return out


# --- item 5: signals ---------------------------------------------------------------------------


def children(pid: int) -> set[int]:
    """The processes ``pid`` started that run now (from /proc, every thread's children)."""
    kids = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            kids |= {int(k) for k in (task / "children").read_text().split()}
    return kids


def command_line(pid: int) -> str:
    """``pid``'s command line, its arguments joined by spaces ('' once it has ended)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _in_child(module: str, experiment: Path, proc: subprocess.Popen) -> Callable:
    """True once ``proc`` (``sweep.run``) runs its child ``module`` (a phase of its own) on
    ``experiment``. Reads only ``proc``'s children: it is asked every 20 ms, and a scan of all
    of /proc took as much CPU as the phase it waits for."""

    def running() -> bool:
        commands = [command_line(kid) for kid in children(proc.pid)]
        return any(f"-m {module} " in cmd and str(experiment) in cmd for cmd in commands)

    return running


def _signal_at(signum: int, phase: str):
    """``sweep.run --resume --trials 3`` (one more trial) stopped by ``signum`` during
    ``phase`` (trials, or the child process of a later phase: sweep.measurements, sweep.final):
    exit 128+signum, one line with the --resume command, nothing left running; the same
    --resume then completes with nothing lost."""

    def apply(folder: Path, template) -> Outcome:
        experiment = template.restore(folder)
        if phase == "sweep.final":  # a final model to train (a trained one starts no process)
            shutil.rmtree(experiment / "final")
        keep, timed = results_of(experiment), measured(experiment)
        proc = start(sweep_cmd(experiment, "--trials", "3"), folder, "stopped")
        if phase == "trials":
            reached = wait_until(lambda: len(list(experiment.glob("*/params.json"))) >= 3, proc)
            time.sleep(2)  # the new trial is training
        else:
            reached = wait_until(_in_child(phase, experiment, proc), proc, timeout=600, step=0.02)
        out = Outcome()
        out.expect(reached, f"reached the {phase} phase")
        # Ctrl-C reaches the terminal's whole foreground group; kill(1) the process only
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signum) if signum == signal.SIGINT else os.kill(proc.pid, signum)
        out.code, _, out.stderr = finish(proc, 300)
        out.orphans = orphans_of(proc.pid, experiment)
        out.zero_exit_on_signal = out.code == 0
        out.traceback = "Traceback" in out.stderr or out.code == 128 + signal.SIGABRT
        last = (out.stderr.strip().splitlines() or [""])[-1]
        out.expect(out.code == 128 + signum, f"exit {128 + signum} (got {out.code})")
        out.expect(last.startswith("stopped by ") and "--resume" in last, "last line: stopped by ... --resume")
        out.expect(names_resume(last, experiment), "the --resume command shell-quoted")
        out.expect(not list(experiment.rglob("*.tmp")), "no temporary file")
        again = start(sweep_cmd(experiment, "--trials", "3"), folder, "resumed")
        code, _, err = finish(again, 600)
        done = len(list(experiment.glob("*/child/metrics.json")))
        now, timed_now = results_of(experiment), measured(experiment)
        lost = [k for k, v in keep.items() if now.get(k) != v] + [k for k in timed if k not in timed_now]
        out.data_lost = code != 0 or done != 3 or bool(lost)
        if out.data_lost:
            out.stderr += f"\n(resume: exit {code}, {done}/3 trials done, lost {lost}) " + err[-1000:]
        out.orphans += orphans_of(again.pid, experiment)
        return out

    return apply


def report_stopped(signum: int):
    """``pareto.report`` stopped while it writes (after its first file): no temporary file,
    the older report as it was, exit 128+signum with the one line that says so."""

    def apply(folder: Path, template=None) -> Outcome:
        from testdata import write_synthetic_experiment

        root = write_synthetic_experiment(str(folder / "exp"), trials=6)
        report = folder / "report"
        report.mkdir()
        (report / "report.json").write_text("old")
        script = (
            "import os, sys; import hwnas.io as files\n"
            "calls = []\n"
            "def fsync(fd):\n"
            f"    calls.append(fd)\n    if len(calls) == 2: os.kill(os.getpid(), {int(signum)})\n"
            "files.os.fsync = fsync\n"
            "from pareto.report import main\nsys.exit(main(sys.argv[1:]))\n"
        )
        proc = start([sys.executable, "-c", script, root, "--out", str(report)], folder, "report")
        out = Outcome()
        out.code, _, out.stderr = finish(proc, 120)
        out.orphans = orphans_of(proc.pid, folder / "exp")
        out.zero_exit_on_signal = out.code == 0
        out.traceback = "Traceback" in out.stderr
        out.expect(out.code == 128 + signum, f"exit {128 + signum} (got {out.code})")
        said = f"stopped by {signal.Signals(signum).name}: no report written (an older one in {report} is as it was)"
        out.expect(out.stderr == said + "\n", f"one line: {said}")
        out.expect([p.name for p in report.iterdir()] == ["report.json"], "no temporary or half-written file")
        out.data_lost = (report / "report.json").read_text() != "old"
        return out

    return apply


# --- item 6: disk full --------------------------------------------------------------------------

# in a mount namespace of its own: a small tmpfs mounted over the storage folder (the same
# absolute path: Ray's state names its files by path), the experiment copied onto it with
# 2 MB left, a --resume for one more trial, then the filler removed and the same --resume again
_DISK_FULL = """
set -u
storage="$1"; name="$2"; src="$3"; out="$4"; shift 4
mount -t tmpfs -o size=64m tmpfs "$storage" || exit 99
cp -a "$src" "$storage/$name" || exit 98
dd if=/dev/zero of="$storage/room" bs=1M count=2 2>/dev/null
dd if=/dev/zero of="$storage/filler" bs=1M count=64 2>/dev/null
rm -f "$storage/room"
"$@" > "$out/full.out" 2> "$out/full.err"; echo $? > "$out/full.rc"
rm -f "$storage/filler"
"$@" > "$out/again.out" 2> "$out/again.err"; echo $? > "$out/again.rc"
ls "$storage/$name"/*/child/metrics.json 2>/dev/null | wc -l > "$out/done"
find "$storage" -name '*.tmp' | wc -l > "$out/tmps"
"""


def disk_full(folder: Path, template) -> Outcome:
    experiment = template.restore(folder)
    script = ["unshare", "-m", "--propagation", "private", "sh", "-c", _DISK_FULL, "sh"]
    args = [str(experiment.parent), NAME, str(template.original), str(folder), *sweep_cmd(experiment, "--trials", "3")]
    run = subprocess.run([*script, *args], cwd=folder, env=_env(), capture_output=True, text=True, timeout=1200)
    out = Outcome()
    if run.returncode != 0 or not (folder / "full.rc").is_file():
        out.failed.append(f"no tmpfs here (unshare/mount: {run.returncode} {run.stderr.strip()[-200:]})")
        return out
    out.code = int((folder / "full.rc").read_text())
    out.stderr = (folder / "full.err").read_text(errors="replace")
    out.traceback = "Traceback" in out.stderr
    last = (out.stderr.strip().splitlines() or [""])[-1]
    out.expect(out.code == 2, f"exit 2 (got {out.code})")
    said = f"error: disk full writing {experiment}"  # a file of the experiment, or its folder
    out.expect(last.startswith(said) and ": free space there; continue: " in last, f"one line: {said}..., --resume")
    out.expect(names_resume(last, experiment), "the --resume command shell-quoted")
    again = int((folder / "again.rc").read_text())
    done = int((folder / "done").read_text())
    out.data_lost = again != 0 or done != 3
    if out.data_lost:
        out.stderr += f"\n(resume after freeing space: exit {again}, {done}/3 trials done) "
        out.stderr += (folder / "again.err").read_text(errors="replace")[-1000:]
    out.expect(int((folder / "tmps").read_text()) == 0, "no temporary file")
    return out


# --- item 4: damaged files -----------------------------------------------------------------------


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def delete(path: Path) -> None:
    path.unlink()


def _damaged(file: str, damage: Callable, module: str, argv: Callable, *expect: str):
    """``file`` (a glob in the experiment) damaged, then ``module``'s main: one line naming the
    file (and ``expect``), exit 2, nothing in the experiment changed."""

    def apply(folder: Path, template) -> Outcome:
        experiment = template.restore(folder)
        path = sorted(experiment.glob(file))[0]
        damage(path)
        before = snapshot(experiment.parent.parent)
        out, reached = run_cli(module, argv(experiment))
        out.expect(not reached, "refused before the sweep starts")
        out.expect_one_line(2, str(path), *expect)
        out.data_lost = snapshot(experiment.parent.parent) != before
        return out

    return apply


def _report_argv(e: Path) -> list:
    return [str(e), "--out", str(e.parent / "report-out")]


def metrics_damaged_report(folder: Path, template=None) -> Outcome:
    """A truncated child/metrics.json of a (synthetic) experiment: the report names it
    instead of quietly recommending another model."""
    from testdata import write_synthetic_experiment

    root = Path(write_synthetic_experiment(str(folder / "exp"), trials=6, failed=0, running=0))
    path = sorted(root.glob("*/child/metrics.json"))[0]
    truncate(path)
    before = snapshot(root)
    out, _ = run_cli("pareto.report", [str(root), "--out", str(folder / "report")])
    out.expect_one_line(2, str(path))
    out.expect(not (folder / "report").exists(), "no report written")
    out.data_lost = snapshot(root) != before
    return out


# --- item 10: printed commands and the web page's status of a CLI sweep -----------------------------


def printed_commands_quoted(folder: Path, template) -> Outcome:
    """The storage path holds a space and a quote: the printed ``report:`` command, pasted
    into a shell, reports the experiment."""
    out = Outcome()
    line = next((ln for ln in template.stdout.splitlines() if ln.startswith("report:")), "")
    out.stderr = line
    try:
        argv = shlex.split(line.split(":", 1)[1])
    except (ValueError, IndexError):
        argv = []
    out.expect(argv[:3] == ["python", "-m", "pareto.report"], f"a command line (got {argv[:3]})")
    if argv[:3] == ["python", "-m", "pareto.report"]:
        out.expect(argv[3:4] == [str(template.original)], f"names the experiment (got {argv[3:4]})")
        experiment = template.restore(folder)  # the command run on a copy: the template stays as built
        report, _ = run_cli("pareto.report", [a.replace(str(template.original), str(experiment)) for a in argv[3:]])
        out.code = report.code
        out.expect(report.code in (0, None), "the report runs")
    return out


def web_cli_finished(folder: Path, template) -> Outcome:
    """A sweep finished from the command line (2/2 trials) is shown as finished."""
    experiment = template.restore(folder)
    answer = _client(experiment.parent).get(f"/api/sweeps/{experiment.name}")
    out = Outcome(code=answer.status_code)
    state = answer.json().get("status", {}).get("state") if answer.status_code == 200 else None
    out.stderr = f"state {state}"
    out.expect(state == "finished", f"state finished (got {state})")
    return out


# --- the table ---------------------------------------------------------------------------------


def _nan(key):
    return lambda t: t.update({key: float("nan")})


FAULTS = [
    Fault("web/origin-null-post", "1", web_origin_null),
    Fault("web/cross-site-stop", "1", web_foreign_stop),
    Fault("lock/second-new-sweep", "2", _while_locked("sweep.run", _new_sweep, False)),
    Fault("lock/resume-while-held", "2", _while_locked("sweep.run", _resume, True)),
    Fault("lock/measurements-while-held", "2", _while_locked("sweep.measurements", lambda e: [str(e)], True)),
    Fault("lock/web-sweep-while-held", "2", web_sweep_while_locked),
    Fault("lock/resume-while-running", "2", resume_while_running, needs_sweep=True),
    Fault("yaml/alias-bomb", "3", yaml_alias_bomb),
    Fault("damaged/metrics-truncated-report", "4", metrics_damaged_report),
    Fault(
        "damaged/measurements-truncated",
        "4",
        _damaged("measurements.json", truncate, "sweep.measurements", lambda e: [str(e)], "--remeasure"),
        needs_sweep=True,
    ),
    Fault(
        "damaged/optuna-db-deleted",
        "4",
        _damaged("optuna.db", delete, "sweep.run", _resume, "--rebuild-study"),
        needs_sweep=True,
    ),
    Fault(
        "damaged/optuna-db-truncated",
        "4",
        _damaged("optuna.db", truncate, "sweep.run", _resume, "--rebuild-study"),
        needs_sweep=True,
    ),
    Fault(
        "damaged/tuner-pkl-truncated",
        "4",
        _damaged("tuner.pkl", truncate, "sweep.run", _resume, "--rebuild-tuner"),
        needs_sweep=True,
    ),
    Fault("signal/report-sigterm", "5", report_stopped(signal.SIGTERM)),
    Fault("signal/report-sigint", "5", report_stopped(signal.SIGINT)),
    Fault("signal/sigint-in-trials", "5", _signal_at(signal.SIGINT, "trials"), needs_sweep=True),
    Fault("signal/sigterm-in-trials", "5", _signal_at(signal.SIGTERM, "trials"), needs_sweep=True),
    Fault("signal/sigint-in-measurement", "5", _signal_at(signal.SIGINT, "sweep.measurements"), needs_sweep=True),
    Fault("signal/sigterm-in-measurement", "5", _signal_at(signal.SIGTERM, "sweep.measurements"), needs_sweep=True),
    Fault("signal/sigterm-in-final", "found", _signal_at(signal.SIGTERM, "sweep.final"), needs_sweep=True),
    Fault("disk/full-during-resume", "6", disk_full, needs_sweep=True),
    Fault("start/failed-then-fixed", "7", failed_start_then_fixed),
    Fault("name/dot-dot", "8", _bad_name("../outside", "a path out of --storage")),
    Fault("name/absolute", "8", _bad_name("/tmp/hwnas-fault-abs", "an absolute path")),
    Fault("name/empty", "8", _bad_name("", "the storage's root")),
    Fault("web/eight-rapid-posts", "9", web_rapid_posts),
    Fault("lut/nan-batch-size", "10", _lut_meta(_nan("batch_size"), "batch_size")),
    Fault("lut/nan-device-field", "10", _lut_meta(lambda t: t["device"].update(threads=float("nan")), "threads")),
    Fault(
        "lut/shape-contradicts-space",
        "10",
        _lut_meta(lambda t: t["layers"][0].update(in_channels=-500), "in_channels"),
    ),
    Fault("print/commands-shell-quoted", "10", printed_commands_quoted, needs_sweep=True),
    Fault("web/cli-finished-sweep", "10", web_cli_finished, needs_sweep=True),
]


def run_fault(fault: Fault, folder: Path, template: Template | None = None) -> Outcome:
    """Apply ``fault`` in ``folder`` (made empty); any escape counts as a traceback."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return fault.apply(folder, template)
    except Exception:  # noqa: BLE001 - the matrix records every escape
        return Outcome(traceback=True, stderr=traceback.format_exc(), failed=["the fault's run raised"])
