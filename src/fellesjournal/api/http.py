"""The thin Starlette adapter: HTTP in, :class:`FhirRequest` to the router, bytes out.

Authentication happens here (every ``/fhir`` path but ``metadata`` needs a Bearer token);
every failure leaves as an OperationOutcome with its status — including bodies that are
too large, and unexpected errors, which are logged and answered 500 without details.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from fellesjournal.access.actor import actor_from_claims
from fellesjournal.api.request import FhirRequest
from fellesjournal.api.responses import FHIR_JSON, FhirResponse, error_response
from fellesjournal.api.router import dispatch
from fellesjournal.auth.tokens import TokenVerifier, bearer_token
from fellesjournal.fhir.errors import FhirError, error
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore

log = logging.getLogger("fellesjournal.api")

_JSON_FORMATS = {"json", "application/json", "application/fhir+json", "text/json"}


def to_http(resp: FhirResponse, head: bool = False) -> Response:
    headers = dict(resp.headers)
    if resp.body:
        headers.setdefault("Content-Type", FHIR_JSON)
    return Response(b"" if head else resp.body, resp.status, headers)


class FhirEndpoint:
    """The ASGI-facing handler for everything under ``/fhir``."""

    def __init__(self, settings: Settings, store: SqlStore, verifier: TokenVerifier) -> None:
        self.settings = settings
        self.store = store
        self.verifier = verifier
        self.base = settings.fhir_base_url

    async def handle(self, request: Request) -> Response:
        head = request.method == "HEAD"
        try:
            self._check_format(request)
            token = bearer_token(request.headers.get("authorization"))
            claims = self.verifier.verify(token)
            actor = actor_from_claims(dict(claims.raw), claims.scopes)
            body = await self._body(request)
            path = request.path_params.get("path", "")
            req = FhirRequest(
                method=request.method,
                path=[p for p in path.split("/") if p],
                query=request.query_params.multi_items(),
                headers={k.decode("latin-1").lower(): v.decode("latin-1")
                         for k, v in request.scope["headers"]},
                body=body,
            )
            ctx = RequestContext(actor=actor, strict=req.strict)
            repo = GuardedRepository(self.store, self.settings, ctx)
            resp = await run_in_threadpool(dispatch, req, repo, self.base)
        except FhirError as exc:
            resp = error_response(exc)
        except Exception:  # noqa: BLE001 - the last line of defence: log, answer 500
            log.exception("unexpected error on %s %s", request.method, request.url.path)
            resp = error_response(error(500, "exception", "internal server error; the "
                                        "incident has been logged"))
        return to_http(resp, head)

    def _check_format(self, request: Request) -> None:
        fmt = request.query_params.get("_format")
        if fmt is not None and fmt.split(";")[0].strip() not in _JSON_FORMATS:
            raise error(406, "not-supported", f"_format '{fmt}' is not supported: this "
                        "server speaks application/fhir+json")
        accept = request.headers.get("accept", "")
        if accept and "json" not in accept and "*/*" not in accept and "xml" in accept:
            raise error(406, "not-supported", "only application/fhir+json is available")

    async def _body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise error(413, "too-costly", f"the body is larger than the limit of "
                        f"{limit} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise error(413, "too-costly", f"the body is larger than the limit of "
                            f"{limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def metadata_endpoint(statement: dict[str, Any]) -> Any:
    from fellesjournal.api.responses import dumps

    body = dumps(statement)

    async def metadata(request: Request) -> Response:
        return Response(body, 200, {"Content-Type": FHIR_JSON})

    return metadata
