"""``fellesjournal org``: the region's organisations and the municipalities' option model.

* ``org seed`` writes the region (the RHF, the trusts and their units, the 65
  municipalities and their services, staff, message addresses); idempotent.
* ``org list`` shows every municipality as a member or holding an option.
* ``org join KOMMUNENUMMER`` exercises a municipality's option (idempotent).

Errors are one line on stderr and exit code 1.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from fellesjournal.cli.common import err, fail, settings, system_repo

org_app = typer.Typer(
    help="The region's organisations and the municipalities' membership.",
    no_args_is_help=True,
)

_TRUSTS = {"stolav": "St. Olavs", "hmr": "HMR", "hnt": "HNT"}


@org_app.command("seed")
def org_seed() -> None:
    """Write the region's organisations, units, staff and message addresses (idempotent)."""
    from fellesjournal.region.options import RegionError, seed_region

    repo = system_repo(settings())
    started = time.perf_counter()
    try:
        written = seed_region(repo)
    except RegionError as exc:
        raise fail(str(exc)) from None
    elapsed = time.perf_counter() - started
    if written:
        err.print(f"region written: {written:,} resources in {elapsed:.1f} s")
    else:
        err.print("region already up to date")


@org_app.command("list")
def org_list(
    options_only: Annotated[
        bool, typer.Option("--options", help="Only municipalities that hold an option.")
    ] = False,
) -> None:
    """Show each municipality: member of the shared record, or holding an option."""
    from fellesjournal.region.options import RegionError, list_memberships

    repo = system_repo(settings())
    try:
        rows = list_memberships(repo)
    except RegionError as exc:
        raise fail(str(exc)) from None
    for row in rows:
        if options_only and row.member:
            continue
        status = "member" if row.member else "option"
        typer.echo(
            f"{row.number}  {row.name:<24} {row.county:<16} "
            f"{_TRUSTS.get(row.trust_key, row.trust_key):<9} {status}"
        )
    members = sum(r.member for r in rows)
    typer.echo(f"{members} members, {len(rows) - members} holding an option")


@org_app.command("join")
def org_join(
    kommunenummer: Annotated[str, typer.Argument(help="The municipality's number, e.g. 5006.")],
) -> None:
    """Exercise a municipality's option: it and its units join the shared record."""
    from fellesjournal.region.options import RegionError, find_municipality, join

    try:
        find_municipality(kommunenummer)  # a bad number fails before the database is opened
        result = join(system_repo(settings()), kommunenummer)
    except RegionError as exc:
        raise fail(str(exc)) from None
    label = f"{result.name} ({result.number})"
    if result.already_member:
        typer.echo(f"{label} is already a member; nothing changed")
        return
    typer.echo(
        f"{label} joined: {result.units} units active, "
        f"{result.endpoints} message addresses created ({result.written} resources written)"
    )
