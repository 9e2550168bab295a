"""``fellesjournal token``: health workers' and citizens' tokens, checked before issuing."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from fellesjournal.auth.tokens import TokenVerifier
from fellesjournal.cli import app as cli_app
from fellesjournal.fhir import jsonio
from fellesjournal.norway.identifiers import DNR_SYSTEM
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from tests.access.conftest import World
from tests.mpi.people import fresh_dnr, fresh_fnr, fresh_hnr


def _run(monkeypatch: pytest.MonkeyPatch, settings: Settings, *args: str) -> Any:
    monkeypatch.setenv("FELLESJOURNAL_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FELLESJOURNAL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("FELLESJOURNAL_ALLOW_TEST_IDENTITIES", "true")
    return CliRunner().invoke(cli_app, ["token", *args])


def _claims(settings: Settings, result: Any) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert "\n" not in token
    return dict(TokenVerifier.from_settings(settings).verify(token).raw)


def _fails(result: Any, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0] and "Traceback" not in result.stderr


def test_practitioner_token(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, world: World
) -> None:
    result = _run(
        monkeypatch,
        settings,
        "--practitioner",
        world.hpr,
        "--role",
        world.role_id,
        "--ttl",
        "120",
    )
    claims = _claims(settings, result)
    assert claims["fhir_actor"] == "practitioner"
    assert claims["sub"] == world.hpr
    assert claims["fhirUser"] == f"Practitioner/{world.practitioner_id}"
    assert claims["fj_role"] == f"PractitionerRole/{world.role_id}"
    assert claims["scope"] == "user/*.*"
    assert claims["exp"] - claims["iat"] == 120
    assert "fj_permissions" not in claims


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--practitioner", "{other_hpr}", "--role", "{role_id}"), "role of another HPR-nummer"),
        (("--practitioner", "{hpr}", "--role", "{role_id}-gone"), "unknown role"),
        (("--practitioner", "0123", "--role", "{role_id}"), "invalid HPR-nummer"),
        (("--practitioner", "12345678901", "--role", "{role_id}"), "invalid HPR-nummer"),
        (("--practitioner", "{hpr}"), "--practitioner needs --role"),
        (("--role", "{role_id}"), "say which token"),
        (("--patient", "{fnr}", "--role", "{role_id}"), "--role goes with --practitioner"),
        (("--system", "--patient", "{fnr}"), "exactly one of"),
        (("--practitioner", "{hpr}", "--role", "{role_id}", "--patient", "{fnr}"), "exactly one"),
        ((), "say which token"),
        (("--system", "--ttl", "0"), "--ttl must be a positive"),
        (("--patient", "{fnr}", "--protected-addresses"), "--protected-addresses is for"),
    ],
)
def test_errors(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    world: World,
    args: tuple[str, ...],
    message: str,
) -> None:
    filled = [a.format(**vars(world)) for a in args]
    _fails(_run(monkeypatch, settings, *filled), message)


def test_inactive_role(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, repo: GuardedRepository, world: World
) -> None:
    stored = repo.read("PractitionerRole", world.role_id)
    role = jsonio.loads(stored.content or "")
    role["active"] = False
    repo.update("PractitionerRole", world.role_id, role)
    result = _run(monkeypatch, settings, "--practitioner", world.hpr, "--role", world.role_id)
    _fails(result, "inactive role")


def test_protected_addresses_permission(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, world: World
) -> None:
    result = _run(
        monkeypatch,
        settings,
        "--practitioner",
        world.hpr,
        "--role",
        world.role_id,
        "--protected-addresses",
    )
    assert _claims(settings, result)["fj_permissions"] == ["protected-addresses"]


def test_patient_token(monkeypatch: pytest.MonkeyPatch, settings: Settings, world: World) -> None:
    claims = _claims(settings, _run(monkeypatch, settings, "--patient", world.fnr))
    assert claims["fhir_actor"] == "patient"
    assert claims["sub"] == world.fnr
    assert claims["fhirUser"] == f"Patient/{world.patient_id}"
    assert claims["scope"].split() == [
        "patient/*.read",
        "patient/Consent.write",
        "patient/Communication.write",
        "patient/Appointment.write",
        "patient/RelatedPerson.write",
    ]
    assert "fj_on_behalf_of" not in claims
    assert claims["exp"] - claims["iat"] == 3600


def test_patient_token_by_d_nummer_and_after_a_merge(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, repo: GuardedRepository
) -> None:
    dnr = fresh_dnr()
    survivor = repo.create(
        "Patient",
        {"resourceType": "Patient", "identifier": [{"system": DNR_SYSTEM, "value": dnr}]},
    ).stored.res_id
    # A record merged into the survivor still lists the number; it does not count.
    repo.create(
        "Patient",
        {
            "resourceType": "Patient",
            "active": False,
            "identifier": [{"system": DNR_SYSTEM, "value": dnr, "use": "old"}],
            "link": [{"type": "replaced-by", "other": {"reference": f"Patient/{survivor}"}}],
        },
    )
    claims = _claims(settings, _run(monkeypatch, settings, "--patient", dnr))
    assert claims["fhirUser"] == f"Patient/{survivor}"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("12345678901", "invalid fødselsnummer"),
        ("1234", "invalid fødselsnummer"),
        ("hnr", "not a fødselsnummer or D-nummer"),
        ("unknown", "no Patient holds the number"),
    ],
)
def test_patient_errors(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, number: str, message: str
) -> None:
    number = {"hnr": fresh_hnr("1970-01-01"), "unknown": fresh_fnr()}.get(number, number)
    _fails(_run(monkeypatch, settings, "--patient", number), message)


def test_test_identities_need_the_setting(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, world: World
) -> None:
    monkeypatch.setenv("FELLESJOURNAL_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FELLESJOURNAL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("FELLESJOURNAL_ALLOW_TEST_IDENTITIES", "false")
    result = CliRunner().invoke(cli_app, ["token", "--patient", world.fnr])
    _fails(result, "test identities are not accepted")


def test_sign_ins_are_in_the_audit_log(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, repo: GuardedRepository, world: World
) -> None:
    """A health worker's and a citizen's token are sign-ins: each is logged, and the
    citizen's is in their own access log."""
    from fellesjournal.audit import log

    with repo.reading() as tx:
        before = log.head(tx)[0]
    _claims(
        settings, _run(monkeypatch, settings, "--practitioner", world.hpr, "--role", world.role_id)
    )
    _claims(settings, _run(monkeypatch, settings, "--patient", world.fnr))
    with repo.reading() as tx:
        logins = [
            r.event()
            for r in log.iter_events(tx, after_seq=before)
            if any(s.get("code") == "110122" for s in r.event().get("subtype", []))
        ]
        own = log.events_for_patient(tx, world.patient_id)
    assert [e["agent"][0]["who"].get("reference") for e in logins] == [
        f"Practitioner/{world.practitioner_id}",
        f"Patient/{world.patient_id}",
    ]
    assert logins[0]["agent"][1]["who"]["reference"] == f"Organization/{world.unit}"
    assert any(e["subtype"][0]["code"] == "110122" for e in own)
