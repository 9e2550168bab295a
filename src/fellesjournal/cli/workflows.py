"""``fellesjournal queues`` and ``fellesjournal outbox``: the work queues and the outbox.

* ``queues check``: exit 0 when every open work item has an owner and a monitored queue
  (and every other work-item invariant holds); otherwise one line per violation on
  stdout, a count on stderr, exit 1.
* ``queues dashboard``: every queue with open items, the oldest item's age, overdue
  and escalated items, failed deliveries.
* ``queues escalate``: tag the open items past their due date (the server does this
  every minute).
* ``outbox run [--once]``: deliver queued messages (the server's worker does this too).
* ``outbox status``: messages per state.
* ``outbox reconcile [--date YYYY-MM-DD]``: the day's messages expected against delivered
  per message kind and recipient (default: yesterday); exit 1 when any is missing or
  failed.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from fellesjournal.cli.common import err, fail, settings, system_repo

queues_app = typer.Typer(help="Work queues: the invariant and the dashboard.", no_args_is_help=True)
outbox_app = typer.Typer(help="The outbox: outgoing messages and receipts.", no_args_is_help=True)


@queues_app.command("check")
def queues_check() -> None:
    """Exit 0 when every open work item has an owner and a monitored queue."""
    from fellesjournal.workflows import queues

    violations = queues.check(system_repo(settings()))
    for violation in violations:
        typer.echo(str(violation))
    if violations:
        raise fail(f"{len(violations)} work-item violation(s)")
    err.print("every open work item has an owner and a monitored queue")


@queues_app.command("dashboard")
def queues_dashboard() -> None:
    """Every queue: owner, open items, oldest item's age, overdue, escalated, failures."""
    from datetime import UTC, datetime

    from fellesjournal.workflows import queues

    now = datetime.now(UTC)
    rows = queues.dashboard(system_repo(settings()), now)
    typer.echo(
        f"{'unit':40} {'queue':24} {'open':>6} {'oldest(d)':>9} {'overdue':>7} "
        f"{'escal.':>6} {'failed':>6}"
    )
    for q in rows:
        age = q.age_days(now)
        typer.echo(
            f"{q.unit_name[:40]:40} {q.kind[:24]:24} {q.open:>6} "
            f"{'' if age is None else f'{age:.1f}':>9} {q.overdue:>7} {q.escalated:>6} "
            f"{q.failures:>6}" + ("" if q.monitored else "  UNWATCHED")
        )


@queues_app.command("escalate")
def queues_escalate() -> None:
    """Tag open work items past their due date as escalated (to the unit leader)."""
    from fellesjournal.workflows import queues

    count = queues.escalate(system_repo(settings()))
    err.print(f"{count} work item(s) escalated")


@outbox_app.command("run")
def outbox_run(
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between rounds.")] = 2.0,
) -> None:
    """Deliver queued messages: one round with --once, otherwise until interrupted."""
    from fellesjournal.workflows.delivery import http_client
    from fellesjournal.workflows.worker import Worker

    conf = settings()
    worker = Worker(system_repo(conf).store, conf)
    with http_client(conf) as client:
        while True:
            stats = worker.round(client)
            if stats.handled:
                err.print(
                    f"delivered {stats.delivered}, sent (awaiting receipt) {stats.sent}, "
                    f"retrying {stats.retried}, failed {stats.failed}"
                )
            if once:
                return
            try:
                time.sleep(interval)
            except KeyboardInterrupt:
                return


@outbox_app.command("status")
def outbox_status() -> None:
    """Messages in the outbox per sending unit and state."""
    from fellesjournal.workflows import outbox

    repo = system_repo(settings())
    repo.guard_whole_database()
    with repo.reading() as tx:
        counts = outbox.counts_by_sender(tx)
    if not counts:
        err.print("the outbox is empty")
        return
    for (sender, state), count in sorted(counts.items()):
        typer.echo(f"{sender:50} {state:10} {count:>8}")
    if any(state == outbox.FAILED for (_, state) in counts):
        raise fail("some messages failed: see the senders' delivery-failure queues")


@outbox_app.command("reconcile")
def outbox_reconcile(
    day: Annotated[
        str | None,
        typer.Option("--date", help="The day (YYYY-MM-DD, Norwegian time); default yesterday."),
    ] = None,
) -> None:
    """Compare what each message kind and recipient should have received on a day with
    what was delivered; exit 1 when anything is missing or failed."""
    from datetime import date

    from fellesjournal.workflows import reconcile

    try:
        when = date.fromisoformat(day) if day else reconcile.default_day()
    except ValueError:
        raise fail(f"--date must be YYYY-MM-DD, not {day!r}", 2) from None
    report = reconcile.reconcile(system_repo(settings()), when)
    typer.echo(f"Reconciliation of {when.isoformat()} (Europe/Oslo)")
    columns = ("expected", "delivered", "pending", "failed", "missing", "unexpected")
    typer.echo(f"{'message kind':28} {'recipient':44} " + " ".join(f"{c:>10}" for c in columns))
    for line in report.lines:
        counts = " ".join(f"{getattr(line, c):>10}" for c in columns)
        flag = "" if line.in_order else "  <--"
        typer.echo(f"{line.kind[:28]:28} {line.recipient_name[:44]:44} {counts}{flag}")
    totals = " ".join(f"{report.total(c):>10}" for c in columns)
    typer.echo(f"{'total':28} {'':44} {totals}")
    for comm, recipient in report.missing:
        typer.echo(f"missing: {comm} to {recipient} has no outbox row")
    for item in report.failed:
        typer.echo(
            f"failed: {item.focus} to {item.recipient} (message {item.message_id}): "
            f"{item.last_error}"
        )
    for item in report.unexpected:
        typer.echo(
            f"unexpected: message {item.message_id} ({item.kind}, {item.focus}) to "
            f"{item.recipient}: nothing sent that day explains it"
        )
    if not report.ok:
        raise fail(
            f"{len(report.missing)} message(s) missing, {len(report.failed)} failed on "
            f"{when.isoformat()}"
        )
    err.print(f"every message expected on {when.isoformat()} is delivered or under way")
