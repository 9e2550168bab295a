"""Referrals in the portal (``/portal/referrals``): where each went, who referred, the
status in plain words, whether a right to necessary health care was granted with its
deadline for start of care, and the assessment letter; nothing of another citizen's."""

from __future__ import annotations

import datetime as dt

import pytest
from starlette.testclient import TestClient

from fellesjournal.portal.pages import referrals
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from fellesjournal.workflows import referral
from tests.portal.acting import CLINIC, GP_OFFICE, Citizen, World, signed_in, staff, text_of

HEART_CLINIC = "stolav-hjerte-poliklinikk"


@pytest.fixture(scope="module")
def world(portal_settings: Settings, portal_store: SqlStore) -> World:
    return World(portal_settings, portal_store)


def _refer(world: World, me: Citizen, unit: str, what: str, priority: str = "routine") -> str:
    gp = staff(GP_OFFICE, "doctor")
    return world.create(
        {
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "priority": priority,
            "category": [{"coding": [{"system": referral.SNOMED, "code": "3457005"}]}],
            "code": {"text": what},
            "subject": {"reference": f"Patient/{me.patient_id}"},
            "requester": {"reference": f"PractitionerRole/{gp.role_id}"},
            "performer": [{"reference": f"Organization/{unit}"}],
            "authoredOn": dt.date.today().isoformat(),
        }
    )


def test_waiting_right_and_rejected_in_plain_words(world: World, visitor: TestClient) -> None:
    me = world.citizen()
    _refer(world, me, HEART_CLINIC, "Utredning av brystsmerter", "urgent")
    granted = _refer(world, me, CLINIC, "Vurdering av diabetes")
    rejected = _refer(world, me, HEART_CLINIC, "Hjertebank")
    deadline = dt.date.today() + dt.timedelta(days=60)
    referral.assess(world.repo, granted, referral.RIGHT, deadline=deadline)
    referral.assess(world.repo, rejected, referral.REJECTED, reason="Kan følges opp hos fastlegen")
    world.deliver()  # the letters reach the patient's record

    signed_in(visitor, me)
    page = visitor.get("/portal/referrals")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Utredning av brystsmerter" in text and "Hjertepoliklinikk" in text
    assert "Mottatt, venter på vurdering" in text and "Haster" in text
    assert deadline.strftime("%d.%m.%Y") in text  # the frist, the Norwegian way
    assert "Kan følges opp hos fastlegen" in text
    # The assessment letter, addressed to the patient, is shown with its referral.
    assert f"senest {deadline.strftime('%d.%m.%Y')}" in text

    found = referrals.referral_list(world.as_citizen(me), me.patient_id)
    by_what = {r.what: r for r in found}
    assert by_what["Utredning av brystsmerter"].state == "waiting"
    assert by_what["Utredning av brystsmerter"].assess_by is not None  # 5 working days
    assert by_what["Utredning av brystsmerter"].urgent
    assert by_what["Vurdering av diabetes"].right is True
    assert by_what["Vurdering av diabetes"].deadline == deadline.isoformat()
    assert by_what["Vurdering av diabetes"].letters
    assert by_what["Hjertebank"].state == "rejected" and by_what["Hjertebank"].right is False
    assert "Orkland" in by_what["Hjertebank"].referrer  # the GP office referred


def test_care_started_and_sent_on(world: World) -> None:
    me = world.citizen()
    started = _refer(world, me, CLINIC, "Behandling av astma")
    sent_on = _refer(world, me, CLINIC, "Knesmerter")
    referral.assess(
        world.repo, started, referral.RIGHT, deadline=dt.date.today() + dt.timedelta(days=30)
    )
    referral.start_care(world.repo, started)
    referral.assess(
        world.repo,
        sent_on,
        referral.SENT_ON,
        reason="Hører til hjertepoliklinikken",
        sent_on_to=f"Organization/{HEART_CLINIC}",
    )
    found = {r.id: r for r in referrals.referral_list(world.as_citizen(me), me.patient_id)}
    assert found[started].state == "care-started" and found[started].care_started
    assert found[sent_on].state == "sent-on"
    assert "Hjerte" in found[sent_on].sent_on_to
    # The new referral the receiving unit wrote is the patient's too, waiting.
    assert any(
        r.state == "waiting" and r.unit == f"Organization/{HEART_CLINIC}" for r in found.values()
    )


def test_another_citizens_referrals_are_not_shown(world: World, visitor: TestClient) -> None:
    owner, other = world.citizen(), world.citizen(given="Ola")
    _refer(world, owner, CLINIC, "Hemmelig henvisning")
    signed_in(visitor, other)
    page = visitor.get("/portal/referrals")
    assert page.status_code == 200
    assert "Hemmelig henvisning" not in page.text
    assert referrals.referral_list(world.as_citizen(other), other.patient_id) == []


def test_a_communicate_proxy_has_no_referral_page(world: World, visitor: TestClient) -> None:
    patient, holder = world.citizen(given="Ingrid"), world.citizen(given="Nina")
    world.proxy(patient.patient_id, holder, "communicate")
    _refer(world, patient, CLINIC, "Vurdering av hofte")
    signed_in(visitor, holder, acting_for=patient.patient_id)
    refused = visitor.get("/portal/referrals")
    assert refused.status_code == 403
    assert "Vurdering av hofte" not in refused.text
