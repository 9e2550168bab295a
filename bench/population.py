"""``python -m bench.population``: patient search and terminology on the demo population.

Seeds (once, then cached under ``var/bench/``) a database with the deterministic demo
population (``fellesjournal demo seed --patients N --seed S``, 100,000 patients by
default), starts the server on loopback, and times the searches a registration clerk and
a clinician make — by fødselsnummer, by name (Norwegian letters), by birth date and in
combination — and type-ahead on ICD-10 and ICPC-2, one request after another. Writes the
"Demo population" section of ``docs/benchmarks.md``. The cached database is rebuilt when
the generator, the region or the schema changes (a fingerprint of their source files).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx

from bench import portal, report, workspace
from bench.machine import git_commit, machine_info
from bench.procs import Service, free_port
from bench.scenarios import Latencies

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "var" / "bench"
FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
ICD10 = "http://hl7.org/fhir/sid/icd-10-no?fhir_vs"
ICPC2 = "http://hl7.org/fhir/sid/icpc-2?fhir_vs"
FINGERPRINT_SOURCES = (
    "src/fellesjournal/demo",
    "src/fellesjournal/region",
    "src/fellesjournal/store",
)
BUDGET_MS = 20.0
TYPEAHEAD = ("hjer", "diab", "smerte", "brudd", "lunge", "hodepine", "ang", "k8", "I2", "J4")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.population", description=__doc__.split("\n")[0]
    )
    p.add_argument("--patients", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--requests", type=int, default=300, help="timed requests per query kind")
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--page-requests", type=int, default=50, help="timed requests per page")
    p.add_argument(
        "--pages-only", action="store_true", help="time the workspace's pages, not the searches"
    )
    p.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    p.add_argument("--no-write", action="store_true", help="print the table only")
    return p.parse_args(argv)


def say(message: str) -> None:
    print(f"[population] {message}", file=sys.stderr, flush=True)


def fingerprint() -> str:
    h = hashlib.sha256()
    for folder in FINGERPRINT_SOURCES:
        for path in sorted((REPO / folder).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".json", ".gz"):
                h.update(path.relative_to(REPO).as_posix().encode())
                h.update(path.read_bytes())
    return h.hexdigest()[:12]


def env_for(db_path: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FELLESJOURNAL_")}
    env.update(
        FELLESJOURNAL_DATABASE_URL=f"sqlite:///{db_path}",
        FELLESJOURNAL_DATA_DIR=str(db_path.parent / "data"),
        FELLESJOURNAL_ALLOW_TEST_IDENTITIES="true",
        FELLESJOURNAL_HOST="127.0.0.1",
        FELLESJOURNAL_PORT=str(port),
        FELLESJOURNAL_SECRET_KEY="bench-population",
    )
    return env


def cli(*args: str, env: dict[str, str], log: Path | None = None) -> str:
    exe = REPO / ".venv" / "bin" / "fellesjournal"
    out = subprocess.run(
        [str(exe), *args],
        env=env,
        cwd=REPO,
        check=True,
        stdout=subprocess.PIPE,
        stderr=log.open("ab") if log else None,
    )
    return out.stdout.decode().strip()


def ensure_seeded(patients: int, seed: int) -> tuple[Path, float | None, str]:
    """The cached database (seeding it first when missing); seconds and rate when seeded now."""
    CACHE.mkdir(parents=True, exist_ok=True)
    db = CACHE / f"population-{patients}-s{seed}-{fingerprint()}.db"
    if db.exists():
        say(f"using cached {db.name}")
        return db, None, "cached"
    for old in CACHE.glob(f"population-{patients}-s{seed}-*.db*"):
        old.unlink()
    partial = db.with_suffix(".partial.db")
    env = env_for(partial, 0)
    log = CACHE / "seed.log"
    say(f"seeding {patients:,} patients into {partial.name} (once; cached afterwards)")
    started = time.perf_counter()
    cli("db", "upgrade", env=env, log=log)
    cli("demo", "seed", "--patients", str(patients), "--seed", str(seed), env=env, log=log)
    seconds = time.perf_counter() - started
    tail = log.read_text().strip().splitlines()[-1:] or [""]
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(partial) + suffix)
        if src.exists():
            src.rename(Path(str(db) + suffix))
    return db, seconds, tail[0]


def sample_patients(client: httpx.Client, n: int, rng: random.Random) -> list[dict[str, str]]:
    """``n`` patients with a fødselsnummer, name and birth date, spread over the database."""
    total = client.get("/fhir/Patient", params={"_summary": "count"}).json()["total"]
    out: list[dict[str, str]] = []
    while len(out) < n:
        offset = rng.randrange(max(1, total - 50))
        page = client.get(
            "/fhir/Patient",
            params={
                "_count": "50",
                "_offset": str(offset),
                "_elements": "identifier,name,birthDate",
            },
        ).json()
        for e in page.get("entry", []):
            r = e["resource"]
            fnr = next(
                (i["value"] for i in r.get("identifier", []) if i.get("system") == FNR), None
            )
            name = (r.get("name") or [{}])[0]
            if fnr and name.get("family") and name.get("given") and r.get("birthDate"):
                out.append(
                    {
                        "fnr": fnr,
                        "family": name["family"],
                        "given": name["given"][0],
                        "birthdate": r["birthDate"],
                    }
                )
    rng.shuffle(out)
    return out[:n]


def queries(people: list[dict[str, str]]) -> dict[str, list[str]]:
    def q(params: dict[str, str]) -> str:
        return "/fhir/Patient?" + urlencode(params)

    return {
        "fødselsnummer (system and value)": [
            q({"identifier": f"{FNR}|{p['fnr']}"}) for p in people
        ],
        "fødselsnummer (bare value)": [q({"identifier": p["fnr"]}) for p in people],
        "family + given": [q({"family": p["family"], "given": p["given"]}) for p in people],
        "name prefix (type-ahead, 3 letters, _count=20)": [
            q({"name": p["family"][:3], "_count": "20"}) for p in people
        ],
        "birth date": [q({"birthdate": p["birthdate"]}) for p in people],
        "family + birth date": [
            q({"family": p["family"], "birthdate": p["birthdate"]}) for p in people
        ],
        "given + family + birth date": [
            q({"given": p["given"], "family": p["family"], "birthdate": p["birthdate"]})
            for p in people
        ],
    }


HPR = "urn:oid:2.16.578.1.12.4.1.4.4"


def health_worker(
    client: httpx.Client, people: list[dict[str, str]], env: dict[str, str]
) -> tuple[str, dict[str, list[str]]]:
    """A fastlege's token and the searches they make, under access control: their own
    listed patients (found) and everyone else (filtered away in SQL, so not found)."""
    gp_ref = role_id = None
    for p in people:
        body = client.get(
            "/fhir/Patient",
            params={"identifier": f"{FNR}|{p['fnr']}", "_elements": "generalPractitioner"},
        ).json()
        refs = [
            g["reference"]
            for e in body.get("entry", [])
            for g in e["resource"].get("generalPractitioner", [])
            if g.get("reference", "").startswith("Practitioner/")
        ]
        for ref in refs:
            roles = client.get(
                "/fhir/PractitionerRole", params={"practitioner": ref, "active": "true"}
            ).json()
            if roles.get("entry"):
                gp_ref, role_id = ref, roles["entry"][0]["resource"]["id"]
                break
        if gp_ref:
            break
    if gp_ref is None or role_id is None:
        raise SystemExit("no patient in the sample has a fastlege with an active role")
    practitioner = client.get(f"/fhir/{gp_ref}").json()
    hpr = next(i["value"] for i in practitioner["identifier"] if i.get("system") == HPR)
    token = cli("token", "--practitioner", hpr, "--role", role_id, env=env)
    listed = client.get(
        "/fhir/Patient",
        params={"general-practitioner": gp_ref, "_count": "100", "_elements": "identifier"},
    ).json()
    own = [
        (e["resource"]["id"], i["value"])
        for e in listed.get("entry", [])
        for i in e["resource"].get("identifier", [])
        if i.get("system") == FNR
    ]
    others = [p["fnr"] for p in people if p["fnr"] not in {fnr for _, fnr in own}]

    def q(params: dict[str, str]) -> str:
        return "/fhir/Patient?" + urlencode(params)

    return token, {
        "fastlege: own patient by fødselsnummer": [q({"identifier": f"{FNR}|{f}"}) for _, f in own],
        "fastlege: another's patient by fødselsnummer (filtered: none)": [
            q({"identifier": f"{FNR}|{f}"}) for f in others
        ],
        "fastlege: read own patient by id": [f"/fhir/Patient/{pid}" for pid, _ in own],
        "fastlege: own patient's Observations": [
            "/fhir/Observation?" + urlencode({"patient": pid, "_count": "50"}) for pid, _ in own
        ],
    }


def typeahead() -> dict[str, list[str]]:
    def q(url: str, text: str) -> str:
        return "/fhir/ValueSet/$expand?" + urlencode({"url": url, "filter": text, "count": "20"})

    return {
        "ICD-10-NO $expand filter": [q(ICD10, t) for t in TYPEAHEAD],
        "ICPC-2 $expand filter": [q(ICPC2, t) for t in TYPEAHEAD],
    }


def time_cycle(client: httpx.Client, urls: list[str], requests: int, warmup: int) -> Latencies:
    """Each request a different URL from ``urls`` (cycled), one after another."""
    samples: list[float] = []
    entries = size = 0
    for i in range(warmup + requests):
        url = urls[i % len(urls)]
        started = time.perf_counter()
        resp = client.get(url)
        body = resp.content
        elapsed = (time.perf_counter() - started) * 1000
        resp.raise_for_status()
        if i >= warmup:
            samples.append(elapsed)
            size = len(body)
    entries = len(resp.json().get("entry", resp.json().get("expansion", {}).get("contains", [])))
    return Latencies(samples, entries, size)


def render(
    results: dict[str, Latencies],
    patients: int,
    resources: int,
    seed_note: str,
    commit: str,
) -> str:
    info = machine_info()
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at commit `{commit}` on "
        f"{info.get('CPU', '?')}, {info.get('Cores', '?')} cores, {info.get('RAM', '?')} RAM; "
        "SQLite, one server worker, "
        f"one request at a time over loopback (`python -m bench.population`).",
        "",
        f"Database: the demo population, {patients:,} patients and {resources:,} resources "
        f"({seed_note}).",
        "",
        "| Query | p50 | p95 | max | Budget (p95) | |",
        "|---|---|---|---|---|---|",
    ]
    for name, lat in results.items():
        ok = lat.p95 <= BUDGET_MS
        lines.append(
            f"| {name} | {lat.p50:.1f} ms | {lat.p95:.1f} ms | {lat.max:.1f} ms | "
            f"≤ {BUDGET_MS:.0f} ms | {'met' if ok else '**not met**'} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    db, seconds, seed_line = ensure_seeded(args.patients, args.seed)
    seed_note = f"seeded in {seconds:,.0f} s: {seed_line}" if seconds else "seeded earlier, cached"
    port = free_port()
    env = env_for(db, port)
    token = cli("token", "--system", "--ttl", "7200", env=env)
    log = CACHE / "server.log"
    results: dict[str, Latencies] = {}
    base = f"http://127.0.0.1:{port}"
    serve = [
        str(REPO / ".venv" / "bin" / "fellesjournal"),
        "serve",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    with Service("fellesjournal", serve, env, log, f"{base}/fhir/metadata", cwd=REPO):
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            resources = client.get("/fhir", params={"_summary": "count"}).json()["total"]
            synthea, synthea_size = workspace.ensure_synthea_patient(
                client, lambda files: cli("import", *map(str, files), env=env, log=log)
            )
            gp_queries: dict[str, list[str]] = {}
            if not args.pages_only:
                people = sample_patients(client, 200, random.Random(args.seed))
                for name, urls in {**queries(people), **typeahead()}.items():
                    say(f"timing {name}")
                    results[name] = time_cycle(client, urls, args.requests, args.warmup)
                gp_token, gp_queries = health_worker(client, people, env)
        if gp_queries:
            gp_headers = {"Authorization": f"Bearer {gp_token}", "Accept": "application/fhir+json"}
            with httpx.Client(base_url=base, headers=gp_headers, timeout=60) as gp:
                for name, urls in gp_queries.items():
                    say(f"timing {name}")
                    results[name] = time_cycle(gp, urls, args.requests, args.warmup)
        pages = workspace.time_pages(base, synthea, args.page_requests, 5, say)
        portal_pages = portal.time_portal(base, args.page_requests, 5, say)
    for name, lat in results.items():
        say(f"{name}: {lat.summary()}")
    head = render(results, args.patients, resources, seed_note, git_commit(REPO))
    text = head.split("\n\n| Query")[0] + "\n\n" + workspace.render(pages, synthea_size)
    if results:
        print(head)
        if not args.no_write:
            report.write_block(args.output, "population", head)
    print(text)
    portal_text = portal.render(portal_pages)
    print(portal_text)
    if not args.no_write:
        report.write_block(args.output, "workspace", text)
        report.write_block(args.output, "portal", portal_text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
