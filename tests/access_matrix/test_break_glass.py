"""Break-the-glass: before (nothing), after (the record, on the basis ``break-the-glass``),
after expiry (nothing again), refused to roles that give no care, its validation, and
grants that cannot be made or extended by hand.

``POST /fhir/Patient/{id}/$break-glass`` with ``reason`` (valueCode emergency, consent
or other) and ``text`` (valueString). Grants are Consents; an expired one is written
straight through the system repository (``grant`` in the world), so no test waits.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.app import create_app
from fellesjournal.audit import events as ev
from fellesjournal.audit import log
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from tests.access_matrix import scenarios
from tests.access_matrix.paths import check_view, glance
from tests.access_matrix.test_blocks import break_glass
from tests.access_matrix.world import Caller, World
from tests.conftest import make_settings, settle_audit


def params(body: dict[str, Any]) -> dict[str, Any]:
    """A Parameters resource's values by name (value[x] or the part list)."""
    out: dict[str, Any] = {}
    for p in body.get("parameter") or ():
        value = next((v for k, v in p.items() if k.startswith("value")), p.get("part"))
        out.setdefault(p["name"], value)
    return out


def instant(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value)


def explain(http: TestClient, caller: Caller, patient_id: str) -> Any:
    return http.get(f"/fhir/Patient/{patient_id}/$access-explain", headers=caller.headers())


def events_since(world: World, seq: int) -> list[log.AuditRecord]:
    settle_audit(world.repo.store)
    with world.repo.reading() as tx:
        return list(log.iter_events(tx, after_seq=seq))


def head(world: World) -> int:
    settle_audit(world.repo.store)
    with world.repo.reading() as tx:
        return log.head(tx)[0]


@pytest.mark.parametrize("caller", ["doc", "nurse"])
def test_before_and_after(http: TestClient, world: World, caller: str) -> None:
    """Nothing before; after it the whole record but what the labels hide, every read
    logged on the basis ``break-the-glass``, the grant itself logged specially."""
    rec = world.records["bg-plain" if caller == "doc" else "bg-nurse"]
    who = world.caller(caller)
    glance(http, who, rec, sees=False)
    assert explain(http, who, rec.patient_id).json()["parameter"][0]["valueBoolean"] is False

    seq = head(world)
    resp = break_glass(http, who, rec.patient_id)
    world.changed()
    assert resp.status_code == 200, resp.text
    granted = params(resp.json())
    assert granted["granted"] is True
    consent = granted["consent"]["reference"]
    grant_events = [r.event() for r in events_since(world, seq)]
    assert len(grant_events) == 1
    event = grant_events[0]
    assert event["subtype"][0]["code"] == "break-the-glass" and event["outcome"] == "0"
    assert ev.basis_of(event) == ev.BREAK_GLASS
    assert event["purposeOfEvent"][0]["coding"][0]["code"] == "ETREAT"
    assert {"reference": consent} in [e.get("what") for e in event["entity"]]

    check_view(http, world, who, rec, rec.without("psy"))
    seq = head(world)
    assert http.get(f"/fhir/{rec['obs']}", headers=who.headers()).status_code == 200
    (read,) = [r.event() for r in events_since(world, seq)]
    assert ev.basis_of(read) == ev.BREAK_GLASS and read["outcome"] == "0"

    found = params(explain(http, who, rec.patient_id).json())
    assert found["access"] is True and found["basis"] == ev.BREAK_GLASS
    assert found["breakGlassUntil"] == granted["end"]
    # The grant is in the record, where the patient and the privacy officer see it.
    own = http.get(f"/fhir/{consent}", headers=world.citizen(rec.key).headers())
    assert own.status_code == 200


@pytest.mark.parametrize("row", scenarios.params(scenarios.GRANTS))
def test_grants_written_before(http: TestClient, world: World, row: scenarios.Row) -> None:
    """An expired grant gives nothing; a grant is personal (a colleague's, at another
    unit, gives the doctor nothing)."""
    scenarios.check_row(http, world, row)


def test_an_expired_grant_is_not_explained_as_one(http: TestClient, world: World) -> None:
    found = params(
        explain(http, world.caller("doc"), world.records["bg-expired"].patient_id).json()
    )
    assert found["access"] is False and "breakGlassUntil" not in found


@pytest.mark.parametrize("caller", ["secretary", "privacy", "leader"])
def test_roles_that_give_no_care_may_not(http: TestClient, world: World, caller: str) -> None:
    rec = world.records["bg-refused"]
    who = world.caller(caller)
    seq = head(world)
    resp = break_glass(http, who, rec.patient_id)
    assert resp.status_code == 403, resp.text
    (denied,) = [r.event() for r in events_since(world, seq)]
    assert denied["outcome"] == ev.DENIED and "gives no care" in denied["outcomeDesc"]
    glance(http, who, rec, sees=False)


def test_citizens_and_system_clients_may_not(http: TestClient, world: World) -> None:
    rec = world.records["bg-refused"]
    for who in (world.citizen("bg-refused"), world.system()):
        resp = break_glass(http, who, rec.patient_id)
        assert resp.status_code == 403, (who.name, resp.text)
    glance(http, world.caller("doc"), rec, sees=False)


