"""The utskrivningsklar bill as pure functions: which days the municipality pays for."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from fellesjournal.workflows import adt
from fellesjournal.workflows import utskrivningsklar as uk
from fellesjournal.workflows.utskrivningsklar import Declaration, Reply

OSLO = uk.OSLO


def at(day: str, time: str = "12:00") -> datetime:
    """A moment in Norway: ``at("2024-03-04", "23:30")``."""
    return datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=OSLO)


def days(*isos: str) -> list[date]:
    return [date.fromisoformat(d) for d in isos]


def test_paid_from_the_declaration_day_until_the_day_before_discharge() -> None:
    decl = Declaration(at("2024-03-04", "10:00"), notified=at("2024-03-04", "10:05"))
    paid = uk.paid_days(decl, discharged=at("2024-03-07", "11:00"), as_of=at("2024-04-01"))
    assert paid == days("2024-03-04", "2024-03-05", "2024-03-06")


def test_declared_late_in_the_day_counts_that_day() -> None:
    decl = Declaration(at("2024-03-04", "23:30"), notified=at("2024-03-04", "23:31"))
    paid = uk.paid_days(decl, discharged=at("2024-03-05", "09:00"), as_of=at("2024-04-01"))
    assert paid == days("2024-03-04")


def test_notified_the_next_day_starts_the_next_day() -> None:
    decl = Declaration(at("2024-03-04", "23:50"), notified=at("2024-03-05", "00:10"))
    paid = uk.paid_days(decl, discharged=at("2024-03-07", "09:00"), as_of=at("2024-04-01"))
    assert paid == days("2024-03-05", "2024-03-06")


def test_days_are_norwegian_calendar_days_not_utc() -> None:
    # 23:30 UTC on 3 March is 00:30 on 4 March in Oslo.
    declared = datetime.fromisoformat("2024-03-03T23:30:00+00:00")
    decl = Declaration(declared, notified=declared)
    paid = uk.paid_days(decl, discharged=at("2024-03-05", "09:00"), as_of=at("2024-04-01"))
    assert paid == days("2024-03-04")


def test_never_notified_means_nothing_to_pay() -> None:
    decl = Declaration(at("2024-03-04"), notified=None)
    assert uk.paid_days(decl, discharged=at("2024-03-10"), as_of=at("2024-04-01")) == []


def test_a_reply_proves_the_notice_when_the_receipt_is_missing() -> None:
    reply = Reply(at("2024-03-05", "08:00"), None)
    assert uk.notice(None, [reply]) == reply.at
    assert uk.notice(at("2024-03-06"), [reply]) == reply.at
    assert uk.notice(at("2024-03-04"), [reply]) == at("2024-03-04")
    assert uk.notice(None, []) is None


def test_can_receive_tomorrow_pays_one_day() -> None:
    decl = Declaration(
        at("2024-03-04", "09:00"),
        notified=at("2024-03-04", "09:01"),
        replies=(Reply(at("2024-03-04", "13:00"), date(2024, 3, 5)),),
    )
    # The hospital keeps the patient three more days: the municipality pays for one.
    paid = uk.paid_days(decl, discharged=at("2024-03-08", "10:00"), as_of=at("2024-04-01"))
    assert paid == days("2024-03-04")


def test_can_receive_today_pays_nothing() -> None:
    decl = Declaration(
        at("2024-03-04", "09:00"),
        notified=at("2024-03-04", "09:01"),
        replies=(Reply(at("2024-03-04", "10:00"), date(2024, 3, 4)),),
    )
    assert uk.paid_days(decl, discharged=at("2024-03-06"), as_of=at("2024-04-01")) == []


def test_cannot_receive_then_a_date_pays_until_that_date() -> None:
    decl = Declaration(
        at("2024-03-04", "09:00"),
        notified=at("2024-03-04", "09:01"),
        replies=(
            Reply(at("2024-03-04", "15:00"), None),
            Reply(at("2024-03-06", "10:00"), date(2024, 3, 8)),
        ),
    )
    paid = uk.paid_days(decl, discharged=at("2024-03-10"), as_of=at("2024-04-01"))
    assert paid == days("2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07")


def test_a_later_reply_replaces_an_earlier_from_the_day_it_is_given() -> None:
    # "Can receive on the 5th", then on the 8th the place fell through: "cannot".
    decl = Declaration(
        at("2024-03-04", "09:00"),
        notified=at("2024-03-04", "09:01"),
        replies=(
            Reply(at("2024-03-04", "12:00"), date(2024, 3, 5)),
            Reply(at("2024-03-08", "12:00"), None),
        ),
    )
    paid = uk.paid_days(decl, discharged=at("2024-03-10"), as_of=at("2024-04-01"))
    assert paid == days("2024-03-04", "2024-03-08", "2024-03-09")


def test_a_late_reply_does_not_undo_days_already_waited() -> None:
    # No answer for three days, then "could receive from the 5th": days until the answer
    # are paid (the municipality pays until it says an offer is ready).
    decl = Declaration(
        at("2024-03-04", "09:00"),
        notified=at("2024-03-04", "09:01"),
        replies=(Reply(at("2024-03-07", "12:00"), date(2024, 3, 5)),),
    )
    paid = uk.paid_days(decl, discharged=at("2024-03-09"), as_of=at("2024-04-01"))
    assert paid == days("2024-03-04", "2024-03-05", "2024-03-06")


def test_withdrawal_stops_the_count_and_its_day_is_not_paid() -> None:
    decl = Declaration(
        at("2024-03-04", "09:00"),
        notified=at("2024-03-04", "09:01"),
        withdrawn=at("2024-03-06", "03:00"),
    )
    paid = uk.paid_days(decl, discharged=at("2024-03-20"), as_of=at("2024-04-01"))
    assert paid == days("2024-03-04", "2024-03-05")


def test_declared_and_discharged_the_same_day_costs_nothing() -> None:
    decl = Declaration(at("2024-03-04", "08:00"), notified=at("2024-03-04", "08:01"))
    assert uk.paid_days(decl, discharged=at("2024-03-04", "18:00"), as_of=at("2024-04-01")) == []


def test_a_stay_still_going_counts_to_yesterday() -> None:
    decl = Declaration(at("2024-03-04", "08:00"), notified=at("2024-03-04", "08:01"))
    assert uk.paid_days(decl, discharged=None, as_of=at("2024-03-07", "15:00")) == days(
        "2024-03-04", "2024-03-05", "2024-03-06"
    )


def _events() -> list[uk.Event]:
    """Declared 4 March, withdrawn 6 March, declared again 10 March late evening."""
    return [
        uk.Event(uk.DECLARED, "2024-03-04T14:00:00+01:00", communication="Communication/a"),
        uk.Event(uk.WITHDRAWN, "2024-03-06T08:00:00+01:00"),
        uk.Event(uk.DECLARED, "2024-03-10T22:00:00+01:00", communication="Communication/b"),
        uk.Event(uk.REPLY, "2024-03-11T09:00:00+01:00", cannot_receive=True),
    ]


def test_a_new_declaration_after_an_avmelding_starts_a_new_count() -> None:
    delivered = {
        "Communication/a": at("2024-03-04", "14:01"),
        "Communication/b": at("2024-03-11", "00:30"),  # the notice arrived after midnight
    }
    decls = uk.declarations(_events(), delivered)
    assert [d.communication for d in decls] == ["Communication/a", "Communication/b"]
    assert decls[0].withdrawn == at("2024-03-06", "08:00")
    assert decls[1].replies == (Reply(at("2024-03-11", "09:00"), None),)
    found = uk.bill(decls, discharged=at("2024-03-13", "10:00"), as_of=at("2024-04-01"))
    assert found.days == tuple(days("2024-03-04", "2024-03-05", "2024-03-11", "2024-03-12"))
    assert found.amount == 4 * 5745
    assert found.final
    assert [len(p.days) for p in found.parts] == [2, 2]
    assert uk.active_declaration(_events()) == _events()[2]
    assert uk.active_declaration(_events()[:2]) is None


def test_rates_follow_the_year_of_each_day() -> None:
    decl = Declaration(at("2023-12-30", "10:00"), notified=at("2023-12-30", "10:00"))
    found = uk.bill([decl], discharged=at("2024-01-02", "10:00"), as_of=at("2024-04-01"))
    assert found.days == tuple(days("2023-12-30", "2023-12-31", "2024-01-01"))
    assert found.amount == 2 * 5508 + 5745
    assert found.rates == ((5508, 2023), (5745, 2024))


@pytest.mark.parametrize(
    ("year", "expected"), [(2024, (5745, 2024)), (2026, (5745, 2024)), (2010, (4255, 2014))]
)
def test_a_year_without_a_known_rate_uses_the_nearest(year: int, expected: tuple) -> None:
    assert uk.rate_for(year) == expected


def test_the_record_round_trips_through_the_extension() -> None:
    ev = uk.Event(
        uk.REPLY,
        "2024-03-04T14:00:00+01:00",
        author={"reference": "PractitionerRole/x"},
        municipality="Organization/kommune-5001-hjemmetjeneste-1",
        communication="Communication/c",
        can_receive="2024-03-06",
        text="Plass på korttidsavdeling",
    )
    encounter = uk.with_event({"resourceType": "Encounter"}, ev)
    assert uk.events_of(encounter) == [ev]
    assert uk.from_extension({"url": uk.EXTENSION_URL, "extension": []}) is None
    broken = {"url": uk.EXTENSION_URL, "extension": [{"url": "event", "valueCode": "x"}]}
    assert uk.from_extension(broken) is None


def test_fhir_dates_of_any_precision_parse() -> None:
    assert uk.parse_instant("2024-03") == at("2024-03-01", "00:00")
    assert uk.parse_instant("2024") == at("2024-01-01", "00:00")
    assert uk.parse_instant("2024-03-04T10:00:00Z").hour == 10
    with pytest.raises(ValueError):
        uk.parse_instant("4. mars")


def test_the_oppholdskommune_comes_from_the_address() -> None:
    coded = {
        "use": "home",
        "district": "Trondheim",
        "_district": {
            "extension": [
                {
                    "url": "http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode",
                    "valueCoding": {"code": "5001"},
                }
            ]
        },
    }
    assert adt.municipality_number({"address": [coded]}) == "5001"
    assert adt.municipality_number({"address": [{"district": "1511"}]}) == "1511"
    assert adt.municipality_number({"address": [{"district": "Steinkjer"}]}) == "5006"
    stay = {"use": "temp", "district": "5035"}
    assert adt.municipality_number({"address": [coded, stay]}) == "5035"
    assert adt.municipality_number({"address": [{"use": "old", "district": "5035"}]}) is None
    assert adt.municipality_number({}) is None
