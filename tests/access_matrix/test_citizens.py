"""Citizens: their own record, everything in it, on every path; nobody else's. Their
access log: who read their record, from where, on what basis; nobody else's log.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.access import consents
from fellesjournal.audit import events as ev
from tests.access_matrix.paths import entries
from tests.access_matrix.scenarios import CITIZENS, Row, check_row, params
from tests.access_matrix.world import World


@pytest.mark.parametrize("row", params(CITIZENS))
def test_own_record_and_no_other(http: TestClient, world: World, row: Row) -> None:
    """Labelled resources too: what is withheld from citizens is a rule of its own."""
    check_row(http, world, row)


def _log(http: TestClient, world: World, record: str, query: str) -> Any:
    resp = http.get(f"/fhir/AuditEvent{query}", headers=world.citizen(record).headers())
    assert resp.status_code == 200, resp.text
    return resp.json()


def _agents(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The agents by type: ``person`` (the requestor), ``unit``, ``organization``."""
    out = {}
    for agent in event["agent"]:
        code = agent["type"]["coding"][0]["code"]
        out["person" if agent.get("requestor") else code] = agent
    return out


def test_the_access_log_names_who_read_and_why(http: TestClient, world: World) -> None:
    rec = world.records["cit-own"]
    doc = world.staff["doc"]
    read = http.get(f"/fhir/{rec['obs']}", headers=world.caller("doc").headers())
    assert read.status_code == 200

    body = _log(http, world, "cit-own", f"?patient={rec.patient_id}&_count=5")
    events = [res for _ref, _mode, res in entries(body)]
    assert events and body["total"] >= len(events)
    latest = events[0]  # newest first: the doctor's read a moment ago
    agents = _agents(latest)
    person = agents["person"]["who"]
    assert person["reference"] == doc.practitioner
    assert person["display"] == doc.name
    assert person["identifier"]["value"] == doc.hpr
    assert agents["unit"]["who"] == {
        "reference": world.unit_ref("unit"),
        "display": f"Sengepost {world.tag}",
    }
    assert ev.basis_of(latest) == "encounter-in-progress"
    assert latest["outcome"] == "0" and latest["action"] == "R"
    assert any(
        (e.get("what") or {}).get("reference", "").startswith(rec["obs"]) for e in latest["entity"]
    )
    # Without ``patient`` the citizen gets their own log too.
    assert entries(_log(http, world, "cit-own", "?_count=5"))[0][2]["id"] == latest["id"]


def test_the_access_log_names_the_legal_organisation(http: TestClient, world: World) -> None:
    """The health trust (the organisation below the RHF), not the clinic above the ward."""
    rec = world.records["cit-own"]
    read = http.get(f"/fhir/{rec.patient}", headers=world.caller("doc").headers())
    assert read.status_code == 200
    latest = entries(_log(http, world, "cit-own", "?_count=1"))[0][2]
    assert _agents(latest)["organization"]["who"] == {
        "reference": world.unit_ref("trust"),
        "display": f"Matrise HF {world.tag}",
    }


def test_the_access_log_of_another_is_empty(http: TestClient, world: World) -> None:
    other = world.records["cit-other"]
    resp = http.get(f"/fhir/{other.patient}", headers=world.caller("doc").headers())
    assert resp.status_code == 200  # there is something about the other in the log
    body = _log(http, world, "cit-own", f"?patient={other.patient_id}")
    assert body.get("total") == 0 and not body.get("entry")
    body = _log(http, world, "cit-own", f"?patient=Patient/{other.patient_id}")
    assert body.get("total") == 0 and not body.get("entry")


def test_the_access_log_shows_the_citizens_own_searches_as_theirs(
    http: TestClient, world: World
) -> None:
    rec = world.records["cit-own"]
    me = world.citizen("cit-own")
    assert http.get(f"/fhir/Observation?subject={rec.patient}", headers=me.headers()).is_success
    latest = entries(_log(http, world, "cit-own", "?_count=1"))[0][2]
    assert latest["agent"][0]["who"]["reference"] == rec.patient
    assert ev.basis_of(latest) == ev.OWN_RECORD
    query = next(e["query"] for e in latest["entity"] if "query" in e)
    assert rec.patient_id in base64.b64decode(query).decode()


def test_citizens_write_only_their_own_blocks(http: TestClient, world: World) -> None:
    rec, other = world.records["cit-own"], world.records["cit-other"]
    me = world.citizen("cit-own")
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "Egenmåling"},
        "subject": {"reference": rec.patient},
    }
    assert http.post("/fhir/Observation", json=obs, headers=me.headers()).status_code == 403
    foreign = consents.block_consent(other.patient_id, world.staff["nurse"].practitioner)
    resp = http.post("/fhir/Consent", json=foreign, headers=me.headers())
    assert resp.status_code == 403, resp.text
    found = http.get(
        f"/fhir/Consent?patient={other.patient}", headers=world.system().headers()
    ).json()
    assert not found.get("entry")
