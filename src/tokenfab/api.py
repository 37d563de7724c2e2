"""The HTTP API: every operation of :mod:`tokenfab.operations` as a versioned JSON endpoint.

``tokenfab serve`` runs it (uvicorn, 127.0.0.1:8000 by default); :func:`create_app` builds it
for tests and embedding. No model logic lives here: a request body is parsed by the same
request model the CLI uses, the same operation computes the answer, and the response is the
JSON object the CLI's ``--json`` prints.

=====================================  ===================================================
``GET  /api/v1/health``                 ``{"status": "ok", "version", "operations"}``
``POST /api/v1/{operation}``            estimate, plan, frontier, breakeven, market, demand,
                                        route, viability, factory (and each operation
                                        registered later): the request fields as a JSON
                                        object in snake_case, the ``--json`` result back
``GET  /api/v1/catalog``                rows per catalog
``GET  /api/v1/catalog/{name}``         one catalog's records (``catalog NAME --json``)
``GET  /api/v1/demand/archetypes``      the usage archetypes ``POST /demand`` takes
``GET  /docs``, ``/openapi.json``       the OpenAPI description of all of the above
=====================================  ===================================================

Errors are JSON ``{"detail": "<one line>"}``:

- 422: bad input, with the line the CLI prints (it names the field and what is allowed),
  including an unknown id (the line names the field that gave it, ``model: unknown id
  'nosuch' in models ...``, and the nearest ids) and a request above an HTTP
  limit (:data:`tokenfab.operations.MAX_HTTP_SAMPLES` and the plan and frontier grid
  limits; the line names the limit);
- 422 too: a query parameter the route does not declare (the options go in the body);
- 413: a body larger than :data:`MAX_BODY_BYTES`;
- 500: a tokenfab bug, as one line (never a traceback).

No endpoint reads or writes a file a request names: the demand takes its archetypes in the
body, not a file path, and usage-log analytics (``tokenfab usage``) stay CLI-only, since they
read log files of any size from the user's own disk.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError
from pydantic.json_schema import models_json_schema
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tokenfab import __version__, operations
from tokenfab.catalog import TABLES, Catalog, default_catalog, nearest, user_dirs_from_env
from tokenfab.errors import TokenfabError, UnknownIdError, name_unknown_id
from tokenfab.fileio import json_text, keys_once
from tokenfab.scenario import describe_validation_error, json_type

API_PREFIX = "/api/v1"

MAX_BODY_BYTES = 64 * 1024
"""Largest request body served [bytes]: a request is a few hundred bytes (a demand with many
archetypes a few kB)."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


INLINE_OPERATIONS = frozenset({"estimate", "route", "viability", "demand"})
"""Operations answered in a few milliseconds: computed on the event loop, one after another
(no thread hand-off, no GIL switching between requests); the others run in a thread so a
long plan does not hold up a worker's other requests."""


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _json_response(data: Any) -> Response:
    """The result as the CLI's ``--json`` prints it (NaN and inf as null), compact."""
    plain = operations.as_json_data(data)
    text = _flat_json(plain) or json_text(plain, indent=None)
    return Response(text, media_type="application/json")


def _flat_json(plain: Any) -> str | None:
    """:func:`json_text` of a flat record of JSON's own values (an estimate), without its pass
    over the values, which changes none of them; None for anything else, or a number that is
    not finite (json_text writes it as null, with the reason)."""
    if type(plain) is not dict or not all(
        type(k) is str and type(v) in _PLAIN for k, v in plain.items()
    ):
        return None
    try:
        return json.dumps(plain, separators=(",", ":"), allow_nan=False) + "\n"
    except ValueError:
        return None


