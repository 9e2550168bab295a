"""Documents released to the citizen (docs/portal.md): by type and delay, never
preliminary, never withheld (Volven 9603; NORN_FORANS from parents only); a read by id,
a search, ``$everything``, ``_include``/``_revinclude`` and history all agree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from fellesjournal.access import labels, release
from tests.portal_access.conftest import Person, World, document, ids

SHOWN_TYPES = sorted(release.DOCUMENT_TYPES)
HIDDEN_TYPES = ("34117-2", "34746-8", "11502-2")  # admission, nursing (PLO), lab report
WITHHOLDING = sorted(set(release.WITHHOLD_CODES) - release.NOT_WITHHOLDING)


@dataclass
class Docs:
    patient: Person
    parent_fnr: str
    shown: set[str]
    hidden: set[str]
    withheld: dict[str, str]  #: 9603 code -> DocumentReference/id
    composition_shown: str
    composition_preliminary: str


@pytest.fixture(scope="module")
def docs(world: World) -> Docs:
    """A child under 12 (so a parent can look too) with a document of every kind."""
    child = world.person(8, given="Emma")
    parent_fnr = world.adult_number(38)
    world.representation(child, parent_fnr, "parent")
    shown = {world.add(document(child, t)) for t in SHOWN_TYPES}
    shown.add(world.add(document(child, "18842-5", signed_hours_ago=30)))
    hidden = {world.add(document(child, t)) for t in HIDDEN_TYPES}
    hidden |= {
        world.add(document(child, "18842-5", hours_ago=23)),  # signed yesterday, < 24 h
        world.add(document(child, "18842-5", signed_hours_ago=2)),  # dated earlier, signed now
        world.add(document(child, "11506-3", doc_status="preliminary")),
        world.add(document(child, "11506-3", status="entered-in-error")),
    }
    withheld = {
        code: world.add(document(child, "11506-3", security=[code]))
        for code in sorted(release.WITHHOLD_CODES)
    }
    comp = {
        "resourceType": "Composition",
        "status": "final",
        "type": {"coding": [{"system": release.LOINC, "code": "18842-5"}]},
        "subject": {"reference": child.ref},
        "date": "2020-01-01T10:00:00+01:00",
        "author": [{"reference": f"Practitioner/{world.practitioner_id}"}],
        "title": "Epikrise",
        "section": [
            {"title": "Vedlegg", "entry": [{"reference": withheld["NORN_FFL"]}]},
        ],
    }
    composition_shown = world.add(comp)
    preliminary = {k: v for k, v in comp.items() if k != "section"}
    composition_preliminary = world.add({**preliminary, "status": "preliminary"})
    return Docs(
        child,
        parent_fnr,
        shown,
        hidden,
        withheld,
        composition_shown,
        composition_preliminary,
    )


def _search(client: Any, path: str, **params: str) -> dict[str, Any]:
    r = client.get(f"/fhir/{path}", params={"_count": "500", **params})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _readable(client: Any, ref: str) -> bool:
    r = client.get(f"/fhir/{ref}")
    assert r.status_code in (200, 404), r.text
    return r.status_code == 200


def _own_client(world: World, docs: Docs) -> Any:
    """The child is too young to sign in; the rules are the same for an adult acting
    for themselves, so their own token is used as the citizen's (the API does not ask
    the age of a patient token's holder)."""
    return world.citizen(docs.patient.fnr)


def test_types_delay_and_status(world: World, docs: Docs) -> None:
    client = _own_client(world, docs)
    found = ids(_search(client, "DocumentReference", patient=docs.patient.ref))
    expected_withheld_visible = {docs.withheld[c] for c in ("N", "NORS", "NORN_FORANS")}
    assert found == docs.shown | expected_withheld_visible
    assert not found & docs.hidden
    comps = ids(_search(client, "Composition", subject=docs.patient.ref))
    assert comps == {docs.composition_shown}


def test_read_by_id_agrees_with_search(world: World, docs: Docs) -> None:
    client = _own_client(world, docs)
    found = ids(_search(client, "DocumentReference", patient=docs.patient.ref))
    every = docs.shown | docs.hidden | set(docs.withheld.values())
    for ref in sorted(every):
        assert _readable(client, ref) == (ref in found), ref
    assert _readable(client, docs.composition_shown)
    assert not _readable(client, docs.composition_preliminary)


