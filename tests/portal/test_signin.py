"""Signing in to the portal: the built-in ID-porten, the age limit, whose record,
signing out, the language."""

from __future__ import annotations

import datetime
import re

from starlette.testclient import TestClient

from fellesjournal.portal.signin import old_enough
from tests.mpi.people import fresh_fnr
from tests.portal.conftest import People, csrf_of, hidden_fields, sign_in


def test_signed_out_pages_go_to_sign_in(visitor: TestClient) -> None:
    for path in ("/portal", "/portal/record", "/portal/documents", "/portal/results"):
        answer = visitor.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/portal/signin"


def test_sign_in_shows_own_record(visitor: TestClient, people: People) -> None:
    adult = people.richest()
    start = sign_in(visitor, adult.fnr)
    assert start.status_code == 200, start.text
    assert str(start.url).endswith("/portal")
    assert adult.name in start.text
    assert start.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in start.headers["content-security-policy"]


def test_the_issuer_asks_for_level_high_with_pkce(visitor: TestClient) -> None:
    start = visitor.get("/portal/signin", follow_redirects=False)
    location = start.headers["location"]
    assert location.startswith("/auth/idporten/authorize?")
    assert "acr_values=idporten-loa-high" in location
    assert "code_challenge_method=S256" in location
    assert "client_id=fellesjournal-portal" in location


def test_issuer_refuses_other_clients(visitor: TestClient) -> None:
    answer = visitor.get(
        "/auth/idporten/authorize?response_type=code&client_id=fellesjournal-workspace"
        "&redirect_uri=https://testserver/portal/signin/callback&state=s&nonce=n"
        "&code_challenge=c&code_challenge_method=S256"
    )
    assert answer.status_code == 400


def test_invalid_number_is_refused_on_the_issuer_page(visitor: TestClient) -> None:
    start = visitor.get("/portal/signin", follow_redirects=False)
    page = visitor.get(start.headers["location"])
    form = re.search(r'class="stack fnr">(.*?)</form>', page.text, re.S)
    assert form is not None
    data = {**hidden_fields(form.group(1)), "fnr": "12345678901"}
    answer = visitor.post("/auth/idporten/authorize", data=data, follow_redirects=False)
    assert answer.status_code == 400
    assert 'aria-invalid="true"' in answer.text


def test_under_16_is_refused(visitor: TestClient, people: People) -> None:
    child = people.child()
    answer = sign_in(visitor, child.fnr)
    assert answer.status_code == 403
    assert visitor.get("/portal", follow_redirects=False).headers["location"] == "/portal/signin"


def test_age_limit_counts_from_the_birthday() -> None:
    fnr = fresh_fnr("1990-05-17")
    assert not old_enough(fnr, today=datetime.date(2006, 5, 16))
    assert old_enough(fnr, today=datetime.date(2006, 5, 17))
    assert not old_enough("12345678901")


def test_forged_callback_fails(visitor: TestClient) -> None:
    answer = visitor.get("/portal/signin/callback?state=forged&code=forged")
    assert answer.status_code == 400


def test_sign_out(visitor: TestClient, people: People) -> None:
    start = sign_in(visitor, people.richest().fnr)
    token = csrf_of(start.text)
    out = visitor.post("/portal/signout", data={"csrf": token})
    assert out.status_code == 200
    assert visitor.get("/portal", follow_redirects=False).status_code == 303


def test_language_switch(visitor: TestClient, people: People) -> None:
    start = sign_in(visitor, people.richest().fnr)
    answer = visitor.post(
        "/portal/language",
        data={"csrf": csrf_of(start.text), "locale": "nn", "back": "/portal/record"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/portal/record"
    assert 'lang="nn"' in visitor.get("/portal/record").text


def test_sign_in_is_audited(visitor: TestClient, people: People) -> None:
    adult = people.adults()[1]
    sign_in(visitor, adult.fnr)
    events = people.audit(adult)
    assert any(any(s.get("code") == "110122" for s in e.get("subtype") or ()) for e in events)
