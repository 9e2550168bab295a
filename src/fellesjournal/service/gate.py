"""The gate: the access policy and the audit trail, applied for one request.

The guarded repository holds one :class:`Gate` per request and calls it at each step:
:meth:`Gate.type_check` before touching the store, :meth:`Gate.resource` on each resource
read by id, :meth:`Gate.restrict` to filter searches in SQL, :meth:`Gate.disclosed`
after a read and :meth:`Gate.changed` inside a write. Decisions come from
``access/policy.py``; this module turns them into answers (404 for reads outside the
caller's view, so nothing reveals that data exists; 403 for writes and types the role
does not cover) and into AuditEvents (``audit/events.py``), denials included.

The decision time is fixed when the gate is made, so one request sees one consistent
set of relations and grants.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from fellesjournal.access import orphans, policy, proxy, release, roles
from fellesjournal.access.actor import Actor
from fellesjournal.access.policy import Decision
from fellesjournal.access.relation_rules import RelationSettings
from fellesjournal.audit import events as ev
from fellesjournal.fhir.errors import error, not_found
from fellesjournal.search.registry import Registry
from fellesjournal.service.auditing import AuditTrail, by_patient
from fellesjournal.store import schema
from fellesjournal.store.base import StoredResource
from fellesjournal.store.sql import SqlTransaction

#: Interactions that only read: a denial answers 404 to anyone but a system client.
READS = frozenset({"read", "vread", "history", "operation"})
ALLOWED_SYSTEM = Decision(True, "system client", ev.SYSTEM)
NOT_PATIENT_DATA = Decision(True, "not patient data", ev.NO_BASIS)
ORPHAN_WORK_ITEM = Decision(
    True, "a record without a patient; your unit holds a work item for it", ev.NO_BASIS
)


class Gate:
    """Access decisions and audit events for one request of one actor."""

    def __init__(
        self,
        actor: Actor,
        registry: Registry,
        relation_settings: RelationSettings,
        trail: AuditTrail,
        dialect: str | None = None,
    ) -> None:
        self.actor = actor
        #: The store's dialect: the access filter is compiled to SQL text for it.
        self.dialect = dialect
        self.registry = registry
        self.relation_settings = relation_settings
        self.trail = trail
        self.now_us = int(time.time() * 1_000_000)
        self._patients: dict[str, Decision] = {}

    # -- decisions --------------------------------------------------------------------------

    def record_type(self, res_type: str | None) -> bool:
        """Does ``res_type`` belong to a patient's record (the Patient compartment)?"""
        return res_type is not None and (
            res_type == "Patient" or bool(self.registry.patient_compartment(res_type))
        )

    def type_check(self, action: str, res_type: str | None) -> Decision:
        """Raise unless ``actor`` may do ``action`` on ``res_type`` at all."""
        decision = policy.decide(
            actor=self.actor,
            action=action,
            res_type=res_type,
            record_type=self.record_type(res_type),
        )
        if not decision.allowed:
            self.deny(action, None, decision.reason, what=[res_type] if res_type else None)
        return decision

    def patient(self, tx: SqlTransaction, patient_id: str) -> Decision:
        """The patient-level decision, once per patient per request."""
        if self.actor.is_system:
            return ALLOWED_SYSTEM
        found = self._patients.get(patient_id)
        if found is None:
            found = policy.patient_decision(
                tx, self.actor, patient_id, self.now_us, self.relation_settings
            )
            self._patients[patient_id] = found
        return found

    def prefetch(self, tx: SqlTransaction, patient_ids: list[str]) -> None:
        """Decide for many patients at once (:func:`policy.patient_decisions`)."""
        missing = [pid for pid in patient_ids if pid not in self._patients]
        if len(missing) > 1:
            self._patients.update(
                policy.patient_decisions(
                    tx, self.actor, missing, self.now_us, self.relation_settings
                )
            )

    def resource(self, tx: SqlTransaction, stored: StoredResource, action: str) -> Decision:
        """May the actor see ``stored``? Raises (404 for reads, 403 for writes) and notes
        the denial when not; returns the decision (its basis for the audit) when so."""
        if stored.patient_id is None:
            if self.actor.is_system:
                return ALLOWED_SYSTEM
            if stored.res_type == "AuditEvent":
                self.deny(action, None, "AuditEvent resources are for system clients")
            if stored.res_type in orphans.record_types():
                return self._orphan(tx, stored, action)
            return NOT_PATIENT_DATA
        decision, reason = self._judge(tx, stored)
        if reason is not None:
            self.deny(
                action,
                stored.patient_id,
                reason,
                what=[f"{stored.res_type}/{stored.res_id}"],
                hide=True,
            )
        return decision

    def _orphan(self, tx: SqlTransaction, stored: StoredResource, action: str) -> Decision:
        """A record without a patient: for the unit holding a work item for it only."""
        if not self._orphan_visible(tx, stored, action):
            self.deny(
                action,
                None,
                "a record without a patient, and your unit holds no work item for it",
                what=[f"{stored.res_type}/{stored.res_id}"],
                hide=True,
            )
        return ORPHAN_WORK_ITEM

    def _orphan_visible(self, tx: SqlTransaction, stored: StoredResource, action: str) -> bool:
        work = self.actor.work
        verb = "read" if action in ("read", "vread", "search", "history") else "write"
        if work is None or not roles.allows(work.role, verb, stored.res_type):
            return False
        table = schema.resources
        found = tx.execute(
            sa.select(table.c.res_id).where(
                table.c.res_type == stored.res_type,
                table.c.res_id == stored.res_id,
                orphans.clause(work, table),
            )
        ).first()
        return found is not None

    def _judge(self, tx: SqlTransaction, stored: StoredResource) -> tuple[Decision, str | None]:
        """The patient decision for ``stored`` and the reason it is refused (None: not)."""
        assert stored.patient_id is not None
        decision = self.patient(tx, stored.patient_id)
        if not decision.allowed:
            return decision, decision.reason
        if self.actor.citizen is not None and not self.released(tx, stored):
            return decision, "not released to the citizen (docs/portal.md)"
        return decision, policy.resource_denial(self.actor, stored, decision)

    def released(self, tx: SqlTransaction, stored: StoredResource) -> bool:
        """For a citizen or proxy: is ``stored`` released to them? The search clause,
        asked about the one row, so a read by id and a search always agree."""
        citizen = self.actor.citizen
        if citizen is None:
            return True
        table = schema.resources
        found = tx.execute(
            sa.select(table.c.res_id).where(
                table.c.res_type == stored.res_type,
                table.c.res_id == stored.res_id,
                release.clause(
                    table, citizen, proxy.capabilities(citizen), self.now_us, self.dialect
                ),
            )
        ).first()
        return found is not None

    def visible_in(
        self, tx: SqlTransaction, patient_id: str, rows: Iterable[StoredResource]
    ) -> list[StoredResource]:
        """Those of ``rows`` (all of the one patient's record, whose patient decision the
        caller has already seen allowed) that the actor may see, judged as reads by id are:
        the types the role and scopes read, labels, blocks on single resources. Nothing is
        noted for the rows left out: a page shows what it may, the way a search does."""
        decision = self.patient(tx, patient_id)
        if not decision.allowed:
            return []
        rows = list(rows)
        released = self.released_among(tx, rows)
        readable: dict[str, bool] = {}
        out = []
        for stored in rows:
            ok = readable.get(stored.res_type)
            if ok is None:
                ok = readable[stored.res_type] = policy.decide(
                    actor=self.actor,
                    action="search",
                    res_type=stored.res_type,
                    record_type=self.record_type(stored.res_type),
                ).allowed
            if (
                ok
                and (
                    self.actor.is_system
                    or policy.resource_denial(self.actor, stored, decision) is None
                )
                and (stored.res_type, stored.res_id) in released
            ):
                out.append(stored)
        return out

    def released_among(
        self, tx: SqlTransaction, rows: list[StoredResource]
    ) -> set[tuple[str, str]]:
        """``(type, id)`` of those of ``rows`` released to the actor: all of them for a
        health worker or system, else :meth:`released` asked once for all rows (the
        clause is built once and the rows are looked up in batches)."""
        keys = [(r.res_type, r.res_id) for r in rows]
        citizen = self.actor.citizen
        if citizen is None or not keys:
            return set(keys)
        table = schema.resources
        clause = release.clause(
            table, citizen, proxy.capabilities(citizen), self.now_us, self.dialect
        )
        found: set[tuple[str, str]] = set()
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            stmt = sa.select(table.c.res_type, table.c.res_id).where(
                sa.tuple_(table.c.res_type, table.c.res_id).in_(batch), clause
            )
            found.update((str(t), str(i)) for t, i in tx.execute(stmt).all())
        return found

    def after_write(self, tx: SqlTransaction, stored: StoredResource, action: str) -> None:
        """The check after a change: the actor may see what they wrote (403 if not).

        Decided afresh, so a change that creates the relation (an Encounter at the unit)
        counts, and one that moves a resource out of reach does not pass.
        """
        if self.actor.is_system:
            return
        if stored.patient_id is None:
            # A record nobody could see (no patient, no work item of the writer's unit
            # for it) is not written: it would sit outside every queue.
            if (
                stored.res_type in orphans.record_types()
                and not stored.deleted
                and not self._orphan_visible(tx, stored, "read")
            ):
                self.deny(
                    action,
                    None,
                    f"a {stored.res_type} without a patient would be visible to no one: "
                    "name the patient",
                    what=[f"{stored.res_type}/{stored.res_id}"],
                )
            return
        self._patients.pop(stored.patient_id, None)
        _decision, reason = self._judge(tx, stored)
        if reason is not None:
            self.deny(
                action, stored.patient_id, reason, what=[f"{stored.res_type}/{stored.res_id}"]
            )

    def restrict(self, table: sa.Table, *, per_row: bool = False) -> Any | None:
        """The SQL filter of what the actor may see in ``table`` (None: nothing hidden);
        ``per_row`` as in :func:`~fellesjournal.access.policy.visible_clause`."""
        return policy.visible_clause(
            self.actor,
            table,
            self.now_us,
            self.relation_settings,
            per_row=per_row,
            dialect=self.dialect,
        )

    def deny(
        self,
        action: str,
        patient_id: str | None,
        reason: str,
        *,
        what: list[str] | None = None,
        hide: bool = False,
    ) -> None:
        """Note the denial and raise: 404 when ``hide`` or a read by a non-system actor
        (the caller must not learn that the data exists), else 403 with the reason."""
        self.trail.note(
            ev.access_event(
                self.actor,
                interaction=action,
                patient_id=patient_id,
                what=what,
                outcome=ev.DENIED,
                outcome_desc=reason,
            )
        )
        if not self.actor.is_system and (hide or action in READS):
            raise not_found("resource not found")
        raise error(403, "forbidden", f"not allowed: {reason}")

    # -- events ------------------------------------------------------------------------------

    def _basis(self, tx: SqlTransaction | None, patient_id: str) -> Decision:
        if self.actor.is_system:
            return ALLOWED_SYSTEM
        if tx is None:
            return self._patients.get(patient_id, Decision(True, "", ev.NO_BASIS))
        return self.patient(tx, patient_id)

    def disclosed(
        self,
        tx: SqlTransaction | None,
        interaction: str,
        resources: Iterable[StoredResource],
        *,
        query: str | None = None,
        always: bool = False,
    ) -> None:
        """Note one event per patient whose data ``resources`` show. ``always``: note a
        patient-less event too when nothing of a patient was shown (searches by people)."""
        groups = by_patient(resources)
        if tx is not None and not self.actor.is_system:
            self.prefetch(tx, [pid for pid in groups if pid is not None])
        noted = False
        for patient_id, refs in groups.items():
            if patient_id is None:
                continue
            basis = self._basis(tx, patient_id)
            self.trail.note(
                ev.access_event(
                    self.actor,
                    interaction=interaction,
                    patient_id=patient_id,
                    what=refs,
                    query=query,
                    basis=basis.basis,
                    basis_reference=basis.reference,
                    basis_detail=basis.reason,
                )
            )
            noted = True
        if always and not noted:
            self.trail.note(
                ev.access_event(self.actor, interaction=interaction, patient_id=None, query=query)
            )

    def changed(
        self, tx: SqlTransaction, interaction: str, results: Iterable[StoredResource]
    ) -> None:
        """Append the events of a change, one per patient, in the change's transaction."""
        events = []
        for patient_id, refs in by_patient(results).items():
            basis = self._basis(tx, patient_id) if patient_id is not None else ALLOWED_SYSTEM
            events.append(
                ev.access_event(
                    self.actor,
                    interaction=interaction,
                    patient_id=patient_id,
                    what=refs,
                    basis=basis.basis if patient_id is not None else ev.NO_BASIS,
                    basis_reference=basis.reference,
                    basis_detail=basis.reason if patient_id is not None else "",
                )
            )
        self.trail.append_in(tx, events)