class BodyLimit:
    """ASGI middleware: refuse a request body over ``max_bytes`` with 413, from its
    Content-Length or, without one, as it streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        def too_large() -> JSONResponse:  # built only for a body that is too large
            return _error(413, f"body: larger than the {self.max_bytes:,} bytes the API accepts")

        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    await _error(400, "Content-Length: not a number")(scope, receive, send)
                    return
                if length > self.max_bytes:
                    await too_large()(scope, receive, send)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLargeError
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLargeError:
            await too_large()(scope, receive, send)


class _BodyTooLargeError(Exception):
    pass


class QueryCheck:
    """ASGI middleware: refuse, with 422, a query parameter an API route does not declare.

    The endpoints take their options in the JSON body (or the path); a query string was
    ignored without a word (``GET /api/v1/catalog/accelerators?stale=-1`` returned the whole
    catalog, ``POST /api/v1/report?fromat=pdf`` an HTML page). A route's own query
    parameters (the report's ``format``) stay allowed. Paths outside :data:`API_PREFIX` (the
    calculator page keeps its scenario in the URL) are not checked."""

    def __init__(self, app: ASGIApp, routes_of: Callable[[], Sequence[Any]]) -> None:
        self.app = app
        self.routes_of = routes_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not scope.get("query_string")
            or not scope.get("path", "").startswith(API_PREFIX + "/")
        ):
            await self.app(scope, receive, send)
            return
        from urllib.parse import parse_qsl

        from starlette.routing import Match

        route = next((r for r in self.routes_of() if r.matches(scope)[0] == Match.FULL), None)
        if route is None:  # a 404 or 405 says what is wrong
            await self.app(scope, receive, send)
            return
        dependant = getattr(route, "dependant", None)
        allowed = [p.alias for p in dependant.query_params] if dependant is not None else []
        given = [k for k, _ in parse_qsl(scope["query_string"].decode("latin-1"), True)]
        unknown = next((k for k in given if k not in allowed), None)
        if unknown is None:
            await self.app(scope, receive, send)
            return
        takes = f"allowed: {', '.join(allowed)}" if allowed else "it takes none"
        where = "the JSON body" if scope.get("method") == "POST" else "the path"
        message = (
            f"query: {unknown!r} is not a query parameter of {scope.get('method')} "
            f"{scope['path']} ({takes}; the options go in {where})"
        )
        await _error(422, message)(scope, receive, send)


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw, object_pairs_hook=keys_once)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TokenfabError(f"body: not valid JSON ({exc})") from None
    except RecursionError:
        raise TokenfabError("body: JSON nested too deeply") from None


def _endpoint(op: operations.Operation, catalog: Catalog) -> Any:
    def compute(data: Any) -> Any:
        if not isinstance(data, dict):
            raise TokenfabError(
                f"body: a JSON object of field: value (got {json_type(data)}); see /docs"
            )
        if "scenario" in data and "scenario" not in op.request.model_fields:
            # else "model: Field required" for a body that does hold a model, one level down
            # (a mapping), or as a scenario file's text (a string)
            raise TokenfabError(
                f"scenario: {op.name} takes the scenario's fields at the top level of the body, "
                "not under scenario (see /docs)"
            )
        for name in op.file_fields:
            value = data.get(name)
            if isinstance(value, str):
                raise TokenfabError(
                    f"{name}: the HTTP API reads no files; give the content in the body (see /docs)"
                )
            required = op.request.model_fields[name].is_required()
            if name in data and not isinstance(value, dict) and (value is not None or required):
                # a file field takes text on the command line only: "[1, 2] is not text" of
                # the union's first branch told an HTTP client to send the text it refuses
                raise TokenfabError(
                    f"{name}: the file's content as an object of field: value "
                    f"(got {json_type(value)}; see /docs)"
                )
        request = op.parse(data)
        op.check_http_limits(request, catalog)
        try:
            return op.present(op.compute(request, catalog), catalog)
        except UnknownIdError as exc:  # the field that gave the id, not its catalog
            raise name_unknown_id(exc, data) from None

    inline = op.name in INLINE_OPERATIONS

    async def endpoint(request: Request) -> Response:
        data = await _body(request)
        result = compute(data) if inline else await run_in_threadpool(compute, data)
        return _json_response(result)

    endpoint.__name__ = f"{op.name}_endpoint"
    return endpoint


class _OperationRoute(APIRoute):
    """The route of a ``POST`` operation: its endpoint takes the request and returns the
    response itself (it reads and checks the body and writes the JSON), so FastAPI's request
    handler -- dependency solving and response serialisation, with nothing to do here -- is
    left out; its OpenAPI description (request schema, result model) is the same."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.endpoint  # type: ignore[return-value]