def _body(reason: Any = "emergency", text: Any = "Bevisstløs") -> dict[str, Any]:
    parameters = []
    if reason is not None:
        parameters.append({"name": "reason", "valueCode": reason})
    if text is not None:
        parameters.append({"name": "text", "valueString": text})
    return {"resourceType": "Parameters", "parameter": parameters}


INVALID = {
    "unknown-reason": _body(reason="curious"),
    "no-reason": _body(reason=None),
    "no-text": _body(text=None),
    "blank-text": _body(text="   "),
    "long-text": _body(text="x" * 1001),
    "reason-as-string": {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "reason", "valueString": "emergency"},
            {"name": "text", "valueString": "Bevisstløs"},
        ],
    },
    "twice": {
        "resourceType": "Parameters",
        "parameter": [*_body()["parameter"], {"name": "reason", "valueCode": "other"}],
    },
    "not-parameters": {"resourceType": "Basic", "code": {"text": "emergency"}},
}


@pytest.mark.parametrize("body", INVALID.values(), ids=list(INVALID))
def test_reason_and_text_are_checked(http: TestClient, world: World, body: dict[str, Any]) -> None:
    rec = world.records["bg-refused"]
    doc = world.caller("doc")
    resp = http.post(
        f"/fhir/Patient/{rec.patient_id}/$break-glass", json=body, headers=doc.headers()
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["resourceType"] == "OperationOutcome"
    assert explain(http, doc, rec.patient_id).json()["parameter"][0]["valueBoolean"] is False


def test_method_and_unknown_patient(http: TestClient, world: World) -> None:
    doc = world.caller("doc")
    rec = world.records["bg-refused"]
    resp = http.get(f"/fhir/Patient/{rec.patient_id}/$break-glass", headers=doc.headers())
    assert resp.status_code == 405
    assert break_glass(http, doc, f"{rec.patient_id}-gone").status_code == 404


@pytest.fixture()
def short_grants(settings: Settings, store: SqlStore) -> Iterator[TestClient]:
    """An application on the same database whose grants last half an hour."""
    short = make_settings(settings.database_url, settings.data_dir, break_glass_hours=0.5)
    with TestClient(create_app(short, store=store), base_url="http://testserver") as c:
        yield c


def test_the_grant_lasts_the_configured_hours(short_grants: TestClient, world: World) -> None:
    rec = world.records["bg-settings"]
    doc = world.caller("doc")
    resp = break_glass(short_grants, doc, rec.patient_id, reason="consent")
    world.changed()
    assert resp.status_code == 200, resp.text
    found = params(resp.json())
    start, end = instant(found["start"]), instant(found["end"])
    assert end - start == datetime.timedelta(minutes=30)
    until = params(explain(short_grants, doc, rec.patient_id).json())["breakGlassUntil"]
    assert until == found["end"]
    check_view(short_grants, world, doc, rec, rec.without("psy"))


def test_explain_names_the_end_the_grant_states(http: TestClient, world: World) -> None:
    """``breakGlassUntil`` is the grant's ``period.end`` as written (not the date
    index's exclusive upper bound, a millisecond later)."""
    rec = world.records["bg-explain"]
    doc = world.caller("doc")
    resp = break_glass(http, doc, rec.patient_id)
    world.changed()
    assert resp.status_code == 200, resp.text
    end = params(resp.json())["end"]
    assert params(explain(http, doc, rec.patient_id).json())["breakGlassUntil"] == end


@pytest.mark.parametrize(
    ("record", "writer", "holder"),
    [("bg-forged", "doc", "doc"), ("bg-forged-rel", "doc", "doc_sibling")],
    ids=["for-oneself", "for-a-colleague"],
)
def test_a_grant_made_by_hand_is_refused(
    http: TestClient, world: World, record: str, writer: str, holder: str
) -> None:
    """Only ``$break-glass`` grants (checked, logged, in the review queue): a Consent
    of the grant's shape written by a health worker is refused, for themselves or for a
    colleague (here by a doctor who may write Consents in this record)."""
    rec = world.records[record]
    body = world.grant_consent(holder, rec.patient_id, -0.01, 4 / 24)
    resp = http.post("/fhir/Consent", json=body, headers=world.caller(writer).headers())
    world.changed()
    assert resp.status_code in (403, 404), resp.text
    glance(http, world.caller(holder), rec, sees=False)


def test_a_grant_cannot_be_extended_by_hand(http: TestClient, world: World) -> None:
    rec = world.records["bg-extend"]
    doc = world.caller("doc")
    resp = break_glass(http, doc, rec.patient_id)
    world.changed()
    assert resp.status_code == 200, resp.text
    consent = params(resp.json())["consent"]["reference"]
    content = http.get(f"/fhir/{consent}", headers=doc.headers()).json()
    longer = {
        **content,
        "provision": {
            **content["provision"],
            "period": {"start": content["provision"]["period"]["start"], "end": world.at(30)},
        },
    }
    resp = http.put(f"/fhir/{consent}", json=longer, headers=doc.headers())
    world.changed()
    assert resp.status_code in (403, 404), resp.text
    now = http.get(f"/fhir/{consent}", headers=world.system().headers()).json()
    assert now["meta"]["versionId"] == content["meta"]["versionId"]
