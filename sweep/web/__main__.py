"""``python -m sweep.web [--host 127.0.0.1] [--port 8686] [--storage experiments]``

Serves the web app with uvicorn. On a loopback address (the default) nobody else can
reach it; any other host needs a token, made here and printed once, on every request
(header ``X-Token``, query ``?token=`` or the cookie that query sets).
"""

from __future__ import annotations

import argparse
import ipaddress
import secrets

import uvicorn

from hwnas.errors import UserError, cli_main
from sweep.web.app import LOOPBACK_HOSTS, create_app

__all__ = ["is_loopback", "main"]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: reachable from elsewhere as far as we know


@cli_main
def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m sweep.web", description=__doc__.split("\n\n")[1].split(";")[0])
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8686, help="port (default 8686)")
    p.add_argument("--storage", default="experiments", help="folder of experiments and runs (default ./experiments)")
    args = p.parse_args(argv)
    if not 0 < args.port < 65536:
        raise UserError(f"--port {args.port}: expected 1-65535")
    host = f"[{args.host}]" if ":" in args.host else args.host
    if is_loopback(args.host):  # no token: only this machine's names in the Host header
        token, hosts = None, (*LOOPBACK_HOSTS, host)
    else:
        token, hosts = secrets.token_urlsafe(24), None
    app = create_app(args.storage, token=token, hosts=hosts)
    print(f"hwnas web: http://{host}:{args.port}/" + (f"?token={token}" if token else ""), flush=True)
    if token:
        print(f"token (required on every request, header X-Token or ?token=): {token}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
