"""``AuditEvent/$review`` (the list) and ``AuditEvent/[seq]/$review`` (a mark): the
handlers, and through HTTP once the router serves them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.api.conformance import find_operation
from fellesjournal.api.request import FhirRequest
from fellesjournal.api.review import audit_event_review, audit_review, review
from fellesjournal.app import create_app
from fellesjournal.audit import events, log
from fellesjournal.auth.tokens import issue_system_token
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from tests.audit_review.conftest import (
    Window,
    access,
    fresh,
    person,
    practitioner_actor,
    record,
    repo_for,
)

BASE = "http://testserver/fhir"


def _get(repo: GuardedRepository, *query: tuple[str, str]) -> Any:
    resp = review(FhirRequest("GET", ["AuditEvent", "$review"], list(query)), repo, BASE)
    assert resp.status == 200
    return jsonio.loads(resp.body)


def _post(repo: GuardedRepository, seq: str, body: Any) -> Any:
    req = FhirRequest(
        "POST",
        ["AuditEvent", seq, "$review"],
        headers={"content-type": "application/fhir+json"},
        body=jsonio.dumps(body),
    )
    return review(req, repo, BASE)


def _comment(text: str) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": [{"name": "comment", "valueString": text}]}


def _status(call: Any) -> tuple[int, str]:
    with pytest.raises(FhirError) as caught:
        call()
    return caught.value.status, str(caught.value)


def _glass(review_store: SqlStore, window: Window) -> tuple[int, str, str]:
    """A break-the-glass access to a patient who shares the user's surname."""
    user = fresh("hpr")
    patient = fresh("pat")
    actor = practitioner_actor(user, "Kari Østby")
    [seq] = record(review_store, access(actor, patient, window.at(1), basis=events.BREAK_GLASS))
    return seq, user, patient


def test_list_mark_and_list_again(
    review_store: SqlStore, system_repo: GuardedRepository, window: Window
) -> None:
    user = person("Practitioner", fresh("hpr"), "Østby", "Kari")
    patient = person("Patient", fresh("pat"), "Østby", "Per")
    for r in (user, patient):
        system_repo.update(r["resourceType"], r["id"], r)
    actor = practitioner_actor(user["id"], "Kari Østby")
    [seq] = record(
        review_store, access(actor, patient["id"], window.at(1), basis=events.BREAK_GLASS)
    )

    listed = _get(system_repo, ("since", window.since))
    assert listed == {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "item",
                "part": [
                    {"name": "event", "valueReference": {"reference": f"AuditEvent/{seq}"}},
                    {"name": "recorded", "valueInstant": window.at(1)},
                    {
                        "name": "agent",
                        "valueReference": {
                            "reference": f"Practitioner/{user['id']}",
                            "display": "Kari Østby",
                        },
                    },
                    {"name": "agentName", "valueString": "Kari Østby"},
                    {
                        "name": "patient",
                        "valueReference": {"reference": f"Patient/{patient['id']}"},
                    },
                    {"name": "reason", "valueCode": "break-the-glass"},
                    {"name": "reason", "valueCode": "same-surname"},
                    {"name": "reviewed", "valueBoolean": False},
                ],
            }
        ],
    }

    resp = _post(system_repo, str(seq), _comment("Akutt, i orden"))
    assert resp.status == 201
    mark = jsonio.loads(resp.body)
    with review_store.snapshot() as tx:
        assert log.read_event(tx, int(mark["id"])) == mark
    assert {"what": {"reference": f"AuditEvent/{seq}"}} in mark["entity"]
    assert mark["outcomeDesc"] == "Akutt, i orden"

    assert _get(system_repo, ("since", window.since)) == {
        "resourceType": "Parameters",
        "parameter": [],
    }
    [item] = _get(system_repo, ("since", window.since), ("include-reviewed", "true"))["parameter"]
    parts = {p["name"]: p for p in item["part"]}
    assert parts["reviewed"] == {"name": "reviewed", "valueBoolean": True}
    assert parts["comment"]["valueString"] == "Akutt, i orden"
    assert parts["reviewedBy"]["valueString"] == "system test"
    assert parts["reviewedAt"]["valueInstant"] == mark["recorded"]


