"""Every disclosure and every denial is in the patient's audit log, and the log verifies.

Read with ``fellesjournal.audit.log.events_for_patient`` in a snapshot, as the citizen's
``AuditEvent?patient=`` does. (Every scenario of the matrix checks its own events too:
``paths.View.audit``.)
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.audit import events as ev
from fellesjournal.audit import log
from fellesjournal.audit.verify import verify
from fellesjournal.store.sql import SqlStore
from tests.access_matrix.paths import check_view
from tests.access_matrix.world import Caller, World
from tests.conftest import settle_audit


def patient_events(world: World, patient_id: str, count: int = 5) -> list[dict[str, Any]]:
    settle_audit(world.repo.store)
    with world.repo.reading() as tx:
        return log.events_for_patient(tx, patient_id, count=count)


def events_after(world: World, seq: int) -> list[log.AuditRecord]:
    settle_audit(world.repo.store)
    with world.repo.reading() as tx:
        return list(log.iter_events(tx, after_seq=seq))


def head(world: World) -> int:
    settle_audit(world.repo.store)
    with world.repo.reading() as tx:
        return log.head(tx)[0]


def get(http: TestClient, caller: Caller, path: str) -> Any:
    return http.get(f"/fhir/{path}", headers=caller.headers())


def detail(event: dict[str, Any], url: str) -> Any:
    for ext in event.get("extension") or ():
        if ext["url"] == ev.CARE_RELATION_EXTENSION:
            for sub in ext["extension"]:
                if sub["url"] == url:
                    return next(v for k, v in sub.items() if k.startswith("value"))
    return None


#: (caller, record, path, status, outcome): each request is one event about the patient
REQUESTS = [
    ("doc", "audit", "{patient}", 200, "0"),
    ("doc", "audit", "{obs}", 200, "0"),
    ("doc", "audit", "{obs}/_history/1", 200, "0"),
    ("doc", "audit", "{psy}", 404, "4"),  # the label
    ("doc", "audit", "{patient}/_history", 200, "0"),
    ("doc", "audit", "Observation?subject={patient}", 200, "0"),
    ("doc", "audit", "{patient}/$everything", 200, "0"),
    ("doc", "none", "{patient}", 404, "4"),  # no relation
    ("doc", "none", "{obs}/_history/1", 404, "4"),
    ("doc", "none", "{patient}/$everything", 404, "4"),
    ("doc", "blk-unit", "{patient}", 404, "4"),  # a block
    ("doc", "blk1-person", "{obs}", 404, "4"),  # a block of one resource
    ("nurse", "audit", "{cond}", 200, "0"),
    ("doc", "none", "{patient}/$access-explain", 200, "4"),
    ("doc", "audit", "{patient}/$access-explain", 200, "0"),
]


@pytest.mark.parametrize(
    ("caller", "record", "path", "status", "outcome"),
    REQUESTS,
    ids=[f"{c}-{r}-{p}" for c, r, p, *_ in REQUESTS],
)
def test_each_access_is_one_event_about_the_patient(
    http: TestClient,
    world: World,
    caller: str,
    record: str,
    path: str,
    status: int,
    outcome: str,
) -> None:
    rec = world.records[record]
    who = world.caller(caller)
    names = {"patient": rec.patient, **{n: r for n, r in rec.refs.items() if n != "patient"}}
    seq = head(world)
    resp = get(http, who, path.format(**names))
    assert resp.status_code == status, resp.text
    news = [r for r in events_after(world, seq) if r.patient_id == rec.patient_id]
    assert len(news) == 1, [r.event() for r in news]
    event = news[0].event()
    assert event["outcome"] == outcome
    assert event["agent"][0]["who"]["reference"] == who.agent
    assert event["agent"][0]["who"]["identifier"]["value"] == world.staff[caller].hpr
    assert patient_events(world, rec.patient_id, 1)[0]["id"] == event["id"]
    if outcome == ev.DENIED:
        assert event.get("outcomeDesc")


def test_a_disclosure_carries_its_basis(http: TestClient, world: World) -> None:
    rec = world.records["audit"]
    doc = world.caller("doc")
    assert get(http, doc, rec["obs"]).status_code == 200
    event = patient_events(world, rec.patient_id, 1)[0]
    assert ev.basis_of(event) == "encounter-in-progress"
    assert detail(event, "decision-ref-user-selected") is False
    assert "encounter-in-progress" in detail(event, "decision-ref-description")
    assert event["purposeOfEvent"][0]["coding"][0]["code"] == "TREAT"
    assert {"reference": f"{rec['obs']}/_history/1"} in [e.get("what") for e in event["entity"]]


def test_a_disclosure_names_the_resource_that_grants_it(http: TestClient, world: World) -> None:
    rec = world.records["audit"]
    assert get(http, world.caller("doc"), rec["obs"]).status_code == 200
    event = patient_events(world, rec.patient_id, 1)[0]
    assert detail(event, "decision-ref-id") == rec["enc"]


def test_a_search_names_what_it_showed_and_what_was_asked(http: TestClient, world: World) -> None:
    rec = world.records["audit"]
    assert get(http, world.caller("doc"), f"Observation?subject={rec.patient}").status_code == 200
    event = patient_events(world, rec.patient_id, 1)[0]
    shown = {e["what"]["reference"].split("/_history")[0] for e in event["entity"] if "what" in e}
    assert shown == {rec.patient, rec["obs"], rec["obs2"]}  # not the PSY Observation
    query = next(e["query"] for e in event["entity"] if "query" in e)
    assert rec.patient_id in base64.b64decode(query).decode()


def test_an_empty_search_is_logged_without_a_patient(http: TestClient, world: World) -> None:
    """A search that shows nothing names no patient (it would tell the log reader that
    the record exists); the event still records who asked what."""
    rec = world.records["none"]
    seq = head(world)
    resp = get(http, world.caller("doc"), f"Observation?subject={rec.patient}")
    assert resp.status_code == 200 and not resp.json().get("entry")
    (record,) = events_after(world, seq)
    assert record.patient_id is None and record.outcome == "0"
    query = next(e["query"] for e in record.event()["entity"] if "query" in e)
    assert rec.patient_id in base64.b64decode(query).decode()


def test_a_type_the_role_does_not_read_is_refused_by_type(http: TestClient, world: World) -> None:
    """Refused before the store is asked: the event names the type, not the record
    (so it is not in the patient's log)."""
    rec = world.records["audit"]
    seq = head(world)
    assert get(http, world.caller("secretary"), rec["obs"]).status_code == 404
    (record,) = events_after(world, seq)
    event = record.event()
    assert record.outcome == ev.DENIED and record.patient_id is None
    assert [e["what"]["reference"] for e in event["entity"]] == ["Observation"]


def test_the_log_verifies_after_the_matrix(http: TestClient, world: World, store: SqlStore) -> None:
    """Whatever of the matrix ran before on this worker (the package's teardown verifies
    again after all of it), and the citizen's view of the record at the end."""
    rec = world.records["audit"]
    check_view(http, world, world.citizen("audit"), rec, rec.all())
    result = verify(store)
    assert result.ok, result.summary
    assert result.last_seq == head(world)
