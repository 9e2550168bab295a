"""The built-in token issuer (demo and tests) and the SMART configuration document.

Contracts:

* The signing key is one RSA-2048 key pair in ``settings.data_dir / "issuer-key.pem"``
  (unencrypted PKCS#8 PEM). It is created on first use when missing: the parent directory
  is created, the file is written with mode 0600 and published atomically (write a
  temporary file, then hard-link it into place), so several workers starting at once end
  up sharing one key.
* The key id (``kid``) is the RFC 7638 JWK thumbprint (SHA-256, base64url, no padding).
* The issuer URL is ``settings.public_base_url + "/auth"``; the public JWKS is served (by the
  HTTP layer) at ``issuer + "/jwks"``.
* Tokens are RS256 JWTs with ``typ: JWT`` and ``kid`` in the header and ``iss``, ``sub``,
  ``aud`` (= ``settings.token_audience``), ``iat``, ``exp`` and ``jti`` in the payload.

Nothing here checks ``settings.issuer_enabled``: tests may issue tokens regardless. The
verifier (:mod:`fellesjournal.auth.tokens`) trusts this issuer only when it is enabled.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from fellesjournal.fhir.errors import not_found
from fellesjournal.settings import Settings

KEY_FILE_NAME = "issuer-key.pem"
SIGNING_ALG = "RS256"
REGISTERED_CLAIMS = frozenset({"iss", "sub", "aud", "iat", "exp", "jti"})
"""Claims :meth:`BuiltinIssuer.issue` sets itself; passing them in ``claims`` is an error."""


def issuer_url(settings: Settings) -> str:
    """The built-in issuer's URL: ``settings.public_base_url + "/auth"``."""
    return settings.public_base_url + "/auth"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public RSA or EC JWK, base64url without padding."""
    kty = jwk["kty"]
    members: tuple[str, ...]
    if kty == "RSA":
        members = ("e", "kty", "n")
    elif kty == "EC":
        members = ("crv", "kty", "x", "y")
    elif kty == "OKP":
        members = ("crv", "kty", "x")
    else:
        raise ValueError(f"no thumbprint rule for key type {kty!r}")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def public_jwk(key: rsa.RSAPublicKey) -> dict[str, Any]:
    """The public JWK for ``key`` with ``kid`` (thumbprint), ``use: sig`` and ``alg: RS256``."""
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key, as_dict=True)
    out = {"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}
    return {**out, "kid": jwk_thumbprint(out), "use": "sig", "alg": SIGNING_ALG}


# --------------------------------------------------------------------------- key file

_key_cache: dict[tuple[str, int, int, int], rsa.RSAPrivateKey] = {}
_key_lock = threading.Lock()


def _write_new_key(path: Path) -> None:
    """Create ``path`` holding a fresh key unless another process got there first."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race
            os.link(tmp, path)  # atomic, and never replaces an existing key
    finally:
        tmp.unlink(missing_ok=True)


def load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    """The RSA private key stored at ``path``, created (mode 0600) when missing.

    Loaded keys are cached per (path, inode, mtime, size), so building many issuers from
    the same settings parses the PEM once. Raises ``ValueError`` when the file does not hold
    an unencrypted RSA private key.
    """
    path = path.resolve()
    with _key_lock:
        if not path.exists():
            _write_new_key(path)
        st = path.stat()
        ident = (str(path), st.st_ino, st.st_mtime_ns, st.st_size)
        cached = _key_cache.get(ident)
        if cached is not None:
            return cached
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA private key")
        _key_cache[ident] = key
        return key


# --------------------------------------------------------------------------- issuer


class BuiltinIssuer:
    """Signs RS256 access tokens with the key in ``data_dir``; see the module docstring."""

    def __init__(self, key: rsa.RSAPrivateKey, issuer: str, audience: str) -> None:
        self._key = key
        self.issuer = issuer
        self.audience = audience
        self.public_key: rsa.RSAPublicKey = key.public_key()
        self._jwk = public_jwk(self.public_key)
        self.kid: str = self._jwk["kid"]

    @classmethod
    def from_settings(cls, settings: Settings) -> BuiltinIssuer:
        """The issuer for ``settings``, creating the key file on first use."""
        key = load_or_create_key(Path(settings.data_dir) / KEY_FILE_NAME)
        return cls(key, issuer_url(settings), settings.token_audience)

    def sign(self, payload: dict[str, Any]) -> str:
        """Sign ``payload`` exactly as given (RS256, ``kid`` header). Low level; for tests."""
        return jwt.encode(payload, self._key, algorithm=SIGNING_ALG, headers={"kid": self.kid})

    def issue(self, subject: str, claims: dict[str, Any] | None = None, ttl: int = 3600) -> str:
        """A signed access token for ``subject`` valid for ``ttl`` seconds (``ttl > 0``).

        ``claims`` (for example ``scope``, ``fhir_actor``, ``fhirUser``) are added to the
        registered claims iss, sub, aud, iat, exp and jti; they may not override them.
        """
        if not subject:
            raise ValueError("subject must not be empty")
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        extra = dict(claims or {})
        clash = REGISTERED_CLAIMS.intersection(extra)
        if clash:
            raise ValueError(f"claims may not set {sorted(clash)}")
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.audience,
            "iat": now,
            "exp": now + ttl,
            "jti": secrets.token_urlsafe(16),
            **extra,
        }
        return self.sign(payload)

    def jwks(self) -> dict[str, Any]:
        """The public JWKS document: ``{"keys": [<RSA public JWK with kid, use, alg>]}``."""
        return {"keys": [dict(self._jwk)]}


