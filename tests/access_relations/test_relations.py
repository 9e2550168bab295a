"""Each care-relation kind: present, absent, expired, and held by someone else.

Every check goes through :func:`kinds`, which asks all four shapes of the rules (the
relations with their kinds, the yes/no check, the patient-restricted set and the unit's
whole set) and fails if they disagree.
"""

from __future__ import annotations

import pytest

from fellesjournal.access.context import WorkContext
from fellesjournal.access.relations import (
    Relation,
    RelationSettings,
    accessible_patients,
    accessible_patients_query,
    has_relation,
    relation_params,
    relations_for,
)
from tests.access_relations.conftest import World, ids


def kinds(
    world: World,
    pid: str,
    ctx: WorkContext | None = None,
    settings: RelationSettings | None = None,
) -> set[str]:
    """The relation kinds ``ctx`` (default: the world's worker) has with ``pid`` now."""
    ctx = ctx or world.worker
    with world.repo.reading() as tx:
        found = relations_for(tx, ctx, pid, world.now_us, settings)
        related = has_relation(tx, ctx, pid, world.now_us, settings)
        one = ids(tx.execute(accessible_patients(ctx, world.now_us, settings, patient_id=pid)))
        everyone = ids(tx.execute(accessible_patients(ctx, world.now_us, settings)))
    assert related == bool(found), found
    assert one == ({pid} if found else set())
    assert (pid in everyone) == bool(found)
    return {r.kind for r in found}


# -- fastlege --------------------------------------------------------------------------------


def test_the_patients_fastlege_has_a_relation_wherever_they_work(world: World) -> None:
    me = world.worker
    pid = world.patient(f"Practitioner/{me.practitioner_id}")
    assert kinds(world, pid) == {"fastlege"}
    # the same practitioner acting at another unit is still the patient's GP
    elsewhere = world.context(me.hpr, world.other_unit)
    assert kinds(world, pid, elsewhere) == {"fastlege"}
    assert kinds(world, pid, world.context("22222", world.unit)) == set()


def test_the_fastlegekontor_and_its_roles_give_the_unit_a_relation(world: World) -> None:
    office = world.patient(f"Organization/{world.unit}")
    colleague = world.patient(f"PractitionerRole/{world.unit}-22222")
    own_role = world.patient(f"PractitionerRole/{world.worker.role_id}")
    elsewhere = world.patient(f"Organization/{world.other_unit}")
    assert kinds(world, office) == {"fastlegekontor"}
    assert kinds(world, colleague) == {"fastlegekontor"}
    assert kinds(world, own_role) == {"fastlege", "fastlegekontor"}
    assert kinds(world, elsewhere) == set()
    assert kinds(world, colleague, settings=RelationSettings(unit_members=False)) == set()


def test_a_deleted_patient_gives_no_relation(world: World) -> None:
    pid = world.patient(f"Organization/{world.unit}")
    world.delete("Patient", pid)
    assert kinds(world, pid) == set()


# -- encounters ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["in-progress", "arrived", "triaged", "onleave"])
def test_an_open_encounter_at_the_unit_gives_a_relation(world: World, status: str) -> None:
    pid = world.patient()
    world.encounter(pid, status, start=-400)  # however long ago it began
    assert kinds(world, pid) == {"encounter-in-progress"}


@pytest.mark.parametrize("status", ["planned", "cancelled", "entered-in-error", "unknown"])
def test_an_encounter_in_other_states_gives_none(world: World, status: str) -> None:
    pid = world.patient()
    world.encounter(pid, status, start=-1, end=None)
    assert kinds(world, pid) == set()


def test_a_finished_encounter_counts_for_the_configured_days(world: World) -> None:
    recent, old = world.patient(), world.patient()
    world.encounter(recent, "finished", start=-12, end=-10)
    world.encounter(old, "finished", start=-45, end=-40)
    assert kinds(world, recent) == {"encounter-recent"}
    assert kinds(world, old) == set()
    assert kinds(world, old, settings=RelationSettings(encounter_days=41)) == {"encounter-recent"}
    assert kinds(world, recent, settings=RelationSettings(encounter_days=9)) == set()


def test_a_finished_encounter_without_an_end_counts_from_its_start(world: World) -> None:
    recent, old = world.patient(), world.patient()
    world.encounter(recent, "finished", start=-3, end=None)
    world.encounter(old, "finished", start=-300, end=None)
    assert kinds(world, recent) == {"encounter-recent"}
    assert kinds(world, old) == set()


def test_an_encounter_at_another_unit_or_deleted_gives_none(world: World) -> None:
    pid = world.patient()
    world.encounter(pid, "in-progress", provider=world.other_unit)
    assert kinds(world, pid) == set()
    assert kinds(world, pid, world.context("33333", world.other_unit)) == {"encounter-in-progress"}
    gone = world.patient()
    eid = world.encounter(gone, "in-progress")
    assert kinds(world, gone) == {"encounter-in-progress"}
    world.delete("Encounter", eid)
    assert kinds(world, gone) == set()


