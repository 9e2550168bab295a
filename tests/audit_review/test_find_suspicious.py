"""The review rules over events appended to the log: each reason present and absent,
who is reviewed, ``since``, and the review marks (hidden, shown, refused)."""

from __future__ import annotations

from typing import Any

import pytest

from fellesjournal.audit import events, log
from fellesjournal.audit.review import (
    REASONS,
    ReviewItem,
    UnknownEvent,
    find_suspicious,
    new_review,
    review_event,
    reviews,
)
from fellesjournal.audit.verify import verify
from fellesjournal.norway.confidentiality import FORTROLIG, KLIENTADRESSE, STRENGT_FORTROLIG
from fellesjournal.store.sql import SqlStore
from tests.audit_review.conftest import (
    Window,
    access,
    address,
    citizen_actor,
    fresh,
    person,
    practitioner_actor,
    record,
    system_actor,
)
from tests.mpi.people import fresh_fnr


class People:
    """The ``read`` and ``staff`` callables over a fixed set of resources."""

    def __init__(self, *resources: dict[str, Any]) -> None:
        self.by_key = {(r["resourceType"], r["id"]): r for r in resources}
        self.reads: list[tuple[str, str]] = []
        self.staff_asked = 0

    def read(self, res_type: str, res_id: str) -> dict[str, Any] | None:
        self.reads.append((res_type, res_id))
        return self.by_key.get((res_type, res_id))

    def staff(self) -> list[dict[str, Any]]:
        self.staff_asked += 1
        return [r for (t, _), r in self.by_key.items() if t == "Practitioner"]


def _find(store: SqlStore, window: Window, people: People, **kw: Any) -> list[ReviewItem]:
    with store.snapshot() as tx:
        return find_suspicious(tx, since=window.since, read=people.read, staff=people.staff, **kw)


def _reasons(items: list[ReviewItem]) -> dict[str | None, tuple[str, ...]]:
    return {i.patient_id: i.reasons for i in items}


@pytest.fixture()
def user() -> dict[str, Any]:
    """The practitioner whose accesses are reviewed: Kari Østby, at home in Storgata 1."""
    return person(
        "Practitioner",
        fresh("hpr"),
        "Østby",
        "Kari",
        addresses=[
            address("Storgata 1", "7010", use="home"),
            address("Sykehusveien 9", "7030", use="work"),
        ],
    )


def test_reasons_are_described_in_both_languages() -> None:
    assert list(REASONS) == [
        "break-the-glass",
        "no-care-relation",
        "same-surname",
        "same-address",
        "colleague",
        "confidential-address",
    ]
    for reason in REASONS.values():
        assert reason.nb and reason.en and "\n" not in reason.nb + reason.en


def test_an_access_with_a_care_relation_to_a_stranger_is_not_listed(
    review_store: SqlStore, window: Window, user: dict[str, Any]
) -> None:
    stranger = person("Patient", fresh("pat"), "Hansen", addresses=[address("Elvegata 2", "7011")])
    actor = practitioner_actor(user["id"], "Kari Østby")
    record(review_store, access(actor, stranger["id"], window.at(1)))
    assert _find(review_store, window, People(user, stranger)) == []


def test_break_the_glass(review_store: SqlStore, window: Window, user: dict[str, Any]) -> None:
    patient = person("Patient", fresh("pat"), "Hansen")
    actor = practitioner_actor(user["id"], "Kari Østby")
    [seq] = record(
        review_store, access(actor, patient["id"], window.at(1), basis=events.BREAK_GLASS)
    )
    [item] = _find(review_store, window, People(user, patient))
    assert item == ReviewItem(
        seq=seq,
        recorded=window.at(1),
        agent=f"Practitioner/{user['id']}",
        agent_name="Kari Østby",
        patient_id=patient["id"],
        reasons=("break-the-glass",),
    )


def test_no_care_relation_granted_or_denied(
    review_store: SqlStore, window: Window, user: dict[str, Any]
) -> None:
    granted, denied, related = (person("Patient", fresh("pat"), "Hansen") for _ in range(3))
    actor = practitioner_actor(user["id"])
    record(
        review_store,
        access(actor, granted["id"], window.at(1), basis=events.NO_BASIS),
        access(actor, denied["id"], window.at(2), basis=events.NO_BASIS, outcome=events.DENIED),
        access(actor, related["id"], window.at(3), basis="fastlege"),
        # A search naming no patient is no access to a record.
        access(actor, None, window.at(4), basis=events.NO_BASIS),
    )
    found = _reasons(_find(review_store, window, People(user, granted, denied, related)))
    assert found == {granted["id"]: ("no-care-relation",), denied["id"]: ("no-care-relation",)}


