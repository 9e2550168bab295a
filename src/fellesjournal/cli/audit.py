"""``fellesjournal audit``: check the audit log's hash chain, note its head, review it.

``verify`` exits 0 on an intact log, 1 naming the first altered, removed or inserted
row, and 2 when it cannot check at all (no database, no audit tables). ``head`` prints
``SEQ:HASH`` to keep outside the database and pass back later as ``verify --anchor``:
that is what shows a rewrite by someone who also recomputed the chain
(``audit/verify.py``). ``review`` lists the suspicious accesses for the privacy officer
(``audit/review.py``), one a line, tab-separated; ``review-mark`` marks one reviewed,
appending the mark to the log. Both exit 0 on success (items found or not) and 1 with
a one-line error otherwise.
"""

from __future__ import annotations

import re
from typing import Annotated

import sqlalchemy as sa
import typer

from fellesjournal.cli.common import err, fail, system_repo
from fellesjournal.cli.common import settings as _settings
from fellesjournal.cli.common import store as _store
from fellesjournal.store.sql import SqlStore

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)

_ANCHOR = re.compile(r"^(\d+):([0-9a-f]{64})$")


def _open() -> SqlStore:
    """The store, or exit 2: a log that cannot be read is not known to be broken."""
    try:
        return _store(_settings())
    except typer.Exit as exc:
        raise typer.Exit(2) from exc


def _unreadable(exc: sa.exc.SQLAlchemyError, code: int = 2) -> typer.Exit:
    cause = getattr(exc, "orig", None) or exc
    return fail(f"cannot read the audit log: {str(cause).splitlines()[0]}", code)


def _anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    match = _ANCHOR.match(value.strip().lower())
    if match is None:
        raise fail("--anchor is SEQ:HASH as `fellesjournal audit head` prints it", code=2)
    return int(match.group(1)), match.group(2)


@audit_app.command("verify")
def verify_command(
    anchor: Annotated[
        str | None,
        typer.Option(help="SEQ:HASH noted earlier by `audit head`; that row must be unchanged."),
    ] = None,
) -> None:
    """Recompute the hash chain; name the first altered, removed or inserted row."""
    from fellesjournal.audit.verify import verify

    expected = _anchor(anchor)
    store = _open()
    try:
        result = verify(store.engine, anchor=expected)
    except sa.exc.SQLAlchemyError as exc:
        raise _unreadable(exc) from None
    finally:
        store.dispose()
    if not result.ok:
        raise fail(result.summary)
    typer.echo(result.summary)


@audit_app.command("head")
def head_command() -> None:
    """Print the log's last SEQ:HASH, to keep outside the database (`verify --anchor`)."""
    from fellesjournal.audit.log import head

    store = _open()
    try:
        with store.snapshot() as tx:
            seq, digest = head(tx)
    except sa.exc.SQLAlchemyError as exc:
        raise _unreadable(exc) from None
    finally:
        store.dispose()
    typer.echo(f"{seq}:{digest}")


@audit_app.command("review")
def review_command(
    since: Annotated[
        str | None,
        typer.Option(help="Only accesses recorded at or after this instant (with a time zone)."),
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Include the accesses already reviewed.")
    ] = False,
) -> None:
    """List suspicious accesses: SEQ, RECORDED, WHO, PATIENT, REASONS, open/reviewed."""
    from fellesjournal.fhir.errors import FhirError
    from fellesjournal.service.review import suspicious

    repo = system_repo(_settings())
    try:
        items = suspicious(repo, since, include_reviewed=show_all)
    except FhirError as exc:
        raise fail(str(exc)) from None
    except sa.exc.SQLAlchemyError as exc:
        raise _unreadable(exc, 1) from None
    finally:
        repo.store.dispose()
    for item in items:
        patient = f"Patient/{item.patient_id}" if item.patient_id else "-"
        mark = "reviewed" if item.reviewed else "open"
        typer.echo(
            f"{item.seq}\t{item.recorded}\t{item.agent_name}\t{patient}\t"
            f"{','.join(item.reasons)}\t{mark}"
        )
    err.print(f"{len(items)} suspicious access(es)", highlight=False)


@audit_app.command("review-mark")
def review_mark_command(
    seq: Annotated[str, typer.Argument(help="The seq of the event, as `audit review` lists it.")],
    comment: Annotated[str | None, typer.Option(help="What the review found (required).")] = None,
) -> None:
    """Mark an access reviewed, with a comment; the mark is appended to the audit log."""
    from fellesjournal.fhir.errors import FhirError
    from fellesjournal.service.review import mark_reviewed

    # Checked here rather than by typer, so that a mistake gets one line, not a usage box.
    if not seq.isascii() or not seq.isdigit():
        raise fail(f"SEQ is the number `audit review` lists, not {seq!r}")
    if comment is None:
        raise fail("--comment is required: say what the review found")
    repo = system_repo(_settings())
    try:
        event = mark_reviewed(repo, int(seq), comment)
    except FhirError as exc:
        raise fail(str(exc)) from None
    except sa.exc.SQLAlchemyError as exc:
        raise _unreadable(exc, 1) from None
    finally:
        repo.store.dispose()
    typer.echo(f"event {seq} marked reviewed (review mark {event['id']})")
