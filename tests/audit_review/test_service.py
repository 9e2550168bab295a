"""The review service over stored resources: who may review, what it reads, the marks,
and its errors as FHIR errors."""

from __future__ import annotations

from typing import Any

import pytest

from fellesjournal.audit import events, log
from fellesjournal.fhir.errors import FhirError
from fellesjournal.norway.confidentiality import FORTROLIG
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.service.review import mark_reviewed, suspicious
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from tests.audit_review.conftest import (
    Window,
    access,
    address,
    fresh,
    person,
    practitioner_actor,
    record,
    repo_for,
)
from tests.mpi.people import fresh_fnr


def _store_all(repo: GuardedRepository, *resources: dict[str, Any]) -> None:
    for r in resources:
        repo.update(r["resourceType"], r["id"], r)


def _officer(store: SqlStore, settings: Settings) -> GuardedRepository:
    actor = practitioner_actor(fresh("hpr"), "Pia Personvern", role="privacy-officer")
    return repo_for(store, settings, actor)


def test_the_review_reads_current_people_from_the_store(
    review_store: SqlStore,
    review_settings: Settings,
    system_repo: GuardedRepository,
    window: Window,
) -> None:
    fnr = fresh_fnr()
    user = person("Practitioner", fresh("hpr"), "Østby", "Kari")
    colleague = person("Practitioner", fresh("hpr"), "Moe", "Siri", fnr=fnr)
    as_patient = person("Patient", fresh("pat"), "Moe", "Siri", fnr=fnr)
    relative = person("Patient", fresh("pat"), "Ostby", "Per")
    hidden = person(
        "Patient", fresh("pat"), "Lund", addresses=[address("Skjult 1", "7000", grade=FORTROLIG)]
    )
    stranger = person("Patient", fresh("pat"), "Hansen")
    _store_all(system_repo, user, colleague, as_patient, relative, hidden, stranger)
    actor = practitioner_actor(user["id"], "Kari Østby")
    record(
        review_store,
        *(
            access(actor, p["id"], window.at(i))
            for i, p in enumerate((as_patient, relative, hidden, stranger))
        ),
    )
    # The privacy officer may not see protected addresses, yet the review judges them.
    items = suspicious(_officer(review_store, review_settings), window.since)
    assert {i.patient_id: i.reasons for i in items} == {
        as_patient["id"]: ("colleague",),
        relative["id"]: ("same-surname",),
        hidden["id"]: ("confidential-address",),
    }
    assert {i.agent_name for i in items} == {"Kari Østby"}


def test_mark_then_list_with_and_without_reviewed(
    review_store: SqlStore,
    review_settings: Settings,
    system_repo: GuardedRepository,
    window: Window,
) -> None:
    user = person("Practitioner", fresh("hpr"), "Østby")
    patient = person("Patient", fresh("pat"), "Hansen")
    _store_all(system_repo, user, patient)
    actor = practitioner_actor(user["id"])
    [seq] = record(
        review_store, access(actor, patient["id"], window.at(1), basis=events.BREAK_GLASS)
    )
    officer = _officer(review_store, review_settings)
    mark = mark_reviewed(officer, seq, "Akutt, i orden")
    assert mark["resourceType"] == "AuditEvent"
    assert mark["outcomeDesc"] == "Akutt, i orden"
    with review_store.snapshot() as tx:
        assert log.read_event(tx, int(mark["id"])) == mark
    assert suspicious(officer, window.since) == []
    [item] = suspicious(system_repo, window.since, include_reviewed=True)
    assert (item.seq, item.reviewed, item.review_comment) == (seq, True, "Akutt, i orden")
    assert item.reviewed_by == f"Practitioner/{officer.ctx.actor.work.practitioner_id}"  # type: ignore[union-attr]


def test_errors_are_fhir_errors(
    review_store: SqlStore, system_repo: GuardedRepository, window: Window
) -> None:
    user = person("Practitioner", fresh("hpr"), "Østby")
    patient = person("Patient", fresh("pat"), "Hansen")
    [seq] = record(
        review_store,
        access(practitioner_actor(user["id"]), patient["id"], window.at(1), basis=events.NO_BASIS),
    )

    def status(call: Any, *args: Any) -> tuple[int, str]:
        with pytest.raises(FhirError) as caught:
            call(system_repo, *args)
        return caught.value.status, str(caught.value)

    assert status(suspicious, "last tuesday") == (400, "since: not an instant: 'last tuesday'")
    assert status(mark_reviewed, seq, " ") == (400, "a review needs a comment")
    with review_store.snapshot() as tx:
        unknown = log.head(tx)[0] + 10
    assert status(mark_reviewed, unknown, "x") == (404, f"the audit log has no event {unknown}")
    mark = mark_reviewed(system_repo, seq, "ok")
    code, message = status(mark_reviewed, seq, "again")
    assert code == 422 and message.startswith(f"event {seq} was already reviewed by system test")
    assert status(mark_reviewed, int(mark["id"]), "x")[0] == 422


@pytest.mark.parametrize("role", ["doctor", "nurse", "unit-leader"])
def test_only_the_privacy_officer_or_a_system_client_reviews(
    review_store: SqlStore, review_settings: Settings, window: Window, role: str
) -> None:
    repo = repo_for(review_store, review_settings, practitioner_actor(fresh("hpr"), role=role))
    with review_store.snapshot() as tx:
        before = log.head(tx)[0]
    with pytest.raises(FhirError) as listing:
        suspicious(repo, window.since)
    with pytest.raises(FhirError) as marking:
        mark_reviewed(repo, max(before, 1), "mine now")
    assert listing.value.status == marking.value.status == 403
    with review_store.snapshot() as tx:
        assert not any("access-review" in r.content for r in log.iter_events(tx, after_seq=before))