def test_same_surname_folds_case_accents_and_nordic_letters(
    review_store: SqlStore, window: Window, user: dict[str, Any]
) -> None:
    cousin = person("Patient", fresh("pat"), "OSTBY", "Per")
    married = person("Patient", fresh("pat"), "Berg", "Eva")
    married["name"].append({"use": "maiden", "family": "østby"})
    other = person("Patient", fresh("pat"), "Østbye", "Eva")
    actor = practitioner_actor(user["id"])
    record(
        review_store,
        *(access(actor, p["id"], window.at(i)) for i, p in enumerate((cousin, married, other))),
    )
    found = _reasons(_find(review_store, window, People(user, cousin, married, other)))
    assert found == {cousin["id"]: ("same-surname",), married["id"]: ("same-surname",)}


def test_same_home_address(review_store: SqlStore, window: Window, user: dict[str, Any]) -> None:
    housemate = person("Patient", fresh("pat"), "Lie", addresses=[address("STORGATA  1", "70 10")])
    next_town = person("Patient", fresh("pat"), "Lie", addresses=[address("Storgata 1", "7500")])
    # The practitioner's work address is not where they live.
    at_work = person(
        "Patient", fresh("pat"), "Lie", addresses=[address("Sykehusveien 9", "7030", use="home")]
    )
    moved_out = person(
        "Patient", fresh("pat"), "Lie", addresses=[address("Storgata 1", "7010", use="old")]
    )
    actor = practitioner_actor(user["id"])
    patients = (housemate, next_town, at_work, moved_out)
    record(review_store, *(access(actor, p["id"], window.at(i)) for i, p in enumerate(patients)))
    found = _reasons(_find(review_store, window, People(user, *patients)))
    assert found == {housemate["id"]: ("same-address",)}


def test_colleague_by_fodselsnummer_or_by_name_and_birth_date(
    review_store: SqlStore, window: Window, user: dict[str, Any]
) -> None:
    fnr = fresh_fnr()
    nurse = person("Practitioner", fresh("hpr"), "Moe", "Siri", fnr=fnr)
    porter = person("Practitioner", fresh("hpr"), "Dahl", "Jon", birth="1980-02-03")
    by_number = person("Patient", fresh("pat"), "Moe-Hansen", "Siri", fnr=fnr)
    by_name = person("Patient", fresh("pat"), "dahl", "JON", birth="1980-02-03")
    namesake = person("Patient", fresh("pat"), "Dahl", "Jon", birth="1981-02-03")
    actor = practitioner_actor(user["id"])
    patients = (by_number, by_name, namesake)
    record(review_store, *(access(actor, p["id"], window.at(i)) for i, p in enumerate(patients)))
    people = People(user, nurse, porter, *patients)
    found = _reasons(_find(review_store, window, people))
    assert found == {by_number["id"]: ("colleague",), by_name["id"]: ("colleague",)}
    assert people.staff_asked == 1


def test_confidential_address(review_store: SqlStore, window: Window, user: dict[str, Any]) -> None:
    hidden = person(
        "Patient", fresh("pat"), "Lund", addresses=[address("X", "7000", grade=FORTROLIG)]
    )
    hidden_strictly = person(
        "Patient", fresh("pat"), "Lund", addresses=[address("Z", "7000", grade=STRENGT_FORTROLIG)]
    )
    client_address = person(
        "Patient", fresh("pat"), "Lund", addresses=[address("Y", "7000", grade=KLIENTADRESSE)]
    )
    actor = practitioner_actor(user["id"])
    patients = (hidden, hidden_strictly, client_address)
    record(review_store, *(access(actor, p["id"], window.at(i)) for i, p in enumerate(patients)))
    found = _reasons(_find(review_store, window, People(user, *patients)))
    assert found == {
        hidden["id"]: ("confidential-address",),
        hidden_strictly["id"]: ("confidential-address",),
    }


