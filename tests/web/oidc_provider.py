"""A small OpenID Connect provider standing in for HelseID in the tests, served over real
HTTP on 127.0.0.1 (uvicorn in a thread, a free port).

It does what HelseID does for the workspace: discovery, pushed authorization requests
(``/connect/par``), an authorize endpoint that signs the user in at once (a health worker
who typed nothing: the test decides who, in :attr:`Behaviour.claims`) and sends the
browser back with a code and ``iss``, a token endpoint that checks the client assertion
(signed by the client's key, ``iss`` = ``sub`` = client id, ``aud`` = the endpoint, at
most 60 s, ``jti`` used once), the redirect URI and the PKCE verifier, and a JWKS. What
the id_token says, and how the token endpoint fails, :class:`Behaviour` tells.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "fellesjournal-test-client"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
HPR_CLAIM = "helseid://claims/hpr/hpr_number"
LEVEL_CLAIM = "helseid://claims/identity/security_level"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


@dataclass
class Behaviour:
    """What the provider does for the next sign-in (reset before each test)."""

    claims: dict[str, Any] = field(default_factory=dict)  #: the user: HPR claim, level...
    par: bool = True  #: offer pushed authorization requests in discovery
    id_token: dict[str, Any] = field(default_factory=dict)  #: claims put over the real ones
    drop: tuple[str, ...] = ()  #: claims left out of the id_token
    sign_with: str = "provider"  #: ``provider``, ``rogue`` (kid unknown) or ``forged``
    token_error: tuple[int, dict[str, Any]] | None = None


@dataclass
class Pending:
    redirect_uri: str
    challenge: str
    nonce: str
    state: str


class Provider:
    """The provider's state; :meth:`app` is its ASGI application."""

    def __init__(self, base_url: str, client_key: rsa.RSAPrivateKey) -> None:
        self.base_url = base_url
        self.client_public = client_key.public_key()
        self.key, self.rogue = new_key(), new_key()
        self.behaviour = Behaviour()
        self.assertions: list[dict[str, Any]] = []  #: every client assertion accepted
        self.token_requests = 0
        self._pushed: dict[str, dict[str, str]] = {}
        self._codes: dict[str, Pending] = {}
        self._jtis: set[str] = set()

    def url(self, path: str) -> str:
        return self.base_url + path

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/connect/par", self.par, methods=["POST"]),
                Route("/connect/authorize", self.authorize),
                Route("/connect/token", self.token, methods=["POST"]),
                Route("/jwks", self.jwks),
            ]
        )

    async def discovery(self, request: Request) -> Response:
        doc = {
            "issuer": self.base_url,
            "authorization_endpoint": self.url("/connect/authorize"),
            "token_endpoint": self.url("/connect/token"),
            "jwks_uri": self.url("/jwks"),
            "authorization_response_iss_parameter_supported": True,
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "code_challenge_methods_supported": ["S256"],
        }
        if self.behaviour.par:
            doc["pushed_authorization_request_endpoint"] = self.url("/connect/par")
        return JSONResponse(doc)

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [public_jwk(self.key, "provider-1")]})

    def _client_ok(self, form: Any, endpoint: str) -> bool:
        """Is the form's client assertion the test client's, for ``endpoint``, fresh?"""
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return False
        try:
            claims = jwt.decode(
                str(form.get("client_assertion")),
                self.client_public,
                algorithms=["RS256"],
                audience=self.url(endpoint),
                issuer=CLIENT_ID,
                options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
            )
        except jwt.PyJWTError:
            return False
        fresh = claims["exp"] - claims["iat"] <= 60 and claims["jti"] not in self._jtis
        if claims["sub"] != CLIENT_ID or form.get("client_id") != CLIENT_ID or not fresh:
            return False
        self._jtis.add(claims["jti"])
        self.assertions.append({**claims, "endpoint": endpoint})
        return True

    async def par(self, request: Request) -> Response:
        form = await request.form()
        if not self._client_ok(form, "/connect/par"):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        request_uri = "urn:ietf:params:oauth:request_uri:" + secrets.token_urlsafe(16)
        self._pushed[request_uri] = {k: str(v) for k, v in form.items()}
        return JSONResponse({"request_uri": request_uri, "expires_in": 60}, status_code=201)

    async def authorize(self, request: Request) -> Response:
        params: dict[str, str] = dict(request.query_params)
        if "request_uri" in params:
            pushed = self._pushed.pop(params["request_uri"], None)
            if pushed is None or params.get("client_id") != CLIENT_ID:
                return JSONResponse({"error": "invalid_request_uri"}, status_code=400)
            params = pushed
        wanted = ("response_type", "redirect_uri", "state", "nonce", "code_challenge")
        if (
            params.get("client_id") != CLIENT_ID
            or params.get("response_type") != "code"
            or params.get("code_challenge_method") != "S256"
            or not all(params.get(name) for name in wanted)
            or "openid" not in params.get("scope", "").split()
        ):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(24)
        self._codes[code] = Pending(
            params["redirect_uri"], params["code_challenge"], params["nonce"], params["state"]
        )
        back = {"code": code, "state": params["state"], "iss": self.base_url}
        return RedirectResponse(params["redirect_uri"] + "?" + urlencode(back), status_code=302)

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        form = await request.form()
        if not self._client_ok(form, "/connect/token"):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if self.behaviour.token_error is not None:
            status, body = self.behaviour.token_error
            return JSONResponse(body, status_code=status)
        pending = self._codes.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier") or "")
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        if (
            form.get("grant_type") != "authorization_code"
            or pending is None
            or pending.redirect_uri != form.get("redirect_uri")
            or pending.challenge != challenge
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self._id_token(pending.nonce),
            }
        )

    def _id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.base_url,
            "aud": CLIENT_ID,
            "sub": "pseudonym-" + secrets.token_hex(8),
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "amr": ["external"],
            **self.behaviour.claims,
            **self.behaviour.id_token,
        }
        for name in self.behaviour.drop:
            claims.pop(name, None)
        key, kid = {
            "provider": (self.key, "provider-1"),
            "rogue": (self.rogue, "rogue-1"),
            "forged": (self.rogue, "provider-1"),
        }[self.behaviour.sign_with]
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve(client_key: rsa.RSAPrivateKey) -> Iterator[Provider]:
    """A provider on a free port of 127.0.0.1 for the duration of the block."""
    sock = free_socket()
    provider = Provider(f"http://127.0.0.1:{sock.getsockname()[1]}", client_key)
    config = uvicorn.Config(provider.app(), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "provider did not start"
        time.sleep(0.01)
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
