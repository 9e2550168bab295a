"""Signing in through an external OpenID Connect issuer: HelseID in production.

The same code flow as the built-in issuer's (``oidc.py``: PKCE S256, ``state``,
``nonce``), spoken over HTTP to the issuer named by ``settings.oidc_issuer``:

1. Discovery: ``{issuer}/.well-known/openid-configuration`` (kept for
   :data:`METADATA_TTL`; its ``issuer`` must be the configured one).
2. The browser goes to the authorization endpoint. When the issuer offers pushed
   authorization requests (RFC 9126; HelseID requires them of new clients), the
   parameters are posted there first and the browser carries only ``request_uri``.
3. The code comes back to ``/signin/callback``; ``iss``, when sent (RFC 9207), must be
   the issuer. It is redeemed at the token endpoint with the PKCE verifier and a
   ``private_key_jwt`` client assertion (HelseID accepts no other client
   authentication): a JWT signed with the client's key, ``iss`` = ``sub`` = the client
   id, ``aud`` = the endpoint called, a fresh ``jti``, at most 60 s to live.
4. The id_token is checked: signature by a key of the issuer's ``jwks_uri`` (fetched
   again once when a ``kid`` is new: keys rotate), ``iss``, ``aud`` (and ``azp`` when
   there are several), ``exp``, ``iat`` and the session's ``nonce``. It must carry the
   HPR-nummer (``helseid://claims/hpr/hpr_number``: a user without one is no health
   worker) and ``helseid://claims/identity/security_level`` of at least
   ``settings.oidc_min_security_level``.

Faults raise :class:`oidc.SignInError` (or a subclass) carrying the technical reason,
which ``signin.py`` logs; the page shows one plain line.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from fellesjournal.access.actor import HELSEID_HPR_CLAIM
from fellesjournal.settings import Settings
from fellesjournal.web import oidc

SECURITY_LEVEL_CLAIM: Final = "helseid://claims/identity/security_level"
ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: HelseID accepts client assertions that live at most 60 seconds.
ASSERTION_TTL: Final = 60
METADATA_TTL: Final = 3600.0
#: The JWKS is fetched again for an unknown ``kid`` at most this often.
JWKS_REFETCH: Final = 30.0
TIMEOUT: Final = 10.0
#: Clock skew allowed on the id_token's times.
LEEWAY: Final = 30
#: Asymmetric algorithms only: never ``none`` nor a shared secret.
ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")


class ProviderError(oidc.SignInError):
    """The issuer could not be reached or answered nonsense (the page says 502)."""


class Refused(oidc.SignInError):
    """The person signed in, but may not use the workspace (the page says 403)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason  #: ``no-hpr`` or ``security-level``


@dataclass(frozen=True, slots=True)
class Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    par_endpoint: str | None
    iss_in_response: bool  #: the issuer promises ``iss`` on the callback (RFC 9207)


@dataclass(frozen=True, slots=True)
class ClientKey:
    """The client's private key, the algorithm it signs with and its key id."""

    key: Any
    algorithm: str
    kid: str

    @classmethod
    def load(cls, path: Path) -> ClientKey:
        """A PEM private key, or a private JWK (with ``kid`` and ``alg`` when it has them)."""
        text = path.read_text(encoding="utf-8")
        if text.lstrip().startswith("{"):
            data = json.loads(text)
            if "d" not in data:
                raise ValueError(f"{path}: the JWK holds no private key")
            jwk = jwt.PyJWK(data)
            return cls(jwk.key, jwk.algorithm_name, str(data.get("kid") or _thumbprint(jwk.key)))
        key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        if isinstance(key, rsa.RSAPrivateKey):
            return cls(key, "RS256", _thumbprint(key))
        if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _EC_ALGORITHMS:
            return cls(key, _EC_ALGORITHMS[key.curve.name], _thumbprint(key))
        raise ValueError(f"{path}: an RSA or EC (P-256, P-384) private key is needed")


_EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384"}


