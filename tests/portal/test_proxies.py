"""Fullmakt: given and revoked on the portal, used by the proxy through the choice of
whose record, stopped on the proxy's next request once revoked; CSRF on every POST."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tests.portal.conftest import People, Person, csrf_of, sign_in


@pytest.fixture(scope="module")
def pair(people: People) -> tuple[Person, Person]:
    """(grantor, proxy): two adults other than the richest patient."""
    rich = people.richest()
    adults = [p for p in people.adults() if p.patient_id != rich.patient_id]
    return adults[2], adults[3]


@pytest.fixture
def proxy_client(portal_app: object) -> Iterator[TestClient]:
    with TestClient(portal_app, base_url="https://testserver") as c:  # type: ignore[arg-type]
        yield c


def _give(visitor: TestClient, fnr: str, name: str, level: str) -> object:
    form = visitor.get("/portal/proxies/new")
    assert form.status_code == 200
    for code in ("full", "standard", "read-only", "communicate"):
        assert f'value="{code}"' in form.text
    return visitor.post(
        "/portal/proxies/new",
        data={"csrf": csrf_of(form.text), "fnr": fnr, "name": name, "level": level},
        follow_redirects=False,
    )


def test_give_use_and_revoke(
    visitor: TestClient, proxy_client: TestClient, pair: tuple[Person, Person]
) -> None:
    grantor, proxy = pair
    sign_in(visitor, grantor.fnr)
    given = _give(visitor, proxy.fnr, proxy.name, "read-only")
    assert given.status_code == 303, given.text  # type: ignore[attr-defined]
    listing = visitor.get("/portal/proxies")
    assert proxy.name in listing.text
    revoke_link = re.search(r'href="(/portal/proxies/[^"/]+/revoke)"', listing.text)
    assert revoke_link is not None

    # The proxy chooses the grantor's record and reads it; no changes offered.
    choice = sign_in(proxy_client, proxy.fnr)
    assert choice.status_code == 200
    assert grantor.name in choice.text
    chosen = proxy_client.post(
        "/portal/acting-for",
        data={"csrf": csrf_of(choice.text), "patient_id": grantor.patient_id},
    )
    assert chosen.status_code == 200
    assert "/portal/record" in chosen.text
    assert 'href="/portal/messages"' not in chosen.text  # read-only: no act
    assert 'href="/portal/proxies"' not in chosen.text
    assert proxy_client.get("/portal/record").status_code == 200
    assert proxy_client.get("/portal/proxies").status_code == 403

    # Revoked: the proxy's next request ends their session.
    confirm = visitor.get(revoke_link.group(1))
    assert confirm.status_code == 200
    done = visitor.post(
        revoke_link.group(1), data={"csrf": csrf_of(confirm.text)}, follow_redirects=False
    )
    assert done.status_code == 303
    stopped = proxy_client.get("/portal/record", follow_redirects=False)
    assert stopped.status_code == 303
    assert stopped.headers["location"] == "/portal/signin"


def test_grant_is_checked(visitor: TestClient, pair: tuple[Person, Person], people: People) -> None:
    grantor, _proxy = pair
    sign_in(visitor, grantor.fnr)
    to_self = _give(visitor, grantor.fnr, grantor.name, "full")
    assert to_self.status_code == 400  # type: ignore[attr-defined]
    child = people.child()
    to_child = _give(visitor, child.fnr, child.name, "full")
    assert to_child.status_code == 400  # type: ignore[attr-defined]
    no_level = _give(visitor, _proxy.fnr, _proxy.name, "everything")
    assert no_level.status_code == 400  # type: ignore[attr-defined]
    assert 'aria-invalid="true"' in no_level.text or "level-error" in no_level.text  # type: ignore[attr-defined]


POSTS = [
    ("/portal/acting-for", {"patient_id": "x"}),
    ("/portal/signout", {}),
    ("/portal/language", {"locale": "nn"}),
    ("/portal/proxies/new", {"fnr": "x", "name": "x", "level": "full"}),
    ("/portal/proxies/any/revoke", {}),
]


@pytest.mark.parametrize(("path", "data"), POSTS, ids=[p for p, _ in POSTS])
def test_every_post_needs_the_csrf_token(
    visitor: TestClient, pair: tuple[Person, Person], path: str, data: dict[str, str]
) -> None:
    sign_in(visitor, pair[0].fnr)
    for token in (None, "forged"):
        sent = {**data, **({"csrf": token} if token else {})}
        answer = visitor.post(path, data=sent, follow_redirects=False)
        assert answer.status_code in (403, 404), (path, answer.status_code)
    assert visitor.get("/portal", follow_redirects=False).status_code == 200
