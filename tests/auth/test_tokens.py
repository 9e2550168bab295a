"""Built-in issuer, token verification, bearer header parsing and SMART discovery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from fellesjournal.auth.issuer import KEY_FILE_NAME, jwk_thumbprint
from fellesjournal.auth.tokens import (
    BuiltinIssuer,
    Claims,
    TokenVerifier,
    bearer_token,
    issue_system_token,
    issue_token,
    parse_trusted_issuers,
    smart_configuration,
)
from fellesjournal.fhir.errors import FhirError
from fellesjournal.settings import Settings

BASE = "http://fj.test:8000"
OTHER_ISSUER = "https://idp.example/realms/test"


def make_settings(data_dir: Path, **kwargs: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "base_url": BASE,
        "issuer_enabled": True,
        "trusted_issuers": "",
        "token_audience": "fellesjournal",
    }
    values.update(kwargs)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "nested" / "var")


@pytest.fixture
def issuer(settings: Settings) -> BuiltinIssuer:
    return BuiltinIssuer.from_settings(settings)


@pytest.fixture
def verifier(settings: Settings) -> TokenVerifier:
    return TokenVerifier.from_settings(settings)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(obj: dict[str, Any]) -> str:
    return b64(json.dumps(obj).encode())


def payload(issuer: str = BASE + "/auth", **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    out: dict[str, Any] = {
        "iss": issuer,
        "sub": "alice",
        "aud": "fellesjournal",
        "iat": now,
        "exp": now + 600,
        "scope": "user/*.*",
    }
    out.update(overrides)
    return out


def rejected(verifier: TokenVerifier, token: str) -> FhirError:
    with pytest.raises(FhirError) as info:
        verifier.verify(token)
    err = info.value
    assert err.status == 401
    assert err.headers == {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    assert err.issues[0].code == "login"
    return err


# --------------------------------------------------------------------------- issuer


def test_round_trip_system_token(settings: Settings, verifier: TokenVerifier) -> None:
    claims = verifier.verify(issue_system_token(settings))
    assert isinstance(claims, Claims)
    assert claims.subject == "system"
    assert claims.issuer == BASE + "/auth"
    assert claims.scopes == ("system/*.*",)
    assert claims.raw["fhir_actor"] == "system"
    assert claims.raw["aud"] == "fellesjournal"
    assert claims.raw["jti"]
    assert abs(claims.expires_at - (time.time() + 3600)) < 5


def test_generic_issue_token(settings: Settings, verifier: TokenVerifier) -> None:
    token = issue_token(settings, "Practitioner/123", {"scope": "user/*.* openid"}, ttl=60)
    claims = verifier.verify(token)
    assert claims.subject == "Practitioner/123"
    assert claims.scopes == ("user/*.*", "openid")
    assert claims.get("fhir_actor") is None
    assert claims.expires_at - claims.raw["iat"] == 60
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["kid"] == BuiltinIssuer.from_settings(settings).kid


def test_claims_are_read_only(settings: Settings, verifier: TokenVerifier) -> None:
    claims = verifier.verify(issue_system_token(settings))
    with pytest.raises(TypeError):
        claims.raw["sub"] = "mallory"  # type: ignore[index]


def test_issue_refuses_registered_claims_and_bad_ttl(issuer: BuiltinIssuer) -> None:
    with pytest.raises(ValueError, match="aud"):
        issuer.issue("alice", {"aud": "elsewhere"})
    with pytest.raises(ValueError, match="ttl"):
        issuer.issue("alice", {}, ttl=0)
    with pytest.raises(ValueError, match="subject"):
        issuer.issue("", {})


def test_key_file_persisted_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "does" / "not" / "exist"
    first = BuiltinIssuer.from_settings(make_settings(data_dir))
    key_file = data_dir / KEY_FILE_NAME
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    pem = key_file.read_bytes()
    assert b"PRIVATE KEY" in pem

    second = BuiltinIssuer.from_settings(make_settings(data_dir))
    assert second.kid == first.kid
    assert key_file.read_bytes() == pem
    assert list(data_dir.iterdir()) == [key_file]  # no temporary files left behind
    token = first.issue("alice", {"scope": "user/*.*"})
    assert TokenVerifier.from_settings(make_settings(data_dir)).verify(token).subject == "alice"


def test_jwks_document(issuer: BuiltinIssuer) -> None:
    doc = issuer.jwks()
    assert len(doc["keys"]) == 1
    key = doc["keys"][0]
    assert set(key) == {"kty", "n", "e", "kid", "use", "alg"}  # nothing private
    assert key["kid"] == issuer.kid == jwk_thumbprint(key)
    assert (key["kty"], key["use"], key["alg"]) == ("RSA", "sig", "RS256")
    assert jwt.PyJWKSet.from_dict(doc)[issuer.kid].key_id == issuer.kid


def test_thumbprint_matches_rfc7638_example() -> None:
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6"
        "tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65"
        "YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdk"
        "t-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


# --------------------------------------------------------------------------- rejections


def test_expired(issuer: BuiltinIssuer, verifier: TokenVerifier) -> None:
    now = int(time.time())
    err = rejected(verifier, issuer.sign(payload(iat=now - 700, exp=now - 100)))
    assert err.issues[0].diagnostics == "token expired"


def test_expiry_leeway(issuer: BuiltinIssuer, verifier: TokenVerifier) -> None:
    now = int(time.time())
    assert verifier.verify(issuer.sign(payload(iat=now - 700, exp=now - 5))).subject == "alice"


def test_not_yet_valid(issuer: BuiltinIssuer, verifier: TokenVerifier) -> None:
    now = int(time.time())
    err = rejected(verifier, issuer.sign(payload(nbf=now + 300)))
    assert err.issues[0].diagnostics == "token not yet valid"


def test_wrong_audience(issuer: BuiltinIssuer, verifier: TokenVerifier) -> None:
    err = rejected(verifier, issuer.sign(payload(aud="someone-else")))
    assert err.issues[0].diagnostics == "wrong audience"
    no_aud = payload()
    del no_aud["aud"]
    assert rejected(verifier, issuer.sign(no_aud)).issues[0].diagnostics == "missing claim: aud"


def test_missing_subject(issuer: BuiltinIssuer, verifier: TokenVerifier) -> None:
    body = payload()
    del body["sub"]
    assert rejected(verifier, issuer.sign(body)).issues[0].diagnostics == "missing claim: sub"


def test_tampered_signature(settings: Settings, verifier: TokenVerifier) -> None:
    token = issue_system_token(settings)
    head, body, sig = token.split(".")
    mid = len(sig) // 2
    flipped = sig[:mid] + ("A" if sig[mid] != "A" else "B") + sig[mid + 1 :]
    err = rejected(verifier, f"{head}.{body}.{flipped}")
    assert err.issues[0].diagnostics == "invalid signature"


def test_tampered_payload(settings: Settings, verifier: TokenVerifier) -> None:
    head, _, sig = issue_token(settings, "alice", {"scope": "user/*.*"}).split(".")
    forged = b64json(payload(sub="alice", scope="system/*.*"))
    assert rejected(verifier, f"{head}.{forged}.{sig}").issues[0].diagnostics == (
        "invalid signature"
    )


def test_unknown_issuer(issuer: BuiltinIssuer, verifier: TokenVerifier) -> None:
    err = rejected(verifier, issuer.sign(payload(issuer="https://evil.example/auth")))
    assert err.issues[0].diagnostics == "unknown issuer"


def test_foreign_key_with_builtin_issuer(tmp_path: Path, verifier: TokenVerifier) -> None:
    stranger = BuiltinIssuer.from_settings(make_settings(tmp_path / "stranger"))
    err = rejected(verifier, stranger.sign(payload()))
    assert err.issues[0].diagnostics == "signing key not found"  # kid differs
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    no_kid = jwt.encode(payload(), key, algorithm="RS256")
    assert rejected(verifier, no_kid).issues[0].diagnostics == "invalid signature"


def test_alg_none_rejected(issuer: BuiltinIssuer, verifier: TokenVerifier) -> None:
    for alg in ("none", "None", "NONE"):
        head = b64json({"alg": alg, "typ": "JWT", "kid": issuer.kid})
        for token in (f"{head}.{b64json(payload())}.", f"{head}.{b64json(payload())}.AAAA"):
            err = rejected(verifier, token)
            assert "not accepted" in err.issues[0].diagnostics


def test_hs256_with_public_key_rejected(issuer: BuiltinIssuer, verifier: TokenVerifier) -> None:
    public_pem = issuer.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for secret in (public_pem, json.dumps(issuer.jwks()["keys"][0]).encode()):
        head = b64json({"alg": "HS256", "typ": "JWT", "kid": issuer.kid})
        signing_input = f"{head}.{b64json(payload())}"
        sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        err = rejected(verifier, f"{signing_input}.{b64(sig)}")
        assert "not accepted" in err.issues[0].diagnostics


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c.d", "!!!.e30.x", f"{b64(b'[1]')}.e30.x", "eyJ.eyJ.x", "é.é.é"],
)
def test_malformed_token(verifier: TokenVerifier, token: str) -> None:
    assert rejected(verifier, token).issues[0].diagnostics == "malformed token"


def test_oversized_token(verifier: TokenVerifier) -> None:
    assert rejected(verifier, "a" * 20_000).issues[0].diagnostics == "token too long"


# --------------------------------------------------------------------------- header


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_header(header: str | None) -> None:
    with pytest.raises(FhirError) as info:
        bearer_token(header)
    assert info.value.status == 401
    assert info.value.headers == {"WWW-Authenticate": 'Bearer realm="fellesjournal"'}
    assert info.value.issues[0].code == "login"


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer a b", "Token abc", "bearerabc"]
)
def test_malformed_header(header: str) -> None:
    with pytest.raises(FhirError) as info:
        bearer_token(header)
    assert info.value.status == 401
    assert info.value.headers == {"WWW-Authenticate": 'Bearer realm="fellesjournal"'}


def test_bearer_token_extracts() -> None:
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("bearer  abc.def.ghi ") == "abc.def.ghi"


# --------------------------------------------------------------------------- cache


def test_cache_hit_speed(settings: Settings, verifier: TokenVerifier) -> None:
    token = issue_system_token(settings)
    first = verifier.verify(token)
    started = time.perf_counter()
    for _ in range(10_000):
        claims = verifier.verify(token)
    elapsed = time.perf_counter() - started
    assert claims is first
    assert elapsed < 0.5, f"10,000 cached verifications took {elapsed:.3f} s"


def test_cache_expires_with_token(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [time.time()]
    verifier = TokenVerifier.from_settings(settings, clock=lambda: now[0])
    cold_calls = []
    cold = verifier._verify_cold

    def counting(token: str, at: float) -> Claims:
        cold_calls.append(token)
        return cold(token, at)

    monkeypatch.setattr(verifier, "_verify_cold", counting)
    token = issue_token(settings, "alice", {}, ttl=60)
    verifier.verify(token)
    verifier.verify(token)
    assert len(cold_calls) == 1
    now[0] += 60 + 31  # past exp plus leeway: the cache no longer vouches for it
    verifier.verify(token)
    assert len(cold_calls) == 2


def test_cache_is_bounded_lru(settings: Settings) -> None:
    verifier = TokenVerifier.from_settings(settings, cache_size=2)
    tokens = [issue_token(settings, f"user{i}", {}) for i in range(3)]
    for token in tokens:
        verifier.verify(token)
    assert list(verifier._cache) == tokens[1:]
    verifier.verify(tokens[1])  # refresh: tokens[2] is now the oldest
    verifier.verify(tokens[0])
    assert list(verifier._cache) == [tokens[1], tokens[0]]


def test_failures_are_not_cached(issuer: BuiltinIssuer, verifier: TokenVerifier) -> None:
    rejected(verifier, issuer.sign(payload(aud="x")))
    assert len(verifier._cache) == 0


# --------------------------------------------------------------------------- trust


def test_disabled_builtin_issuer(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    token = issue_system_token(make_settings(tmp_path / "elsewhere", base_url=BASE))
    verifier = TokenVerifier.from_settings(make_settings(data_dir, issuer_enabled=False))
    assert verifier.issuers == ()
    assert not data_dir.exists()  # no key created when the issuer is off
    assert rejected(verifier, token).issues[0].diagnostics == "unknown issuer"


def test_parse_trusted_issuers() -> None:
    assert parse_trusted_issuers("") == {}
    assert parse_trusted_issuers(
        " https://a.example=https://a.example/jwks?x=1  https://b=http://127.0.0.1:9/k "
    ) == {"https://a.example": "https://a.example/jwks?x=1", "https://b": "http://127.0.0.1:9/k"}
    with pytest.raises(ValueError, match="https"):
        parse_trusted_issuers("https://a=http://a.example/jwks")
    with pytest.raises(ValueError, match="issuer=jwks_url"):
        parse_trusted_issuers("https://a.example")
    with pytest.raises(ValueError, match="https"):
        parse_trusted_issuers("https://a=file:///etc/passwd")


class JwksServer:
    """A JWKS document served on 127.0.0.1 from a background thread."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.raw: bytes | None = None
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                body = outer.raw or json.dumps(outer.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.close()


def public_jwk(key: Any, **extra: Any) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPublicKey) else ECAlgorithm
    jwk: dict[str, Any] = algorithm.to_jwk(key, as_dict=True)
    return {**jwk, "kid": jwk_thumbprint(jwk), "use": "sig", **extra}


