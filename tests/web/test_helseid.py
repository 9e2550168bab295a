"""Signing in through an external OpenID Connect issuer (HelseID in production), against
a provider served over real HTTP on loopback (``oidc_provider.py``).

The workspace runs in process (TestClient); the browser's trip to the provider and back
is made with httpx, the way a browser follows the redirects. The workspace's own calls
(discovery, pushed authorization request, token, JWKS) go over HTTP to the provider.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import RSAAlgorithm
from pydantic import ValidationError
from starlette.testclient import TestClient

from fellesjournal.app import create_app
from fellesjournal.settings import Settings
from fellesjournal.web import helseid, oidc
from tests.web.oidc_provider import (
    CLIENT_ID,
    HPR_CLAIM,
    LEVEL_CLAIM,
    Behaviour,
    Provider,
    free_socket,
    new_key,
    serve,
)

GP = "990001483"  # Marit Myklebust, doctor at Orkland legekontor (demo_users.py)
GP_NAME = "Marit Myklebust"
NOT_STAFF = "990009992"  # a well-formed HPR-nummer nobody in the directory holds
T = TypeVar("T")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end in a thread of its own: the worker may already run
    an event loop in this thread (Playwright's sync API does, after a browser test),
    where ``asyncio.run`` refuses."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="module")
def client_key() -> Any:
    return new_key()


@pytest.fixture(scope="module")
def key_files(client_key: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The client's private key as HelseID Selvbetjening hands it out (a JWK) and as PEM."""
    folder = tmp_path_factory.mktemp("client-key")
    jwk = json.loads(RSAAlgorithm.to_jwk(client_key))
    (folder / "client.jwk").write_text(json.dumps({**jwk, "kid": "client-1", "alg": "RS256"}))
    pem = client_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (folder / "client.pem").write_bytes(pem)
    return {"jwk": folder / "client.jwk", "pem": folder / "client.pem"}


@pytest.fixture(scope="module")
def server(client_key: Any) -> Iterator[Provider]:
    with serve(client_key) as provider:
        yield provider


@pytest.fixture
def provider(server: Provider) -> Provider:
    """The provider, signing in the GP at security level 4 unless a test says otherwise."""
    server.behaviour = Behaviour(claims={HPR_CLAIM: GP, LEVEL_CLAIM: "4", "name": GP_NAME})
    server.assertions.clear()
    return server


def helseid_settings(ws_settings: Settings, issuer: str, key_file: Path) -> Settings:
    return Settings(
        **{
            **ws_settings.model_dump(),
            "issuer_enabled": False,  # the built-in issuer is off, as in production
            "oidc_issuer": issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_key_file": key_file,
        }
    )


@pytest.fixture(scope="module")
def helseid_app(ws_settings: Settings, server: Provider, key_files: dict[str, Path]) -> Any:
    return create_app(helseid_settings(ws_settings, server.base_url, key_files["jwk"]))


@pytest.fixture
def web(helseid_app: Any) -> Iterator[TestClient]:
    with TestClient(helseid_app, base_url="https://testserver") as client:
        yield client