def _request_schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """The request models' JSON schemas as OpenAPI components, and each operation's
    request-body reference; fields that name a file are left out."""
    ops = [op for op in operations.OPERATIONS.values() if op.name != "catalog"]
    refs, defs = models_json_schema(
        [(op.request, "validation") for op in ops],
        ref_template="#/components/schemas/{model}",
    )
    schemas = defs.get("$defs", {})
    bodies = {}
    for op in ops:
        ref = refs[(op.request, "validation")]
        name = ref["$ref"].rsplit("/", 1)[-1]
        for field in op.file_fields:
            _content_only(schemas[name], field)
        bodies[op.name] = ref
    return schemas, bodies


def _content_only(spec: dict[str, Any], field: str) -> None:
    """A field that names a file, as the HTTP API takes it: its object form (the file's
    content) where it has one, else left out of the schema."""
    props = spec.get("properties", {})
    prop = props.get(field)
    if prop is None:
        return
    branches = prop.get("anyOf", [prop])
    kept = [b for b in branches if b.get("type") == "object" or "$ref" in b]
    if kept:
        rest = {
            k: v for k, v in prop.items() if k not in ("anyOf", "type", "minLength", "maxLength")
        }
        props[field] = {**rest, **kept[0]} if len(kept) == 1 else {**rest, "anyOf": kept}
        return
    props.pop(field)
    if field in spec.get("required", []):
        spec["required"].remove(field)


def create_app(catalog_dirs: Sequence[str | Path] | None = None) -> FastAPI:
    """The HTTP API with the catalogs of ``catalog_dirs`` over the built-in ones (default:
    ``TOKENFAB_CATALOG``, else the per-user catalog directory when it exists)."""
    dirs = tuple(str(d) for d in catalog_dirs) if catalog_dirs else user_dirs_from_env()
    catalog = default_catalog(dirs)
    app = FastAPI(
        title="tokenfab",
        version=__version__,
        description="Inference economics over HTTP: the tokenfab commands as JSON endpoints. "
        "Each request body holds the command's options in snake_case; each response is "
        "the object `tokenfab COMMAND --json` prints. Bad input: 422 with one line naming "
        "the field.",
    )
    app.state.catalog = catalog

    @app.exception_handler(TokenfabError)
    async def _tokenfab_error(request: Request, exc: TokenfabError) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(ValidationError)
    async def _validation_error(request: Request, exc: ValidationError) -> JSONResponse:
        return _error(422, describe_validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        path = request.url.path
        if exc.status_code == 404 and path.startswith(API_PREFIX + "/"):
            # "Not Found" named nothing: a misspelt operation (estimat) or a CLI-only command
            # (export-prices, calibrate, usage) now hears what is served and what is near
            served = sorted(operations.OPERATIONS)
            name = path.removeprefix(API_PREFIX + "/").split("/")[0]
            near = [n for n in nearest(name, served) if n != "catalog"] if name else []
            hint = f"did you mean: {', '.join(near)}? " if near else ""
            return _error(
                404,
                f"{path}: no such endpoint; {hint}POST /api/v1/OPERATION serves: "
                f"{', '.join(n for n in served if n != 'catalog')}; GET {API_PREFIX}/health, "
                f"{API_PREFIX}/catalog[/NAME], {API_PREFIX}/demand/archetypes; POST {API_PREFIX}/report "
                "(see /docs)",
            )
        if exc.status_code == 405:
            allowed = getattr(exc, "headers", None) or {}
            methods = allowed.get("Allow") or allowed.get("allow") or ""
            return _error(
                405, f"{request.method} {path}: not allowed here; allowed: {methods or 'see /docs'}"
            )
        return JSONResponse(
            {"detail": exc.detail},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        return _error(
            500, f"bug: {type(exc).__name__}: {exc} -- this is a tokenfab bug; please report it"
        )

    @app.get(f"{API_PREFIX}/health", summary="Liveness and the operations served")
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "operations": sorted(n for n in operations.OPERATIONS if n != "catalog"),
        }

    catalog_op = operations.get("catalog")

    @app.get(f"{API_PREFIX}/catalog", summary="Rows per catalog")
    def catalog_overview() -> Response:
        return _json_response(catalog_op.run({}, catalog))

    @app.get(
        f"{API_PREFIX}/catalog/{{name}}",
        summary="One catalog's records",
        description="The records of one catalog, as `tokenfab catalog NAME --json` prints "
        f"them; name is one of: {', '.join(TABLES)}.",
    )
    def catalog_table(name: str) -> Response:
        return _json_response(catalog_op.run({"name": name}, catalog))

    @app.get(
        f"{API_PREFIX}/demand/archetypes",
        summary="The usage archetypes of POST /demand",
        description="Each built-in archetype (data/demand_archetypes.yaml) by id: its "
        "description and its usage parameters, each with its value and its source or the "
        "assumption behind it.",
    )
    def demand_archetypes() -> Response:
        from tokenfab.demand import archetypes

        def plain(value: Any) -> Any:  # the cached table's read-only mappings as dicts
            return {k: plain(v) for k, v in value.items()} if hasattr(value, "items") else value

        return _json_response(plain(archetypes()))

    _, bodies = _request_schemas()
    for op in operations.OPERATIONS.values():
        if op.name == "catalog":
            continue
        app.router.add_api_route(
            f"{API_PREFIX}/{op.name}",
            _endpoint(op, catalog),
            methods=["POST"],
            name=op.name,
            summary=op.summary,
            response_model=op.result,
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": bodies[op.name]}},
                },
                "responses": {
                    "413": {"description": "Body too large"},
                    "422": {"description": "Bad input: one line naming the field"},
                },
            },
            route_class_override=_OperationRoute,
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = doc.setdefault("components", {}).setdefault("schemas", {})
            schemas, _ = _request_schemas()
            for name, spec in schemas.items():
                if name in components and components[name] != spec:
                    name_clash = f"OpenAPI component {name!r} differs between request and result"
                    raise RuntimeError(name_clash)
                components[name] = spec
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    _install_web(app)
    app.add_middleware(QueryCheck, routes_of=lambda: app.routes)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    return app