def test_trusted_issuer_via_loopback_jwks(
    settings: Settings, tmp_path: Path, jwks_server: JwksServer
) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_jwk = public_jwk(ec_key.public_key())
    rsa_jwk = public_jwk(rsa_key.public_key(), alg="RS256")
    jwks_server.document = {"keys": [ec_jwk, rsa_jwk]}
    trusted = make_settings(settings.data_dir, trusted_issuers=f"{OTHER_ISSUER}={jwks_server.url}")
    verifier = TokenVerifier.from_settings(trusted)
    assert verifier.issuers == (BASE + "/auth", OTHER_ISSUER)

    es = jwt.encode(
        payload(OTHER_ISSUER, sub="bob", scope=["patient/*.*", "launch"]),
        ec_key,
        algorithm="ES256",
        headers={"kid": ec_jwk["kid"]},
    )
    claims = verifier.verify(es)
    assert (claims.subject, claims.issuer, claims.scopes) == (
        "bob",
        OTHER_ISSUER,
        ("patient/*.*", "launch"),
    )
    rs = jwt.encode(
        payload(OTHER_ISSUER, sub="carol"),
        rsa_key,
        algorithm="RS256",
        headers={"kid": rsa_jwk["kid"]},
    )
    assert verifier.verify(rs).subject == "carol"
    assert jwks_server.hits == 1  # the key set is cached
    # The built-in issuer is still trusted alongside.
    assert verifier.verify(issue_system_token(trusted)).subject == "system"

    # Key type must match the header algorithm; kid must be known; kid is required.
    forged = jwt.encode(
        payload(OTHER_ISSUER), ec_key, algorithm="ES256", headers={"kid": rsa_jwk["kid"]}
    )
    assert "does not match" in rejected(verifier, forged).issues[0].diagnostics
    other = ec.generate_private_key(ec.SECP256R1())
    stray = jwt.encode(payload(OTHER_ISSUER), other, algorithm="ES256", headers={"kid": "nope"})
    assert rejected(verifier, stray).issues[0].diagnostics == "signing key not found"
    no_kid = jwt.encode(payload(OTHER_ISSUER), ec_key, algorithm="ES256")
    assert rejected(verifier, no_kid).issues[0].diagnostics == "missing kid"
    wrong_key = jwt.encode(
        payload(OTHER_ISSUER), other, algorithm="ES256", headers={"kid": ec_jwk["kid"]}
    )
    assert rejected(verifier, wrong_key).issues[0].diagnostics == "invalid signature"


