"""The real server as a subprocess: acknowledged writes survive ``kill -9``, and
concurrent writers lose nothing (no lost update, If-Match, conditional create).

Each server is ``fellesjournal serve`` on a fresh database (``db upgrade``) bound to
127.0.0.1 on a free port, with a token minted by ``fellesjournal token --system`` from
the same environment; it is stopped by its PID (its own process group, so that uvicorn's
worker processes go with it).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from fellesjournal.access.actor import Actor
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.store.sql import SqlStore
from tests.conftest import fresh_database_url, make_settings

pytestmark = pytest.mark.slow

CLI = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "fellesjournal"
FHIR_JSON = "application/fhir+json"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``fellesjournal serve`` in a subprocess, on a database of its own."""

    def __init__(self, tmp: Path, label: str, workers: int = 1) -> None:
        self.tmp = tmp
        self.url = fresh_database_url(tmp, label)
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}/fhir"
        self.workers = workers
        self.env = {
            **os.environ,
            "FELLESJOURNAL_DATABASE_URL": self.url,
            "FELLESJOURNAL_DATA_DIR": str(tmp / "data"),
            "FELLESJOURNAL_ALLOW_TEST_IDENTITIES": "true",
            "FELLESJOURNAL_SECRET_KEY": "durability-test",
            "FELLESJOURNAL_HOST": "127.0.0.1",
            "FELLESJOURNAL_PORT": str(self.port),
        }
        self._cli("db", "upgrade")
        self.token = self._cli("token", "--system", "--ttl", "7200").strip()
        self.proc: subprocess.Popen[bytes] | None = None

    def _cli(self, *args: str) -> str:
        done = subprocess.run(
            [str(CLI), *args], env=self.env, capture_output=True, timeout=120, check=False
        )
        assert done.returncode == 0, f"fellesjournal {' '.join(args)}: {done.stderr.decode()}"
        return done.stdout.decode()

    def start(self) -> Server:
        log = open(self.tmp / f"server-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                str(CLI),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log()}")
            try:
                if httpx.get(f"{self.base}/metadata", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"server did not start: {self.log()}")

    def log(self) -> str:
        path = self.tmp / f"server-{self.port}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(
            base_url=self.base,
            timeout=120,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": FHIR_JSON,
                "Content-Type": FHIR_JSON,
            },
            **kw,
        )

    def kill9(self) -> None:
        """SIGKILL the server's process group at once: no shutdown of any kind."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)


def _patient(tag: str, n: int) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": f"urn:test:{tag}", "value": f"p{n}"}],
        "name": [{"family": f"Durable{n}", "given": [tag]}],
        "gender": "female" if n % 2 else "male",
        "birthDate": f"19{n % 90 + 10}-03-04",
    }


# -- durability ----------------------------------------------------------------------------


def test_acknowledged_creates_survive_kill_9(tmp_path: Path) -> None:
    server = Server(tmp_path, "durability").start()
    tag = uuid.uuid4().hex[:10]
    acked: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    stop = threading.Event()
    target = 200

    def writer(worker: int) -> None:
        with server.client() as c:
            n = worker
            while not stop.is_set():
                body = _patient(tag, n)
                try:
                    r = c.post("/Patient", json=body)
                except httpx.TransportError:
                    return  # the server is gone: this one was never acknowledged
                if 200 <= r.status_code < 300:
                    with lock:
                        acked[r.json()["id"]] = {"sent": body, "got": r.json()}
                        if len(acked) >= target:
                            stop.set()
                else:
                    stop.set()  # fail fast rather than wait for the target
                    raise AssertionError(f"{r.status_code}: {r.text[:300]}")
                n += 8

    try:
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(writer, w) for w in range(8)]
            stop.wait(timeout=300)
            server.kill9()  # while the other writers still have requests in flight
            for f in futures:
                f.result()
    finally:
        server.stop()
    assert len(acked) >= target
    # a new store on the same database, as after a crash
    settings = make_settings(server.url, tmp_path / "data")
    store = SqlStore.from_settings(settings)
    try:
        repo = GuardedRepository(
            store, settings, RequestContext(actor=Actor("system", "test", scopes=("system/*.*",)))
        )
        for pid, seen in acked.items():
            stored = repo.read("Patient", pid)
            assert stored.version == 1
            body = orjson.loads(stored.content or "")
            assert body == seen["got"]
            for key in ("identifier", "name", "gender", "birthDate"):
                assert body[key] == seen["sent"][key]
        found = repo.search("Patient", [("identifier", f"urn:test:{tag}|"), ("_count", "0")])
        assert found.total is not None and found.total >= len(acked)
    finally:
        store.dispose()
    # and the server starts again on it and serves what it acknowledged
    server.start()
    try:
        with server.client() as c:
            for pid in list(acked)[:20]:
                assert c.get(f"/Patient/{pid}").json() == acked[pid]["got"]
    finally:
        server.stop()


# -- concurrency ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("concurrency"), "concurrency", workers=2)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _together(server: Server, n: int, task: Any) -> list[Any]:
    """Run ``task(i, client)`` in ``n`` threads, each with its own connection, released
    at the same moment."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        with server.client() as c:
            barrier.wait(timeout=60)
            return task(i, c)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_concurrent_updates_lose_nothing(live: Server) -> None:
    with live.client() as c:
        created = c.post("/Patient", json=_patient(uuid.uuid4().hex[:8], 1))
        assert created.status_code == 201
        pid = created.json()["id"]

    def task(i: int, c: httpx.Client) -> list[tuple[int, str, str]]:
        done = []
        for k in range(4):
            current = c.get(f"/Patient/{pid}")
            assert current.status_code == 200
            body = current.json()
            given = f"writer{i}x{k}"
            body["name"] = [{"family": "Shared", "given": [given]}]
            r = c.put(f"/Patient/{pid}", json=body)  # no If-Match: last writer wins
            done.append((r.status_code, given, r.json().get("meta", {}).get("versionId", "")))
        return done

    results = [x for per_thread in _together(live, 20, task) for x in per_thread]
    assert {status for status, _g, _v in results} == {200}, results
    versions = [int(v) for _s, _g, v in results]
    assert sorted(versions) == list(range(2, 2 + len(results)))
    with live.client() as c:
        final = c.get(f"/Patient/{pid}").json()
        assert int(final["meta"]["versionId"]) == 1 + len(results)
        hist = c.get(f"/Patient/{pid}/_history", params={"_count": "1000"}).json()
    assert hist["total"] == 1 + len(results)
    hversions = [int(e["resource"]["meta"]["versionId"]) for e in hist["entry"]]
    assert sorted(hversions) == list(range(1, 2 + len(results)))
    givens = [
        e["resource"]["name"][0]["given"][0]
        for e in hist["entry"]
        if e["resource"]["meta"]["versionId"] != "1"
    ]
    assert sorted(givens) == sorted(g for _s, g, _v in results)
    by_version = {
        int(e["resource"]["meta"]["versionId"]): e["resource"]["name"][0]["given"][0]
        for e in hist["entry"]
    }
    assert all(by_version[int(v)] == g for _s, g, v in results)


