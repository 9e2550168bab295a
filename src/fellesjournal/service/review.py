"""The privacy officer's review of suspicious accesses, for the CLI and the API.

Only system clients and practitioners working as ``privacy-officer`` may review
(:meth:`GuardedRepository.guard_review`, 403 otherwise). The rules
(``audit/review.py``) compare each access's patient with the practitioner who made it,
so the review reads current Patient and Practitioner content straight from the store
(``tx.read``), under the review rule and not the care-relation rules: it sees
names, identifiers and protected addresses in the clear to judge them, and hands back
only codes and references. The listing itself is not audited as a read of patient data;
each mark is an AuditEvent in the log's hash chain.

Errors are :class:`~fellesjournal.fhir.errors.FhirError`: a bad ``since`` or a blank
comment 400, an unknown event 404, an event already reviewed (or itself a review) 422.
"""

from __future__ import annotations

from typing import Any

from fellesjournal.audit import log
from fellesjournal.audit.fields import normalise_instant
from fellesjournal.audit.review import (
    Reader,
    ReviewItem,
    UnknownEvent,
    find_suspicious,
    new_review,
)
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import bad_request, error, not_found
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.store.sql import SqlTransaction


def suspicious(
    repo: GuardedRepository, since: str | None, include_reviewed: bool = False
) -> list[ReviewItem]:
    """The suspicious accesses recorded at or after ``since`` (an instant with a time
    zone), newest first; reviewed ones only with ``include_reviewed``. One snapshot."""
    repo.guard_review()
    if since is not None:
        try:
            since = normalise_instant(since)
        except ValueError as exc:
            raise bad_request(f"since: {exc}", "since") from None
    repo.trail.settle()
    with repo.reading() as tx:
        return find_suspicious(
            tx, since=since, read=_current(tx), include_reviewed=include_reviewed
        )


def mark_reviewed(repo: GuardedRepository, seq: int, comment: str) -> dict[str, Any]:
    """Mark event ``seq`` reviewed by the repository's actor with ``comment``; return the
    review AuditEvent as written (``id`` its seq). Check and append in one transaction."""
    repo.guard_review()
    if not comment.strip():
        raise bad_request("a review needs a comment", "comment")
    repo.trail.settle()
    with repo.writing() as tx:
        try:
            event = new_review(tx, repo.ctx.actor, seq, comment)
        except UnknownEvent as exc:
            raise not_found(str(exc)) from None
        except ValueError as exc:
            raise error(422, "business-rule", str(exc)) from None
        [review_seq] = log.append(tx, [event])
    return {**event, "id": str(review_seq)}


def _current(tx: SqlTransaction) -> Reader:
    def read(res_type: str, res_id: str) -> dict[str, Any] | None:
        stored = tx.read(res_type, res_id)
        if stored is None or stored.deleted or not stored.content:
            return None
        resource: dict[str, Any] = jsonio.loads(stored.content)
        return resource

    return read
