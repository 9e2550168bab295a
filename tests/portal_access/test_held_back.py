"""The held-back notices (``service/held_back.py``): documents withheld under NORN_EPO,
NORU or NORN_FOR are named by date and type, never those whose existence is hidden, and
only to someone who reads the record."""

from __future__ import annotations

from typing import Any

import pytest

from fellesjournal.access import proxy, release
from fellesjournal.access.actor import actor_from_claims
from fellesjournal.access.resolve import ContextResolver
from fellesjournal.service.context import RequestContext
from fellesjournal.service.held_back import held_back
from fellesjournal.service.repository import GuardedRepository
from tests.portal_access.conftest import Person, World, document


def _repo(world: World, fnr: str, on_behalf: Person | None = None) -> GuardedRepository:
    """A guarded repository as the portal makes one for a citizen's page."""
    claims: dict[str, Any] = {"sub": fnr, "fhir_actor": "patient", "scope": "patient/*.*"}
    if on_behalf is not None:
        claims[proxy.ON_BEHALF_CLAIM] = on_behalf.ref
    actor = ContextResolver(world.store, world.settings).resolve(
        actor_from_claims(claims, ("patient/*.*",))
    )
    return GuardedRepository(world.store, world.settings, RequestContext(actor=actor))


@pytest.fixture(scope="module")
def child(world: World) -> tuple[Person, dict[str, str], str, str]:
    """A child under 12 with one document per 9603 code (and one under two codes), a
    parent and a proxy who may only communicate."""
    kid = world.person(9, given="Ola")
    docs = {
        code: world.add(document(kid, "11506-3", security=[code], hours_ago=72))
        for code in sorted(release.WITHHOLD_CODES)
    }
    docs["NORN_EPO+NORN_FFL"] = world.add(
        document(kid, "18842-5", security=["NORN_EPO", "NORN_FFL"])
    )
    docs["NORU+NORN_FORANS"] = world.add(document(kid, "18842-5", security=["NORU", "NORN_FORANS"]))
    parent = world.adult_number(40)
    world.representation(kid, parent, "parent")
    talker = world.adult_number(50)
    world.representation(kid, talker, "communicate")
    return kid, docs, parent, talker


def test_revealed_codes_are_noticed(world: World, child: Any) -> None:
    kid, docs, _parent, _talker = child
    notices = held_back(_repo(world, kid.fnr))
    codes = sorted(n.code for n in notices)
    assert codes == ["NORN_EPO", "NORN_FOR", "NORU", "NORU"]
    for n in notices:
        assert n.reason == release.WITHHOLD_CODES[n.code]
        assert n.title.startswith("Type ")
        assert n.date
    # Nothing of the content, and the documents themselves stay hidden.
    client = world.citizen(kid.fnr)
    for code in ("NORN_EPO", "NORN_FOR", "NORU", "NORN_FFL"):
        assert client.get(f"/fhir/{docs[code]}").status_code == 404


def test_parents_and_proxies(world: World, child: Any) -> None:
    kid, _docs, parent, talker = child
    by_parent = sorted(n.code for n in held_back(_repo(world, parent, kid)))
    # The one withheld from parents too is not named to them.
    assert by_parent == ["NORN_EPO", "NORN_FOR", "NORU"]
    assert held_back(_repo(world, talker, kid)) == []


def test_nothing_for_others(world: World, child: Any) -> None:
    someone = world.person(41, given="Annen")
    assert held_back(_repo(world, someone.fnr)) == []
    assert held_back(world.repo) == []


def test_no_notice_of_a_labelled_document_without_the_capability(world: World) -> None:
    """A standard or read-only proxy does not see labelled documents: not even that a
    "Psykiatrisk notat" is held back."""
    from fellesjournal.access import labels

    p = world.person(44, given="Kjersti")
    doc = document(p, "11506-3", security=["NORN_EPO"], labels=[(labels.ACT_CODE, "PSY")])
    doc["type"]["text"] = "Psykiatrisk notat"
    world.add(doc)
    fnr = world.adult_number()
    world.representation(p, fnr, "standard")
    assert [n.title for n in held_back(_repo(world, p.fnr))] == ["Psykiatrisk notat"]
    assert held_back(_repo(world, fnr, p)) == []