def issue_token(
    settings: Settings, subject: str, claims: dict[str, Any] | None = None, ttl: int = 3600
) -> str:
    """A token from the built-in issuer of ``settings``; see :meth:`BuiltinIssuer.issue`."""
    return BuiltinIssuer.from_settings(settings).issue(subject, claims, ttl)


def issue_system_token(
    settings: Settings, ttl: int = 3600, permissions: tuple[str, ...] = ()
) -> str:
    """A token for the system itself: sub ``system``, ``fhir_actor: system``, ``system/*.*``.

    ``permissions`` go in the ``fj_permissions`` claim (e.g. ``protected-addresses``).
    """
    claims: dict[str, Any] = {"fhir_actor": "system", "scope": "system/*.*"}
    if permissions:
        claims["fj_permissions"] = list(permissions)
    return issue_token(settings, "system", claims, ttl)


def issue_practitioner_token(
    settings: Settings,
    hpr: str,
    role_id: str,
    practitioner_id: str,
    ttl: int = 3600,
    permissions: tuple[str, ...] = (),
) -> str:
    """A health worker's token in one work context (SMART v1 scope ``user/*.*``).

    Claims: ``sub`` the HPR-nummer, ``fhir_actor: practitioner``,
    ``fhirUser: Practitioner/{practitioner_id}``, ``fj_role: PractitionerRole/{role_id}``.
    Nothing is checked against the stored data here (the ``token`` command does that
    before calling, and the server on every request).
    """
    claims: dict[str, Any] = {
        "fhir_actor": "practitioner",
        "scope": "user/*.*",
        "fhirUser": f"Practitioner/{practitioner_id}",
        "fj_role": f"PractitionerRole/{role_id}",
    }
    if permissions:
        claims["fj_permissions"] = list(permissions)
    return issue_token(settings, hpr, claims, ttl)


def issue_patient_token(
    settings: Settings,
    fnr: str,
    patient_id: str,
    ttl: int = 3600,
    *,
    on_behalf_of: bool = False,
) -> str:
    """A citizen's token (SMART v1 scopes: ``patient/*.read`` and the writes a citizen
    makes: messages, cancellations, blocks and fullmakt; the access layer narrows them
    further, docs/portal.md).

    Claims: ``sub`` the fødselsnummer or D-nummer, ``fhir_actor: patient``, and
    ``fhirUser: Patient/{patient_id}`` for their own record or, with ``on_behalf_of``,
    ``fj_on_behalf_of: Patient/{patient_id}`` for the record they act for as a parent
    or with a fullmakt. Unchecked here, as for :func:`issue_practitioner_token`.
    """
    claims: dict[str, Any] = {"fhir_actor": "patient", "scope": CITIZEN_SCOPES}
    if on_behalf_of:
        claims["fj_on_behalf_of"] = f"Patient/{patient_id}"
    else:
        claims["fhirUser"] = f"Patient/{patient_id}"
    return issue_token(settings, fnr, claims, ttl)


#: What a citizen's token may ask for; the policy decides per capability.
CITIZEN_SCOPES = " ".join(
    [
        "patient/*.read",
        "patient/Consent.write",
        "patient/Communication.write",
        "patient/Appointment.write",
        "patient/RelatedPerson.write",
    ]
)


# --------------------------------------------------------------------------- SMART

SCOPES_SUPPORTED = ["system/*.*", "user/*.*", "patient/*.*", "openid", "fhirUser", "launch"]

SMART_CAPABILITIES = [
    "launch-standalone",  # authorization code flow at authorization_endpoint
    "launch-ehr",  # the "launch" scope
    "client-confidential-asymmetric",  # private_key_jwt at token_endpoint (client_credentials)
    "sso-openid-connect",  # openid + fhirUser; issuer and jwks_uri below
    "permission-v1",  # scopes use the v1 "<type>.<read|write|*>" syntax listed above
    "permission-user",
    "permission-patient",
]
"""Only what the built-in authorization server promises. Deliberately absent:
``permission-v2`` (scopes are v1 syntax), ``permission-offline`` (no refresh tokens),
``client-public``/``client-confidential-symmetric`` (no secrets, no public clients),
``context-*`` (no launch context promised yet), ``authorize-post``."""


def smart_configuration(settings: Settings) -> dict[str, Any]:
    """The ``/.well-known/smart-configuration`` document (SMART App Launch 2.0, §Discovery).

    Describes the built-in authorization server under ``issuer_url(settings)``. Raises a
    404 :class:`~fellesjournal.fhir.errors.FhirError` when the built-in issuer is disabled,
    since the external identity providers are not described by any setting.
    """
    if not settings.issuer_enabled:
        raise not_found("no built-in authorization server; use the identity provider's")
    iss = issuer_url(settings)
    return {
        "issuer": iss,
        "jwks_uri": iss + "/jwks",
        "authorization_endpoint": iss + "/authorize",
        "token_endpoint": iss + "/token",
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        # SMART Backend Services: servers SHALL support RS384 and ES384 client assertions.
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "scopes_supported": list(SCOPES_SUPPORTED),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": list(SMART_CAPABILITIES),
    }
