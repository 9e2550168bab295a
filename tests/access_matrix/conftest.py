"""The access matrix: one world for the whole package (per xdist worker), and a client.

Every record a scenario needs is listed here, by the test module that uses it; records
that a test changes (break-the-glass, new blocks, writes) belong to that test alone, so
tests may run in any order and on any worker. Roles are all created before the first
token is used: the context resolver caches a resolved work context for 60 s.

At the end the audit log, grown by every request of the matrix, must verify.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.access.actor import Actor
from fellesjournal.audit.verify import verify
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from tests.access_matrix.world import (
    PSY,
    RESTRICTED,
    SEX,
    World,
    appointment,
    block,
    care_team,
    encounter,
    episode,
    grant,
    linked_observation,
    observation,
    org_ref,
    practitioner_of,
    referral,
    role_of,
)


def _relation_records(w: World) -> None:
    """test_relations.py and test_explain.py: one record per relation kind and state."""
    unit, clinic = w.unit_ref("unit"), w.unit_ref("clinic")
    w.record("fastlege", gp=[w.staff["doc"].practitioner])
    w.record("fastlege-other", gp=[w.staff["doc_sibling"].practitioner])
    w.record("kontor-unit", gp=[unit])
    w.record("kontor-colleague", gp=[w.staff["nurse"].practitioner_role])
    w.record("kontor-parent", gp=[clinic])
    w.record("enc-open", encounter("in-progress", "unit"))
    w.record("enc-arrived", encounter("arrived", "unit"))
    w.record("enc-open-sibling", encounter("in-progress", "sibling"))
    w.record("enc-open-clinic", encounter("in-progress", "clinic"))
    w.record("enc-recent", encounter("finished", "unit", start=-10, end=-5))
    w.record("enc-expired", encounter("finished", "unit", start=-45, end=-40))
    w.record("enc-planned", encounter("planned", "unit", start=2))
    w.record("eoc-active", episode("active", "unit"))
    w.record("eoc-finished", episode("finished", "unit"))
    w.record("eoc-sibling", episode("active", "sibling"))
    w.record("ref-active", referral("active", org_ref("unit")))
    w.record("ref-completed", referral("completed", org_ref("unit")))
    w.record("ref-parent", referral("active", org_ref("trust")))
    w.record("ref-personal", referral("active", role_of("doc")))
    w.record("apt-booked", appointment("booked", role_of("nurse")))
    w.record("apt-personal", appointment("booked", practitioner_of("doc"), days=-2))
    w.record("apt-future", appointment("booked", role_of("nurse"), days=45))
    w.record("apt-past", appointment("booked", role_of("nurse"), days=-45))
    w.record("apt-cancelled", appointment("cancelled", role_of("nurse")))
    w.record("apt-sibling", appointment("booked", role_of("doc_sibling")))
    w.record("ct-active", care_team("active", practitioner_of("doc")))
    w.record("ct-inactive", care_team("inactive", practitioner_of("doc")))
    w.record("ct-other", care_team("active", practitioner_of("doc_sibling")))
    w.record("none")


def _label_records(w: World) -> None:
    """test_labels.py."""
    w.record(
        "labels",
        encounter("in-progress", "unit"),
        encounter("in-progress", "psy_unit", name="enc_psy"),
        observation("sex", SEX),
        observation("psy_sex", PSY, SEX),
        cond_labels=[RESTRICTED],
    )


def _block_records(w: World) -> None:
    """test_blocks.py (the break-the-glass ones change state: one test each)."""
    here = encounter("in-progress", "unit")
    w.record("blk-person", here, block(practitioner_of("doc")))
    w.record(
        "blk-role",
        here,
        encounter("in-progress", "sibling", name="enc_sibling"),
        block(role_of("doc")),
    )
    w.record(
        "blk-unit",
        here,
        encounter("in-progress", "sibling", name="enc_sibling"),
        block(org_ref("unit")),
    )
    w.record(
        "blk-org",
        here,
        encounter("in-progress", "other_unit", name="enc_other"),
        block(org_ref("clinic")),
    )
    w.record("blk-trust", here, block(org_ref("trust")))
    w.record("blk1-person", here, block(practitioner_of("doc"), data=["obs"]))
    w.record("blk1-role", here, block(role_of("doc"), data=["obs2"]))
    w.record("blk1-unit", here, block(org_ref("unit"), data=["cond"]))
    w.record("blk1-org", here, block(org_ref("clinic"), data=["obs"]))
    w.record("blk-inactive", here, block(org_ref("unit"), status="inactive"))
    w.record("blk-elsewhere", here, block(org_ref("sibling")))
    w.record("blk-permit", here, block(org_ref("unit"), provision_type="permit"))
    w.record("bg-blk-person", here, block(practitioner_of("doc")))
    w.record("bg-blk-role", here, block(role_of("doc")))
    w.record("bg-blk-unit", here, block(org_ref("unit")))
    w.record("bg-blk-org", here, block(org_ref("trust")))
    w.record("bg-blk1-unit", here, block(org_ref("unit"), data=["cond"]))
    w.record("bg-blk1-unit-norel", block(org_ref("unit"), data=["cond"]))
    w.record("bg-blk1-person", here, block(practitioner_of("doc"), data=["obs"]))
    w.record("cit-block", here)
    for name in ("put", "delete", "patch"):
        w.record(f"lift-person-{name}", here, block(practitioner_of("doc"), data=["obs"]))
    for name in ("put", "data"):
        w.record(f"lift-unit-{name}", here, block(org_ref("unit"), data=["cond"]))
    w.record("lift-after-glass", here, block(org_ref("unit")))


def _break_glass_records(w: World) -> None:
    """test_break_glass.py."""
    w.record("bg-plain")
    w.record("bg-nurse")
    w.record("bg-expired", grant("doc", -3, -2.5))
    w.record("bg-other", grant("doc_sibling", -0.01, 0.1))
    w.record("bg-refused")
    w.record("bg-settings")
    w.record("bg-explain")
    w.record("bg-forged")
    w.record("bg-forged-rel", encounter("in-progress", "unit"))
    w.record("bg-extend")


def _other_records(w: World) -> None:
    """test_citizens.py, test_scopes.py, test_writes.py, test_audit.py, test_leaks.py."""
    here = encounter("in-progress", "unit")
    w.record("cit-own", here)
    w.record("cit-other", here)
    w.record("scope", here)
    w.record("scope-other", here)
    for name in ("system", "observations", "read"):
        w.record(f"scope-bg-{name}")
    w.record("w-rel", here)
    w.record("w-norel-obs")
    w.record("w-norel-apt")
    w.record("w-norel-enc")
    w.record("w-norel-other-unit")
    w.record("w-sec", here)
    w.record("audit", here)
    w.record("xref-target")
    w.record("xref", here, linked_observation("link", "xref-target"))
    w.record("xref-psy", here)
    w.record("deleted", here)


def system_repo(store: SqlStore, settings: Settings) -> GuardedRepository:
    actor = Actor("system", "access-matrix", scopes=("system/*.*",))
    return GuardedRepository(store, settings, RequestContext(actor=actor))


@pytest.fixture(scope="package")
def world(store: SqlStore, settings: Settings) -> Iterator[World]:
    w = World(system_repo(store, settings), settings)
    w.build_organisation()
    for build in (
        _relation_records,
        _label_records,
        _block_records,
        _break_glass_records,
        _other_records,
    ):
        build(w)
    w.flush()
    yield w
    result = verify(store)
    assert result.ok, f"the audit log does not verify after the matrix: {result}"


@pytest.fixture(scope="package")
def http(app: Any) -> Iterator[TestClient]:
    """A client without credentials: each request carries its caller's token."""
    with TestClient(app, base_url="http://testserver") as c:
        yield c
