"""``python -m bench.workflows``: the outbox's delivery rate and a unit's queue (issue 6).

The issue's two budgets, on a fresh database with the region seeded:

* **Outbox**: N Communications (2,000) to a unit outside the shared record are written
  (each with its outbox row, as a clinician's send does), then the delivery worker's
  rounds (``Worker.round``, what the server's worker and ``fellesjournal outbox run``
  do) deliver them to a receiving service on loopback that acknowledges each with an
  application receipt (``tests/workflows/receiver.py``, in a process of its own).
  Messages per second = N ÷ the time from the first round until every row is
  ``delivered``; budget ≥ 200/s. The same for N messages to a member unit (each
  becomes a work item in its queue).
* **Queue view**: 10,000 open work items in one unit's queue (and 10,000 in another
  unit's), then ``fellesjournal serve`` on loopback and the unit's queue as its nurse
  asks for it: ``GET /fhir/Task?owner=...&status=requested,received,accepted,in-progress
  &_sort=due&_count=50`` with the nurse's token (authentication, access control, audit
  on), one request after another; budget p95 ≤ 100 ms. Also the same search as a system
  client (no per-patient access check) to show what access control costs, and the
  workspace's ``/queues`` page when it exists.

Writes the "Workflows" section of ``docs/benchmarks.md`` (one block per backend).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from bench import report
from bench.cpu import CpuMeter, postgres_pids
from bench.database import BenchDatabase
from bench.machine import git_commit, machine_info
from bench.pages import sign_in, time_page
from bench.population import time_cycle
from bench.procs import Service, free_port
from bench.scenarios import Latencies

REPO = Path(__file__).resolve().parent.parent
OUTBOX_BUDGET = 200.0  # messages per second
QUEUE_BUDGET_MS = 100.0  # p95
SENDER = "stolav-hjerte-sengepost"
OUTSIDE = "kommune-1511-hjemmetjeneste"  # Vanylven holds an option: outside the record
MEMBER = "kommune-5001-hjemmetjeneste-2"
QUEUE_UNIT = "kommune-5001-hjemmetjeneste-1"
OTHER_QUEUE_UNIT = "stolav-hjerte-sengepost"
CONNECTION_TYPE = "http://terminology.hl7.org/CodeSystem/endpoint-connection-type"
OPEN_STATUSES = "requested,received,accepted,in-progress"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.workflows", description=__doc__.split("\n")[0]
    )
    p.add_argument("--database-url", help="PostgreSQL database to create (default: SQLite)")
    p.add_argument("--replace", action="store_true", help="drop a database left behind")
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--items", type=int, default=10_000, help="open work items per unit")
    p.add_argument("--patients", type=int, default=2_000, help="patients the items are about")
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--skip-outbox", action="store_true")
    p.add_argument("--skip-queues", action="store_true")
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each timed part, wait up to this long for a second in which other "
        "processes use under 10 %% of the CPU",
    )
    p.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    p.add_argument("--no-write", action="store_true", help="print the section only")
    return p.parse_args(argv)


def say(message: str) -> None:
    print(f"[workflows] {message}", file=sys.stderr, flush=True)


# -- the database -----------------------------------------------------------------------------


def settings_for(db: BenchDatabase, **extra: Any) -> Any:
    from fellesjournal.settings import Settings

    assert db.folder is not None
    values: dict[str, Any] = {
        "database_url": db.url,
        "data_dir": db.folder / "data",
        "secret_key": "bench-workflows",
        "allow_test_identities": True,
        "worker_interval_s": 0,
        **extra,
    }
    return Settings(**values)


def system_repo(store: Any, settings: Any) -> Any:
    from fellesjournal.access.actor import Actor
    from fellesjournal.service.context import RequestContext
    from fellesjournal.service.repository import GuardedRepository

    actor = Actor("system", "bench", scopes=("system/*.*",))
    return GuardedRepository(store, settings, RequestContext(actor=actor))


def prepare(db: BenchDatabase) -> None:
    from fellesjournal.region.options import seed_region
    from fellesjournal.store.engine import create_engine
    from fellesjournal.store.migrate import upgrade
    from fellesjournal.store.sql import SqlStore

    engine = create_engine(db.url)
    upgrade(engine)
    engine.dispose()
    settings = settings_for(db)
    store = SqlStore.from_settings(settings)
    try:
        say("seeding the region")
        seed_region(system_repo(store, settings))
    finally:
        store.dispose()


def patients(repo: Any, n: int, rng: random.Random) -> list[str]:
    """``n`` new patients (test fødselsnummer), written in bulk; their ids."""
    from fellesjournal.demo.identity import person_number
    from fellesjournal.norway.identifiers import FNR_SYSTEM
    from fellesjournal.service.writes import new_id
    from fellesjournal.store.base import WriteOp

    used: set[str] = set()
    ids: list[str] = []
    history = repo.historical()
    for start in range(0, n, 500):
        ops = []
        for _ in range(min(500, n - start)):
            born = date(1930, 1, 1) + timedelta(days=rng.randrange(30_000))
            fnr = person_number(born, rng.random() < 0.5, rng, used)
            pid = new_id()
            ids.append(pid)
            ops.append(
                WriteOp(
                    "POST",
                    "Patient",
                    pid,
                    {
                        "resourceType": "Patient",
                        "identifier": [{"system": FNR_SYSTEM, "value": fnr}],
                        "name": [{"family": "Ytelse", "given": ["Pasient"]}],
                        "birthDate": born.isoformat(),
                    },
                )
            )
        with history.writing() as tx:
            history.apply_many(tx, ops)
    return ids


# -- the outbox -------------------------------------------------------------------------------


def outbox_rate(
    db: BenchDatabase, receiver_url: str, n: int, receiver_pid: int | None, quiet: float = 0.0
) -> dict[str, Any]:
    """Queue ``n`` messages to the outside unit and ``n`` to a member unit; deliver each
    set with the worker's rounds; the figures."""
    from fellesjournal.store.sql import SqlStore
    from fellesjournal.workflows import delivery, messages, outbox
    from fellesjournal.workflows.worker import Worker

    settings = settings_for(db)
    store = SqlStore.from_settings(settings)
    repo = system_repo(store, settings)
    out: dict[str, Any] = {}
    try:
        endpoint = {
            "resourceType": "Endpoint",
            "status": "active",
            "connectionType": {"system": CONNECTION_TYPE, "code": "hl7-fhir-msg"},
            "managingOrganization": {"reference": f"Organization/{OUTSIDE}"},
            "payloadType": [{"text": "FHIR messages"}],
            "address": receiver_url,
        }
        repo.create("Endpoint", endpoint)
        [patient] = patients(repo, 1, random.Random(7))
        for label, recipient in (("outside", OUTSIDE), ("member", MEMBER)):
            say(f"writing {n} Communications to {recipient}")
            started = time.perf_counter()
            for i in range(n):
                body = messages.communication(
                    "helseopplysninger",
                    sender=f"Organization/{SENDER}",
                    recipients=[f"Organization/{recipient}"],
                    patient=f"Patient/{patient}",
                    sent=datetime.now(UTC).isoformat(timespec="seconds"),
                    text=f"Melding {i}: pasienten trenger tilsyn morgen og kveld.",
                )
                repo.create("Communication", body)
            out[f"{label}_written_s"] = time.perf_counter() - started
            worker = Worker(store, settings)
            say(f"delivering to {recipient}")
            meter = CpuMeter(lambda: _watched(db, receiver_pid))
            with delivery.http_client(settings) as client:
                meter.wait_quiet(0.1, quiet)
                meter.start()
                started = time.perf_counter()
                while worker.round(client).handled:
                    pass
                elapsed = time.perf_counter() - started
                out[f"{label}_other_cpu"] = meter.stop()
            with repo.reading() as tx:
                rows = outbox.items(tx, recipient=f"Organization/{recipient}", limit=n + 10)
            states = {r.state for r in rows}
            if len(rows) != n or states != {outbox.DELIVERED}:
                raise SystemExit(f"not every message to {recipient} was delivered: {states}")
            out[f"{label}_s"] = elapsed
            out[f"{label}_rate"] = n / elapsed
            say(f"{label}: {n} in {elapsed:.2f} s = {n / elapsed:.0f} messages/s")
        got = httpx.get(receiver_url.rsplit("/fhir", 1)[0] + "/", timeout=5).json()
        if got.get("acknowledged") != n:
            raise SystemExit(f"the receiver acknowledged {got} messages, not {n}")
    finally:
        store.dispose()
    return out