def test_a_relation_ends_when_the_encounter_is_updated(world: World) -> None:
    pid = world.patient()
    eid = world.encounter(pid, "in-progress", start=-50)
    assert kinds(world, pid) == {"encounter-in-progress"}
    world.put(
        {
            "resourceType": "Encounter",
            "id": eid,
            "status": "finished",
            "class": {"code": "IMP"},
            "subject": {"reference": f"Patient/{pid}"},
            "serviceProvider": {"reference": f"Organization/{world.unit}"},
            "period": {"start": world.at(-50), "end": world.at(-35)},
        }
    )
    assert kinds(world, pid) == set()


# -- organisations: exact match, no inheritance ----------------------------------------------


def test_relations_of_a_parent_or_child_organisation_do_not_count(world: World) -> None:
    """A relation held by the clinic does not reach its wards' workers, nor the reverse."""
    at_clinic = world.patient(f"Organization/{world.clinic}")
    world.encounter(at_clinic, "in-progress", provider=world.clinic)
    world.referral(at_clinic, "active", f"Organization/{world.clinic}")
    world.episode(at_clinic, "active", manager=world.clinic)
    assert kinds(world, at_clinic) == set()  # the ward's worker
    clinic_worker = world.context("44444", world.clinic)
    assert kinds(world, at_clinic, clinic_worker) == {
        "fastlegekontor",
        "encounter-in-progress",
        "episode-of-care",
        "referral",
    }
    at_ward = world.patient()
    world.encounter(at_ward, "in-progress")
    assert kinds(world, at_ward, clinic_worker) == set()


# -- episodes of care ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("active", {"episode-of-care"}),
        ("waitlist", {"episode-of-care"}),
        ("planned", {"episode-of-care"}),
        ("finished", set()),
        ("cancelled", set()),
        ("onhold", set()),
    ],
)
def test_an_episode_of_care_managed_by_the_unit(
    world: World, status: str, expected: set[str]
) -> None:
    pid = world.patient()
    world.episode(pid, status)
    assert kinds(world, pid) == expected


def test_an_episode_managed_by_another_unit_gives_none(world: World) -> None:
    pid = world.patient()
    world.episode(pid, "active", manager=world.other_unit)
    assert kinds(world, pid) == set()


# -- appointments ----------------------------------------------------------------------------


def test_an_appointment_with_the_worker_their_role_or_the_unit(world: World) -> None:
    me = world.worker
    actors = [
        f"Practitioner/{me.practitioner_id}",
        f"PractitionerRole/{me.role_id}",
        f"PractitionerRole/{world.unit}-22222",  # a colleague's role at the unit
    ]
    for actor in actors:
        pid = world.patient()
        world.appointment(pid, "booked", actor)
        assert kinds(world, pid) == {"appointment"}, actor


def test_an_appointment_at_a_location_or_service_of_the_unit(world: World) -> None:
    room, service = world.new_id("loc"), world.new_id("hs")
    world.put(
        {
            "resourceType": "Location",
            "id": room,
            "managingOrganization": {"reference": f"Organization/{world.unit}"},
        },
        {
            "resourceType": "HealthcareService",
            "id": service,
            "providedBy": {"reference": f"Organization/{world.unit}"},
        },
    )
    for actor in (f"Location/{room}", f"HealthcareService/{service}"):
        pid = world.patient()
        world.appointment(pid, "booked", actor)
        assert kinds(world, pid) == {"appointment"}, actor
        off = RelationSettings(unit_members=False)
        assert kinds(world, pid, settings=off) == set(), actor


@pytest.mark.parametrize(
    ("status", "days", "expected"),
    [
        ("booked", 25, {"appointment"}),
        ("arrived", 0, {"appointment"}),
        ("checked-in", -0.1, {"appointment"}),
        ("pending", 10, {"appointment"}),
        ("proposed", 10, {"appointment"}),
        ("booked", -25, {"appointment"}),
        ("booked", 35, set()),  # too far ahead
        ("booked", -35, set()),  # too long ago
        ("cancelled", 2, set()),
        ("noshow", -2, set()),
        ("fulfilled", -2, set()),
        ("entered-in-error", 2, set()),
    ],
)
def test_an_appointment_counts_in_its_window_and_states(
    world: World, status: str, days: float, expected: set[str]
) -> None:
    pid = world.patient()
    world.appointment(pid, status, f"PractitionerRole/{world.worker.role_id}", days=days)
    assert kinds(world, pid) == expected


def test_the_appointment_window_is_configurable(world: World) -> None:
    pid = world.patient()
    world.appointment(pid, "booked", f"Practitioner/{world.worker.practitioner_id}", days=50)
    assert kinds(world, pid) == set()
    wide = RelationSettings(appointment_days_after=60)
    assert kinds(world, pid, settings=wide) == {"appointment"}


