"""The web app's routes (FastAPI): pages, a small JSON API, downloads.

Rules: a form or upload error is HTTP 400 with ``{"error": "<the project's one-line
UserError>"}``; nothing in a request waits for a job (jobs are processes,
``sweep.web.jobs``); downloads serve only regular files inside the storage directory
(``sweep.web.files``), anything else is 404. With a ``token`` (the server is reachable
from other hosts) every request must carry it: header ``X-Token``, query ``?token=``
(which also sets a cookie, so the page's own links and requests work), or that cookie;
compared in constant time. A POST from another origin (``_cross_origin``) is refused (403). With ``hosts`` (a
loopback server: no token) a request whose ``Host`` header names another host is refused (400),
so a web page cannot reach the server through a DNS name rebound to 127.0.0.1. At most
``JOB_LIMITS`` jobs of each kind run at once; a start beyond that is refused with a one-line
409, which the page shows under its form; so is a sweep whose experiment another process
holds (``hwnas.layout.LOCK``: e.g. a ``sweep.run`` of that name started from a terminal).
"""

from __future__ import annotations

import hmac
import threading
from pathlib import Path
from urllib.parse import urlparse

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware

from hwnas.errors import UserError
from sweep.experiment import check_unlocked
from sweep.web import pages
from sweep.web.files import safe_file
from sweep.web.forms import RUNS, config_names, run_job, sweep_job
from sweep.web.jobs import job_status, start_job, stop_job
from sweep.web.luts import MAX_UPLOAD_BYTES, choices, knob_preview, save_upload
from sweep.web.views import list_jobs, run_view, sweep_view, trial_progress

__all__ = ["COOKIE", "JOB_LIMITS", "LOOPBACK_HOSTS", "create_app"]

COOKIE = "hwnas_token"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")  # Host header names of this machine
# Jobs of each kind running at once: a search or a sweep keeps a core busy each (a sweep more),
# and on a 2-core board a second one only slows both down (8 rapid POSTs started 8 searches).
JOB_LIMITS = {"run": 1, "sweep": 1}


