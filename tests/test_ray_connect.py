"""One way to join Ray (``hwnas.ray_connect``), used by ``lut.profile`` and ``sweep.run``:
a named address is checked in seconds with one line, defaults as in cluster.yaml."""

import socket

import pytest

from hwnas.errors import UserError
from hwnas.ray_connect import CLIENT_PORT, GCS_PORT, check_address


@pytest.mark.parametrize("address", [None, "", "auto", "local"])
def test_local_and_auto_need_no_check(address):
    check_address(address)


def test_a_listening_gcs_address_passes():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        check_address(f"127.0.0.1:{s.getsockname()[1]}")
        check_address(f"ray://127.0.0.1:{s.getsockname()[1]}")


@pytest.mark.parametrize("address, default", [("127.0.0.1", GCS_PORT), ("ray://127.0.0.1", CLIENT_PORT)])
def test_default_ports_are_the_gcs_and_the_client_port(address, default, monkeypatch):
    tried = []
    monkeypatch.setattr(
        socket, "create_connection", lambda hostport, timeout: tried.append(hostport) or socket.socket()
    )
    check_address(address)
    assert tried == [("127.0.0.1", default)]


def test_unreachable_is_one_line_naming_host_and_port(free_port):
    port = free_port
    want = rf"--address 127.0.0.1:{port}: cannot connect to Ray at 127.0.0.1:{port} \("
    with pytest.raises(UserError, match=want) as e:
        check_address(f"127.0.0.1:{port}")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "address, why",
    [
        ("127.0.0.1:99999", "port in 1-65535"),
        ("127.0.0.1:x", "port in 1-65535"),
        ("http://127.0.0.1:6379", "expected auto, host:port or ray://host:port"),
        (":6379", "expected auto, host:port or ray://host:port"),
    ],
)
def test_malformed_addresses(address, why):
    with pytest.raises(UserError, match=why):
        check_address(address)


# A CLI that started Ray gets a SIGTERM every 5 ms from the first moment of its ray.shutdown
# on: it must end by its own stop handler (exit 143, the stop line last) once Ray is gone,
# never by SIGTERM's default action (rc -15) nor by Ray's raylet-lost exit (1).
_STOPPED_WHILE_LEAVING = """
import os, signal, threading, time
import ray
from hwnas.errors import cli_main
from hwnas.ray_connect import connect, disconnect

stop = threading.Event()

def shoot():
    while not stop.is_set():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.005)

real_shutdown = ray.shutdown

def shutdown(*args, **kwargs):
    threading.Thread(target=shoot, daemon=True).start()
    try:
        return real_shutdown(*args, **kwargs)
    finally:
        print("ray left", flush=True)

ray.shutdown = shutdown

@cli_main
def main(argv=None):
    connect()
    try:
        disconnect()
    finally:
        stop.set()
    print("not stopped", flush=True)

main()
"""


@pytest.mark.slow
@pytest.mark.heavy
def test_a_signal_while_leaving_ray_is_the_clis_stop_after_ray_is_gone(tmp_path):
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", _STOPPED_WHILE_LEAVING], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    last = (run.stderr.strip().splitlines() or [""])[-1]
    assert run.returncode == 143, f"exit {run.returncode}, stderr: {run.stderr[-2000:]}"
    assert last.startswith("stopped by "), run.stderr[-2000:]
    assert run.stdout.split() == ["ray", "left"], run.stdout  # the shutdown ran to its end first
