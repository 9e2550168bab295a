"""Leaks across records and through conditional writes.

The ``xref`` record (the unit has a relation) holds an Observation ``link`` whose
``hasMember`` and ``derivedFrom`` point at an Observation of ``xref-target``, a record
the unit has no relation with. Following those references — ``_include``, ``_revinclude``,
chains, ``_has``, ``$everything``'s referenced resources — must not bring the target out.
Nor may a conditional create or update tell the caller that a hidden resource matches.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.access_matrix.paths import entries
from tests.access_matrix.scenarios import REFERENCES, Row, check_row, params
from tests.access_matrix.world import CODES, World


def found(http: TestClient, world: World, path: str) -> set[str]:
    resp = http.get(f"/fhir/{path}", headers=world.caller("doc").headers())
    assert resp.status_code == 200, resp.text
    return {ref for ref, _mode, _res in entries(resp.json())}


def paths(world: World) -> list[str]:
    src, dst = world.records["xref"], world.records["xref-target"]
    link, hidden = src["link"], dst["obs"]
    return [
        f"Observation?subject={src.patient}&_include=Observation:has-member",
        f"Observation?subject={src.patient}&_include=Observation:derived-from",
        f"Observation?_id={src.id_of('link')}&_include=*",
        f"Observation?_id={src.id_of('link')}&_include:iterate=Observation:has-member"
        "&_include:iterate=Observation:subject",
        f"Observation?_id={dst.id_of('obs')}&_revinclude=Observation:has-member",
        f"Observation?has-member.code={CODES}|{dst.codes[hidden]}",
        f"Observation?derived-from:Observation.subject={dst.patient}",
        f"Observation?_has:Observation:has-member:code={CODES}|{src.codes[link]}",
        f"Observation?has-member={hidden}",  # matches the link: a reference, not data
        f"{src.patient}/$everything",
        f"{src.patient}/$summary",
        f"Patient?_id={src.patient_id}&_revinclude=Observation:subject"
        "&_include:iterate=Observation:has-member",
    ]


def test_references_into_a_hidden_record(http: TestClient, world: World) -> None:
    src, dst = world.records["xref"], world.records["xref-target"]
    hidden = dst.all()
    leaks = {}
    for path in paths(world):
        seen = found(http, world, path)
        if seen & hidden:
            leaks[path] = sorted(seen & hidden)
    assert not leaks
    # The references themselves are data of the visible record, and the search by them
    # finds the link, not what it points to.
    assert found(http, world, f"Observation?has-member={dst['obs']}") == {src["link"]}
    assert found(http, world, f"Observation?has-member.code={CODES}|{dst.codes[dst['obs']]}") == (
        set()
    )


@pytest.mark.parametrize("row", params(REFERENCES))
def test_both_records_on_every_path(http: TestClient, world: World, row: Row) -> None:
    check_row(http, world, row)


def _observation(patient: str, code: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": CODES, "code": code}]},
        "subject": {"reference": patient},
    }


def _count(http: TestClient, world: World, patient: str, code: str) -> int:
    resp = http.get(
        f"/fhir/Observation?subject={patient}&code={CODES}|{code}&_summary=count",
        headers=world.system().headers(),
    )
    return int(resp.json()["total"])


@pytest.mark.parametrize("how", ["if-none-exist", "conditional-update"])
def test_conditional_writes_do_not_see_hidden_matches(
    http: TestClient, world: World, how: str
) -> None:
    """A condition matching only a resource the caller may not see is no match: the
    write goes on as if nothing matched (and here is refused afterwards, the caller
    having no relation with the patient), never answering with the hidden resource."""
    dst = world.records["xref-target"]
    code = dst.codes[dst["obs"]]
    doc = world.caller("doc")
    body = _observation(dst.patient, code)
    condition = f"code={CODES}|{code}"
    if how == "if-none-exist":
        headers = {**doc.headers(), "If-None-Exist": condition}
        resp = http.post("/fhir/Observation", json=body, headers=headers)
    else:
        resp = http.put(f"/fhir/Observation?{condition}", json=body, headers=doc.headers())
    world.changed()
    assert resp.status_code == 403, resp.text
    assert dst.id_of("obs") not in resp.text
    assert _count(http, world, dst.patient, code) == 1


def test_a_conditional_create_does_not_see_a_labelled_match(http: TestClient, world: World) -> None:
    """In a record the doctor may see: the PSY Observation matching the condition is
    hidden, so a new Observation is created rather than the hidden one answered."""
    src = world.records["xref-psy"]
    code = src.codes[src["psy"]]
    doc = world.caller("doc")
    headers = {**doc.headers(), "If-None-Exist": f"code={CODES}|{code}"}
    resp = http.post("/fhir/Observation", json=_observation(src.patient, code), headers=headers)
    world.changed()
    assert resp.status_code == 201, resp.text
    assert resp.json()["id"] != src.id_of("psy")
    assert _count(http, world, src.patient, code) == 2


def test_a_conditional_delete_of_a_hidden_match_deletes_nothing(
    http: TestClient, world: World
) -> None:
    dst = world.records["xref-target"]
    code = dst.codes[dst["obs2"]]
    resp = http.delete(
        f"/fhir/Observation?code={CODES}|{code}", headers=world.caller("doc").headers()
    )
    world.changed()
    assert resp.status_code in (200, 204), resp.text
    assert _count(http, world, dst.patient, code) == 1


def _history_urls(http: TestClient, world: World, caller: str, path: str) -> set[str]:
    """Every ``Type/id`` a history names, deletions (entries without a resource) too."""
    resp = http.get(
        f"/fhir/{path}",
        params={"_since": world.since, "_count": "1000"},
        headers=world.caller(caller).headers(),
    )
    assert resp.status_code == 200, resp.text
    out = set()
    for entry in resp.json().get("entry") or ():
        url = (entry.get("request") or {}).get("url") or entry.get("fullUrl") or ""
        out.add("/".join(url.split("/fhir/")[-1].split("/")[:2]))
    return out


def test_a_deleted_resource_is_gone_only_to_those_who_saw_it(
    http: TestClient, world: World
) -> None:
    """410 (and its history) to a caller with access; to any other, 404 like a resource
    that never was, and its deletion in no history."""
    rec = world.records["deleted"]
    target = rec["obs2"]
    assert http.delete(f"/fhir/{target}", headers=world.system().headers()).status_code == 204
    world.changed()
    doc, other = world.caller("doc"), world.caller("doc_sibling")
    assert http.get(f"/fhir/{target}", headers=doc.headers()).status_code == 410
    assert http.get(f"/fhir/{target}/_history/2", headers=doc.headers()).status_code == 410
    assert target in _history_urls(http, world, "doc", "Observation/_history")
    for path in (target, f"{target}/_history/1", f"{target}/_history/2", f"{target}/_history"):
        resp = http.get(f"/fhir/{path}", headers=other.headers())
        assert resp.status_code == 404, (path, resp.text)
        assert "etag" not in resp.headers
    for path in ("_history", "Observation/_history"):
        assert target not in _history_urls(http, world, "doc_sibling", path)