def test_hmac_key_in_jwks_never_used(settings: Settings, jwks_server: JwksServer) -> None:
    secret = b"s" * 32
    jwks_server.document = {"keys": [{"kty": "oct", "k": b64(secret), "kid": "h", "alg": "HS256"}]}
    trusted = make_settings(settings.data_dir, trusted_issuers=f"{OTHER_ISSUER}={jwks_server.url}")
    verifier = TokenVerifier.from_settings(trusted)
    token = jwt.encode(payload(OTHER_ISSUER), secret, algorithm="HS256", headers={"kid": "h"})
    assert "not accepted" in rejected(verifier, token).issues[0].diagnostics
    # Even when the header claims RS256, an oct key is refused before any signature check.
    head = b64json({"alg": "RS256", "kid": "h"})
    body = b64json(payload(OTHER_ISSUER))
    sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    rejected(verifier, f"{head}.{body}.{b64(sig)}")


def test_jwks_unreachable_is_503(settings: Settings, jwks_server: JwksServer) -> None:
    url = jwks_server.url
    jwks_server.close()
    trusted = make_settings(settings.data_dir, trusted_issuers=f"{OTHER_ISSUER}={url}")
    verifier = TokenVerifier.from_settings(trusted)
    key = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(payload(OTHER_ISSUER), key, algorithm="ES256", headers={"kid": "k"})
    with pytest.raises(FhirError) as info:
        verifier.verify(token)
    assert info.value.status == 503
    assert info.value.issues[0].code == "transient"


