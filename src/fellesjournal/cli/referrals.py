"""``fellesjournal referrals``: the referrals' legal clocks.

* ``referrals breaches [--unit ORG_ID] [--near N]``: the fristbrudd report, one line per
  open assessment or waiting-list item past its due date or at most N (default 2)
  working days from it, grouped by unit, most urgent first. A report, not a check: it
  always exits 0 (``queues check`` is the check).
"""

from __future__ import annotations

from typing import Annotated

import typer

from fellesjournal.cli.common import err, settings, system_repo

referrals_app = typer.Typer(help="Referrals: the legal clocks.", no_args_is_help=True)


@referrals_app.command("breaches")
def referrals_breaches(
    unit: Annotated[
        str | None, typer.Option("--unit", help="Only this unit (Organization id).")
    ] = None,
    near: Annotated[
        int, typer.Option(min=0, help="Working days left that count as near a breach.")
    ] = 2,
) -> None:
    """Referrals past or near the assessment deadline, and waiting-list entries past or
    near the deadline for start of care, per unit, with working days left (negative:
    over)."""
    from fellesjournal.workflows import referral

    rows = referral.breaches(system_repo(settings()), unit=unit, near=near)
    if not rows:
        err.print("no clock is past or near its deadline")
        return
    typer.echo(
        f"{'unit':40} {'clock':14} {'status':9} {'due':10} {'left':>5}  "
        f"{'referral':52} {'work item':41}"
    )
    for b in sorted(rows, key=lambda b: (b.unit_name, b.days_left, b.task)):
        status = "BREACHED" if b.breached else "near"
        clock = b.clock + ("*" if b.external else "")
        typer.echo(
            f"{b.unit_name[:40]:40} {clock:14} {status:9} {b.due[:10]:10} {b.days_left:>5}  "
            f"{b.referral or '':52} {b.task:41}"
        )
    breached = sum(1 for b in rows if b.breached)
    err.print(
        f"{breached} breached, {len(rows) - breached} near (within {near} working days); "
        "* = assessment due from a unit outside the shared record"
    )
