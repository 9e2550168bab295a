"""The chain's hash and the row's columns, without a database."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest

from fellesjournal.audit.chain import GENESIS, canonical_content, row_hash
from fellesjournal.audit.fields import fields_of, normalise_instant
from tests.audit.conftest import access_event
from tests.conftest import shared_path


def test_row_hash_is_reproducible_with_the_standard_library() -> None:
    content = canonical_content(access_event("p1", note="Ærlig talt, Øystein: «å»"))
    fields = [7, "2026-03-01T08:00:00.000Z", "p1", "Practitioner/hpr-1", "R", "0", content]
    by_hand = hashlib.sha256(
        GENESIS.encode() + json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    assert row_hash(GENESIS, *fields) == by_hand  # type: ignore[arg-type]


def test_every_field_and_the_previous_hash_change_the_hash() -> None:
    base = (GENESIS, 1, "2026-03-01T08:00:00.000Z", "p1", "agent", "R", "0", "{}")
    original = row_hash(*base)
    for i, value in enumerate(
        ("1" * 64, 2, "2026-03-01T08:00:00.001Z", None, "x", "C", "4", "{ }")
    ):
        changed = list(base)
        changed[i] = value
        assert row_hash(*changed) != original, f"field {i} is not covered"  # type: ignore[arg-type]


def test_canonical_content_sorts_keys_and_keeps_decimals() -> None:
    one = canonical_content({"b": 1, "a": {"d": Decimal("0.40"), "c": "x"}})
    other = canonical_content({"a": {"c": "x", "d": Decimal("0.40")}, "b": 1})
    assert one == other == '{"a":{"c":"x","d":0.40},"b":1}'


def test_fields_of_an_access_event() -> None:
    f = fields_of(access_event("abc-1", who="PractitionerRole/r1", action="E", outcome="4"))
    assert (f.patient_id, f.agent, f.action, f.outcome) == (
        "abc-1",
        "PractitionerRole/r1",
        "E",
        "4",
    )


def test_patient_from_extension_first_then_patient_role_then_any_entity() -> None:
    event = access_event(None)
    event["entity"] = [
        {"what": {"reference": "Patient/other"}},
        {
            "what": {"reference": "https://fj.example/fhir/Patient/p9/_history/2"},
            "role": {"code": "1"},
        },
    ]
    assert fields_of(event).patient_id == "p9"
    event["extension"] = [
        {
            "url": "http://hl7.no/fhir/StructureDefinition/auditevent-patient-extension",
            "valueReference": {"reference": "Patient/p-ext"},
        }
    ]
    assert fields_of(event).patient_id == "p-ext"
    event["extension"] = []
    event["entity"] = [
        {"what": {"reference": "Observation/o1"}},
        {"what": {"reference": "Patient/p2"}},
    ]
    assert fields_of(event).patient_id == "p2"
    event["entity"] = [{"what": {"reference": "RelatedPatient/x"}}]
    assert fields_of(event).patient_id is None


def test_agent_prefers_the_requestor_then_identifier_then_display() -> None:
    event = access_event("p1")
    event["agent"] = [
        {"who": {"reference": "Device/d1"}, "requestor": False},
        {"who": {"display": "system cli"}, "requestor": True},
    ]
    assert fields_of(event).agent == "system cli"
    event["agent"][1]["who"]["identifier"] = {"system": "urn:x", "value": "42"}
    assert fields_of(event).agent == "urn:x|42"
    event["agent"] = []
    assert fields_of(event).agent == "unknown"


@pytest.mark.parametrize(("n", "hpr"), [(1, "9144897"), (2, "9144897"), (3, "9144900")])
def test_the_norwegian_profile_examples(n: int, hpr: str) -> None:
    path = shared_path(
        "data", "hl7norway", "auditevent", f"AuditEvent-NOBasisAuditeventInstance{n}.json"
    )
    f = fields_of(json.loads(path.read_text()))
    # The agent is a contained PractitionerRole whose Practitioner has an HPR-nummer;
    # the patient is a contained snapshot with no id in this server.
    assert f.agent == f"hpr:{hpr}"
    assert f.patient_id is None
    assert (f.action, f.recorded) == ("R", "2024-03-19T06:45:00.000Z")


def test_recorded_is_normalised_to_utc_milliseconds() -> None:
    assert normalise_instant("2026-03-01T09:00:00+01:00") == "2026-03-01T08:00:00.000Z"
    assert normalise_instant("2026-03-01T08:00:00.123456Z") == "2026-03-01T08:00:00.123Z"
    with pytest.raises(ValueError, match="time zone"):
        normalise_instant("2026-03-01T08:00:00")
    with pytest.raises(ValueError, match="not an instant"):
        fields_of({"resourceType": "AuditEvent", "recorded": "yesterday"})
