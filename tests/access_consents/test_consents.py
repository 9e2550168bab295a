"""Blocks and break-the-glass grants as Consent, found by the index queries."""

from __future__ import annotations

import time
import uuid
from typing import Any

import sqlalchemy as sa

from fellesjournal.access import consents
from fellesjournal.access.context import WorkContext


def _ctx(tag: str) -> WorkContext:
    return WorkContext(
        practitioner_id=f"hpr-{tag}",
        hpr="991234567",
        role_id=f"unit-{tag}-991234567",
        unit_id=f"unit-{tag}",
        parents=(f"trust-{tag}", "hmn"),
        role="doctor",
    )


def _patient(repo: Any) -> str:
    return repo.create("Patient", {"resourceType": "Patient", "gender": "female"}).stored.res_id


def _put(repo: Any, body: dict[str, Any]) -> str:
    return repo.create(body["resourceType"], body).stored.res_id


def _patients(repo: Any, stmt: sa.Select[Any]) -> set[str]:
    with repo.reading() as tx:
        return {row[0] for row in tx.execute(stmt)}


def test_blocks_by_kind(repo: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    ctx = _ctx(tag)
    p_person, p_unit, p_org, p_doc, p_none = (_patient(repo) for _ in range(5))
    _put(repo, consents.block_consent(p_person, f"Practitioner/{ctx.practitioner_id}"))
    _put(repo, consents.block_consent(p_unit, f"Organization/{ctx.unit_id}"))
    _put(repo, consents.block_consent(p_org, f"Organization/{ctx.parents[0]}"))
    _put(
        repo,
        consents.block_consent(
            p_doc, f"PractitionerRole/{ctx.role_id}", resources=["Observation/x"]
        ),
    )
    _put(repo, consents.block_consent(p_none, "Organization/someone-else"))

    with repo.reading() as tx:
        kinds = {
            p: [b.kind for b in consents.blocks_against(tx, ctx, p)]
            for p in (p_person, p_unit, p_org, p_doc, p_none)
        }
        doc_blocks = consents.blocks_against(tx, ctx, p_doc)
    assert kinds == {
        p_person: ["practitioner"],
        p_unit: ["unit"],
        p_org: ["organization"],
        p_doc: ["role"],
        p_none: [],
    }
    assert doc_blocks[0].resources == ("Observation/x",) and not doc_blocks[0].whole_record
    assert not doc_blocks[0].yields_to_break_glass
    whole = _patients(repo, consents.blocked_patients(ctx))
    assert {p_person, p_unit, p_org} <= whole
    assert p_doc not in whole and p_none not in whole


def test_lifted_block_no_longer_counts(repo: Any) -> None:
    ctx = _ctx(uuid.uuid4().hex[:8])
    pid = _patient(repo)
    body = consents.block_consent(pid, f"Organization/{ctx.unit_id}")
    cid = _put(repo, body)
    assert pid in _patients(repo, consents.blocked_patients(ctx))
    lifted = {**body, "id": cid, "status": "inactive"}
    repo.update("Consent", cid, lifted)
    assert pid not in _patients(repo, consents.blocked_patients(ctx))


def _iso(seconds_from_now: float) -> str:
    t = time.gmtime(time.time() + seconds_from_now)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", t)


def test_break_glass_lasts_its_period(repo: Any) -> None:
    ctx = _ctx(uuid.uuid4().hex[:8])
    other = _ctx(uuid.uuid4().hex[:8])
    current, expired = _patient(repo), _patient(repo)
    _put(
        repo,
        consents.break_glass_consent(
            current, ctx, "emergency", "Bevisstløs i mottak", _iso(-60), _iso(4 * 3600)
        ),
    )
    _put(
        repo,
        consents.break_glass_consent(
            expired, ctx, "consent", "Samtykke", _iso(-6 * 3600), _iso(-2 * 3600)
        ),
    )
    now = int(time.time() * 1_000_000)
    granted = _patients(repo, consents.break_glass_patients(ctx, now))
    assert current in granted and expired not in granted
    assert current not in _patients(repo, consents.break_glass_patients(other, now))
    with repo.reading() as tx:
        assert consents.has_break_glass(tx, ctx, current, now)
        assert not consents.has_break_glass(tx, ctx, expired, now)