def test_jwks_not_json_is_503(settings: Settings, jwks_server: JwksServer) -> None:
    jwks_server.raw = b"<html>maintenance</html>"
    trusted = make_settings(settings.data_dir, trusted_issuers=f"{OTHER_ISSUER}={jwks_server.url}")
    key = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(payload(OTHER_ISSUER), key, algorithm="ES256", headers={"kid": "k"})
    with pytest.raises(FhirError) as info:
        TokenVerifier.from_settings(trusted).verify(token)
    assert info.value.status == 503


# --------------------------------------------------------------------------- SMART


def test_smart_configuration(settings: Settings, issuer: BuiltinIssuer) -> None:
    doc = smart_configuration(settings)
    iss = BASE + "/auth"
    assert doc["issuer"] == iss == issuer.issuer
    assert doc["jwks_uri"] == iss + "/jwks"
    assert doc["authorization_endpoint"].startswith(iss + "/")
    assert doc["token_endpoint"].startswith(iss + "/")
    assert "client_credentials" in doc["grant_types_supported"]
    assert doc["code_challenge_methods_supported"] == ["S256"]  # never "plain"
    assert doc["scopes_supported"] == [
        "system/*.*",
        "user/*.*",
        "patient/*.*",
        "openid",
        "fhirUser",
        "launch",
    ]
    assert "code" in doc["response_types_supported"]
    caps = set(doc["capabilities"])
    assert {"client-confidential-asymmetric", "sso-openid-connect"} <= caps
    assert not caps & {"client-public", "client-confidential-symmetric", "permission-offline"}
    json.dumps(doc)  # serialisable as is


def test_smart_configuration_without_builtin_issuer(tmp_path: Path) -> None:
    with pytest.raises(FhirError) as info:
        smart_configuration(make_settings(tmp_path, issuer_enabled=False))
    assert info.value.status == 404