def test_an_appointment_with_another_units_staff_gives_none(world: World) -> None:
    pid = world.patient()
    world.appointment(pid, "booked", f"PractitionerRole/{world.other_unit}-33333")
    assert kinds(world, pid) == set()


# -- referrals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("active", {"referral"}),
        ("draft", {"referral"}),
        ("on-hold", {"referral"}),
        ("completed", set()),
        ("revoked", set()),
        ("entered-in-error", set()),
    ],
)
def test_a_referral_to_the_unit(world: World, status: str, expected: set[str]) -> None:
    pid = world.patient()
    world.referral(pid, status, f"Organization/{world.unit}")
    assert kinds(world, pid) == expected


def test_a_referral_to_the_worker_or_elsewhere(world: World) -> None:
    mine, theirs = world.patient(), world.patient()
    world.referral(mine, "active", f"Practitioner/{world.worker.practitioner_id}")
    world.referral(theirs, "active", f"Organization/{world.other_unit}")
    assert kinds(world, mine) == {"referral"}
    assert kinds(world, theirs) == set()


def test_referral_categories_narrow_the_rule(world: World) -> None:
    referral, lab = world.patient(), world.patient()
    world.referral(referral, "active", f"Organization/{world.unit}", category="3457005")
    world.referral(lab, "active", f"Organization/{world.unit}", category="108252007")
    only = RelationSettings(referral_categories=frozenset({"3457005"}))
    assert kinds(world, referral, settings=only) == {"referral"}
    assert kinds(world, lab, settings=only) == set()
    assert kinds(world, lab) == {"referral"}


# -- care teams ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "member", "expected"),
    [
        ("active", "unit", {"care-team"}),
        ("active", "me", {"care-team"}),
        ("active", "colleague", {"care-team"}),
        ("active", "other", set()),
        ("inactive", "unit", set()),
        ("proposed", "unit", set()),
        ("suspended", "me", set()),
    ],
)
def test_a_care_team_with_the_worker_or_unit(
    world: World, status: str, member: str, expected: set[str]
) -> None:
    members = {
        "unit": f"Organization/{world.unit}",
        "me": f"Practitioner/{world.worker.practitioner_id}",
        "colleague": f"PractitionerRole/{world.unit}-22222",
        "other": f"Organization/{world.other_unit}",
    }
    pid = world.patient()
    world.care_team(pid, status, members[member])
    assert kinds(world, pid) == expected


# -- what relations_for says -----------------------------------------------------------------


def test_relations_name_their_resource_kind_and_why(world: World) -> None:
    me = world.worker
    pid = world.patient(f"Practitioner/{me.practitioner_id}")
    enc = world.encounter(pid, "in-progress")
    apt = world.appointment(pid, "booked", f"PractitionerRole/{world.unit}-22222")
    with world.repo.reading() as tx:
        found = relations_for(tx, me, pid, world.now_us)
    assert found == [
        Relation(
            "fastlege",
            f"Patient/{pid}",
            f"Practitioner/{me.practitioner_id} is the patient's GP (fastlege)",
        ),
        Relation(
            "encounter-in-progress",
            f"Encounter/{enc}",
            f"Encounter at Organization/{world.unit} is in-progress",
        ),
        Relation(
            "appointment",
            f"Appointment/{apt}",
            f"Appointment with PractitionerRole/{world.unit}-22222 is booked, "
            "within 30 days before to 30 days after now",
        ),
    ]


def test_the_unbound_query_runs_with_relation_params(world: World) -> None:
    related, unrelated = world.patient(), world.patient()
    world.encounter(related, "in-progress")
    world.encounter(unrelated, "in-progress", provider=world.other_unit)
    params = relation_params(world.worker, world.now_us)
    with world.repo.reading() as tx:
        everyone = ids(tx.execute(accessible_patients_query(), params))
        for pid, expected in ((related, {related}), (unrelated, set())):
            one = accessible_patients_query(one_patient=True)
            params = relation_params(world.worker, world.now_us, patient_id=pid)
            assert ids(tx.execute(one, params)) == expected
    assert related in everyone
    assert unrelated not in everyone


def test_settings_refuse_negative_windows() -> None:
    with pytest.raises(ValueError, match="encounter_days"):
        RelationSettings(encounter_days=-1)


def test_a_rule_without_statuses_grants_nothing(world: World) -> None:
    pid = world.patient()
    world.encounter(pid, "in-progress")
    world.episode(pid, "active")
    closed = RelationSettings(encounter_open_statuses=frozenset(), episode_statuses=frozenset())
    assert kinds(world, pid) == {"encounter-in-progress", "episode-of-care"}
    assert kinds(world, pid, settings=closed) == set()
