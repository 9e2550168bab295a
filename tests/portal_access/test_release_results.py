"""Results (the four HelsaMi categories, the 14-day safety net, ``$release`` with a
comment), laboratory Observations following their report, the messages a citizen sees
(never those between units) and work items (never)."""

from __future__ import annotations

from typing import Any

import pytest

from fellesjournal.access import release
from fellesjournal.workflows import messages
from tests.portal_access.conftest import Person, World, ids, observation, report


def _search(client: Any, res_type: str, **params: str) -> set[str]:
    r = client.get(f"/fhir/{res_type}", params={"_count": "500", **params})
    assert r.status_code == 200, r.text
    return ids(r.json(), res_type)


def _readable(client: Any, ref: str) -> bool:
    r = client.get(f"/fhir/{ref}")
    assert r.status_code in (200, 404), r.text
    return r.status_code == 200


def _release(client: Any, ref: str, comment: str | None = None) -> Any:
    body: dict[str, Any] = {"resourceType": "Parameters", "parameter": []}
    if comment is not None:
        body["parameter"].append({"name": "comment", "valueString": comment})
    return client.post(f"/fhir/{ref}/$release", json=body)


# (category tag, days since issue, status, shown?)
CASES = [
    ("automatic", 0.1, "final", True),
    ("automatic", 0.1, "registered", False),
    ("automatic", 0.1, "entered-in-error", False),
    ("clinician", 1, "final", False),
    ("clinician", 13, "final", False),
    ("clinician", 15, "final", True),
    (None, 1, "final", False),  # untagged: clinician
    (None, 15, "preliminary", True),
    ("manual", 1, "final", False),
    ("manual", 60, "final", False),
    ("never", 0.1, "final", False),
    ("never", 60, "final", False),
]


@pytest.fixture(scope="module")
def adult(world: World) -> Person:
    person = world.person(45, given="Ragnhild")
    world.care_relation(person)
    return person


@pytest.mark.parametrize(("category", "days", "status", "shown"), CASES)
def test_result_categories(
    world: World, adult: Person, category: str | None, days: float, status: str, shown: bool
) -> None:
    ref = world.add(report(adult, category, days_ago=days, status=status))
    client = world.citizen(adult.fnr)
    assert _readable(client, ref) == shown
    assert (ref in _search(client, "DiagnosticReport", patient=adult.ref)) == shown


@pytest.mark.parametrize("category", ["clinician", "manual", None])
def test_release_with_comment(world: World, adult: Person, category: str | None) -> None:
    obs = world.add(observation(adult))
    rep = world.add(report(adult, category, results=[obs]))
    client = world.citizen(adult.fnr)
    assert not _readable(client, rep)
    assert not _readable(client, obs)
    doctor = world.doctor()
    r = _release(doctor, rep, "Normale verdier. Ingen videre oppfølging.")
    assert r.status_code == 200, r.text
    assert _readable(client, rep)
    assert _readable(client, obs), "the Observation follows its released report"
    assert obs in _search(client, "Observation", patient=adult.ref)
    shown = client.get(f"/fhir/{rep}").json()
    comments = [
        e["valueString"]
        for e in shown.get("extension") or ()
        if e.get("url") == release.RELEASE_COMMENT_URL
    ]
    assert comments == ["Normale verdier. Ingen videre oppfølging."]
    codes = {t["code"] for t in shown["meta"]["tag"] if t["system"] == release.RELEASE_SYSTEM}
    assert release.RELEASED in codes
    # Releasing again replaces the comment.
    assert _release(doctor, rep, "Ny kommentar").status_code == 200
    again = client.get(f"/fhir/{rep}").json()
    assert [
        e["valueString"] for e in again["extension"] if e["url"] == release.RELEASE_COMMENT_URL
    ] == ["Ny kommentar"]


def test_release_never_is_refused(world: World, adult: Person) -> None:
    rep = world.add(report(adult, "never"))
    r = _release(world.doctor(), rep, "Kan ikke frigis")
    assert r.status_code == 422, r.text
    assert not _readable(world.citizen(adult.fnr), rep)


def test_release_without_comment_and_by_others(world: World, adult: Person) -> None:
    rep = world.add(report(adult, "manual"))
    citizen = world.citizen(adult.fnr)
    assert _release(citizen, rep).status_code in (403, 404)
    assert not _readable(citizen, rep)
    # A doctor without a care relation does not see the result at all.
    stranger = world.person(50, given="Fremmed")
    theirs = world.add(report(stranger, "manual"))
    assert _release(world.doctor(), theirs, "x").status_code == 404
    r = _release(world.doctor(), rep)
    assert r.status_code == 200, r.text
    assert "extension" not in r.json()
    assert _readable(citizen, rep)


