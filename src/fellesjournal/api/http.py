"""The thin ASGI adapter: HTTP in, :class:`FhirRequest` to the router, bytes out.

``/fhir`` is served by a raw ASGI callable rather than through Starlette's routing and
middleware stack: it is the hot path, and each layer costs measurable throughput (see
docs/benchmarks.md). Authentication happens here (every ``/fhir`` path but ``metadata``
needs a Bearer token); every failure leaves as an OperationOutcome with its status —
including bodies that are too large, and unexpected errors, which are logged and
answered 500 without details.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from fellesjournal.access.actor import actor_from_claims
from fellesjournal.access.resolve import ContextResolver
from fellesjournal.api.request import FhirRequest
from fellesjournal.api.responses import FHIR_JSON, FhirResponse, dumps, error_response
from fellesjournal.api.router import dispatch, is_quick
from fellesjournal.audit.sink import AuditSink
from fellesjournal.auth.tokens import TokenVerifier, bearer_token
from fellesjournal.fhir.errors import FhirError, error
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore

log = logging.getLogger("fellesjournal.api")

_JSON_FORMATS = {"json", "application/json", "application/fhir+json", "text/json"}
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]
_CONTENT_TYPE = (b"content-type", FHIR_JSON.encode())


async def send_response(send: Send, resp: FhirResponse, head: bool = False) -> None:
    """Write ``resp`` with the security headers (the one place responses leave /fhir)."""
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in resp.headers.items()]
    if resp.body:
        headers.append(_CONTENT_TYPE)
    body = b"" if head else resp.body
    headers.append((b"content-length", str(len(resp.body) if not head else 0).encode()))
    headers.extend(SECURITY_HEADERS)
    await send({"type": "http.response.start", "status": resp.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class FhirEndpoint:
    """The raw ASGI application for everything under ``/fhir``."""

    def __init__(
        self,
        settings: Settings,
        store: SqlStore,
        verifier: TokenVerifier,
        statement: dict[str, Any],
        resolver: ContextResolver | None = None,
        sink: AuditSink | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        #: Where the AuditEvents of reads go (group commit); None: each request appends.
        self.sink = sink
        self.verifier = verifier
        #: Attaches the work context / citizen to practitioners' and patients' actors.
        self.resolver = resolver or ContextResolver(store, settings)
        self.base = settings.fhir_base_url
        self.metadata = dumps(statement)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        head = method == "HEAD"
        path = scope["path"][len("/fhir") :]
        try:
            segments = [unquote(p) for p in path.split("/") if p]
            query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            if segments == ["metadata"] and method in ("GET", "HEAD"):
                await send_response(send, FhirResponse(200, self.metadata), head)
                return
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
            }
            self._check_format(query, headers)
            claims = self.verifier.verify(bearer_token(headers.get("authorization")))
            # A practitioner's role or a citizen's record is checked against the stored
            # data here (cached ~60 s); a revoked one answers 401. System actors pass as is.
            actor = self.resolver.resolve(actor_from_claims(dict(claims.raw), claims.scopes))
            body = await self._body(receive, headers)
            req = FhirRequest(method, segments, query, headers, body)
            repo = GuardedRepository(
                self.store,
                self.settings,
                RequestContext(actor=actor, strict=req.strict),
                sink=self.sink,
                defer_audit=True,
            )
            try:
                if is_quick(req):
                    # Reads by id and simple searches: the thread hop costs more than it saves.
                    resp = dispatch(req, repo, self.base)
                else:
                    resp = await run_in_threadpool(dispatch, req, repo, self.base)
            finally:
                # Nothing is sent before the log has what it discloses (or refuses).
                repo.trail.flush()
        except FhirError as exc:
            resp = error_response(exc)
        except Exception:
            log.exception("unexpected error on %s %s", method, scope["path"])
            resp = error_response(
                error(500, "exception", "internal server error; the incident has been logged")
            )
        await send_response(send, resp, head)

    @staticmethod
    def _check_format(query: list[tuple[str, str]], headers: dict[str, str]) -> None:
        for key, fmt in query:
            if key == "_format" and fmt.split(";")[0].strip() not in _JSON_FORMATS:
                raise error(
                    406,
                    "not-supported",
                    f"_format '{fmt}' is not supported: this server speaks application/fhir+json",
                )
        accept = headers.get("accept", "")
        if accept and "json" not in accept and "*/*" not in accept and "xml" in accept:
            raise error(406, "not-supported", "only application/fhir+json is available")

    async def _body(self, receive: Receive, headers: dict[str, str]) -> bytes:
        limit = self.settings.max_body_bytes
        declared = headers.get("content-length")
        too_large = error(413, "too-costly", f"the body is larger than the limit of {limit} bytes")
        if declared and declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise error(400, "incomplete", "the client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)