@pytest.mark.parametrize("code", sorted(release.WITHHOLD_CODES))
def test_withholding_codes(world: World, docs: Docs, code: str) -> None:
    ref = docs.withheld[code]
    citizen = _own_client(world, docs)
    parent = world.citizen(docs.parent_fnr, docs.patient)
    to_citizen = code in release.NOT_WITHHOLDING or code == release.FROM_PARENTS
    to_parent = code in release.NOT_WITHHOLDING
    assert _readable(citizen, ref) == to_citizen
    assert _readable(parent, ref) == to_parent
    in_search = ids(_search(parent, "DocumentReference", patient=docs.patient.ref))
    assert (ref in in_search) == to_parent


def test_everything_leaves_out_what_is_not_released(world: World, docs: Docs) -> None:
    client = _own_client(world, docs)
    r = client.get(f"/fhir/{docs.patient.ref}/$everything", params={"_count": "1000"})
    assert r.status_code == 200, r.text
    found = ids(r.json())
    assert docs.shown <= found
    assert docs.composition_shown in found
    assert not found & docs.hidden
    assert not found & {docs.withheld[c] for c in WITHHOLDING if c != "NORN_FORANS"}
    assert docs.composition_preliminary not in found
    assert not any(ref.startswith(("Task/", "AuditEvent/", "Provenance/")) for ref in found)
    # A parent's $everything leaves out what is withheld from parents too.
    parent = world.citizen(docs.parent_fnr, docs.patient)
    r = parent.get(f"/fhir/{docs.patient.ref}/$everything", params={"_count": "1000"})
    assert r.status_code == 200, r.text
    assert docs.withheld["NORN_FORANS"] not in ids(r.json())


def test_include_and_revinclude_leave_out_withheld(world: World, docs: Docs) -> None:
    client = _own_client(world, docs)
    bundle = _search(client, "Composition", subject=docs.patient.ref, _include="Composition:entry")
    found = ids(bundle)
    assert docs.composition_shown in found
    assert docs.withheld["NORN_FFL"] not in found
    bundle = _search(
        client,
        "Patient",
        _id=docs.patient.patient_id,
        _revinclude="DocumentReference:subject",
    )
    found = ids(bundle)
    assert docs.patient.ref in found
    assert docs.shown <= found
    assert not found & docs.hidden
    assert docs.withheld["NORN_FFL"] not in found


def test_history_leaves_out_withheld(world: World, docs: Docs) -> None:
    client = _own_client(world, docs)
    ref = docs.withheld["NORN_KUT"]
    assert client.get(f"/fhir/{ref}/_history").status_code == 404
    assert client.get(f"/fhir/{ref}/_history/1").status_code == 404
    bundle = _search(client, "DocumentReference/_history")
    found = ids(bundle)
    assert ref not in found
    assert not found & docs.hidden
    assert docs.shown & found


def test_withheld_later_hides_earlier_versions(world: World, docs: Docs) -> None:
    """A document withheld after it was released: its history goes too (versions are
    judged by the current one)."""
    doc_ref = world.add(document(docs.patient, "11488-4"))
    client = _own_client(world, docs)
    assert _readable(client, doc_ref)
    body = world.read(doc_ref)
    body["meta"] = {"security": [{"system": release.WITHHOLD_SYSTEM, "code": "NORN_FFH"}]}
    world.put(body)
    assert not _readable(client, doc_ref)
    assert client.get(f"/fhir/{doc_ref}/_history/1").status_code == 404
    assert client.get(f"/fhir/{doc_ref}/_history").status_code == 404
    assert doc_ref not in ids(_search(client, "DocumentReference/_history"))
    assert doc_ref not in ids(_search(client, "_history"))


def test_sensitive_labels_are_the_citizens_own(world: World, docs: Docs) -> None:
    """The citizen and a parent of a child under 12 see labelled documents."""
    labelled = world.add(document(docs.patient, "11506-3", labels=[(labels.ACT_CODE, "PSY")]))
    assert _readable(_own_client(world, docs), labelled)
    assert _readable(world.citizen(docs.parent_fnr, docs.patient), labelled)