def test_several_reasons_in_the_listed_order(
    review_store: SqlStore, window: Window, user: dict[str, Any]
) -> None:
    spouse = person(
        "Patient",
        fresh("pat"),
        "Østby",
        "Per",
        addresses=[address("Storgata 1", "7010", grade=FORTROLIG)],
    )
    actor = practitioner_actor(user["id"])
    record(
        review_store,
        access(actor, spouse["id"], window.at(1), basis=events.NO_BASIS, outcome=events.DENIED),
    )
    [item] = _find(review_store, window, People(user, spouse))
    assert item.reasons == (
        "no-care-relation",
        "same-surname",
        "same-address",
        "confidential-address",
    )


def test_only_practitioners_are_reviewed(
    review_store: SqlStore, window: Window, user: dict[str, Any]
) -> None:
    fnr = fresh_fnr()
    patient = person(
        "Patient", fresh("pat"), "Østby", fnr=fnr, addresses=[address("Z", "7000", grade=FORTROLIG)]
    )
    record(
        review_store,
        access(system_actor(), patient["id"], window.at(1), basis=events.NO_BASIS),
        access(
            citizen_actor(patient["id"], fnr), patient["id"], window.at(2), basis=events.OWN_RECORD
        ),
    )
    people = People(user, patient)
    assert _find(review_store, window, people) == []
    assert people.reads == [] and people.staff_asked == 0


def test_newest_first_each_read_once_and_unknown_people_are_no_reason(
    review_store: SqlStore, window: Window, user: dict[str, Any]
) -> None:
    patient = person("Patient", fresh("pat"), "Hansen")
    gone = fresh("pat")
    actor = practitioner_actor(user["id"])
    seqs = record(
        review_store,
        access(actor, patient["id"], window.at(1), basis=events.BREAK_GLASS),
        access(actor, gone, window.at(2), basis=events.BREAK_GLASS),
        access(actor, patient["id"], window.at(3), basis=events.BREAK_GLASS),
    )
    people = People(user, patient)
    items = _find(review_store, window, people)
    assert [i.seq for i in items] == seqs[::-1]
    assert [i.patient_id for i in items] == [patient["id"], gone, patient["id"]]
    assert sorted(people.reads) == sorted(
        [("Practitioner", user["id"]), ("Patient", patient["id"]), ("Patient", gone)]
    )


def test_since_keeps_later_events_and_must_be_an_instant(
    review_store: SqlStore, window: Window, user: dict[str, Any]
) -> None:
    patient = person("Patient", fresh("pat"), "Hansen")
    actor = practitioner_actor(user["id"])
    early, late = record(
        review_store,
        access(actor, patient["id"], window.at(10), basis=events.BREAK_GLASS),
        access(actor, patient["id"], window.at(20), basis=events.BREAK_GLASS),
    )
    people = People(user, patient)
    with review_store.snapshot() as tx:
        assert [i.seq for i in find_suspicious(tx, since=window.at(11), read=people.read)] == [late]
        # At the exact instant, and with another time zone for the same instant.
        at_early = window.at(10).replace("Z", "+00:00")
        assert [i.seq for i in find_suspicious(tx, since=at_early, read=people.read)] == [
            late,
            early,
        ]
        assert find_suspicious(tx, since="2999-01-01T00:00:00Z", read=people.read) == []
        with pytest.raises(ValueError, match="time zone"):
            find_suspicious(tx, since="2031-01-01T00:00:00", read=people.read)
        with pytest.raises(ValueError, match="not an instant"):
            find_suspicious(tx, since="yesterday", read=people.read)


def test_a_review_hides_the_item_unless_asked_for(
    review_store: SqlStore, window: Window, user: dict[str, Any]
) -> None:
    patient = person("Patient", fresh("pat"), "Hansen")
    actor = practitioner_actor(user["id"], "Kari Østby")
    officer = practitioner_actor(fresh("hpr"), "Pia Personvern", role="privacy-officer")
    first, second = record(
        review_store,
        access(actor, patient["id"], window.at(1), basis=events.BREAK_GLASS),
        access(actor, patient["id"], window.at(2), basis=events.BREAK_GLASS),
    )
    with review_store.transaction() as tx:
        mark = new_review(tx, officer, first, "  Akuttmottak, OK  ")
        [mark_seq] = log.append(tx, [mark])
    people = People(user, patient)
    assert [i.seq for i in _find(review_store, window, people)] == [second]
    shown = _find(review_store, window, people, include_reviewed=True)
    assert [(i.seq, i.reviewed) for i in shown] == [(second, False), (first, True)]
    reviewed = shown[1]
    assert reviewed.review_comment == "Akuttmottak, OK"
    assert reviewed.reviewed_by == f"Practitioner/{officer.work.practitioner_id}"  # type: ignore[union-attr]
    assert reviewed.reviewed_at == mark["recorded"]
    # The mark is no suspicious access itself, though its author is a practitioner.
    assert mark_seq not in {i.seq for i in shown}
    with review_store.snapshot() as tx:
        assert reviews(tx, after_seq=first - 1)[first].comment == "Akuttmottak, OK"
        assert first in reviews(tx)


