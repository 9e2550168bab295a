"""``fellesjournal mpi``: the master patient index from the command line."""

from __future__ import annotations

import typer

from fellesjournal.cli.common import err, settings, system_repo

mpi_app = typer.Typer(help="The master patient index.", no_args_is_help=True)


@mpi_app.command("duplicates")
def mpi_duplicates() -> None:
    """List duplicate patient candidates, one pair a line (tab-separated)."""
    from fellesjournal.mpi.duplicates import duplicates

    found = duplicates(system_repo(settings()))
    for c in found:
        typer.echo(
            f"Patient/{c.a.id}\tPatient/{c.b.id}\t{c.reason}\t{c.a.birth_date}\t"
            f"{c.a.display} / {c.b.display}"
        )
    err.print(f"{len(found)} duplicate candidate pair(s)")
