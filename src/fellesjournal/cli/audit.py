"""``fellesjournal audit``: check the audit log's hash chain, and note its head.

``verify`` exits 0 on an intact log, 1 naming the first altered, removed or inserted
row, and 2 when it cannot check at all (no database, no audit tables). ``head`` prints
``SEQ:HASH`` to keep outside the database and pass back later as ``verify --anchor``:
that is what shows a rewrite by someone who also recomputed the chain
(``audit/verify.py``).
"""

from __future__ import annotations

import re
from typing import Annotated

import sqlalchemy as sa
import typer

from fellesjournal.cli.common import fail
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


def _unreadable(exc: sa.exc.SQLAlchemyError) -> typer.Exit:
    cause = getattr(exc, "orig", None) or exc
    return fail(f"cannot read the audit log: {str(cause).splitlines()[0]}", 2)


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