def test_a_mark_recorded_before_since_still_counts(
    review_store: SqlStore, window: Window, user: dict[str, Any]
) -> None:
    """A mark comes later in the chain than what it marks, whatever its clock says."""
    patient = person("Patient", fresh("pat"), "Hansen")
    actor = practitioner_actor(user["id"])
    [seq] = record(
        review_store, access(actor, patient["id"], window.at(5), basis=events.BREAK_GLASS)
    )
    with review_store.transaction() as tx:
        mark = new_review(tx, system_actor(), seq, "checked")
        mark["recorded"] = "2020-01-01T00:00:00.000Z"
        log.append(tx, [mark])
    assert _find(review_store, window, People(user, patient)) == []


def test_the_review_event(review_store: SqlStore, window: Window, user: dict[str, Any]) -> None:
    patient = person("Patient", fresh("pat"), "Hansen")
    [seq] = record(
        review_store,
        access(
            practitioner_actor(user["id"]), patient["id"], window.at(1), basis=events.BREAK_GLASS
        ),
    )
    officer = practitioner_actor(fresh("hpr"), "Pia Personvern", role="privacy-officer")
    with review_store.transaction() as tx:
        event = new_review(tx, officer, seq, "Nødvendig, pasienten var bevisstløs")
        [mark_seq] = log.append(tx, [event])
    assert event["subtype"] == [{"system": events.SUBTYPE_SYSTEM, "code": "access-review"}]
    assert event["action"] == "U"
    assert event["outcomeDesc"] == "Nødvendig, pasienten var bevisstløs"
    assert events.basis_of(event) == events.SYSTEM
    assert {"what": {"reference": f"AuditEvent/{seq}"}} in event["entity"]
    assert event["agent"][0]["who"]["display"] == "Pia Personvern"
    with review_store.snapshot() as tx:
        [row] = [r for r in log.iter_events(tx, after_seq=mark_seq - 1)]
    # The citizen's own access list shows that their record's access was reviewed.
    assert row.patient_id == patient["id"]
    assert row.agent == f"Practitioner/{officer.work.practitioner_id}"  # type: ignore[union-attr]
    assert verify(review_store).ok
    # review_event builds the same without the checks.
    built = review_event(officer, seq, "x", patient_id=patient["id"])
    assert built["entity"] == [*event["entity"][:1], {"what": {"reference": f"AuditEvent/{seq}"}}]


def test_marks_that_are_refused(
    review_store: SqlStore, window: Window, user: dict[str, Any]
) -> None:
    patient = person("Patient", fresh("pat"), "Hansen")
    [seq] = record(
        review_store,
        access(
            practitioner_actor(user["id"]), patient["id"], window.at(1), basis=events.BREAK_GLASS
        ),
    )
    officer = system_actor()
    with review_store.transaction() as tx:
        [mark_seq] = log.append(tx, [new_review(tx, officer, seq, "ok")])
    with review_store.transaction() as tx:
        with pytest.raises(ValueError, match=f"event {seq} was already reviewed by system batch"):
            new_review(tx, officer, seq, "again")
        with pytest.raises(ValueError, match="itself a review mark"):
            new_review(tx, officer, mark_seq, "a mark of a mark")
        with pytest.raises(UnknownEvent, match="no event"):
            new_review(tx, officer, mark_seq + 1000, "who?")
        with pytest.raises(ValueError, match="needs a comment"):
            new_review(tx, officer, seq, "   ")
    with review_store.snapshot() as tx:
        assert log.head(tx)[0] == mark_seq