def test_release_body_is_checked(world: World, adult: Person) -> None:
    rep = world.add(report(adult, "manual"))
    doctor = world.doctor()
    bad = {"resourceType": "Parameters", "parameter": [{"name": "note", "valueString": "x"}]}
    assert doctor.post(f"/fhir/{rep}/$release", json=bad).status_code == 400
    assert doctor.get(f"/fhir/{rep}/$release").status_code == 405
    assert not _readable(world.citizen(adult.fnr), rep)


def test_observations_follow_their_report(world: World, adult: Person) -> None:
    hidden_obs = world.add(observation(adult))
    shown_obs = world.add(observation(adult))
    both_obs = world.add(observation(adult))
    vital = world.add(observation(adult, laboratory=False))
    lonely = world.add(observation(adult))
    own_tag = world.add(observation(adult, tag="automatic"))
    hidden_rep = world.add(report(adult, "clinician", results=[hidden_obs, both_obs]))
    shown_rep = world.add(report(adult, "automatic", results=[shown_obs, both_obs]))
    never_obs = world.add(observation(adult))
    world.add(report(adult, "never", days_ago=40, results=[never_obs]))
    client = world.citizen(adult.fnr)
    found = _search(client, "Observation", patient=adult.ref)
    expected = {
        hidden_obs: False,
        shown_obs: True,
        both_obs: True,
        vital: True,
        lonely: False,
        own_tag: True,
        never_obs: False,
    }
    for ref, shown in expected.items():
        assert (ref in found) == shown, ref
        assert _readable(client, ref) == shown, ref
    # _include from a released report brings only released Observations.
    r = client.get(
        "/fhir/DiagnosticReport",
        params={
            "_id": f"{shown_rep.split('/')[1]},{hidden_rep.split('/')[1]}",
            "_include": "DiagnosticReport:result",
        },
    )
    assert r.status_code == 200, r.text
    got = ids(r.json())
    assert got == {shown_rep, shown_obs, both_obs}


CITIZEN_KINDS = sorted(release.CITIZEN_MESSAGE_KINDS)
UNIT_KINDS = ["utskrivningsklar", "helseopplysninger", "dialogmelding", "henvisning", "epikrise"]


def test_messages_between_patient_and_units_only(world: World, adult: Person) -> None:
    unit = f"Organization/{world.clinic}"
    gp = f"Organization/{world.gp_office}"
    shown, hidden = set(), set()
    for kind in CITIZEN_KINDS:
        shown.add(
            world.add(
                messages.communication(
                    kind,
                    sender=unit,
                    recipients=[gp],
                    patient=adult.ref,
                    sent="2025-01-01",
                    text=kind,
                )
            )
        )
    for kind in UNIT_KINDS:
        hidden.add(
            world.add(
                messages.communication(
                    kind,
                    sender=unit,
                    recipients=[gp],
                    patient=adult.ref,
                    sent="2025-01-01",
                    text=kind,
                )
            )
        )
    # A letter of any kind addressed to the patient is theirs.
    letter = world.add(
        messages.communication(
            "epikrise",
            sender=unit,
            recipients=[adult.ref],
            patient=adult.ref,
            sent="2025-01-01",
            text="Brev",
        )
    )
    shown.add(letter)
    client = world.citizen(adult.fnr)
    found = _search(client, "Communication", subject=adult.ref)
    assert shown <= found
    assert not found & hidden
    for ref in shown | hidden:
        assert _readable(client, ref) == (ref in shown), ref


def test_work_items_are_not_shown(world: World, adult: Person) -> None:
    task = world.add(
        {
            "resourceType": "Task",
            "status": "requested",
            "intent": "order",
            "code": {
                "coding": [
                    {
                        "system": "https://fellesjournal.no/fhir/CodeSystem/work-item",
                        "code": "message",
                    }
                ]
            },
            "for": {"reference": adult.ref},
            "owner": {"reference": f"Organization/{world.clinic}"},
            "authoredOn": "2025-01-01T10:00:00+01:00",
        }
    )
    client = world.citizen(adult.fnr)
    assert not _readable(client, task)
    assert client.get("/fhir/Task", params={"patient": adult.ref}).status_code in (403, 404)
    r = client.get("/fhir/Patient", params={"_id": adult.patient_id, "_revinclude": "Task:patient"})
    if r.status_code == 200:
        assert task not in ids(r.json())
    else:
        assert r.status_code in (403, 404), r.text
    r = client.get(f"/fhir/{adult.ref}/$everything", params={"_count": "1000"})
    assert r.status_code == 200, r.text
    assert task not in ids(r.json())
    assert client.get("/fhir/Provenance", params={"patient": adult.ref}).status_code in (403, 404)