def _watched(db: BenchDatabase, *pids: int | None) -> list[int]:
    """The benchmark's own processes besides this one (and PostgreSQL's)."""
    own = [p for p in pids if p]
    return own + (postgres_pids() if db.backend == "postgresql" else [])


# -- the queue view ---------------------------------------------------------------------------


def fill_queues(db: BenchDatabase, items: int, n_patients: int) -> None:
    """``items`` open message work items in each of two units' queues, about
    ``n_patients`` patients, due dates spread over two months."""
    from fellesjournal.service.writes import new_id
    from fellesjournal.store.base import WriteOp
    from fellesjournal.store.sql import SqlStore
    from fellesjournal.workflows import model

    settings = settings_for(db)
    store = SqlStore.from_settings(settings)
    rng = random.Random(6)
    try:
        repo = system_repo(store, settings)
        say(f"writing {n_patients} patients")
        ids = patients(repo, n_patients, rng)
        history = repo.historical()
        today = date.today()
        for unit in (QUEUE_UNIT, OTHER_QUEUE_UNIT):
            say(f"writing {items} open work items for {unit}")
            for start in range(0, items, 500):
                ops = []
                for _ in range(min(500, items - start)):
                    authored = datetime.now(UTC) - timedelta(minutes=rng.randrange(60 * 24 * 30))
                    due = today + timedelta(days=rng.randrange(-30, 30))
                    task = model.work_item(
                        model.MESSAGE,
                        owner=f"Organization/{unit}",
                        patient=f"Patient/{rng.choice(ids)}",
                        focus=None,
                        authored=authored.isoformat(timespec="seconds"),
                        due=due.isoformat(),
                        description="Innkommende melding",
                    )
                    ops.append(WriteOp("POST", "Task", new_id(), task))
                with history.writing() as tx:
                    history.apply_many(tx, ops)
        if db.backend == "postgresql":
            # What autovacuum does after a bulk load (the test server runs without it):
            # without statistics the planner takes nested loops over the index tables.
            with store.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    finally:
        store.dispose()


