"""The authorization-code flow between the workspace and the built-in issuer.

The built-in issuer stands in for HelseID in the demo and the tests (it exists only
while ``settings.issuer_enabled``). It speaks the shape of OpenID Connect's code flow
with PKCE: the workspace sends the browser to ``/auth/authorize`` with a ``state``, a
``nonce`` and an S256 ``code_challenge``; the issuer's sign-in page hands back a short
lived ``code``; the workspace redeems it with the ``code_verifier`` it kept in the
session. The code is a JWT signed by the issuer (so any worker process can redeem it)
that lives :data:`CODE_TTL` seconds; the PKCE verifier ties it to the browser session
that asked for it, and ``state`` to the sign-in that browser started.

Redeeming happens in process (:func:`redeem`), not over HTTP: the issuer is part of the
same server. ``helseid.py`` takes the same steps over HTTP with an external issuer
(HelseID in production), reusing :class:`SignInRequest` and :class:`Identity`.
The portal's ID-porten stand-in (``portal/idporten.py``) is the same flow for another
client: it builds, signs and checks its codes with :func:`authorize_query`,
:func:`sign_code`, :func:`decode_code` and :func:`check_session`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt

from fellesjournal.auth.tokens import BuiltinIssuer
from fellesjournal.settings import Settings

CLIENT_ID = "fellesjournal-workspace"
CODE_TTL = 60
CALLBACK_PATH = "/signin/callback"


class SignInError(Exception):
    """A sign-in that must not go on (bad or expired code, wrong client, PKCE mismatch)."""


@dataclass(frozen=True, slots=True)
class SignInRequest:
    """What the workspace keeps in the session while the browser is at the issuer."""

    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> SignInRequest:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        return pkce_challenge(self.verifier)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def redirect_uri(settings: Settings) -> str:
    return settings.public_base_url + CALLBACK_PATH


def authorize_url(settings: Settings, req: SignInRequest) -> str:
    """Where the workspace sends the browser to sign in."""
    return "/auth/authorize?" + authorize_query(
        req, client_id=CLIENT_ID, redirect_uri=redirect_uri(settings), scope="openid fhirUser"
    )


def authorize_query(
    req: SignInRequest,
    *,
    client_id: str,
    redirect_uri: str,
    scope: str,
    extra: Mapping[str, str] | None = None,
) -> str:
    """The query string of a code-flow authorization request with PKCE S256 for ``req``.

    ``extra`` (such as ``acr_values``) stands between ``scope`` and ``state``.
    """
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        **(extra or {}),
        "state": req.state,
        "nonce": req.nonce,
        "code_challenge": req.challenge,
        "code_challenge_method": "S256",
    }
    return urlencode(query)


def issue_code(
    settings: Settings, *, hpr: str, practitioner_id: str, nonce: str, challenge: str
) -> str:
    """The issuer's code for a health worker who signed in (a signed, short-lived JWT)."""
    return sign_code(
        settings,
        client_id=CLIENT_ID,
        redirect_uri=redirect_uri(settings),
        sub=hpr,
        claims={"fhirUser": f"Practitioner/{practitioner_id}"},
        nonce=nonce,
        challenge=challenge,
    )


def sign_code(
    settings: Settings,
    *,
    client_id: str,
    redirect_uri: str,
    sub: str,
    claims: Mapping[str, str],
    nonce: str,
    challenge: str,
) -> str:
    """A built-in issuer's code for ``client_id``: a JWT living :data:`CODE_TTL` seconds.

    It carries ``sub``, the client's own ``claims``, the ``nonce``, the PKCE challenge
    (``cc``) and the callback it may go back to; :func:`decode_code` checks it.
    """
    issuer = BuiltinIssuer.from_settings(settings)
    now = int(time.time())
    return issuer.sign(
        {
            "iss": issuer.issuer,
            "aud": client_id,
            "sub": sub,
            **claims,
            "nonce": nonce,
            "cc": challenge,
            "redirect_uri": redirect_uri,
            "iat": now,
            "exp": now + CODE_TTL,
            "typ": "code",
        }
    )


def decode_code(
    settings: Settings,
    code: str,
    *,
    client_id: str,
    redirect_uri: str,
    meant_for: str,
    require: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The claims of a code from :func:`sign_code` for ``client_id`` and its callback.

    Checks the signature, expiry, audience and callback (and that the ``require``
    claims are there), not yet the session: :func:`check_session` does that. Raises
    :class:`SignInError`; ``meant_for`` ends the line for a code of another client.
    """
    issuer = BuiltinIssuer.from_settings(settings)
    try:
        claims: dict[str, Any] = jwt.decode(
            code,
            issuer.public_key,
            algorithms=["RS256"],
            audience=client_id,
            issuer=issuer.issuer,
            options={"require": ["exp", "sub", "nonce", "cc", *require]},
        )
    except jwt.ExpiredSignatureError:
        raise SignInError("the sign-in took too long; please sign in again") from None
    except jwt.PyJWTError:
        raise SignInError("the sign-in could not be verified") from None
    if claims.get("typ") != "code" or claims.get("redirect_uri") != redirect_uri:
        raise SignInError(f"the sign-in was not meant for {meant_for}")
    return claims


def check_session(claims: Mapping[str, Any], req: SignInRequest) -> None:
    """Raise :class:`SignInError` unless the code's nonce and PKCE challenge are ``req``'s."""
    if not secrets.compare_digest(str(claims["nonce"]), req.nonce):
        raise SignInError("the sign-in belongs to another browser session")
    if not secrets.compare_digest(str(claims["cc"]), req.challenge):
        raise SignInError("the sign-in belongs to another browser session")


@dataclass(frozen=True, slots=True)
class Identity:
    """Who signed in, as the issuer vouches: HPR-nummer and Practitioner id."""

    hpr: str
    practitioner_id: str


def redeem(settings: Settings, code: str, req: SignInRequest) -> Identity:
    """Check ``code`` against the sign-in the session started; the identity it proves.

    Raises :class:`SignInError` (one line, for the page) on anything wrong.
    """
    claims = decode_code(
        settings,
        code,
        client_id=CLIENT_ID,
        redirect_uri=redirect_uri(settings),
        meant_for="this workspace",
    )
    check_session(claims, req)
    practitioner = str(claims.get("fhirUser", "")).removeprefix("Practitioner/")
    if not practitioner:
        raise SignInError("the sign-in names no practitioner")
    return Identity(str(claims["sub"]), practitioner)
