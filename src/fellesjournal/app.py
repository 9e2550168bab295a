"""``create_app(settings)``: the ASGI application, built from one settings object.

Mounts the FHIR API at ``/fhir``, SMART discovery and the built-in issuer's JWKS, and
applies the security headers once for every response.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fellesjournal.api.conformance import capability_statement
from fellesjournal.api.http import SECURITY_HEADERS, FhirEndpoint
from fellesjournal.api.responses import FHIR_JSON, error_response
from fellesjournal.audit.sink import AuditSink
from fellesjournal.auth.tokens import BuiltinIssuer, TokenVerifier, smart_configuration
from fellesjournal.fhir.errors import FhirError, error
from fellesjournal.portal.base import Portal
from fellesjournal.portal.routes import portal_routes
from fellesjournal.settings import Settings
from fellesjournal.store.migrate import check_current
from fellesjournal.store.sql import SqlStore
from fellesjournal.terminology import preload as preload_terminology
from fellesjournal.web.directory import Directory
from fellesjournal.web.routes import session_middleware, workspace_routes
from fellesjournal.web.workspace import Workspace
from fellesjournal.workflows.worker import Worker


def software_version() -> str:
    try:
        return version("fellesjournal")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


class SecurityHeaders:
    """Adds the privacy and security headers to every response of the Starlette part."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in names
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Fellesjournal:
    """The top-level ASGI app: ``/fhir`` goes straight to the FHIR endpoint, the rest
    (discovery, issuer, and later the workspace and portal) to Starlette."""

    def __init__(self, web: Starlette, fhir: FhirEndpoint) -> None:
        self.web = web
        self.fhir = fhir
        self.state = web.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path == "/fhir" or path.startswith("/fhir/"):
                await self.fhir(scope, receive, send)
                return
        await self.web(scope, receive, send)


def _outcome(exc: FhirError) -> Response:
    resp = error_response(exc)
    return Response(resp.body, resp.status, {"Content-Type": FHIR_JSON})


def create_app(settings: Settings | None = None, store: SqlStore | None = None) -> Fellesjournal:
    """The whole application. ``store`` may be given by tests; otherwise one is created."""
    settings = settings or Settings()
    own_store = store is None
    store = store or SqlStore.from_settings(settings)
    verifier = TokenVerifier.from_settings(settings)
    statement = capability_statement(settings, store.registry, software_version())
    sink = AuditSink(store, linger=settings.audit_batch_ms / 1000)
    fhir = FhirEndpoint(settings, store, verifier, statement, sink=sink)

    async def smart(request: Request) -> Response:
        try:
            return JSONResponse(smart_configuration(settings))
        except FhirError as exc:
            return _outcome(exc)

    async def jwks(request: Request) -> Response:
        if not settings.issuer_enabled:
            return _outcome(error(404, "not-found", "no built-in issuer"))
        return JSONResponse(BuiltinIssuer.from_settings(settings).jwks())

    async def about(request: Request) -> Response:
        return JSONResponse(
            {"name": "Fellesjournal", "fhir": settings.fhir_base_url, "version": software_version()}
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        check_current(store.engine)
        preload_terminology()  # type-ahead must not pay the first load (~0.1 s)
        # What is loaded by now (modules, code systems, the registry) lives as long as
        # the process: out of the collector's sight, a full collection no longer walks
        # it. Without this, every few chart pages paid ~100 ms for one (make bench).
        gc.freeze()
        worker = Worker(store, settings)
        worker.start()
        yield
        worker.stop()
        sink.stop()
        if own_store:
            store.dispose()

    workspace = Workspace(settings, store, fhir.resolver, sink, Directory(store, settings))
    routes: list[Any] = [
        Route("/about", about),
        Route("/.well-known/smart-configuration", smart),
        Route("/auth/jwks", jwks),
        *workspace_routes(workspace),
        *portal_routes(Portal(settings, store, fhir.resolver, sink)),
    ]
    middleware = [Middleware(SecurityHeaders), session_middleware(settings.secret_key)]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.settings = settings
    app.state.store = store
    app.state.audit_sink = sink
    return Fellesjournal(app, fhir)
