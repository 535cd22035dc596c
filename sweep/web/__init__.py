"""A local web app to start and watch searches and sweeps and take their files home.

``python -m sweep.web [--host 127.0.0.1] [--port 8686] [--storage experiments]``;
``app`` (routes), ``forms`` (fields -> checked jobs), ``jobs`` + ``runner`` (jobs as
processes), ``views`` (what pages show, read from files), ``luts`` (LUT choices,
uploads, knob preview), ``files`` (safe downloads), ``pages`` (HTML).
"""

__all__ = ["create_app"]


def __getattr__(name):
    if name == "create_app":  # FastAPI is imported only by whoever serves pages
        from sweep.web.app import create_app

        return create_app
    raise AttributeError(f"module 'sweep.web' has no attribute {name!r}")
