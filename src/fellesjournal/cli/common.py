"""What every CLI command shares: one-line errors, settings, the store, a system repository."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore

err = Console(stderr=True)


def progress() -> Progress:
    """The progress bar of long commands (import, seeding), on stderr."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=err,
    )


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        raise fail(f"bad configuration: {str(exc).splitlines()[0]}") from None


def store(settings: Settings) -> SqlStore:
    from fellesjournal.store.migrate import SchemaMismatch, check_current

    store = SqlStore.from_settings(settings)
    try:
        check_current(store.engine)
    except SchemaMismatch as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any driver error: say it in one line
        raise fail(f"cannot open the database: {str(exc).splitlines()[0]}") from None
    return store


def system_repo(settings: Settings) -> GuardedRepository:
    from fellesjournal.access.actor import PROTECTED_ADDRESSES, Actor
    from fellesjournal.service.context import RequestContext

    # The operator's own commands (import, seeding, merging) handle whole records,
    # protected addresses included.
    actor = Actor(
        "system",
        "cli",
        scopes=("system/*.*",),
        claims={"fj_permissions": [PROTECTED_ADDRESSES]},
    )
    return GuardedRepository(store(settings), settings, RequestContext(actor=actor))
