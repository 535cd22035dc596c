"""Figure (issue 15): ``ray up cluster.yaml`` for real, on this machine, with a head and
two "Pi" workers as namespaced nodes (``scripts/cluster_local.sh``), and the steps of
``docs/cluster.md`` on the head.

    sudo HWNAS_VENV=/path/to/.venv python bench/cluster_local.py     # as root; minutes

Steps, each checked (a failed check stops the run with its reason; the cluster is
always brought down):

1. ``cluster_local.sh up``, then ``ray up -y`` on the copy of ``cluster.yaml`` it
   wrote (``RAY_UP_enable_autoscaler_v2=0``: see docs/cluster.md), until ``ray status`` on the
   head shows 3 nodes and 2.0 ``rpi4``: ``up_s``.
2. ``lut.profile --space fbnet-cpu --device rpi4 --address auto --out
   luts/rpi4.json`` on the head; the LUT's device record names the worker:
   ``lut_on=<hostname>@<ip>``.
3. ``sweep.run --trials 4 --address auto --config configs/cluster-smoke.yaml`` on the
   head, started in the background; the driver is killed (SIGKILL) once a trial has
   reported, and the same command with ``--resume`` finishes it: ``resumed=yes`` when
   all 4 trials end finished. ``measured_on_workers=<n>/<n>``: finished childnets
   whose measurement names a worker's node (``measured.node_ip``), never the head.
4. ``pareto.report`` reads the experiment.
5. Worker loss: a second sweep (longer measurements, ``sweep.measure_timeout_s=120``);
   while a worker executes a childnet's measurement (its process titled
   ``ray::_measure_bytes``), that worker's node is killed (every process in it).
   ``worker_loss_handled=yes`` when the sweep ends on its own, the trial(s) whose
   measurement was there failed with ``DeviceLostError`` within the timeout, and the
   others finished, measured on the other worker.
6. ``cluster_local.sh down``; no namespace, link or process of the cluster is left.

Last line: ``nodes=3 rpi4_workers=2 lut_on=<node> trials=4 measured_on_workers=<n>/<n>
resumed=yes worker_loss_handled=yes up_s=<s>``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from hwnas.layout import report_dir
from hwnas.measured import measured_baselines, read_childnet
from hwnas.records import result_rows

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "cluster_local.sh"
STATE = Path(os.environ.get("HWNAS_CLUSTER_STATE", "/var/tmp/hwnas-cluster-local"))
VENV = Path(os.environ.get("HWNAS_VENV", ROOT / ".venv"))
CLUSTER_YAML = STATE / "cluster.yaml"
HEAD_IP, WORKERS = "10.77.0.10", {"10.77.0.11": "w1", "10.77.0.12": "w2"}
HEAD_PROJECT = STATE / "head" / "home" / "hwnas"  # the head's ~/hwnas (this machine's disk)
ENV = dict(
    os.environ,
    HWNAS_VENV=str(VENV),
    HWNAS_CLUSTER_STATE=str(STATE),
    RAY_UP_enable_autoscaler_v2="0",
    RAY_USAGE_STATS_ENABLED="0",
)
SWEEP = ".venv/bin/python -m sweep.run --trials 4 --address auto --config configs/cluster-smoke.yaml"
LOSS_TIMEOUT_S = 120


class Failed(Exception):
    pass


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd: list[str], timeout: float, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout, input=stdin)
    if check and done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise Failed(f"{' '.join(cmd)[:200]} exited {done.returncode}:\n" + "\n".join(tail))
    return done


def ray_exec(command: str, timeout: float, check: bool = True) -> subprocess.CompletedProcess:
    """``ray exec cluster.yaml`` as docs/cluster.md has it: a command on the head, in ~/hwnas."""
    return run([str(VENV / "bin" / "ray"), "exec", str(CLUSTER_YAML), f"cd ~/hwnas && {command}"], timeout, check)


def ssh(node: str, command: str, timeout: float = 60, stdin: str | None = None) -> str:
    return run(["bash", str(SCRIPT), "ssh", node, command], timeout, stdin=stdin).stdout


def cluster_status() -> tuple[int, float]:
    """(active nodes, total rpi4) from ``ray status`` on the head."""
    out = ray_exec("~/hwnas/.venv/bin/ray status", 120, check=False).stdout
    active = re.search(r"Active:\s*\n((?:\s+\d+ \S+\s*\n)+)", out)
    nodes = sum(int(n) for n in re.findall(r"^\s+(\d+) ", active.group(1), re.M)) if active else 0
    rpi4 = re.search(r"[\d.]+/([\d.]+) rpi4", out)
    return nodes, float(rpi4.group(1)) if rpi4 else 0.0


def bring_up() -> tuple[int, float, float]:
    started = time.perf_counter()
    run(["bash", str(SCRIPT), "up"], 300)
    (ROOT / "luts").mkdir(exist_ok=True)  # file_mounts: ~/hwnas/luts: ./luts
    run([str(VENV / "bin" / "ray"), "up", "-y", "--no-config-cache", str(CLUSTER_YAML)], 600)
    nodes, rpi4 = 0, 0.0
    deadline = time.time() + 240
    while time.time() < deadline and (nodes, rpi4) != (3, 2.0):
        time.sleep(5)
        nodes, rpi4 = cluster_status()
    if (nodes, rpi4) != (3, 2.0):
        raise Failed(f"ray status on the head: {nodes} nodes, {rpi4} rpi4 after 240 s (want 3 and 2.0)")
    return nodes, rpi4, time.perf_counter() - started


def profile_lut() -> str:
    ray_exec(
        ".venv/bin/python -m lut.profile --space fbnet-cpu --device rpi4 --address auto --out luts/rpi4.json", 1800
    )
    device = json.loads((HEAD_PROJECT / "luts" / "rpi4.json").read_text())["device"]
    if device.get("node_ip") not in WORKERS:
        raise Failed(f"luts/rpi4.json was profiled on {device.get('hostname')} ({device.get('node_ip')}), not a worker")
    return f"{device['hostname']}@{device['node_ip']}"


def start_sweep(name: str, extra: str = "") -> int:
    # detached: no descriptor of the ssh session stays open, so ssh returns at once
    out = ssh(
        "head",
        f"cd ~/hwnas || exit 1; nohup {SWEEP} --name {name} {extra} > ~/sweep-{name}.log 2>&1 < /dev/null & echo $!",
    )
    return int(out.strip().splitlines()[-1])


def trials(name: str) -> list[Path]:
    return sorted((HEAD_PROJECT / "experiments" / name).glob("trial_*"))


def finished(trial: Path) -> bool:
    return any(r.get("phase") == "done" for r in result_rows(trial)) and not (trial / "error.txt").is_file()


def sweep_alive(pid: int) -> bool:
    return ssh("head", f"kill -0 {pid} 2>/dev/null && echo alive || echo gone").strip().endswith("alive")


def measured(trial: Path) -> dict:
    return read_childnet(trial).get("measured") or {}


def kill_and_resume() -> tuple[int, int, int, bool]:
    pid = start_sweep("cluster")
    deadline = time.time() + 900
    while time.time() < deadline:  # kill once a trial reported, before all are done
        ts = trials("cluster")
        if any(result_rows(t) for t in ts) and sum(finished(t) for t in ts) < 4:
            break
        if not sweep_alive(pid):
            tail = ssh("head", "tail -5 ~/sweep-cluster.log")
            raise Failed(f"the sweep ended before the driver could be killed: {tail}")
        time.sleep(1)
    done_before = sum(finished(t) for t in trials("cluster"))
    ssh("head", f"kill -KILL {pid}")
    log(f"killed the sweep's driver (pid {pid} on the head) with {done_before}/4 trials finished")
    time.sleep(3)
    out = ray_exec(f"{SWEEP} --name cluster --resume", 1800).stdout
    log("resume: " + next((line for line in out.splitlines() if line.startswith("sweep:")), "no summary line"))
    ts = trials("cluster")
    done = [t for t in ts if finished(t)]
    on_workers = [t for t in done if measured(t).get("node_ip") in WORKERS]
    for t in done:
        m = measured(t)
        log(f"  {t.name}: measured on {m.get('node')} ({m.get('node_ip')}), {m.get('latency_ms')} ms")
    baselines = measured_baselines(HEAD_PROJECT / "experiments" / "cluster")
    log(
        "  baselines measured on "
        + ", ".join(f"{b['name']}: {(b.get('measured') or {}).get('node')}" for b in baselines)
    )
    resumed = len(ts) == 4 and len(done) == 4 and done_before < 4
    return len(ts), len(on_workers), len(done), resumed


def report() -> None:
    ray_exec(".venv/bin/python -m pareto.report experiments/cluster --out experiments/cluster/report", 600)
    if not any(report_dir(HEAD_PROJECT / "experiments" / "cluster").glob("*.html")):
        raise Failed("pareto.report wrote no html")


# run on a worker: wait until it executes a measurement (Ray titles the worker process
# after the task it runs; the node's own PID namespace shows only its processes)
WATCH = (
    "for i in $(seq 1 4000); do ps -eo args | grep -q '^ray::_measure_bytes' && { echo busy; exit 0; }; "
    "sleep 0.2; done; echo idle"
)


def measuring_worker(timeout_s: float = 900) -> str:
    """The worker that executes a childnet's measurement; its IP."""
    deadline = time.time() + timeout_s
    watchers = {
        ip: subprocess.Popen(
            ["bash", str(SCRIPT), "ssh", node, WATCH],
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for ip, node in WORKERS.items()
    }
    try:
        while time.time() < deadline:
            for ip, watcher in watchers.items():
                if watcher.poll() is not None and watcher.stdout.read().strip() == "busy":
                    return ip
            time.sleep(0.2)
        raise Failed("no worker executed a childnet measurement")
    finally:
        for watcher in watchers.values():
            if watcher.poll() is None:
                watcher.kill()  # our own ssh client (its remote loop ends with the connection)
            watcher.wait()


def worker_loss() -> bool:
    # no baselines in this sweep: every measurement a worker runs is a childnet's
    no_baselines = " ".join(f"--set baselines.{name}=" for name in ("mobilenet_v2", "resnet18", "mnasnet"))
    pid = start_sweep(
        "loss", f"--set measure.repeats=300 --set sweep.measure_timeout_s={LOSS_TIMEOUT_S} {no_baselines}"
    )
    ip = measuring_worker()
    node = WORKERS[ip]
    killed_at = time.time()
    run(["bash", str(SCRIPT), "kill", node], 60)
    log(f"killed every process of node {node} ({ip}) while it measured a childnet")
    deadline = time.time() + 1200
    while sweep_alive(pid) and time.time() < deadline:
        time.sleep(3)
    if sweep_alive(pid):
        raise Failed("the sweep did not end within 20 min of the worker's loss")
    summary = ssh("head", "grep -E '^sweep:|^  failed' ~/sweep-loss.log || tail -5 ~/sweep-loss.log")
    log("loss sweep: " + " | ".join(summary.strip().splitlines()))
    ts = trials("loss")
    failed = [t for t in ts if (t / "error.txt").is_file()]
    ok = bool(failed) and len(ts) == 4
    for t in failed:
        reason = (t / "error.txt").read_text()
        after = (t / "error.txt").stat().st_mtime - killed_at
        lost = "DeviceLostError" in reason and "left the cluster" in reason
        log(f"  {t.name}: failed {after:.0f} s after the kill, DeviceLostError={lost}")
        ok &= lost and after < LOSS_TIMEOUT_S
    for t in ts:
        if t not in failed:
            m = measured(t) if finished(t) else {}
            log(f"  {t.name}: finished={finished(t)}, measured on {m.get('node')} ({m.get('node_ip')})")
            ok &= finished(t) and m.get("node_ip") in WORKERS and m.get("node_ip") != ip
    return ok


def leftovers() -> list[str]:
    """What of the cluster is still there after ``down`` (read only)."""
    left = [n for n in run(["ip", "netns", "list"], 30).stdout.split() if n.startswith("hwnas-")]
    if "hwnas-br0" in run(["ip", "-o", "link"], 30).stdout:
        left.append("link hwnas-br0")
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(STATE).encode() in (proc / "cmdline").read_bytes():
                    left.append(f"pid {proc.name}")
            except OSError:
                pass
    return left


def main() -> int:
    if os.geteuid() != 0:
        sys.exit("bench/cluster_local.py: needs root (network and PID namespaces)")
    if not (VENV / "bin" / "ray").is_file():
        sys.exit(f"bench/cluster_local.py: no venv with ray at {VENV}; set HWNAS_VENV")
    result = {}
    try:
        nodes, rpi4, up_s = bring_up()
        log(f"cluster up: {nodes} nodes, {rpi4} rpi4 in {up_s:.0f} s")
        result.update(nodes=nodes, rpi4_workers=int(rpi4), up_s=up_s)
        result["lut_on"] = profile_lut()
        log(f"LUT profiled on {result['lut_on']}")
        n, on_workers, measured_n, resumed = kill_and_resume()
        result.update(trials=n, measured=f"{on_workers}/{measured_n}", resumed=resumed)
        report()
        log("pareto.report read the experiment")
        result["worker_loss_handled"] = worker_loss()
    except (Failed, subprocess.TimeoutExpired) as err:
        log(f"FAILED: {err}")
    finally:
        down = run(["bash", str(SCRIPT), "down"], 300, check=False)
        log(down.stdout.strip().splitlines()[-1] if down.stdout.strip() else down.stderr.strip()[-300:])
        left = leftovers()
        log(f"after down: {', '.join(left) if left else 'no namespace, link or process left'}")
    yes = {True: "yes", False: "no", None: "no"}
    print(
        f"nodes={result.get('nodes', 0)} rpi4_workers={result.get('rpi4_workers', 0)} "
        f"lut_on={result.get('lut_on', 'none')} trials={result.get('trials', 0)} "
        f"measured_on_workers={result.get('measured', '0/0')} resumed={yes[result.get('resumed')]} "
        f"worker_loss_handled={yes[result.get('worker_loss_handled')]} up_s={result.get('up_s', 0):.0f}"
    )
    return 0 if result.get("worker_loss_handled") and result.get("resumed") else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))  # still bring the cluster down
    sys.exit(main())
