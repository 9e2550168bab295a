"""Random sequences of workflow actions never leave an orphan work item.

A Hypothesis state machine sends messages between units (members and a unit outside the
shared record), runs delivery rounds, takes, releases, closes (with and without a
reason) and reopens work items, and escalates at random times. After every step the
invariant of ``fellesjournal queues check`` holds, every work item the machine has seen
still exists, and none was closed without a reason and an actor.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from fellesjournal.region.model import Staff
from fellesjournal.workflows import messages, model, queues
from tests.workflows.conftest import World, staff

MEMBERS = (
    "stolav-hjerte-sengepost",
    "stolav-hjerte-poliklinikk",
    "kommune-5001-hjemmetjeneste-1",
    "kommune-5001-fastlegekontor-1",
)
OUTSIDE = "kommune-1511-hjemmetjeneste"  # holds an option: not a member, no address
KINDS = ("foresporsel", "helseopplysninger", "dialogmelding", "utskrivningsklar")
#: What the runs reached, so that the test fails if the machine stops exercising them.
SEEN_KINDS: set[str | None] = set()
SEEN_CLOSED: set[str] = set()


def _worker(owner: str) -> Staff:
    """A nurse (or else a doctor) of the unit ``Organization/id``."""
    unit_id = owner.split("/", 1)[1]
    try:
        return staff(unit_id, "nurse")
    except LookupError:
        return staff(unit_id, "doctor")


def _machine(world: World) -> type[RuleBasedStateMachine]:
    class Workflows(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.patients = [world.patient() for _ in range(2)]
            self.seen: set[str] = set()
            self.now = dt.datetime.now(dt.UTC)

        def _open(self) -> list[dict[str, Any]]:
            found = []
            for patient in self.patients:
                found += [t for t in world.tasks(patient=patient) if model.is_open(t)]
            return found

        def _all(self) -> list[dict[str, Any]]:
            found = []
            for patient in self.patients:
                found += world.tasks(patient=patient)
            return found

        @rule(
            sender=st.sampled_from(MEMBERS),
            recipient=st.sampled_from((*MEMBERS, OUTSIDE)),
            kind=st.sampled_from(KINDS),
            which=st.integers(0, 1),
        )
        def send(self, sender: str, recipient: str, kind: str, which: int) -> None:
            body = messages.communication(
                kind,
                sender=f"Organization/{sender}",
                recipients=[f"Organization/{recipient}"],
                patient=f"Patient/{self.patients[which]}",
                sent=self.now.isoformat(timespec="seconds"),
                text="Melding",
            )
            r = world.system.post("/fhir/Communication", json=body)
            assert r.status_code == 201, r.text

        @rule()
        def deliver(self) -> None:
            # The machine's clock only moves forward, and never behind the real one
            # (messages are queued at the real time).
            self.now = max(self.now, dt.datetime.now(dt.UTC))
            world.deliver(now=self.now)

        @rule(days=st.integers(0, 20))
        def escalate(self, days: int) -> None:
            self.now += dt.timedelta(days=days)
            queues.escalate(world.repo, self.now)

        @rule(pick=st.integers(0, 50), reason=st.booleans())
        def close(self, pick: int, reason: bool) -> None:
            items = self._open()
            if not items:
                return
            task = items[pick % len(items)]
            owner = model.owner_of(task) or ""
            client = world.as_staff(_worker(owner))
            body = dict(task, status="completed")
            body.pop("meta", None)
            if reason:
                body["statusReason"] = {"text": "Ferdig"}
            r = client.put(f"/fhir/Task/{task['id']}", json=body)
            if reason:
                assert r.status_code == 200, r.text
            else:
                assert r.status_code == 422, r.text
                assert model.is_open(world.read(f"Task/{task['id']}"))

        @rule(pick=st.integers(0, 50))
        def take(self, pick: int) -> None:
            items = self._open()
            if not items:
                return
            task = items[pick % len(items)]
            member = _worker(model.owner_of(task) or "")
            body = dict(task)
            body.pop("meta", None)
            model.set_extension(
                body,
                model.ASSIGNEE_URL,
                "valueReference",
                {"reference": f"PractitionerRole/{member.role_id}"},
            )
            r = world.as_staff(member).put(f"/fhir/Task/{task['id']}", json=body)
            assert r.status_code == 200, r.text

        @rule(pick=st.integers(0, 50))
        def reopen(self, pick: int) -> None:
            closed = [t for t in self._all() if not model.is_open(t)]
            if not closed:
                return
            task = closed[pick % len(closed)]
            body = dict(task, status="in-progress")
            body.pop("meta", None)
            r = world.system.put(f"/fhir/Task/{task['id']}", json=body)
            assert r.status_code == 200, r.text
            again = world.read(f"Task/{task['id']}")
            assert model.extension_value(again, model.CLOSED_BY_URL) is None

        @invariant()
        def nothing_orphaned_or_lost(self) -> None:
            if not hasattr(self, "patients"):
                return
            violations = world.violations()
            assert not violations, "\n".join(map(str, violations))
            current = {t["id"]: t for t in self._all()}
            assert self.seen <= set(current), "a work item disappeared"
            self.seen |= set(current)
            SEEN_KINDS.update(model.kind_of(t) for t in current.values())
            SEEN_CLOSED.update(t["id"] for t in current.values() if not model.is_open(t))
            for task in current.values():
                if not model.is_open(task):
                    assert model.reason_text(task)
                    assert model.extension_value(task, model.CLOSED_BY_URL) is not None

    return Workflows


def test_random_workflow_actions_leave_no_orphan(world: World) -> None:
    machine = _machine(world)
    machine.TestCase.settings = settings(
        max_examples=12,
        stateful_step_count=16,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    machine.TestCase().runTest()
    # The machine must have reached the paths it is there to test.
    assert {model.MESSAGE, model.DISCHARGE_READY, model.DELIVERY_FAILURE} <= SEEN_KINDS
    assert SEEN_CLOSED