def server_env(db: BenchDatabase, port: int) -> dict[str, str]:
    assert db.folder is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("FELLESJOURNAL_")}
    env.update(
        FELLESJOURNAL_DATABASE_URL=db.url,
        FELLESJOURNAL_DATA_DIR=str(db.folder / "data"),
        FELLESJOURNAL_ALLOW_TEST_IDENTITIES="true",
        FELLESJOURNAL_HOST="127.0.0.1",
        FELLESJOURNAL_PORT=str(port),
        FELLESJOURNAL_SECRET_KEY="bench-workflows",
        # The worker would escalate the 10,000 items (half are past due) during the run.
        FELLESJOURNAL_WORKER_INTERVAL_S="0",
    )
    return env


def cli(*args: str, env: dict[str, str]) -> str:
    exe = REPO / ".venv" / "bin" / "fellesjournal"
    out = subprocess.run([str(exe), *args], env=env, cwd=REPO, check=True, stdout=subprocess.PIPE)
    return out.stdout.decode().strip()


#: A first request slower than this is timed a few times only (PostgreSQL's JIT).
SLOW_FIRST_S = 2.0
SLOW_REQUESTS = 5


def queue_views(
    db: BenchDatabase, requests: int, warmup: int, quiet: float = 0.0
) -> tuple[dict[str, Latencies], dict[str, float]]:
    """The queue search (and page) timed; the other processes' CPU share during each.

    On PostgreSQL the server is run twice: as configured, and with JIT compilation off
    for its connections (``PGOPTIONS``), which the access-filtered search pays for."""
    results: dict[str, Latencies] = {}
    other: dict[str, float] = {}
    runs: list[tuple[str, dict[str, str]]] = [("", {})]
    if db.backend == "postgresql":
        runs.append((", JIT off", {"PGOPTIONS": "-c jit=off"}))
    for suffix, extra in runs:
        got, shares = _queue_run(db, requests, warmup, quiet, suffix, extra)
        results.update(got)
        other.update(shares)
    return results, other