def through_provider(web: TestClient) -> str:
    """Start signing in; the browser at the provider; where the provider sends it back."""
    start = web.get("/signin", follow_redirects=False)
    assert start.status_code == 303, start.text
    at_provider = httpx.get(start.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302, at_provider.text
    back = at_provider.headers["location"]
    assert back.startswith("https://testserver/signin/callback?")
    return back


def signed_out(web: TestClient) -> bool:
    return web.get("/", follow_redirects=False).headers["location"] == "/signin"


def test_a_health_worker_signs_in_through_helseid(web: TestClient, provider: Provider) -> None:
    start = web.get("/signin", follow_redirects=False)
    location = start.headers["location"]
    assert location.startswith(provider.base_url + "/connect/authorize?")
    query = parse_qs(urlsplit(location).query)
    assert set(query) == {"client_id", "request_uri"}  # the rest was pushed (PAR)
    back = httpx.get(location, follow_redirects=False).headers["location"]
    assert parse_qs(urlsplit(back).query)["iss"] == [provider.base_url]
    callback = web.get(back, follow_redirects=False)
    assert (callback.status_code, callback.headers["location"]) == (303, "/context")
    context = web.get("/context", follow_redirects=False)
    assert (context.status_code, context.headers["location"]) == (303, "/")  # one context
    home = web.get("/")
    assert home.status_code == 200
    assert GP_NAME in home.text and "Orkland legekontor" in home.text
    # private_key_jwt, one assertion per request, each for the endpoint it was sent to
    assert [a["endpoint"] for a in provider.assertions] == ["/connect/par", "/connect/token"]
    for assertion in provider.assertions:
        assert assertion["iss"] == assertion["sub"] == CLIENT_ID
        assert assertion["aud"] == provider.base_url + assertion["endpoint"]
        assert 0 < assertion["exp"] - assertion["iat"] <= 60
    assert provider.assertions[0]["jti"] != provider.assertions[1]["jti"]


def test_the_built_in_issuer_is_not_used_beside_helseid(
    web: TestClient, provider: Provider
) -> None:
    assert web.get("/auth/authorize?response_type=code").status_code == 400


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ({"id_token": {"nonce": "another-session"}}, "nonce"),
        ({"id_token": {"aud": "another-client"}}, "InvalidAudienceError"),
        ({"id_token": {"aud": [CLIENT_ID, "another-client"]}}, "azp"),
        ({"id_token": {"iss": "https://elsewhere.example"}}, "InvalidIssuerError"),
        ({"id_token": {"exp": int(time.time()) - 600}}, "ExpiredSignatureError"),
        ({"sign_with": "rogue"}, "unknown key"),
        ({"sign_with": "forged"}, "InvalidSignatureError"),
        ({"drop": ("nonce",)}, "nonce"),
        ({"token_error": (400, {"error": "invalid_grant"})}, "invalid_grant"),
    ],
)
def test_a_token_that_does_not_hold_is_refused(
    web: TestClient,
    provider: Provider,
    caplog: pytest.LogCaptureFixture,
    behaviour: dict[str, Any],
    reason: str,
) -> None:
    for name, value in behaviour.items():
        setattr(provider.behaviour, name, value)
    with caplog.at_level(logging.WARNING, logger="fellesjournal.web.signin"):
        page = web.get(through_provider(web))
    assert page.status_code == 400
    assert "Innloggingen kunne ikke fullføres" in page.text  # nb: the default
    assert "Traceback" not in page.text
    assert reason in caplog.text  # the technical reason is in the server's log
    assert signed_out(web)


@pytest.mark.parametrize(
    ("behaviour", "shown"),
    [
        ({"drop": (HPR_CLAIM,)}, "oppgir ikke noe HPR-nummer"),
        ({"claims": {HPR_CLAIM: GP, LEVEL_CLAIM: "3"}}, "for lavt sikkerhetsnivå"),
        ({"drop": (LEVEL_CLAIM,)}, "for lavt sikkerhetsnivå"),
        ({"claims": {HPR_CLAIM: NOT_STAFF, LEVEL_CLAIM: "4"}}, "personalkatalog"),
    ],
)
def test_who_may_not_use_the_workspace_is_told_why(
    web: TestClient, provider: Provider, behaviour: dict[str, Any], shown: str
) -> None:
    for name, value in behaviour.items():
        setattr(provider.behaviour, name, value)
    page = web.get(through_provider(web))
    assert page.status_code == 403
    assert shown in page.text
    assert signed_out(web)


def test_a_failing_token_endpoint_is_a_502_page(web: TestClient, provider: Provider) -> None:
    provider.behaviour.token_error = (503, {"error": "temporarily_unavailable"})
    page = web.get(through_provider(web))
    assert page.status_code == 502
    assert "Innloggingstjenesten svarte ikke" in page.text
    assert signed_out(web)


