"""``python -m bench.run``: measure Fellesjournal against its budgets and its floor.

Builds a fresh database, imports the Synthea set, starts the server and the floor
(``bench/floor.py``) on loopback, runs every scenario against both, stops every process
it started (by PID, also on errors), and writes ``docs/benchmarks.md``. See that file's
introduction for the protocol; ``--help`` for the options.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench import report
from bench.cpu import CpuMeter, postgres_pids
from bench.database import BenchDatabase
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
SCENARIOS = ("read", "identifier", "name", "everything", "crud")
POOL_SIZE = 100
HOST = "127.0.0.1"


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
    rows += [
        report.Row(
            "Clinician patient overview page",
            "not measured (no UI yet)",
            "p95 ≤ 100 ms server time",
        ),
        report.Row(
            "Audit and access control overhead on reads", "not measured (no audit yet)", "≤ 15 %"
        ),
    ]
    return rows


def _runs_log(res: Results) -> list[str]:
    lines = []
    for name, (server, floor) in res.wrk.items():
        for label, m in (("server", server), ("floor", floor)):
            for i, r in enumerate(m.runs, 1):
                lines.append(
                    f"{name:<10} {label:<6} run {i}: {r.rps:8,.0f} req/s  "
                    f"p50 {r.p50:6.2f}  p90 {r.p90:6.2f}  p95 {r.p95:6.2f}  "
                    f"p99 {r.p99:6.2f}  max {r.max:7.1f} ms  "
                    f"{r.requests} requests, {r.errors} errors, "
                    f"other CPU {r.other_cpu:.0%}, "
                    f"worker CPU {'/'.join(f'{c:.1f}' for c in r.worker_cpu[:2])} s"
                )
    if res.everything:
        for label, lat in zip(("server", "floor"), res.everything, strict=True):
            lines.append(
                f"everything {label:<6} " + " ".join(f"{s:.0f}" for s in lat.samples) + " ms"
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
    return notes


def _our_pids(backend: str, *services: Service) -> list[int]:
    pids = [p for svc in services for p in (svc.pid, *svc.worker_pids()) if p]
    return pids + (postgres_pids() if backend == "postgresql" else [])


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
    port, floor_port = free_port(), free_port()
    while floor_port == port:
        floor_port = free_port()
    server_env = {**env, "FELLESJOURNAL_HOST": HOST, "FELLESJOURNAL_PORT": str(port)}
    token = subprocess.run(
        [str(cli), "token", "--system", "--ttl", "7200"],
        env=server_env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    server_cmd = [str(cli), "serve", "--host", HOST, "--port", str(port), "--workers", "2"]
    floor_cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.floor:create_app",
        "--factory",
        "--host",
        HOST,
        "--port",
        str(floor_port),
        "--workers",
        "2",
        "--log-level",
        "warning",
        "--no-access-log",
        "--timeout-graceful-shutdown",
        "5",
    ]
    server_url, floor_url = f"http://{HOST}:{port}", f"http://{HOST}:{floor_port}"
    auth = {"Authorization": f"Bearer {token}"}
    with ExitStack() as stack:
        server = stack.enter_context(
            Service(
                "server", server_cmd, server_env, logs / "server.log", f"{server_url}/fhir/metadata"
            )
        )
        floor = stack.enter_context(
            Service("floor", floor_cmd, env, logs / "floor.log", f"{floor_url}/ready", cwd=REPO)
        )
        say(f"server pid {server.pid} on {server_url}, floor on {floor_url}")
        sc = stack.enter_context(httpx.Client(base_url=server_url, headers=auth, timeout=60))
        fc = stack.enter_context(httpx.Client(base_url=floor_url, timeout=60))
        targets = pick_targets(sc, patient_id, compartment)
        for client in (sc, fc):
            client.get(targets.read_path()).raise_for_status()
            check_search(client, targets.identifier_path(), patient_id)
            check_search(client, targets.name_path(), patient_id)
        say(
            f"targets: Patient/{patient_id} ({compartment:,} in compartment), "
            f"identifier {targets.identifier}, name {targets.family}"
        )
        meter = CpuMeter(lambda: _our_pids(db.backend, server, floor))
        wrk = Wrk(wrk_bin, protocol, token, meter)
        stack.callback(wrk.close)
        measured: dict[str, tuple[Measurement, Measurement]] = {}
        paths = {
            "read": targets.read_path(),
            "identifier": targets.identifier_path(),
            "name": targets.name_path(),
        }
        for name, path in paths.items():
            if name in args.only:
                measured[name] = (
                    _one(wrk, f"{name} server", server_url + path, server),
                    _one(wrk, f"{name} floor", floor_url + path, floor),
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
    say("server and floor stopped")
    return Results(imported, targets, measured, everything), version


def _one(wrk: Wrk, label: str, url: str, app: Service, pool: str | None = None) -> Measurement:
    """Measure one app (server or floor) on one URL; ``pool`` selects the CRUD mix."""
    env = {"BENCH_POOL": pool, "BENCH_POOL_SIZE": str(POOL_SIZE)} if pool else {}
    m = wrk.measure(url, "crud" if pool else "get", env, app.worker_pids())
    say(f"{label:<17} {m.summary()}")
    return m


def main(argv: list[str] | None = None) -> int:
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