def _queue_run(
    db: BenchDatabase,
    requests: int,
    warmup: int,
    quiet: float,
    suffix: str,
    extra_env: dict[str, str],
) -> tuple[dict[str, Latencies], dict[str, float]]:
    from fellesjournal.region.seed import build_region

    nurse = next(
        s
        for u in build_region().units()
        if u.id == QUEUE_UNIT
        for s in u.staff
        if s.role == "nurse"
    )
    port = free_port()
    env = {**server_env(db, port), **extra_env}
    assert db.folder is not None
    log = db.folder / "server.log"
    base = f"http://127.0.0.1:{port}"
    serve = [str(REPO / ".venv" / "bin" / "fellesjournal"), "serve", "--port", str(port)]
    serve += ["--workers", "1"]
    query = "/fhir/Task?" + urlencode(
        {
            "owner": f"Organization/{QUEUE_UNIT}",
            "status": OPEN_STATUSES,
            "_sort": "due",
            "_count": "50",
        }
    )
    variants = {
        f"queue search (nurse{suffix})": ("nurse", query),
        f"queue search (system client{suffix})": ("system", query),
        f"queue search (nurse, _total=none{suffix})": ("nurse", query + "&_total=none"),
    }
    results: dict[str, Latencies] = {}
    other: dict[str, float] = {}
    nurse_token = cli("token", "--practitioner", nurse.hpr, "--role", nurse.role_id, env=env)
    system_token = cli("token", "--system", "--ttl", "7200", env=env)
    tokens = {"nurse": nurse_token, "system": system_token}
    with Service("fellesjournal", serve, env, log, f"{base}/fhir/metadata", cwd=REPO) as server:
        meter = CpuMeter(lambda: _watched(db, server.pid, *server.worker_pids()))
        for name, (who, url) in variants.items():
            headers = {"Authorization": f"Bearer {tokens[who]}", "Accept": "application/fhir+json"}
            with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
                started = time.perf_counter()
                first = client.get(url)
                first_s = time.perf_counter() - started
                first.raise_for_status()
                if len(first.json().get("entry", [])) != 50:
                    raise SystemExit(f"{name} did not fill a page")
                n, w = (requests, warmup) if first_s < SLOW_FIRST_S else (SLOW_REQUESTS, 0)
                say(f"timing {name} ({n} requests; the first took {first_s:.2f} s)")
                meter.wait_quiet(0.1, quiet)
                meter.start()
                results[name] = time_cycle(client, [url], n, w)
                other[name] = meter.stop()
        if _has_queues_page(base):
            name = f"/queues page (nurse{suffix})"
            say(f"timing {name}")
            web = sign_in(base, nurse.hpr)
            try:
                started = time.perf_counter()
                web.request("GET", "/queues")
                slow = time.perf_counter() - started >= SLOW_FIRST_S
                meter.wait_quiet(0.1, quiet)
                meter.start()
                results[name] = time_page(
                    web, "/queues", SLOW_REQUESTS if slow else requests, 0 if slow else warmup
                )
                other[name] = meter.stop()
            finally:
                web.close()
    return results, other


def _has_queues_page(base: str) -> bool:
    try:
        return httpx.get(f"{base}/queues", timeout=10).status_code != 404
    except httpx.HTTPError:
        return False


# -- the report -------------------------------------------------------------------------------


