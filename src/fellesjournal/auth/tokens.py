"""Bearer-token verification for every FHIR request.

Contracts:

* :func:`bearer_token` extracts the token from an ``Authorization`` header or raises a 401
  :class:`FhirError` with ``WWW-Authenticate: Bearer realm="fellesjournal"``.
* :meth:`TokenVerifier.verify` returns :class:`Claims` or raises a 401 :class:`FhirError`
  (issue code ``login``, a short reason, ``WWW-Authenticate: Bearer error="invalid_token"``)
  for malformed, expired, not-yet-valid, wrong-audience, unknown-issuer or badly signed
  tokens. When a trusted issuer's JWKS cannot be fetched (or is not JSON) it raises 503
  (``transient``, ``Retry-After: 5``): the token may be fine, logging in again won't help.
* Trusted issuers: the built-in issuer (when ``settings.issuer_enabled``) with its key held
  in memory, and each ``issuer=jwks_url`` pair in ``settings.trusted_issuers`` with keys
  fetched by :class:`jwt.PyJWKClient` (urllib; key set cached 5 minutes, one forced refresh
  per 30 s for an unknown ``kid``; ``kid`` is required). JWKS URLs must be https, or http
  on loopback. A trusted pair naming the built-in issuer's URL is ignored (built-in wins).
* Only RS256 and ES256 are accepted; the header ``alg`` must match the key type (and the
  JWK's own ``alg`` when given), so ``none`` and HMAC tokens are never verified.
  Required claims: ``iss``, ``aud``, ``exp`` and ``sub`` (``client_id`` stands in for a
  missing ``sub``). Clock skew leeway is 30 s for ``exp``, ``nbf`` and ``iat``.
* Successful verifications are cached by token string (LRU, 4,096 entries) until the
  token's ``exp`` plus leeway, so a repeated token costs a dictionary lookup. Failures are
  never cached. The cache is thread safe.
"""

from __future__ import annotations

import binascii
import ipaddress
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.utils import base64url_decode

from fellesjournal.auth.issuer import (
    BuiltinIssuer,
    issue_system_token,
    issue_token,
    issuer_url,
    smart_configuration,
)
from fellesjournal.fhir.errors import FhirError, Issue
from fellesjournal.settings import Settings

__all__ = [
    "BuiltinIssuer",
    "Claims",
    "TokenVerifier",
    "bearer_token",
    "invalid_token",
    "issue_system_token",
    "issue_token",
    "issuer_url",
    "parse_trusted_issuers",
    "smart_configuration",
]

ALLOWED_ALGORITHMS = ("RS256", "ES256")
LEEWAY_SECONDS = 30
CACHE_SIZE = 4096
MAX_TOKEN_LENGTH = 16 * 1024
JWKS_TIMEOUT_SECONDS = 5.0
REALM_CHALLENGE = 'Bearer realm="fellesjournal"'
INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"'


@dataclass(frozen=True, slots=True)
class Claims:
    """A verified token. ``raw`` is a read-only view of the whole payload.

    Instances are shared between requests through the cache: never mutate ``raw``'s values.
    """

    subject: str
    issuer: str
    scopes: tuple[str, ...]
    expires_at: int
    raw: Mapping[str, Any]

    def get(self, name: str, default: Any = None) -> Any:
        """The claim ``name`` from the payload, or ``default``."""
        return self.raw.get(name, default)


def invalid_token(reason: str) -> FhirError:
    """The 401 error for a token that cannot be accepted, with a short ``reason``."""
    return FhirError(
        401,
        [Issue("error", "login", reason)],
        headers={"WWW-Authenticate": INVALID_TOKEN_CHALLENGE},
    )


def _keys_unavailable() -> FhirError:
    return FhirError(
        503,
        [Issue("error", "transient", "could not fetch the issuer's signing keys")],
        headers={"Retry-After": "5"},
    )


def _missing_credentials(reason: str) -> FhirError:
    return FhirError(
        401, [Issue("error", "login", reason)], headers={"WWW-Authenticate": REALM_CHALLENGE}
    )


def bearer_token(authorization_header: str | None) -> str:
    """The token in ``Authorization: Bearer <token>`` (scheme case-insensitive).

    Raises a 401 :class:`FhirError` with ``WWW-Authenticate: Bearer realm="fellesjournal"``
    when the header is missing, uses another scheme, or carries no token.
    """
    if not authorization_header or not authorization_header.strip():
        raise _missing_credentials("missing Authorization header")
    scheme, _, token = authorization_header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer":
        raise _missing_credentials("Authorization scheme must be Bearer")
    if not token or " " in token:
        raise _missing_credentials("malformed Bearer token")
    return token


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_trusted_issuers(value: str) -> dict[str, str]:
    """``settings.trusted_issuers`` (``issuer=jwks_url`` pairs, space separated) as a dict.

    The issuer ends at the first ``=``. Raises ``ValueError`` for a malformed pair or a JWKS
    URL that is neither https nor http on a loopback address.
    """
    out: dict[str, str] = {}
    for pair in value.split():
        iss, sep, url = pair.partition("=")
        if not sep or not iss or not url:
            raise ValueError(f"trusted issuer {pair!r} is not issuer=jwks_url")
        parts = urlsplit(url)
        if parts.scheme != "https" and not (
            parts.scheme == "http" and _is_loopback(parts.hostname or "")
        ):
            raise ValueError(f"JWKS URL {url!r} must use https (http only on loopback)")
        out[iss] = url
    return out


def _scopes(payload: Mapping[str, Any]) -> tuple[str, ...]:
    scope = payload.get("scope", payload.get("scp"))
    if isinstance(scope, str):
        return tuple(scope.split())
    if isinstance(scope, list):
        return tuple(s for s in scope if isinstance(s, str))
    return ()


