"""The web calculator: one static page, its script and style, served by the HTTP API's app.

:func:`install` adds to a FastAPI app (:func:`tokenfab.api.create_app`):

====================================  ==================================================
``GET /``                             the calculator (``static/index.html``)
``GET /static/...``                   its script and style
``GET /vendor/plotly.min.js``         Plotly.js from the plotly package's own data (no CDN)
``POST /api/v1/report``               the HTML report of an estimate request
                                      (:mod:`tokenfab.report`); ``?format=pdf`` for a PDF
====================================  ==================================================

The page holds no formula: it asks ``/api/v1/estimate`` and the other endpoints, takes its
choices from ``/api/v1/catalog/{name}`` and ``/openapi.json``, and keeps the scenario in the
URL's query string, so that a link reproduces what it shows.
"""

# no `from __future__ import annotations`: FastAPI reads the endpoints' annotations, which
# name classes imported inside install()
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

STATIC_DIR = Path(__file__).with_name("static")
"""The page, its script and its style (package data of tokenfab)."""

REPORT_MAX_BODY_BYTES = 64 * 1024
"""A report request is one scenario, a few hundred bytes; anything far larger is refused."""


def plotly_js() -> Path:
    """The minified Plotly.js the plotly package ships (``plotly/package_data``)."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():  # pragma: no cover - a broken plotly install
        from tokenfab.errors import TokenfabError

        raise TokenfabError(f"web: {path} is missing; reinstall plotly")
    return path


def install(app: Any) -> None:
    """Serve the calculator and the report endpoint from ``app`` (a FastAPI application)."""
    from fastapi import Query, Request
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles
    from starlette.concurrency import run_in_threadpool

    from tokenfab.errors import TokenfabError, UnknownIdError, name_unknown_id
    from tokenfab.fileio import keys_once

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly() -> FileResponse:
        return FileResponse(plotly_js(), media_type="text/javascript")

    @app.post(
        "/api/v1/report",
        response_class=HTMLResponse,
        summary="Report of an estimate",
        description="The `estimate` request's report: KPIs, the assumptions ledger (every "
        "number labelled measured, calibrated, modelled or catalog, with its source) and the "
        "charts, as one self-contained HTML page, or a PDF with `format=pdf`. The body is an "
        "estimate request (see POST /api/v1/estimate).",
        responses={422: {"description": "a field is wrong: the message names it"}},
    )
    async def report_endpoint(
        request: Request,
        format: str = Query("html", description="html or pdf"),
    ) -> Response:
        from tokenfab import report

        if format not in ("html", "pdf"):
            return JSONResponse({"detail": f"format: html or pdf (got {format!r})"}, 422)
        body = await request.body()
        if len(body) > REPORT_MAX_BODY_BYTES:
            return JSONResponse(
                {"detail": f"body: at most {REPORT_MAX_BODY_BYTES} bytes (got {len(body)})"},
                status_code=413,
            )
        try:
            data = json.loads(body or b"{}", object_pairs_hook=keys_once)
        except TokenfabError as exc:  # a key given twice
            return JSONResponse({"detail": str(exc)}, status_code=422)
        except ValueError:
            return JSONResponse({"detail": "body: not JSON"}, status_code=422)
        if not isinstance(data, dict):  # as the other endpoints say it
            kind = type(data).__name__
            return JSONResponse(
                {"detail": f"body: a JSON object of field: value (got {kind}); see /docs"}, 422
            )
        # the app's catalogs (`tokenfab serve --catalog`), else the default ones
        catalog = getattr(request.app.state, "catalog", None)

        def render() -> Response:
            built = report.build(data, catalog)
            if format == "pdf":
                return Response(report.to_pdf(built), media_type="application/pdf")
            return HTMLResponse(report.to_html(built))

        try:
            return await run_in_threadpool(render)  # ~1 s of CPU: off the event loop
        except UnknownIdError as exc:  # the field that gave the id, as the other endpoints
            return JSONResponse({"detail": str(name_unknown_id(exc, data))}, status_code=422)
        except TokenfabError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=422)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


@contextlib.contextmanager
def background_server(app: Any, host: str = "127.0.0.1", timeout_s: float = 30.0) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on a free port of ``host``; yield its base URL.

    For the browser tests and the README screenshot (``docs/screenshot.py``); ``tokenfab
    serve`` is the way to run the server for use.
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"web: the test server on {host}:{port} did not start")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


__all__ = ["STATIC_DIR", "background_server", "install", "plotly_js"]