def render(
    backend: str,
    rates: dict[str, Any] | None,
    views: dict[str, Latencies] | None,
    other: dict[str, float],
    args: argparse.Namespace,
    version: str,
) -> str:
    info = machine_info()
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at commit `{git_commit(REPO)}` on "
        f"{info.get('CPU', '?')}, {info.get('Cores', '?')} cores, {info.get('RAM', '?')} RAM; "
        f"{version} ("
        + (
            "`python -m bench.workflows --database-url ...`)."
            if backend == "postgresql"
            else "`python -m bench.workflows`, in `make bench`)."
        )
        + " The region seeded; the receiver is `tests/workflows/receiver.py` in a process of"
        " its own on 127.0.0.1, acknowledging every message in its HTTP answer.",
        "",
        "| What | Measured | Budget | | Other CPU |",
        "|---|---|---|---|---|",
    ]
    if rates:
        n = args.messages
        ok = rates["outside_rate"] >= OUTBOX_BUDGET
        lines.append(
            f"| Outbox → unit outside the record (FHIR message over HTTP, receipt in the "
            f"answer), {n:,} queued | {rates['outside_rate']:,.0f} messages/s "
            f"({rates['outside_s']:.2f} s) | ≥ {OUTBOX_BUDGET:.0f}/s | "
            f"{'met' if ok else '**not met**'} | {rates['outside_other_cpu']:.0%} |"
        )
        ok = rates["member_rate"] >= OUTBOX_BUDGET
        lines.append(
            f"| Outbox → member unit (a work item in its queue), {n:,} queued | "
            f"{rates['member_rate']:,.0f} messages/s ({rates['member_s']:.2f} s) | "
            f"≥ {OUTBOX_BUDGET:.0f}/s | {'met' if ok else '**not met**'} | "
            f"{rates['member_other_cpu']:.0%} |"
        )
        lines.append(
            f"| Writing the Communications (one transaction each, with the outbox row) | "
            f"{n / rates['outside_written_s']:,.0f}/s | — | | |"
        )
    if views:
        for name, lat in views.items():
            budget = name.startswith(("queue search (nurse", "/queues page (nurse")) and (
                "_total=none" not in name
            )
            verdict = ("met" if lat.p95 <= QUEUE_BUDGET_MS else "**not met**") if budget else ""
            lines.append(
                f"| {name}, {args.items:,} open items in the unit, {len(lat.samples)} requests: "
                "p50 / p95 / max | "
                f"{lat.p50:.1f} / {lat.p95:.1f} / {lat.max:.1f} ms | "
                f"{'≤ 100 ms p95' if budget else '—'} | {verdict} | "
                f"{other.get(name, 0.0):.0%} |"
            )
    lines += [
        "",
        f"* Queue: `GET /fhir/Task?owner=Organization/{QUEUE_UNIT}&status={OPEN_STATUSES}"
        f"&_sort=due&_count=50`, {args.items:,} open items in that unit and "
        f"{args.items:,} in {OTHER_QUEUE_UNIT}, about {args.patients:,} patients; "
        f"`fellesjournal serve --workers 1`, sequential requests over loopback after "
        f"{args.warmup} untimed (a query whose first answer took over {SLOW_FIRST_S:.0f} s: "
        f"{SLOW_REQUESTS} requests, none untimed); the nurse's access comes from the open "
        "items themselves (an open work item is a care relation of its unit)."
        + (
            " PostgreSQL: `ANALYZE` after the items are written (autovacuum is off on this "
            "server); the rows marked JIT off ran against a second server started with "
            "`PGOPTIONS='-c jit=off'`."
            if backend == "postgresql"
            else ""
        ),
        f"* Outbox: {args.messages:,} Communications written through the repository, then "
        "the worker's rounds (200 rows each) until none is due; the rate counts from the "
        "first round to the last row delivered.",
        "* Other CPU: the share of the machine's CPU used by processes that are not part of "
        "the benchmark while it was timed (`bench/cpu.py`); the figures are comparable only "
        "when it is near 0 %.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rates: dict[str, Any] | None = None
    views: dict[str, Latencies] | None = None
    other: dict[str, float] = {}
    with BenchDatabase(args.database_url, replace=args.replace) as db:
        prepare(db)
        version = db.server_version()
        assert db.folder is not None
        if not args.skip_outbox:
            port = free_port()
            receiver_cmd = [sys.executable, "-m", "tests.workflows.receiver", "--port", str(port)]
            with Service(
                "receiver",
                receiver_cmd,
                dict(os.environ),
                db.folder / "receiver.log",
                f"http://127.0.0.1:{port}/",
                cwd=REPO,
            ) as receiver:
                url = f"http://127.0.0.1:{port}/fhir/$process-message"
                rates = outbox_rate(db, url, args.messages, receiver.pid, args.wait_quiet)
        if not args.skip_queues:
            fill_queues(db, args.items, args.patients)
            views, other = queue_views(db, args.requests, args.warmup, args.wait_quiet)
            for name, lat in views.items():
                say(f"{name}: {lat.summary()}")
    text = render(db.backend, rates, views, other, args, version)
    print(text)
    if not args.no_write:
        report.write_block(args.output, f"workflows-{db.backend}", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
