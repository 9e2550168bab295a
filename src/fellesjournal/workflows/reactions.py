"""Writes that start workflows: the repository calls :func:`react` after every write.

:meth:`GuardedRepository._write` calls :func:`react` with the changes it has just made,
in their transaction. Each resource type has its reactions (:data:`REACTIONS`, functions
named ``module:function`` and imported on first use); a reaction looks at one
:class:`Change` and makes what follows from it through :class:`Effects`: work items,
other resources, outbox messages. Everything a reaction writes goes through the guarded
repository (as the workflow engine, a system actor, audited) in the same transaction: a
referral is never stored without its assessment item, a sent letter never without its
outbox row.

A request context with ``workflows=False`` (loading history: ``fellesjournal import``,
the demo seed) starts no workflows: a result from 2015 is not a result to acknowledge.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from fellesjournal.access.actor import Actor
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import error
from fellesjournal.store.base import StoredResource, WriteOp
from fellesjournal.workflows import outbox

if TYPE_CHECKING:
    from fellesjournal.service.repository import GuardedRepository
    from fellesjournal.store.sql import SqlTransaction

Resource = dict[str, Any]

#: The actor of everything the workflows write (audited as this system client).
WORKFLOW_ACTOR: Final = Actor("system", "fellesjournal-workflows", scopes=("system/*.*",))

#: Reactions per resource type, in order. Each is ``module:function`` in this package.
REACTIONS: Final[dict[str, tuple[str, ...]]] = {
    "Communication": ("messages:on_communication",),
    "ServiceRequest": ("referral:on_service_request",),
    "DiagnosticReport": ("results:on_result",),
    "Observation": ("results:on_result",),
    "Encounter": ("adt:on_encounter",),
    "DocumentReference": ("adt:on_document",),
    "Composition": ("adt:on_document",),
    "Appointment": ("appointments:on_appointment",),
}

#: Reactions that write resources which react again stop at this depth (a guard against
#: a loop between two reactions, not a limit any workflow reaches).
MAX_DEPTH: Final = 4

Reaction = Callable[["Effects", "Change"], None]
_loaded: dict[str, Reaction | None] = {}


def _reaction(name: str) -> Reaction | None:
    if name not in _loaded:
        module_name, _, func = name.partition(":")
        try:
            module = importlib.import_module(f"fellesjournal.workflows.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"fellesjournal.workflows.{module_name}":
                raise
            _loaded[name] = None  # a workflow not built yet
        else:
            _loaded[name] = getattr(module, func)
    return _loaded[name]


def reacts_to(res_type: str) -> bool:
    return res_type in REACTIONS


@dataclass(slots=True)
class Change:
    """One write: the stored result, its content and the version before it (parsed)."""

    method: str  #: POST, PUT, PATCH or DELETE
    stored: StoredResource
    resource: Resource | None  #: None for a deletion
    previous: Resource | None  #: None for a creation

    @property
    def created(self) -> bool:
        return self.previous is None and self.resource is not None

    @property
    def reference(self) -> str:
        return f"{self.stored.res_type}/{self.stored.res_id}"


@dataclass
class Effects:
    """What a reaction may do, inside the writing transaction.

    ``actor`` is whoever made the change (a health worker, a system client); the writes
    here are the workflow engine's (:data:`WORKFLOW_ACTOR`), through ``engine``, a
    guarded repository of its own on the same transaction.
    """

    repo: GuardedRepository
    tx: SqlTransaction
    depth: int = 0
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def actor(self) -> Actor:
        return self.repo.ctx.actor

    @property
    def now_iso(self) -> str:
        return self.now.isoformat(timespec="seconds")

    @property
    def engine(self) -> GuardedRepository:
        return self.repo.workflow_engine(self.depth + 1)

    # -- reading (the engine's own look-ups: nothing is disclosed to anyone) ---------------
    def read(self, reference: str | None) -> Resource | None:
        """The current content of ``Type/id`` (None: absent, deleted or not a reference)."""
        if not reference or reference.count("/") != 1:
            return None
        res_type, res_id = reference.split("/")
        stored = self.tx.read(res_type, res_id)
        if stored is None or stored.deleted or stored.content is None:
            return None
        return dict(jsonio.loads(stored.content))

    def search(self, res_type: str, params: list[tuple[str, str]], count: int = 100) -> list[str]:
        """Ids of current ``res_type`` resources matching ``params`` (no access filter)."""
        from fellesjournal.workflows.units import search_ids

        return search_ids(self.repo, self.tx, res_type, params, count)

    # -- writing ---------------------------------------------------------------------------
    def create(self, resource: Resource) -> StoredResource:
        """Create ``resource`` (a new id) as the workflow engine; the stored version."""
        res_type = resource["resourceType"]
        return self.engine.create(res_type, resource, tx=self.tx).stored

    def update(self, resource: Resource, *, version: int | None = None) -> StoredResource:
        """Write a new version of ``resource`` (it has its id) as the workflow engine;
        ``version`` guards against a concurrent change (412)."""
        res_type, res_id = resource["resourceType"], resource["id"]
        return self.engine.update(res_type, res_id, resource, if_match=version, tx=self.tx).stored

    def enqueue(
        self, *, kind: str, sender: str, recipient: str, patient: str | None, focus: str
    ) -> str:
        """Queue one outgoing message (see :mod:`fellesjournal.workflows.outbox`)."""
        patient_id = (
            patient.split("/", 1)[1] if patient and patient.startswith("Patient/") else None
        )
        return outbox.enqueue(
            self.tx,
            kind=kind,
            sender=sender,
            recipient=recipient,
            patient_id=patient_id,
            focus=focus,
            at=int(self.now.timestamp() * 1_000_000),
        )

    def sender_unit(self) -> str:
        """The acting health worker's unit (``Organization/id``); 422 for other actors,
        who must name the sending unit themselves."""
        work = self.actor.work
        if work is None:
            raise error(
                422,
                "required",
                "the sending unit is not known: name it (sender, requester or owner)",
            )
        return f"Organization/{work.unit_id}"


def react(
    repo: GuardedRepository,
    tx: SqlTransaction,
    ops: list[WriteOp],
    stored: list[StoredResource],
    previous: dict[int, Resource | None],
    depth: int = 0,
) -> None:
    """Run the reactions to the writes ``ops`` (their results ``stored``; ``previous``
    holds the content before each write, by position, for the types that react)."""
    if depth >= MAX_DEPTH:
        return
    fx: Effects | None = None
    for i, (op, result) in enumerate(zip(ops, stored, strict=True)):
        names = REACTIONS.get(op.res_type)
        if not names:
            continue
        new = (
            None if result.deleted or result.content is None else dict(jsonio.loads(result.content))
        )
        change = Change(op.method, result, new, previous.get(i))
        if fx is None:
            fx = Effects(repo, tx, depth)
        for name in names:
            reaction = _reaction(name)
            if reaction is not None:
                reaction(fx, change)
