"""The server with its audit trail switched off: a yardstick for ``make bench``, never a server.

Issue 4 puts a budget on what the audit log costs reads (at most 15 % of the req/s).
Measuring that needs the same server without audit, and Fellesjournal deliberately has no
setting that turns audit off. So ``bench/run.py`` starts this factory beside the real
server, on its own port, with the same environment, database and uvicorn settings::

    uvicorn bench.unaudited:create_app --factory --workers 2

**It exists only to measure audit's cost. Never use it to serve anyone**: reads through
it disclose patient data without the AuditEvent the law requires.

What is switched off: :meth:`AuditTrail.note` (events of reads and denials, written by the
sink's group commit before the answer leaves) and :meth:`AuditTrail.append_in` (events of
changes, appended in the change's transaction) behave as they do for the product's own
unaudited lookups (``RequestContext(audited=False)``): nothing is owed, so ``flush``
writes nothing and the answer is sent at once. Everything else (authentication, access
decisions, building each AuditEvent before it is dropped) runs as in the real server, so
the difference in throughput is the cost of writing and waiting for the log.
"""

from __future__ import annotations

from typing import Any

from fellesjournal.app import Fellesjournal
from fellesjournal.app import create_app as create_audited_app
from fellesjournal.service.auditing import AuditTrail
from fellesjournal.store.sql import SqlTransaction


def _note_nothing(self: AuditTrail, event: dict[str, Any]) -> None:
    """:meth:`AuditTrail.note` of a trail that is not enabled."""


def _append_nothing(
    self: AuditTrail, tx: SqlTransaction, events: list[dict[str, Any]]
) -> list[int]:
    """:meth:`AuditTrail.append_in` of a trail that is not enabled (no seqs)."""
    return []


def disable_audit() -> None:
    """Make every :class:`AuditTrail` in this process owe the log nothing."""
    AuditTrail.note = _note_nothing  # type: ignore[method-assign]
    AuditTrail.append_in = _append_nothing  # type: ignore[method-assign]


def create_app() -> Fellesjournal:
    """``fellesjournal.app.create_app()`` (settings from the environment), unaudited."""
    disable_audit()
    return create_audited_app()