def test_a_forged_state_or_a_cancelled_sign_in_is_refused(
    web: TestClient, provider: Provider
) -> None:
    before = provider.token_requests
    back = through_provider(web)
    forged = back.replace("state=", "state=forged")
    assert web.get(forged).status_code == 400
    state = parse_qs(urlsplit(through_provider(web)).query)["state"][0]
    cancelled = web.get(f"/signin/callback?error=access_denied&state={state}")
    assert cancelled.status_code == 400
    assert provider.token_requests == before  # no code was redeemed
    assert signed_out(web)


def test_a_provider_that_is_down_is_a_502_page(
    ws_settings: Settings, key_files: dict[str, Path]
) -> None:
    sock = free_socket()  # bound, never listening: connections are refused
    try:
        settings = helseid_settings(
            ws_settings, f"http://127.0.0.1:{sock.getsockname()[1]}", key_files["jwk"]
        )
        with TestClient(create_app(settings), base_url="https://testserver") as web:
            page = web.get("/signin", follow_redirects=False)
            assert page.status_code == 502
            assert "Innloggingstjenesten svarte ikke" in page.text
            assert signed_out(web)
    finally:
        sock.close()


def test_without_par_the_parameters_go_in_the_url_and_a_pem_key_signs(
    ws_settings: Settings, provider: Provider, key_files: dict[str, Path]
) -> None:
    """The client on its own (no workspace): discovery without a PAR endpoint, a PEM
    key, the browser's trip, and the redeemed code naming the HPR-nummer."""
    provider.behaviour.par = False
    issuer = helseid.ExternalIssuer(
        helseid_settings(ws_settings, provider.base_url, key_files["pem"])
    )
    req = oidc.SignInRequest.new()
    location = _run(issuer.authorize_url(req))
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge"] == [req.challenge]
    assert query["code_challenge_method"] == ["S256"]
    assert query["nonce"] == [req.nonce] and query["state"] == [req.state]
    assert HPR_CLAIM.replace("claims", "scopes") in query["scope"][0]
    back = parse_qs(urlsplit(httpx.get(location).headers["location"]).query)
    hpr = _run(issuer.redeem(back["code"][0], req, iss=back["iss"][0]))
    assert hpr == GP
    # the code is used once; a callback naming another issuer is refused before it
    with pytest.raises(oidc.SignInError, match="invalid_grant"):
        _run(issuer.redeem(back["code"][0], req, iss=back["iss"][0]))
    with pytest.raises(oidc.SignInError, match="issuer"):
        _run(issuer.redeem(back["code"][0], req, iss="https://mix-up.example"))
    assert provider.assertions[-1]["endpoint"] == "/connect/token"


def test_the_settings_ask_for_a_complete_and_secure_client(
    ws_settings: Settings, key_files: dict[str, Path]
) -> None:
    with pytest.raises(ValidationError, match="https"):
        helseid_settings(ws_settings, "http://helseid-sts.nhn.no", key_files["jwk"])
    with pytest.raises(ValidationError, match="CLIENT_ID"):
        Settings(oidc_issuer="https://helseid-sts.test.nhn.no")
    with pytest.raises(ValidationError, match="openid"):
        Settings(
            oidc_issuer="https://helseid-sts.test.nhn.no",
            oidc_client_id=CLIENT_ID,
            oidc_client_key_file=key_files["jwk"],
            oidc_scopes="profile",
        )
    assert Settings().oidc_min_security_level == 4


def test_a_public_key_is_no_client_key(tmp_path: Path, client_key: Any) -> None:
    jwk = json.loads(RSAAlgorithm.to_jwk(client_key.public_key()))
    (tmp_path / "public.jwk").write_text(json.dumps(jwk))
    with pytest.raises(ValueError, match="no private key"):
        helseid.ClientKey.load(tmp_path / "public.jwk")