def _install_web(app: FastAPI) -> None:
    """The calculator page and its report endpoint (:mod:`tokenfab.web`)."""
    from tokenfab import web

    web.install(app)


def app_from_env() -> FastAPI:
    """The app for ``uvicorn --factory``: catalogs from ``TOKENFAB_CATALOG``."""
    return create_app()


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    workers: int = 1,
    catalog_dirs: Sequence[str] = (),
    on_start: Callable[[], None] | None = None,
) -> None:
    """Run the API with uvicorn until interrupted; the worker processes read the catalogs of
    ``catalog_dirs`` (passed on as ``TOKENFAB_CATALOG``). Every catalog row and the port are
    checked first (a problem is one :class:`TokenfabError` line); then ``on_start`` runs."""
    import errno
    import socket

    import uvicorn

    if not host.strip():
        # uvicorn reads "" as every interface, IPv4 and IPv6, while the line printed said
        # 127.0.0.1: exposing the API takes the explicit 0.0.0.0
        raise TokenfabError(
            "--host: empty; give an address of this machine, e.g. 127.0.0.1 (the default) or "
            "0.0.0.0 for all"
        )
    catalog = create_app(catalog_dirs or None).state.catalog
    for name in TABLES:  # a bad catalog row fails here, as one line, before a worker starts
        catalog.table(name)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
                raise TokenfabError(  # the host is at fault, not the port
                    f"--host: cannot listen on {host!r} ({exc.strerror}); give an address of "
                    "this machine, e.g. 127.0.0.1 (the default) or 0.0.0.0 for all"
                ) from None
            raise TokenfabError(
                f"--port: cannot listen on {host}:{port} ({exc.strerror}); choose another "
                "port with --port (make run PORT=N) or another --host"
            ) from None
    if on_start is not None:
        on_start()
    if catalog_dirs:  # the workers build their app from the environment
        os.environ["TOKENFAB_CATALOG"] = os.pathsep.join(catalog_dirs)
    uvicorn.run(
        "tokenfab.api:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


def url(host: str, port: int) -> str:
    """The address a browser opens for ``host`` and ``port``."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    shown = f"[{shown}]" if ":" in shown and not shown.startswith("[") else shown
    return f"http://{shown}:{port}/"
