"""``fellesjournal demo``: the synthetic demo population and the built-in demo set.

* ``demo seed`` writes the region, then a deterministic synthetic population living in
  it (:mod:`fellesjournal.demo.population`), with a progress bar, then the demo's work
  items through the workflows (:mod:`fellesjournal.demo.workflows`: referrals, results,
  messages, an escalated item, a failed delivery), then the patient portal's demo
  citizens (:mod:`fellesjournal.demo.portal_seed`, written once); ``--if-empty`` does
  nothing when patients exist (``make run`` uses it).
* ``demo load`` loads the nine built-in demo resources (the older, smaller demo).

Errors are one line on stderr and exit code 1.
"""

from __future__ import annotations

import datetime
import time
from typing import TYPE_CHECKING, Annotated

import typer

from fellesjournal.cli.common import err, fail, settings, system_repo
from fellesjournal.cli.common import progress as progress_bar

if TYPE_CHECKING:
    from fellesjournal.service.repository import GuardedRepository

demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)


def _anchor(value: str | None) -> datetime.date:
    if value is None:
        return datetime.date.today()
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise fail(f"--today must be a date as YYYY-MM-DD, not {value!r}") from None


@demo_app.command("seed")
def demo_seed(
    patients: Annotated[int, typer.Option(help="How many persons.", min=0)] = 200,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same population.", min=0)] = 1,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the database has patients.")
    ] = False,
    today: Annotated[
        str | None, typer.Option(help="Anchor date YYYY-MM-DD (default: today).")
    ] = None,
) -> None:
    """Write the region and a deterministic synthetic population living in it."""
    from fellesjournal.demo.seeder import DemoError, patients_exist, seed_population, with_members
    from fellesjournal.demo.workflows import seed_work_items
    from fellesjournal.region.options import RegionError, list_memberships, seed_region
    from fellesjournal.region.seed import build_region

    anchor = _anchor(today)
    config = settings()
    if not config.allow_test_identities:
        raise fail(
            "the demo population uses synthetic test identities: "
            "set FELLESJOURNAL_ALLOW_TEST_IDENTITIES=true"
        )
    repo = system_repo(config)
    if if_empty and patients_exist(repo):
        err.print("database already has patients; nothing seeded")
        return
    try:
        seed_region(repo)
        members = {m.number for m in list_memberships(repo) if m.member}
    except RegionError as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - a database failure: one line, exit 1
        raise fail(f"writing the region failed: {str(exc).splitlines()[0]}") from None
    region = with_members(build_region(), members)
    with progress_bar() as progress:
        task = progress.add_task("seeding", total=max(patients, 1))
        started = time.perf_counter()

        def report(persons: int, resources: int) -> None:
            rate = resources / max(time.perf_counter() - started, 1e-9)
            progress.update(
                task,
                completed=persons,
                description=f"{persons:,} patients, {resources:,} resources, {rate:,.0f}/s",
            )

        try:
            summary = seed_population(
                repo, region, patients=patients, seed=seed, today=anchor, progress=report
            )
        except DemoError as exc:
            raise fail(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - a database failure: one line, exit 1
            raise fail(f"seeding stopped: {str(exc).splitlines()[0]}") from None
    try:
        items = seed_work_items(repo, anchor)
    except Exception as exc:  # noqa: BLE001 - a database failure: one line, exit 1
        raise fail(f"seeding the work items stopped: {str(exc).splitlines()[0]}") from None
    merges = f", {summary.merged} duplicates merged" if summary.merged else ""
    if summary.merge_skipped:
        merges += f", {summary.merge_skipped} merges skipped"
    err.print(
        f"seeded {summary.patients:,} patients: {summary.resources:,} resources in "
        f"{summary.seconds:.1f} s ({summary.rate:,.0f} resources/s){merges}",
        soft_wrap=True,
    )
    if items is not None:
        err.print(
            f"work items: {items.items} open, {items.delivered} messages delivered, "
            f"{items.failed} failed delivery, {items.escalated} escalated",
            soft_wrap=True,
        )
    _seed_portal(repo, anchor)


def _seed_portal(repo: GuardedRepository, anchor: datetime.date) -> None:
    """The patient portal's demo citizens (``demo/portal_seed.py``), unless written."""
    from fellesjournal.demo.portal_seed import seed_portal
    from fellesjournal.demo.seeder import DemoError

    try:
        portal = seed_portal(repo, anchor)
    except DemoError as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - a database failure: one line, exit 1
        raise fail(f"seeding the portal's citizens stopped: {str(exc).splitlines()[0]}") from None
    if portal is None:
        return
    err.print(
        f"portal demo citizens: {portal.resources} resources, {portal.referrals} referrals, "
        f"a message thread, the access log and a break-the-glass",
        soft_wrap=True,
    )


@demo_app.command("load")
def demo_load(force: Annotated[bool, typer.Option(help="Load even if not empty.")] = False) -> None:
    """Load the built-in demo patients when the database has no patients."""
    from fellesjournal.demo.builtin import load_builtin

    repo = system_repo(settings())
    loaded = load_builtin(repo, force=force)
    err.print(f"loaded {loaded} demo resources" if loaded else "database already has data")
