"""``python -m bench.run``: measure Fellesjournal against its budgets and its floor.

Builds a fresh database, imports the Synthea set, starts the server and the floor
(``bench/floor.py``) on loopback, runs every scenario against both, stops every process
it started (by PID, also on errors), and writes ``docs/benchmarks.md``. See that file's
introduction for the protocol; ``--help`` for the options.

The read scenarios (read by id, search by identifier, search by name) also run against
the same server with its audit trail switched off (``bench/unaudited.py``), timed runs
alternating with the real server's, to measure what the audit log costs reads (issue 4:
at most 15 % of the req/s).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench import pages, report
from bench.cpu import CpuMeter, postgres_pids
from bench.database import BenchDatabase, engine_url
from bench.machine import git_commit, machine_info
from bench.procs import Service, free_port
from bench.scenarios import (
    ImportResult,
    Latencies,
    Targets,
    check_search,
    make_pool,
    pick_targets,
    run_import,
    time_sequential,
)
from bench.wrk import Measurement, Protocol, Wrk, ensure_wrk, wrk_version

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = Path("/work/shared/data/synthea/blaze-synthea-120")
SCENARIOS = ("read", "identifier", "name", "everything", "overview", "crud")
READS = {"read": "read by id", "identifier": "search by identifier", "name": "search by name"}
"""The scenarios also measured without audit, and how the report names them."""
POOL_SIZE = 100
HOST = "127.0.0.1"
AUDIT_BUDGET = 0.15
"""Issue 4: audit may cost reads at most this share of the unaudited server's req/s."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument(
        "--database-url",
        help="PostgreSQL URL of a database to create for the run "
        "(default: a SQLite file in a temporary folder)",
    )
    p.add_argument(
        "--dataset",
        type=Path,
        default=DEFAULT_DATASET,
        help="folder of Synthea bundles to import (default: %(default)s)",
    )
    p.add_argument("--quick", action="store_true", help="3-second runs, 1-second warm-up")
    p.add_argument("--duration", type=int, help="seconds per timed wrk run (default 10)")
    p.add_argument("--warmup", type=int, help="seconds of wrk warm-up (default 3)")
    p.add_argument("--runs", type=int, default=3, help="timed runs per scenario")
    p.add_argument(
        "--everything-requests",
        type=int,
        help="timed $everything requests (default 40, 10 with --quick)",
    )
    p.add_argument("--only", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    p.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    p.add_argument("--no-write", action="store_true", help="print the table only")
    p.add_argument("--keep", action="store_true", help="keep the database and logs")
    p.add_argument(
        "--replace",
        action="store_true",
        help="drop and recreate the PostgreSQL database when it exists",
    )
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each timed run, wait up to this long for other processes to use "
        "under 10 %% of the CPU (for shared machines; default: do not wait)",
    )
    p.add_argument(
        "--hold",
        type=int,
        default=0,
        metavar="SECONDS",
        help="after the scenarios, keep the server up this long (profiling)",
    )
    args = p.parse_args(argv)
    args.only = set(SCENARIOS if not args.only else args.only.split(","))
    unknown = args.only - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    return args


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def clean_env(db: BenchDatabase) -> dict[str, str]:
    """The environment minus inherited ``FELLESJOURNAL_*`` settings, plus the run's own."""
    assert db.folder is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("FELLESJOURNAL_")}
    env["FELLESJOURNAL_DATABASE_URL"] = db.url
    env["FELLESJOURNAL_DATA_DIR"] = str(db.folder / "data")
    return env


@dataclass
class Results:
    """Everything measured in one run (absent when the scenario was not run)."""

    imported: ImportResult
    targets: Targets
    wrk: dict[str, tuple[Measurement, Measurement]]
    everything: tuple[Latencies, Latencies] | None
    unaudited: dict[str, Measurement] = field(default_factory=dict)
    overview: Latencies | None = None
    """The workspace's patient overview of the largest patient (``bench/pages.py``)."""
    """The read scenarios against the server without audit (``bench/unaudited.py``)."""


