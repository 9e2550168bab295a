"""Seeding the population into the database: through the guarded repository, searchable,
merged where the generator says so, and the ``demo`` commands around it."""

from __future__ import annotations

import random

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from fellesjournal.access.actor import Actor
from fellesjournal.cli.demo import demo_app
from fellesjournal.demo.population import (
    DUPLICATE_HNR,
    DUPLICATE_NO_ID,
    MERGED_HNR,
    generate,
    patient_id,
)
from fellesjournal.demo.seeder import DemoError, seed_population
from fellesjournal.region.model import Region
from fellesjournal.region.options import seed_region
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from tests.demo.conftest import TODAY

#: Seeds no other test uses, so ids and person numbers are this file's own.
SEED = 910_001


@pytest.fixture(scope="module")
def seeded(store: SqlStore, settings: Settings, region: Region) -> dict[str, object]:
    repo = GuardedRepository(
        store, settings, RequestContext(actor=Actor("system", "test", scopes=("system/*.*",)))
    )
    seed_region(repo)
    progress: list[tuple[int, int]] = []
    summary = seed_population(
        repo,
        region,
        patients=30,
        seed=SEED,
        today=TODAY,
        progress=lambda p, r: progress.append((p, r)),
        batch=150,
    )
    return {"summary": summary, "progress": progress, "repo": repo}


def test_seed_writes_every_generated_resource(seeded: dict[str, object], region: Region) -> None:
    summary = seeded["summary"]
    expected = sum(len(r.resources) for r in generate(region, SEED, 30, TODAY))
    assert summary.patients == 30  # type: ignore[attr-defined]
    assert summary.resources == expected  # type: ignore[attr-defined]
    progress = seeded["progress"]
    assert isinstance(progress, list) and len(progress) >= 2
    assert progress[-1] == (30, expected)
    assert [p for p, _ in progress] == sorted(p for p, _ in progress)


def test_seeded_patients_are_searchable(
    seeded: dict[str, object], client: TestClient, region: Region
) -> None:
    first = client.get(f"/fhir/Patient/{patient_id(SEED, 0)}").json()
    ident = first["identifier"][0]
    found = client.get(
        "/fhir/Patient", params={"identifier": f"{ident['system']}|{ident['value']}"}
    ).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [first["id"]]
    by_name = client.get(
        "/fhir/Patient",
        params={"family": first["name"][0]["family"], "birthdate": first["birthDate"]},
    ).json()
    assert first["id"] in [e["resource"]["id"] for e in by_name["entry"]]
    record = next(
        r
        for r in generate(region, SEED, 30, TODAY)
        if any(x["resourceType"] == "Encounter" for x in r.resources)
    )
    pid = record.resources[0]["id"]
    encounters = client.get(
        "/fhir/Encounter", params={"subject": f"Patient/{pid}", "_count": "100"}
    )
    assert {e["resource"]["id"] for e in encounters.json()["entry"]} == {
        x["id"] for x in record.resources if x["resourceType"] == "Encounter"
    }


def test_seed_refuses_without_test_identities(
    store: SqlStore, settings: Settings, region: Region
) -> None:
    strict = settings.model_copy(update={"allow_test_identities": False})
    repo = GuardedRepository(
        store, strict, RequestContext(actor=Actor("system", "test", scopes=("system/*.*",)))
    )
    with pytest.raises(DemoError, match="FELLESJOURNAL_ALLOW_TEST_IDENTITIES"):
        seed_population(repo, region, patients=1, seed=SEED + 1, today=TODAY)


def _seed_with_merge() -> tuple[int, int]:
    """A seed whose first few persons include one whose H-nummer twin is to be merged."""
    low = DUPLICATE_NO_ID + DUPLICATE_HNR
    for seed in range(920_000, 990_000):
        for k in range(12):  # showcase persons: ten times as likely
            roll = random.Random(f"fellesjournal-demo/{seed}/{k}").random() / 10
            if low <= roll < low + MERGED_HNR:
                return seed, k
    raise AssertionError("no seed found")  # pragma: no cover


def test_h_number_twins_are_merged_after_writing(
    store: SqlStore, settings: Settings, region: Region, client: TestClient
) -> None:
    repo = GuardedRepository(
        store, settings, RequestContext(actor=Actor("system", "test", scopes=("system/*.*",)))
    )
    seed_region(repo)
    seed, k = _seed_with_merge()
    records = list(generate(region, seed, k + 1, TODAY))
    if records[k].merge is None:  # the person had died: no twin was made
        pytest.skip("the chosen person has no twin")
    summary = seed_population(repo, region, patients=k + 1, seed=seed, today=TODAY)
    assert summary.merged == 1 and summary.merge_skipped == 0
    source, target = records[k].merge
    twin = client.get(f"/fhir/Patient/{source}").json()
    assert twin["active"] is False
    assert twin["link"][0]["other"]["reference"] == f"Patient/{target}"
    person = client.get(f"/fhir/Patient/{target}").json()
    assert "HNR" in {i["system"] for i in person["identifier"]}
    moved = client.get("/fhir/Encounter", params={"subject": f"Patient/{source}"}).json()
    assert moved.get("total", 0) == 0 and not moved.get("entry")


def _env(settings: Settings) -> dict[str, str]:
    return {
        "FELLESJOURNAL_DATABASE_URL": settings.database_url,
        "FELLESJOURNAL_DATA_DIR": str(settings.data_dir),
        "FELLESJOURNAL_SECRET_KEY": "test-secret",
        "FELLESJOURNAL_ALLOW_TEST_IDENTITIES": "true",
    }


def test_cli_seed_if_empty_leaves_a_populated_database_alone(
    seeded: dict[str, object], settings: Settings
) -> None:
    result = CliRunner().invoke(
        demo_app,
        ["seed", "--if-empty", "--patients", "5", "--seed", str(SEED + 2)],
        env=_env(settings),
    )
    assert result.exit_code == 0, result.output
    assert "already has patients" in result.output


def test_cli_seed_writes_with_a_final_rate_line(settings: Settings, client: TestClient) -> None:
    result = CliRunner().invoke(
        demo_app,
        ["seed", "--patients", "4", "--seed", str(SEED + 3), "--today", "2026-11-25"],
        env=_env(settings),
    )
    assert result.exit_code == 0, result.output
    assert "seeded 4 patients" in result.output and "resources/s" in result.output
    assert client.get(f"/fhir/Patient/{patient_id(SEED + 3, 3)}").status_code == 200


def test_cli_seed_rejects_a_bad_date_in_one_line(settings: Settings) -> None:
    result = CliRunner().invoke(demo_app, ["seed", "--today", "25.11.2026"], env=_env(settings))
    assert result.exit_code == 1
    assert "YYYY-MM-DD" in result.output and "Traceback" not in result.output
