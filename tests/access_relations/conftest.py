"""A small world per test: a unit under a clinic, a sibling unit, a worker, patients.

Everything is written through the guarded repository (system actor) with ids unique to
the test, because the suite database is shared. Dates are relative to ``now``, the
decision time every test passes to the relation queries.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fellesjournal.access.context import WorkContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.store.base import WriteOp

Resource = dict[str, Any]


def ref(reference: str) -> Resource:
    return {"reference": reference}


@dataclass
class World:
    """Ids of one test's organisations and people, and a writer for its resources."""

    repo: GuardedRepository
    tag: str
    now: datetime
    written: list[tuple[str, str]] = field(default_factory=list)

    # -- the organisation ----------------------------------------------------------------
    @property
    def clinic(self) -> str:
        return f"rel-{self.tag}-clinic"

    @property
    def unit(self) -> str:
        return f"rel-{self.tag}-ward"

    @property
    def other_unit(self) -> str:
        return f"rel-{self.tag}-other-ward"

    @property
    def worker(self) -> WorkContext:
        """A nurse in :attr:`unit` (parents: the clinic)."""
        return self.context("11111", self.unit, (self.clinic,))

    def context(self, hpr: str, unit: str, parents: tuple[str, ...] = ()) -> WorkContext:
        practitioner = f"rel-{self.tag}-hpr-{hpr}"
        return WorkContext(practitioner, hpr, f"{unit}-{hpr}", unit, parents, "nurse")

    @property
    def now_us(self) -> int:
        return int(self.now.timestamp() * 1_000_000)

    def at(self, days: float) -> str:
        """An instant ``days`` from now (negative: in the past)."""
        moment = self.now + timedelta(days=days)
        return moment.replace(microsecond=0).isoformat()

    def seed_organisation(self) -> None:
        org = "Organization"
        self.put(
            {"resourceType": org, "id": self.clinic, "name": f"Klinikk {self.tag}"},
            {
                "resourceType": org,
                "id": self.unit,
                "name": f"Sengepost {self.tag}",
                "partOf": ref(f"{org}/{self.clinic}"),
            },
            {
                "resourceType": org,
                "id": self.other_unit,
                "name": f"Annen sengepost {self.tag}",
                "partOf": ref(f"{org}/{self.clinic}"),
            },
            *self.staff("11111", self.unit),
            *self.staff("22222", self.unit),  # a colleague at the unit
            *self.staff("33333", self.other_unit),
            *self.staff("44444", self.clinic),  # works at the clinic level
        )

    def staff(self, hpr: str, unit: str) -> list[Resource]:
        ctx = self.context(hpr, unit)
        return [
            {"resourceType": "Practitioner", "id": ctx.practitioner_id},
            {
                "resourceType": "PractitionerRole",
                "id": ctx.role_id,
                "practitioner": ref(f"Practitioner/{ctx.practitioner_id}"),
                "organization": ref(f"Organization/{unit}"),
            },
        ]

    # -- writing ---------------------------------------------------------------------------
    def put(self, *resources: Resource) -> None:
        ops = [WriteOp("PUT", r["resourceType"], r["id"], r) for r in resources]
        # The rules alone are under test: a referral here starts no workflow (whose work
        # item would be a relation of its own).
        repo = self.repo.historical()
        with repo.writing() as tx:
            repo.apply_many(tx, ops)
        self.written += [(r["resourceType"], r["id"]) for r in resources]

    def delete(self, res_type: str, res_id: str) -> None:
        self.repo.delete(res_type, res_id)

    def new_id(self, kind: str) -> str:
        return f"rel-{self.tag}-{kind}-{uuid.uuid4().hex[:8]}"

    def patient(self, *general_practitioners: str) -> str:
        pid = self.new_id("pat")
        body: Resource = {"resourceType": "Patient", "id": pid, "name": [{"family": "Nordmann"}]}
        if general_practitioners:
            body["generalPractitioner"] = [ref(r) for r in general_practitioners]
        self.put(body)
        return pid

    def encounter(
        self,
        pid: str,
        status: str,
        provider: str | None = None,
        start: float | None = -2,
        end: float | None = None,
    ) -> str:
        eid = self.new_id("enc")
        body: Resource = {
            "resourceType": "Encounter",
            "id": eid,
            "status": status,
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": ref(f"Patient/{pid}"),
            "serviceProvider": ref(f"Organization/{provider or self.unit}"),
        }
        period = {}
        if start is not None:
            period["start"] = self.at(start)
        if end is not None:
            period["end"] = self.at(end)
        if period:
            body["period"] = period
        self.put(body)
        return eid

    def episode(self, pid: str, status: str, manager: str | None = None) -> str:
        eid = self.new_id("eoc")
        self.put(
            {
                "resourceType": "EpisodeOfCare",
                "id": eid,
                "status": status,
                "patient": ref(f"Patient/{pid}"),
                "managingOrganization": ref(f"Organization/{manager or self.unit}"),
                "period": {"start": self.at(-100)},
            }
        )
        return eid

    def appointment(self, pid: str, status: str, actor: str, days: float = 3) -> str:
        aid = self.new_id("apt")
        self.put(
            {
                "resourceType": "Appointment",
                "id": aid,
                "status": status,
                "start": self.at(days),
                "end": self.at(days + 0.02),
                "participant": [
                    {"actor": ref(f"Patient/{pid}"), "status": "accepted"},
                    {"actor": ref(actor), "status": "accepted"},
                ],
            }
        )
        return aid

    def referral(self, pid: str, status: str, performer: str, category: str | None = None) -> str:
        sid = self.new_id("sr")
        body: Resource = {
            "resourceType": "ServiceRequest",
            "id": sid,
            "status": status,
            "intent": "order",
            "subject": ref(f"Patient/{pid}"),
            "performer": [ref(performer)],
        }
        if category:
            body["category"] = [
                {"coding": [{"system": "http://snomed.info/sct", "code": category}]}
            ]
        self.put(body)
        return sid

    def care_team(self, pid: str, status: str, member: str) -> str:
        cid = self.new_id("ct")
        self.put(
            {
                "resourceType": "CareTeam",
                "id": cid,
                "status": status,
                "subject": ref(f"Patient/{pid}"),
                "participant": [{"member": ref(member)}],
            }
        )
        return cid


@pytest.fixture()
def world(repo: GuardedRepository) -> World:
    w = World(repo, uuid.uuid4().hex[:10], datetime.now(UTC))
    w.seed_organisation()
    return w


@pytest.fixture()
def snapshot(repo: GuardedRepository) -> Callable[[], Any]:
    """A read transaction for the relation queries (``with snapshot() as tx``)."""
    return repo.reading


def ids(rows: Iterable[Any]) -> set[str]:
    return {row[0] for row in rows}