def audit_cost(server: Measurement, unaudited: Measurement) -> float:
    """The share of req/s that audit costs: ``1 - server / unaudited`` (medians)."""
    return 1 - server.rps / unaudited.rps if unaudited.rps else 0.0


def cpu_per_request(m: Measurement) -> float:
    """Milliseconds of the app's worker CPU per request, over all timed runs.

    Unlike req/s it does not depend on how wrk's connections fell on the workers, and
    tells CPU spent from time spent waiting (for a commit, say).
    """
    seconds = sum(sum(r.worker_cpu) for r in m.runs)
    return 1000 * seconds / m.requests if m.requests else 0.0


def _wrk_text(m: Measurement, p95: bool = False) -> str:
    tail = f"p95 {m.p95:.1f} ms" if p95 else f"p99 {m.p99:.1f} ms"
    text = f"{m.rps:,.0f} req/s; p50 {m.p50:.1f} ms; {tail}"
    return text + (f"; **{m.errors} errors**" if m.errors else "")


def _verdict(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


def _wrk_row(
    what: str,
    budget: str,
    pair: tuple[Measurement, Measurement] | None,
    check: Callable[[Measurement], bool],
    p95: bool = False,
) -> report.Row:
    if pair is None:
        return report.Row(what, "not run", budget)
    server, floor = pair
    share = server.rps / floor.rps if floor.rps else 0.0
    return report.Row(
        what,
        _wrk_text(server, p95),
        budget,
        _wrk_text(floor, p95),
        f"{share:.0%} of floor req/s",
        _verdict(check(server) and server.errors == 0),
    )


def build_rows(res: Results) -> list[report.Row]:
    imp = res.imported
    rows = [
        _wrk_row(
            "FHIR read by id",
            "≥ 2,000 req/s; p99 ≤ 20 ms",
            res.wrk.get("read"),
            lambda m: m.rps >= 2000 and m.p99 <= 20,
        ),
        _wrk_row(
            "Mixed CRUD (25 % each)", "≥ 1,000 req/s", res.wrk.get("crud"), lambda m: m.rps >= 1000
        ),
        _wrk_row(
            "Search by identifier",
            "≥ 1,000 req/s; p95 ≤ 20 ms",
            res.wrk.get("identifier"),
            lambda m: m.rps >= 1000 and m.p95 <= 20,
            p95=True,
        ),
        _wrk_row(
            "Search by name",
            "≥ 1,000 req/s; p95 ≤ 20 ms",
            res.wrk.get("name"),
            lambda m: m.rps >= 1000 and m.p95 <= 20,
            p95=True,
        ),
        report.Row(
            "Synthea import",
            f"{imp.rate:,.0f} resources/s ({imp.resources:,} in "
            f"{imp.seconds:.1f} s, {imp.files_ok}/{imp.files} files)",
            "≥ 2,000 resources/s",
            "—",
            "—",
            _verdict(imp.rate >= 2000 and imp.files_ok == imp.files),
        ),
    ]
    if res.everything is None:
        rows.append(report.Row("`$everything`, largest patient", "not run", "p95 ≤ 150 ms"))
    else:
        server, floor = res.everything
        rows.append(
            report.Row(
                "`$everything`, largest patient",
                f"p50 {server.p50:.0f} ms; p95 {server.p95:.0f} ms ({server.entries:,} entries, "
                f"{server.bytes / 1e6:.1f} MB)",
                "p95 ≤ 150 ms",
                f"p50 {floor.p50:.0f} ms; p95 {floor.p95:.0f} ms ({floor.entries:,} entries)",
                f"{server.p95 / floor.p95:.1f}× floor p95",
                _verdict(server.p95 <= 150),
            )
        )
    if res.overview is None:
        rows.append(
            report.Row("Clinician patient overview page", "not run", "p95 ≤ 100 ms server time")
        )
    else:
        ov = res.overview
        rows.append(
            report.Row(
                "Clinician patient overview page",
                f"p50 {ov.p50:.0f} ms; p95 {ov.p95:.0f} ms ({ov.bytes / 1e3:.0f} kB HTML), "
                "largest patient",
                "p95 ≤ 100 ms server time",
                "—",
                "—",
                _verdict(ov.p95 <= 100),
            )
        )
    rows += [_audit_row(res, name) for name in READS]
    return rows


def _audit_row(res: Results, name: str) -> report.Row:
    what = f"Audit overhead, {READS[name]}"
    budget = f"≤ {AUDIT_BUDGET:.0%} fewer req/s than without audit"
    pair, unaudited = res.wrk.get(name), res.unaudited.get(name)
    if pair is None or unaudited is None:
        return report.Row(what, "not run", budget)
    server, floor = pair
    cost = audit_cost(server, unaudited)
    share = unaudited.rps / floor.rps if floor.rps else 0.0
    return report.Row(
        what,
        f"{cost:.1%} ({server.rps:,.0f} req/s audited, {unaudited.rps:,.0f} without; "
        f"p50 {server.p50:.2f} vs {unaudited.p50:.2f} ms; worker CPU per request "
        f"{cpu_per_request(server):.2f} vs {cpu_per_request(unaudited):.2f} ms)",
        budget,
        f"{floor.rps:,.0f} req/s",
        f"without audit {share:.0%} of floor req/s",
        _verdict(cost <= AUDIT_BUDGET and server.errors == 0 and unaudited.errors == 0),
    )


def _runs_log(res: Results) -> list[str]:
    lines = []
    for name, (server, floor) in res.wrk.items():
        apps = [("server", server), ("floor", floor)]
        if name in res.unaudited:
            apps.insert(1, ("unaudited", res.unaudited[name]))
        for label, m in apps:
            for i, r in enumerate(m.runs, 1):
                lines.append(
                    f"{name:<10} {label:<9} run {i}: {r.rps:8,.0f} req/s  "
                    f"p50 {r.p50:6.2f}  p90 {r.p90:6.2f}  p95 {r.p95:6.2f}  "
                    f"p99 {r.p99:6.2f}  max {r.max:7.1f} ms  "
                    f"{r.requests} requests, {r.errors} errors, "
                    f"other CPU {r.other_cpu:.0%}, "
                    f"worker CPU {'/'.join(f'{c:.1f}' for c in r.worker_cpu[:2])} s"
                )
    if res.everything:
        for label, lat in zip(("server", "floor"), res.everything, strict=True):
            lines.append(
                f"everything {label:<9} " + " ".join(f"{s:.0f}" for s in lat.samples) + " ms"
            )
    return lines


def _notes(res: Results, backend: str, load: float, seconds: float) -> list[str]:
    others = sorted(r.other_cpu for pair in res.wrk.values() for m in pair for r in m.runs)
    notes = [
        f"Whole run: {seconds:.0f} s; load average when it started: {load:.2f}. Other "
        f"processes used {res.imported.other_cpu:.0%} of the CPU during the import."
    ]
    if others:
        notes.append(
            f"Other processes (not the benchmark) used {statistics.median(others):.0%} of "
            f"the machine's CPU during the median timed wrk run, {others[-1]:.0%} at most"
            + (
                " (PostgreSQL's processes count as the benchmark's)."
                if backend == "postgresql"
                else "."
            )
        )
        if others[-1] > 0.10:
            notes.append(
                "**The machine was not quiet**: runs with much other CPU use understate "
                "throughput; compare the ratios to the floor, or run again on a quiet machine."
            )
    if res.unaudited:
        notes.append(
            "Audit overhead: the same server with its audit trail switched off "
            "(`bench/unaudited.py`, a benchmark-only factory; the product has no such "
            "setting), same environment, database and 2 workers, its timed runs alternating "
            "with the real server's; overhead = 1 − audited ÷ unaudited median req/s. Each "
            "run's worker CPU split is in the log below: a run where one worker took every "
            "connection halves that run's req/s, audited or not."
        )
    return notes


def _our_pids(backend: str, *services: Service) -> list[int]:
    pids = [p for svc in services for p in (svc.pid, *svc.worker_pids()) if p]
    return pids + (postgres_pids() if backend == "postgresql" else [])


def _uvicorn_cmd(factory: str, port: int) -> list[str]:
    """uvicorn as ``fellesjournal serve`` runs it (2 workers, no access log)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        factory,
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "2",
        "--log-level",
        "warning",
        "--no-access-log",
        "--timeout-graceful-shutdown",
        "5",
    ]


def _audit_rows(db: BenchDatabase) -> int:
    engine = sa.create_engine(engine_url(db.url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT COUNT(*) FROM audit_log")).scalar_one())
    finally:
        engine.dispose()


def check_audit_switch(
    db: BenchDatabase, audited: httpx.Client, unaudited: httpx.Client, path: str
) -> None:
    """Raise unless a read through ``unaudited`` leaves the log as it was and one through
    ``audited`` appends to it (so the comparison compares what it claims to)."""
    settle = 0.5  # the servers commit the events of reads in batches, within milliseconds
    time.sleep(settle)
    before = _audit_rows(db)
    unaudited.get(path).raise_for_status()
    time.sleep(settle)
    after_unaudited = _audit_rows(db)
    audited.get(path).raise_for_status()
    deadline = time.monotonic() + 5
    while (after_audited := _audit_rows(db)) <= after_unaudited and time.monotonic() < deadline:
        time.sleep(0.05)
    if after_unaudited != before or after_audited <= after_unaudited:
        raise RuntimeError(
            f"audit switch check failed: audit_log rows {before} -> {after_unaudited} "
            f"(read without audit) -> {after_audited} (read with audit)"
        )


def measure(
    args: argparse.Namespace, db: BenchDatabase, wrk_bin: str, protocol: Protocol
) -> tuple[Results, str]:
    """Import, start both apps, run the scenarios; returns results and the DB version."""
    assert db.folder is not None
    cli = Path(sys.executable).parent / "fellesjournal"
    env = clean_env(db)
    logs = db.folder
    say(f"database {db.url}; logs in {logs}")
    subprocess.run(
        [str(cli), "db", "upgrade"], env=env, check=True, capture_output=True, timeout=300
    )
    say(f"importing {args.dataset} ...")
    import_meter = CpuMeter(lambda: postgres_pids() if db.backend == "postgresql" else [])
    import_meter.start()
    imported = run_import(cli, args.dataset, env, logs / "import.log")
    imported.other_cpu = import_meter.stop()
    say(
        f"imported {imported.resources:,} resources in {imported.seconds:.1f} s "
        f"({imported.rate:,.0f}/s; other processes used {imported.other_cpu:.0%} CPU)"
    )
    patient_id, compartment = db.largest_patient()
    port, floor_port, unaudited_port = _distinct_ports(3)
    server_env = {**env, "FELLESJOURNAL_HOST": HOST, "FELLESJOURNAL_PORT": str(port)}
    if "overview" in args.only:
        # The workspace's users are the region's staff (bench/pages.py).
        subprocess.run(
            [str(cli), "org", "seed"], env=server_env, check=True, capture_output=True, timeout=600
        )
    token = subprocess.run(
        [str(cli), "token", "--system", "--ttl", "7200"],
        env=server_env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    server_cmd = [str(cli), "serve", "--host", HOST, "--port", str(port), "--workers", "2"]
    floor_cmd = _uvicorn_cmd("bench.floor:create_app", floor_port)
    # The server's own environment (its host and port included), so the settings, the
    # issuer URL and therefore the token are the server's; only the socket differs.
    unaudited_cmd = _uvicorn_cmd("bench.unaudited:create_app", unaudited_port)
    server_url, floor_url = f"http://{HOST}:{port}", f"http://{HOST}:{floor_port}"
    unaudited_url = f"http://{HOST}:{unaudited_port}"
    auth = {"Authorization": f"Bearer {token}"}
    with ExitStack() as stack:
        server = _start(
            stack,
            Service(
                "server", server_cmd, server_env, logs / "server.log", f"{server_url}/fhir/metadata"
            ),
        )
        floor = _start(
            stack,
            Service("floor", floor_cmd, env, logs / "floor.log", f"{floor_url}/ready", cwd=REPO),
        )
        unaudited = _start(
            stack,
            Service(
                "unaudited",
                unaudited_cmd,
                server_env,
                logs / "unaudited.log",
                f"{unaudited_url}/fhir/metadata",
                cwd=REPO,
            ),
        )
        say(
            f"server pid {server.pid} on {server_url}, unaudited pid {unaudited.pid} on "
            f"{unaudited_url}, floor pid {floor.pid} on {floor_url}"
        )
        sc = stack.enter_context(httpx.Client(base_url=server_url, headers=auth, timeout=60))
        uc = stack.enter_context(httpx.Client(base_url=unaudited_url, headers=auth, timeout=60))
        fc = stack.enter_context(httpx.Client(base_url=floor_url, timeout=60))
        targets = pick_targets(sc, patient_id, compartment)
        for client in (sc, uc, fc):
            client.get(targets.read_path()).raise_for_status()
            check_search(client, targets.identifier_path(), patient_id)
            check_search(client, targets.name_path(), patient_id)
        check_audit_switch(db, sc, uc, targets.read_path())
        say(
            f"targets: Patient/{patient_id} ({compartment:,} in compartment), "
            f"identifier {targets.identifier}, name {targets.family}"
        )
        meter = CpuMeter(lambda: _our_pids(db.backend, server, unaudited, floor))
        wrk = Wrk(wrk_bin, protocol, token, meter)
        stack.callback(wrk.close)
        measured: dict[str, tuple[Measurement, Measurement]] = {}
        without_audit: dict[str, Measurement] = {}
        paths = {
            "read": targets.read_path(),
            "identifier": targets.identifier_path(),
            "name": targets.name_path(),
        }
        for name, path in paths.items():
            if name in args.only:
                audited_m, without_audit[name] = _alternating(
                    wrk, name, (server_url + path, server), (unaudited_url + path, unaudited)
                )
                measured[name] = (audited_m, _one(wrk, f"{name} floor", floor_url + path, floor))
                say(
                    f"{name:<10} audit overhead "
                    f"{audit_cost(audited_m, without_audit[name]):.1%} "
                    f"(budget ≤ {AUDIT_BUDGET:.0%}); worker CPU per request "
                    f"{cpu_per_request(audited_m):.2f} ms audited, "
                    f"{cpu_per_request(without_audit[name]):.2f} ms without"
                )
        everything = None
        if "everything" in args.only:
            n = args.everything_requests or (10 if args.quick else 40)
            path = targets.everything_path()
            everything = (
                time_sequential(sc, path, n, warmup=3),
                time_sequential(fc, path, n, warmup=3),
            )
            say(f"$everything server {everything[0].summary()}")
            say(f"$everything floor  {everything[1].summary()}")
        overview = None
        if "overview" in args.only:
            web = pages.sign_in(server_url)
            stack.callback(web.close)
            pages.break_glass(web, patient_id)
            n = args.everything_requests or (10 if args.quick else 40)
            overview = pages.time_page(web, f"/patients/{patient_id}", n, warmup=3)
            say(f"overview page    {overview.summary()}")
        if "crud" in args.only:
            make_pool(sc, "bench-pool", POOL_SIZE)
            make_pool(fc, "floor-pool", POOL_SIZE)
            base = "/fhir/Patient"
            measured["crud"] = (
                _one(wrk, "crud server", server_url + base, server, "bench-pool"),
                _one(wrk, "crud floor", floor_url + base, floor, "floor-pool"),
            )
        if args.hold:
            say(f"holding the server (workers {server.worker_pids()}) for {args.hold} s")
            time.sleep(args.hold)
        version = db.server_version()
    say("server, unaudited server and floor stopped")
    return Results(imported, targets, measured, everything, without_audit, overview), version


def _start(stack: ExitStack, service: Service) -> Service:
    """Start ``service``, its stop registered first: one that never becomes ready (and so
    raises from ``start``) is stopped by its PID too."""
    stack.callback(service.stop)
    service.start()
    return service


def _distinct_ports(n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def _alternating(
    wrk: Wrk, name: str, audited: tuple[str, Service], unaudited: tuple[str, Service]
) -> tuple[Measurement, Measurement]:
    """The server with and without audit on one scenario, timed runs taking turns
    (ABBA...), so that a change in the machine's other load hits both alike."""
    p = wrk.protocol
    apps = (audited, unaudited)
    if p.warmup > 0:
        for url, _ in apps:
            wrk.once(url, "get", p.warmup)
    results: tuple[Measurement, Measurement] = (Measurement(), Measurement())
    for i in range(p.runs):
        for k in (0, 1) if i % 2 == 0 else (1, 0):
            url, app = apps[k]
            if wrk.meter and p.quiet_wait > 0:
                wrk.meter.wait_quiet(0.10, p.quiet_wait)
            results[k].runs.append(wrk.once(url, "get", p.duration, None, app.worker_pids()))
    say(f"{name + ' server':<17} {results[0].summary()}")
    say(f"{name + ' unaudited':<17} {results[1].summary()}")
    return results


def _one(wrk: Wrk, label: str, url: str, app: Service, pool: str | None = None) -> Measurement:
    """Measure one app (server or floor) on one URL; ``pool`` selects the CRUD mix."""
    env = {"BENCH_POOL": pool, "BENCH_POOL_SIZE": str(POOL_SIZE)} if pool else {}
    m = wrk.measure(url, "crud" if pool else "get", env, app.worker_pids())
    say(f"{label:<17} {m.summary()}")
    return m


def _exit_on_term(signum: int, _frame: object) -> None:
    # SIGTERM (timeout, kill) unwinds like Ctrl-C, so the servers started are stopped.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_term)
    args = parse_args(argv)
    protocol = Protocol(
        duration=args.duration or (3 if args.quick else 10),
        warmup=args.warmup if args.warmup is not None else (1 if args.quick else 3),
        runs=args.runs,
        quiet_wait=args.wait_quiet,
    )
    if not args.dataset.is_dir():
        raise SystemExit(f"no dataset folder {args.dataset} (pass --dataset)")
    wrk_bin = ensure_wrk()
    started = time.monotonic()
    load = os.getloadavg()[0]
    with BenchDatabase(args.database_url, keep=args.keep, replace=args.replace) as db:
        results, db_version = measure(args, db, wrk_bin, protocol)
        backend = db.backend
    machine = machine_info()
    machine["wrk"] = wrk_version(wrk_bin)
    if backend != "sqlite":
        machine.pop("SQLite", None)
    files = sum(1 for f in args.dataset.iterdir() if f.is_file())
    t = results.targets
    section = report.Section(
        backend=backend,
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        commit=git_commit(REPO),
        machine=machine,
        database=db_version,
        dataset=(
            f"`{args.dataset}` ({files} files, {results.imported.resources:,} resources imported)"
        ),
        protocol=(
            f"wrk -t{protocol.threads} -c{protocol.connections}, "
            f"{protocol.warmup} s warm-up, median of {protocol.runs} × "
            f"{protocol.duration} s"
            + (" (--quick)" if args.quick else "")
            + (f", --wait-quiet {args.wait_quiet:g}" if args.wait_quiet else "")
        ),
        targets=[
            f"Targets: Patient/{t.patient_id} ({t.compartment_size:,} resources in its "
            f"compartment), identifier `{t.identifier}`, name `{t.family}`"
        ],
        rows=build_rows(results),
        runs=_runs_log(results),
        notes=_notes(results, backend, load, time.monotonic() - started),
    )
    print()
    print(section.table())
    if not args.no_write:
        report.write(args.output, section)
        say(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