def test_bad_input(review_store: SqlStore, system_repo: GuardedRepository, window: Window) -> None:
    seq, _user, _patient = _glass(review_store, window)

    def listing(*query: tuple[str, str]) -> Any:
        req = FhirRequest("GET", ["AuditEvent", "$review"], list(query))
        return lambda: audit_review(req, system_repo, BASE)

    assert _status(listing(("since", "soon"))) == (400, "since: not an instant: 'soon'")
    assert _status(listing(("since", window.since), ("since", window.since)))[0] == 400
    assert _status(listing(("include-reviewed", "yes"))) == (
        400,
        "include-reviewed is true or false",
    )

    def marking(seq_text: str, body: Any) -> Any:
        return lambda: _post(system_repo, seq_text, body)

    no_comment = {"resourceType": "Parameters", "parameter": []}
    assert _status(marking(str(seq), no_comment)) == (400, "give one 'comment' (valueString)")
    assert _status(marking(str(seq), _comment(" ")))[0] == 400
    assert _status(marking(str(seq), {"resourceType": "Basic"}))[0] == 400
    assert _status(marking("abc", _comment("ok")))[0] == 404
    assert _status(marking(str(seq + 100_000), _comment("ok"))) == (
        404,
        f"the audit log has no event {seq + 100_000}",
    )
    assert _post(system_repo, str(seq), _comment("ok")).status == 201
    code, message = _status(marking(str(seq), _comment("ok")))
    assert code == 422 and "already reviewed" in message


def test_methods_and_the_direct_handlers(
    review_store: SqlStore, system_repo: GuardedRepository, window: Window
) -> None:
    seq, _user, _patient = _glass(review_store, window)
    post_list = FhirRequest("POST", ["AuditEvent", "$review"])
    get_mark = FhirRequest("GET", ["AuditEvent", str(seq), "$review"])
    for req, allowed in ((post_list, "GET"), (get_mark, "POST")):
        with pytest.raises(FhirError) as caught:
            review(req, system_repo, BASE)
        assert (caught.value.status, caught.value.headers) == (405, {"Allow": allowed})
    head = review(FhirRequest("HEAD", ["AuditEvent", "$review"]), system_repo, BASE)
    assert head.status == 200
    direct = FhirRequest(
        "POST",
        ["AuditEvent", str(seq), "$review"],
        headers={"content-type": "application/fhir+json"},
        body=jsonio.dumps(_comment("ok")),
    )
    assert audit_event_review(direct, system_repo, BASE).status == 201


def test_a_nurse_may_not_review(
    review_store: SqlStore, review_settings: Settings, window: Window
) -> None:
    seq, _user, _patient = _glass(review_store, window)
    nurse = repo_for(review_store, review_settings, practitioner_actor(fresh("hpr"), role="nurse"))
    req = FhirRequest("GET", ["AuditEvent", "$review"], [("since", window.since)])
    assert _status(lambda: review(req, nurse, BASE))[0] == 403
    assert _status(lambda: _post(nurse, str(seq), _comment("mine")))[0] == 403


# ------------------------------------------------------------------------------ HTTP

_routed = find_operation("review", "AuditEvent", False) is not None and (
    find_operation("review", "AuditEvent", True) is not None
)


@pytest.fixture()
def http(review_settings: Settings, review_store: SqlStore) -> Iterator[TestClient]:
    app = create_app(review_settings, store=review_store)
    token = issue_system_token(review_settings, ttl=600)
    with TestClient(app, base_url="http://testserver") as c:
        c.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"})
        yield c


@pytest.mark.skipif(not _routed, reason="the router does not serve AuditEvent $review yet")
def test_through_http(http: TestClient, review_store: SqlStore, window: Window) -> None:
    seq, _user, patient = _glass(review_store, window)
    listed = http.get("/fhir/AuditEvent/$review", params={"since": window.since})
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["parameter"]
    assert {"name": "patient", "valueReference": {"reference": f"Patient/{patient}"}} in item[
        "part"
    ]
    marked = http.post(
        f"/fhir/AuditEvent/{seq}/$review",
        content=jsonio.dumps(_comment("i orden")),
        headers={"Content-Type": "application/fhir+json"},
    )
    assert marked.status_code == 201, marked.text
    assert marked.json()["outcomeDesc"] == "i orden"
    again = http.post(
        f"/fhir/AuditEvent/{seq}/$review",
        content=jsonio.dumps(_comment("igjen")),
        headers={"Content-Type": "application/fhir+json"},
    )
    assert again.status_code == 422
    assert again.json()["resourceType"] == "OperationOutcome"
    bad = http.get("/fhir/AuditEvent/$review", params={"since": "soon"})
    assert bad.status_code == 400
    assert http.get("/fhir/AuditEvent/$review", params={"since": window.since}).json() == {
        "resourceType": "Parameters",
        "parameter": [],
    }