def _thumbprint(key: Any) -> str:
    """The RFC 7638 thumbprint of ``key``'s public half (a key id for a bare PEM key)."""
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        members = {k: jwk[k] for k in ("e", "kty", "n")}
    else:
        jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":")).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class ExternalIssuer:
    """The workspace as a client of one external issuer (one per application)."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        assert settings.oidc_client_key_file is not None  # Settings checks it
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.scopes = settings.oidc_scopes
        self.min_level = settings.oidc_min_security_level
        self.redirect_uri = oidc.redirect_uri(settings)
        self.key = ClientKey.load(settings.oidc_client_key_file)
        self._transport = transport
        self._metadata: tuple[float, Metadata] | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_fetched = 0.0

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=TIMEOUT, transport=self._transport)

    async def _json(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
        """``(status, JSON body)``; :class:`ProviderError` when there is no JSON answer."""
        try:
            async with self._client() as client:
                answer = await client.request(method, url, **kwargs)
            if answer.status_code >= 500:
                raise ProviderError(f"{url} answered {answer.status_code}")
            return answer.status_code, answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderError(f"{url}: {type(exc).__name__}: {exc}") from None

    async def metadata(self) -> Metadata:
        """The issuer's discovery document (cached)."""
        now = time.monotonic()
        if self._metadata and now - self._metadata[0] < METADATA_TTL:
            return self._metadata[1]
        url = self.issuer + "/.well-known/openid-configuration"
        status, doc = await self._json("GET", url)
        try:
            if status != 200 or str(doc["issuer"]).rstrip("/") != self.issuer:
                raise ProviderError(f"{url}: status {status}, issuer {doc.get('issuer')!r}")
            meta = Metadata(
                str(doc["issuer"]),
                str(doc["authorization_endpoint"]),
                str(doc["token_endpoint"]),
                str(doc["jwks_uri"]),
                doc.get("pushed_authorization_request_endpoint"),
                doc.get("authorization_response_iss_parameter_supported") is True,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProviderError(f"{url}: incomplete discovery document ({exc})") from None
        self._metadata = (now, meta)
        return meta

    def client_assertion(self, audience: str) -> str:
        """A ``private_key_jwt`` client assertion for one request to ``audience``."""
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "jti": secrets.token_urlsafe(24),
            "iat": now,
            "nbf": now,
            "exp": now + ASSERTION_TTL,
        }
        headers = {"kid": self.key.kid, "typ": "JWT"}
        return jwt.encode(claims, self.key.key, algorithm=self.key.algorithm, headers=headers)

    def _authenticated(self, endpoint: str, params: dict[str, str]) -> dict[str, str]:
        return {
            **params,
            "client_id": self.client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.client_assertion(endpoint),
        }

    async def authorize_url(self, req: oidc.SignInRequest) -> str:
        """Where the browser goes to sign in (after pushing the request, when offered)."""
        meta = await self.metadata()
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scopes,
            "state": req.state,
            "nonce": req.nonce,
            "code_challenge": req.challenge,
            "code_challenge_method": "S256",
        }
        if meta.par_endpoint:
            body = self._authenticated(meta.par_endpoint, params)
            status, pushed = await self._json("POST", meta.par_endpoint, data=body)
            if status not in (200, 201) or not isinstance(pushed.get("request_uri"), str):
                raise ProviderError(f"pushed authorization request refused: {status} {pushed}")
            params = {"client_id": self.client_id, "request_uri": pushed["request_uri"]}
        joiner = "&" if "?" in meta.authorization_endpoint else "?"
        return meta.authorization_endpoint + joiner + urlencode(params)

    async def redeem(self, code: str, req: oidc.SignInRequest, *, iss: str | None) -> str:
        """Redeem ``code`` and check the id_token; the HPR-nummer of who signed in."""
        meta = await self.metadata()
        if (iss is not None or meta.iss_in_response) and iss != meta.issuer:
            raise oidc.SignInError(f"callback names issuer {iss!r}")
        params = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": req.verifier,
        }
        body = self._authenticated(meta.token_endpoint, params)
        status, tokens = await self._json("POST", meta.token_endpoint, data=body)
        if status != 200 or not isinstance(tokens, dict):
            raise oidc.SignInError(f"token endpoint answered {status}: {tokens}")
        claims = await self._verify(tokens.get("id_token"), meta, req.nonce)
        hpr = claims.get(HELSEID_HPR_CLAIM)
        if not (isinstance(hpr, str) and hpr.isdigit()):
            raise Refused("no-hpr", f"the id_token of {claims['sub']!r} names no HPR-nummer")
        level = str(claims.get(SECURITY_LEVEL_CLAIM, ""))
        if not (level.isdigit() and int(level) >= self.min_level):
            raise Refused("security-level", f"HPR-nummer {hpr} signed in at level {level!r}")
        return hpr

    async def _verify(self, id_token: Any, meta: Metadata, nonce: str) -> dict[str, Any]:
        if not isinstance(id_token, str):
            raise oidc.SignInError("no id_token in the token response")
        try:
            header = jwt.get_unverified_header(id_token)
            if header.get("alg") not in ALGORITHMS:
                raise oidc.SignInError(f"id_token signed with {header.get('alg')!r}")
            key = await self._signing_key(meta, header.get("kid"))
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=[header["alg"]],
                audience=self.client_id,
                issuer=meta.issuer,
                leeway=LEEWAY,
                options={"require": ["iss", "aud", "exp", "iat", "sub", "nonce"]},
            )
        except jwt.PyJWTError as exc:
            raise oidc.SignInError(f"id_token: {type(exc).__name__}: {exc}") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise oidc.SignInError(f"id_token for several audiences, azp {claims.get('azp')!r}")
        if not secrets.compare_digest(str(claims["nonce"]), nonce):
            raise oidc.SignInError("id_token nonce is not this session's")
        return claims

    async def _signing_key(self, meta: Metadata, kid: Any) -> jwt.PyJWK:
        """The issuer's key ``kid`` (the only key, when the token names none)."""
        for attempt in range(2):
            if kid is None and len(self._keys) == 1:
                return next(iter(self._keys.values()))
            if isinstance(kid, str) and kid in self._keys:
                return self._keys[kid]
            if attempt or time.monotonic() - self._keys_fetched < JWKS_REFETCH:
                break
            status, doc = await self._json("GET", meta.jwks_uri)
            try:
                keys = jwt.PyJWKSet.from_dict(doc).keys
            except (jwt.PyJWTError, AttributeError, TypeError) as exc:
                raise ProviderError(f"{meta.jwks_uri}: {status}, no usable keys ({exc})") from None
            self._keys = {str(k.key_id): k for k in keys if k.public_key_use in (None, "sig")}
            self._keys_fetched = time.monotonic()
        raise oidc.SignInError(f"id_token signed by unknown key {kid!r}")