def test_concurrent_if_match_only_one_wins(live: Server) -> None:
    with live.client() as c:
        pid = c.post("/Patient", json=_patient(uuid.uuid4().hex[:8], 2)).json()["id"]

    def task(i: int, c: httpx.Client) -> int:
        body = {**_patient("ifmatch", i), "id": pid}
        return c.put(f"/Patient/{pid}", json=body, headers={"If-Match": 'W/"1"'}).status_code

    statuses = _together(live, 12, task)
    assert sorted(statuses) == [200] + [412] * 11, statuses
    with live.client() as c:
        assert c.get(f"/Patient/{pid}").json()["meta"]["versionId"] == "2"
        assert c.get(f"/Patient/{pid}/_history").json()["total"] == 2


def test_concurrent_conditional_create_makes_one(live: Server) -> None:
    value = uuid.uuid4().hex
    system = "urn:test:conditional"

    def task(i: int, c: httpx.Client) -> tuple[int, str]:
        body = _patient("cond", i)
        body["identifier"] = [{"system": system, "value": value}]
        r = c.post("/Patient", json=body, headers={"If-None-Exist": f"identifier={system}|{value}"})
        return r.status_code, r.json().get("id", r.text[:200])

    results = _together(live, 10, task)
    assert sorted(s for s, _i in results) == [200] * 9 + [201], results
    assert len({i for _s, i in results}) == 1
    with live.client() as c:
        found = c.get(
            "/Patient", params={"identifier": f"{system}|{value}", "_summary": "count"}
        ).json()
    assert found["total"] == 1


def test_concurrent_update_as_create_of_one_new_id(live: Server) -> None:
    pid = f"new-{uuid.uuid4().hex[:16]}"

    def task(i: int, c: httpx.Client) -> int:
        return c.put(f"/Patient/{pid}", json={**_patient("uac", i), "id": pid}).status_code

    statuses = _together(live, 10, task)
    assert sorted(statuses) == [200] * 9 + [201], statuses
    with live.client() as c:
        assert c.get(f"/Patient/{pid}").json()["meta"]["versionId"] == "10"
        assert c.get(f"/Patient/{pid}/_history").json()["total"] == 10