def _segment(data: str) -> dict[str, Any]:
    value = orjson.loads(base64url_decode(data.encode("ascii")))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _check_key_fits(alg: str, key: Any) -> None:
    """Refuse a key whose type does not match the header ``alg``."""
    if alg == "RS256" and isinstance(key, rsa.RSAPublicKey):
        return
    if (
        alg == "ES256"
        and isinstance(key, ec.EllipticCurvePublicKey)
        and isinstance(key.curve, ec.SECP256R1)
    ):
        return
    raise invalid_token("key does not match token algorithm")


class TokenVerifier:
    """Verifies bearer tokens against the trusted issuers of one :class:`Settings`.

    Build one per application (it owns the cache and the JWKS clients) and share it across
    threads. ``clock`` (Unix time) governs cache expiry only; tests may replace it.
    """

    def __init__(
        self,
        audience: str,
        builtin: BuiltinIssuer | None = None,
        jwks_urls: Mapping[str, str] | None = None,
        *,
        cache_size: int = CACHE_SIZE,
        leeway: int = LEEWAY_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.audience = audience
        self.builtin = builtin
        self.leeway = leeway
        self._clock = clock
        self._cache_size = cache_size
        self._cache: OrderedDict[str, tuple[float, Claims]] = OrderedDict()
        self._lock = threading.Lock()
        self._clients: dict[str, jwt.PyJWKClient] = {
            iss: jwt.PyJWKClient(url, cache_jwk_set=True, timeout=JWKS_TIMEOUT_SECONDS)
            for iss, url in (jwks_urls or {}).items()
            if builtin is None or iss != builtin.issuer
        }

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> TokenVerifier:
        """A verifier trusting the built-in issuer (if enabled) and ``trusted_issuers``."""
        builtin = BuiltinIssuer.from_settings(settings) if settings.issuer_enabled else None
        return cls(
            settings.token_audience,
            builtin,
            parse_trusted_issuers(settings.trusted_issuers),
            **kwargs,
        )

    @property
    def issuers(self) -> tuple[str, ...]:
        """The trusted issuer URLs."""
        own = (self.builtin.issuer,) if self.builtin else ()
        return own + tuple(self._clients)

    def verify(self, token: str) -> Claims:
        """The claims of ``token`` if it is valid now; see the module docstring for errors."""
        now = self._clock()
        with self._lock:
            hit = self._cache.get(token)
            if hit is not None:
                if now < hit[0]:
                    self._cache.move_to_end(token)
                    return hit[1]
                del self._cache[token]
        claims = self._verify_cold(token, now)
        valid_until = claims.expires_at + self.leeway
        with self._lock:
            self._cache[token] = (valid_until, claims)
            self._cache.move_to_end(token)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return claims

    def clear_cache(self) -> None:
        """Forget all cached verifications (for example after changing trust)."""
        with self._lock:
            self._cache.clear()

    # ------------------------------------------------------------------ internals

    def _verify_cold(self, token: str, now: float) -> Claims:
        if len(token) > MAX_TOKEN_LENGTH:
            raise invalid_token("token too long")
        parts = token.split(".")
        if len(parts) != 3:
            raise invalid_token("malformed token")
        try:
            header = _segment(parts[0])
            unverified = _segment(parts[1])
        except (ValueError, UnicodeError, binascii.Error):
            raise invalid_token("malformed token") from None
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise invalid_token(f"algorithm {str(alg)[:20]!r} not accepted")
        iss = unverified.get("iss")
        if not isinstance(iss, str):
            raise invalid_token("missing claim: iss")
        key = self._key_for(iss, alg, header.get("kid"))
        _check_key_fits(alg, key)
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=iss,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"], "verify_iat": True},
            )
        except jwt.ExpiredSignatureError:
            raise invalid_token("token expired") from None
        except jwt.InvalidAudienceError:
            raise invalid_token("wrong audience") from None
        except jwt.ImmatureSignatureError:
            raise invalid_token("token not yet valid") from None
        except jwt.MissingRequiredClaimError as exc:
            raise invalid_token(f"missing claim: {exc.claim}") from None
        except jwt.InvalidSignatureError:
            raise invalid_token("invalid signature") from None
        except jwt.InvalidTokenError:
            raise invalid_token("invalid token") from None
        subject = payload.get("sub", payload.get("client_id"))
        if not isinstance(subject, str) or not subject:
            raise invalid_token("missing claim: sub")
        exp = payload["exp"]
        if not isinstance(exp, int | float):  # PyJWT checks this too; keep mypy honest
            raise invalid_token("invalid claim: exp")
        return Claims(
            subject=subject,
            issuer=iss,
            scopes=_scopes(payload),
            expires_at=int(exp),
            raw=MappingProxyType(payload),
        )

    def _key_for(self, iss: str, alg: str, kid: Any) -> Any:
        """The public key object for ``iss``/``kid``; raises 401 (or 503 on fetch failure)."""
        if self.builtin is not None and iss == self.builtin.issuer:
            if kid is not None and kid != self.builtin.kid:
                raise invalid_token("signing key not found")
            return self.builtin.public_key
        client = self._clients.get(iss)
        if client is None:
            raise invalid_token("unknown issuer")
        if not isinstance(kid, str) or not kid:
            raise invalid_token("missing kid")
        try:
            jwk = client.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError:
            raise _keys_unavailable() from None
        except (jwt.PyJWKClientError, jwt.PyJWKError, jwt.PyJWKSetError):
            raise invalid_token("signing key not found") from None
        except ValueError:  # the endpoint answered something that is not JSON
            raise _keys_unavailable() from None
        declared = jwk.algorithm_name
        if declared != alg:
            raise invalid_token("key does not match token algorithm")
        return jwk.key