def _error(err: UserError, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": str(err)}, status_code=status)


def _token_of(request: Request) -> str:
    return request.headers.get("x-token") or request.query_params.get("token") or request.cookies.get(COOKIE) or ""


def _cross_origin(request: Request) -> bool:
    """Whether a request comes from anything but a page of this server: an ``Origin`` other than
    its own (``null`` included: a sandboxed frame or a redirect hides the real one), or, without
    ``Origin``, a browser's ``Sec-Fetch-Site`` other than same-origin or none (typed by the user).
    A client that is no browser (curl, scripts) sends neither and passes."""
    origin = request.headers.get("origin")
    if origin is not None:
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        parsed = urlparse(origin)
        return origin == "null" or f"{parsed.scheme}://{parsed.netloc}" != own
    return request.headers.get("sec-fetch-site", "none") not in ("same-origin", "none")


def _guard(app: FastAPI, token: str | None) -> None:
    @app.middleware("http")
    async def check(request: Request, call_next):
        if token is not None and not hmac.compare_digest(_token_of(request).encode(), token.encode()):
            return PlainTextResponse("401: this server needs its token (printed at its start): ?token=...", 401)
        if request.method == "POST" and _cross_origin(request):
            return PlainTextResponse("403: cross-origin request refused", 403)
        response = await call_next(request)
        if token is not None and request.query_params.get("token"):
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response


def create_app(
    storage: str | Path, token: str | None = None, hosts: tuple[str, ...] | None = None, limits: dict | None = None
) -> FastAPI:
    """The app serving ``storage`` (runs in ``<storage>/runs/``, sweeps in ``<storage>/<name>/``);
    ``hosts``: the only ``Host`` header names it answers (None: any); ``limits``: how many jobs
    of each kind may run at once (default ``JOB_LIMITS``)."""
    limits = {**JOB_LIMITS, **(limits or {})}
    starting = threading.Lock()
    storage = Path(storage).resolve()
    storage.mkdir(parents=True, exist_ok=True)
    cwd = Path.cwd()
    procs: dict = {}  # pid -> Popen of the jobs this server started (reaped by polling)
    app = FastAPI(title="hwnas", docs_url=None, redoc_url=None, openapi_url=None)
    _guard(app, token)
    if hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))

    def start(kind: str, form: dict, make_job) -> JSONResponse:
        """Check the form (``make_job``) and start its job, unless ``limits[kind]`` jobs of that
        kind run already (409): one start at a time, so rapid requests cannot all pass the count."""
        with starting:
            running = [j["name"] for j in list_jobs(storage, procs) if j["kind"] == kind and j["state"] == "running"]
            if len(running) >= limits[kind]:
                return _error(
                    UserError(
                        f"{len(running)} {kind}{'s are' if len(running) > 1 else ' is'} running already "
                        f"({', '.join(sorted(running)[:4])}); this server runs at most {limits[kind]} at once: "
                        "wait for it to end or stop it"
                    ),
                    409,
                )
            name, folder, steps = make_job(form, storage)
            if job_status(folder, procs)["state"] == "running":
                raise UserError(f"{kind} {name!r} is running already")
            if kind == "sweep":
                try:
                    check_unlocked(folder.resolve())  # e.g. a sweep.run of that name from a terminal
                except UserError as err:
                    return _error(err, 409)
            start_job(folder, kind, name, steps, procs, cwd)
            return JSONResponse({"name": name, "url": f"/{kind}s/{name}"})

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return pages.index(choices(storage), config_names())

    @app.get("/runs/{name}", response_class=HTMLResponse)
    def run_page(name: str):
        return pages.run(name) if run_view(storage, name, procs) else Response("no such run", 404)

    @app.get("/sweeps/{name}", response_class=HTMLResponse)
    def sweep_page(name: str):
        return pages.sweep(name) if sweep_view(storage, name, procs) else Response("no such sweep", 404)

    @app.get("/api/jobs")
    def jobs() -> list:
        return list_jobs(storage, procs)

    @app.get("/api/runs/{name}")
    def run_state(name: str):
        view = run_view(storage, name, procs)
        return view if view else JSONResponse({"error": f"no run {name!r}"}, 404)

    @app.get("/api/sweeps/{name}")
    def sweep_state(name: str):
        view = sweep_view(storage, name, procs)
        return view if view else JSONResponse({"error": f"no sweep {name!r}"}, 404)

    @app.get("/api/sweeps/{name}/trials/{trial}/progress")
    def trial_state(name: str, trial: str):
        progress = trial_progress(storage, name, trial)
        return progress if progress else JSONResponse({"error": f"no search progress for {trial!r}"}, 404)

    @app.get("/api/luts")
    def luts() -> list:
        return choices(storage)

    @app.get("/api/knobs")
    def knobs(lut: str = "", alpha: str = "", beta: str = "", gamma: str = "", delta: str = ""):
        try:
            return knob_preview(lut, storage, {"alpha": alpha, "beta": beta, "gamma": gamma, "delta": delta})
        except UserError as err:
            return _error(err)

    @app.post("/api/luts")
    async def upload(request: Request):
        size = request.headers.get("content-length", "")
        if not size.isdigit() or int(size) > MAX_UPLOAD_BYTES + 64_000:  # the LUT plus the form's framing
            return _error(UserError(f"upload: expected a LUT file of at most {MAX_UPLOAD_BYTES} bytes"), 413)
        form = await request.form(max_files=1, max_fields=4)
        item = form.get("file")
        if item is None or isinstance(item, str):
            return _error(UserError("upload: expected a LUT file in the field 'file'"))
        data = await item.read(MAX_UPLOAD_BYTES + 1)
        try:
            return await run_in_threadpool(save_upload, item.filename or "upload.json", data, storage)
        except UserError as err:
            return _error(err, 413 if len(data) > MAX_UPLOAD_BYTES else 400)

    async def start_from_form(request: Request, kind: str, make_job) -> JSONResponse:
        """A job of ``kind`` from the posted form's text fields, checked by ``make_job``
        (``sweep.web.forms``) off the event loop; a bad field is the one-line 400."""
        fields = (await request.form(max_files=0, max_fields=40)).items()
        form = {k: v for k, v in fields if isinstance(v, str)}
        try:
            return await run_in_threadpool(start, kind, form, make_job)
        except UserError as err:
            return _error(err)

    @app.post("/api/runs")
    async def new_run(request: Request):
        return await start_from_form(request, "run", run_job)

    @app.post("/api/sweeps")
    async def new_sweep(request: Request):
        return await start_from_form(request, "sweep", sweep_job)

    @app.post("/api/sweeps/{name}/resume")
    async def resume(name: str, request: Request):
        def resume_job(form: dict, storage: Path):  # the form may extend the sweep: trials=N in all
            return sweep_job({**form, "name": name}, storage, resume=True)

        return await start_from_form(request, "sweep", resume_job)

    @app.post("/api/runs/{name}/stop")
    def stop_run(name: str):
        if not run_view(storage, name, procs):
            return JSONResponse({"error": f"no run {name!r}"}, 404)
        return {"stopped": stop_job(storage / RUNS / name, procs)}

    @app.post("/api/sweeps/{name}/stop")
    def stop_sweep(name: str):
        if not sweep_view(storage, name, procs):
            return JSONResponse({"error": f"no sweep {name!r}"}, 404)
        return {"stopped": stop_job(storage / name, procs)}

    @app.get("/files/{relative:path}")
    def download(relative: str):
        path = safe_file(storage, relative)
        if path is None:
            return PlainTextResponse("404: no such file", 404)
        if path.suffix == ".html":  # the self-contained report opens in the browser
            return FileResponse(path, media_type="text/html")
        return FileResponse(path, filename=path.name)

    @app.get("/favicon.ico")
    def favicon():
        return Response(status_code=204)  # none: and no 404 in the browser's console

    @app.get("/static/{name}")
    def static(name: str):
        asset = pages.asset(name)
        return Response(asset[0], media_type=asset[1]) if asset else PlainTextResponse("404", 404)

    return app
