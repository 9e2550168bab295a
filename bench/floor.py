"""The floor: a bare ASGI callable that answers the benchmark's requests with raw SQL.

It runs under the same uvicorn settings as the server (two workers, uvloop/httptools,
no access log) against the same database, and does the least work that can answer each
benchmark request: no authentication, no validation, no JSON parsing, no history or
search-index rows. What the server costs beyond it is Fellesjournal's own overhead.

* ``GET /fhir/{type}/{id}`` - the row's ``content`` from ``resources``.
* ``GET /fhir/Patient?identifier=system|value`` and ``?name=prefix`` - the same lookup
  SQL the server runs (``res_id IN (SELECT res_id FROM idx_token|idx_string ...)``),
  first 50 rows by id, wrapped in a searchset Bundle by concatenating the stored text.
* ``GET /fhir/Patient/{id}/$everything`` - the compartment (``patient_id``) plus the
  resources it references, the same UNION the server runs, as one Bundle.
* ``POST /fhir/{type}``, ``PUT /fhir/{type}/{id}``, ``DELETE /fhir/{type}/{id}`` - one
  statement on ``resources`` each (insert, upsert, delete), committed (SQLite: WAL,
  ``synchronous=FULL`` like the server). These rows are written without history or
  index rows, so the floor's writes leave the benchmark database inconsistent: the
  benchmark database is thrown away after the run.

SQLite calls run on the event loop (each takes tens of microseconds); PostgreSQL uses an
async psycopg pool in autocommit mode. The database URL comes from
``FELLESJOURNAL_DATABASE_URL``. Start it with
``uvicorn bench.floor:create_app --factory --workers 2``.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON_HEADERS = [(b"content-type", b"application/fhir+json; charset=utf-8")]
PAGE = 50

_READ = "SELECT {c} FROM resources WHERE res_type = ? AND res_id = ? AND NOT deleted"
_SEARCH = (
    "SELECT res_type, res_id, {c} FROM resources WHERE NOT deleted AND res_type = ? "
    "AND res_id IN ({sub}) ORDER BY res_id LIMIT " + str(PAGE + 1)
)
_TOKEN_SUB = (
    "SELECT res_id FROM idx_token WHERE res_type = ? AND param = 'identifier' "
    "AND system = ? AND code = ?"
)
_NAME_SUB = (
    "SELECT res_id FROM idx_string WHERE res_type = ? AND param = 'name' "
    "AND value LIKE ? ESCAPE '\\'"
)
_EVERYTHING = """
SELECT u.res_type, u.res_id, u.content FROM (
  SELECT res_type, res_id, {c} AS content FROM resources
  WHERE patient_id = ? AND NOT deleted
  UNION ALL
  SELECT r.res_type, r.res_id, {rc} AS content FROM resources r
  JOIN (SELECT DISTINCT x.target_type, x.target_id FROM idx_reference x
        JOIN (SELECT res_type, res_id FROM resources WHERE patient_id = ? AND NOT deleted) c
          ON x.res_type = c.res_type AND x.res_id = c.res_id
        WHERE x.target_type IS NOT NULL AND x.target_id IS NOT NULL) k
    ON r.res_type = k.target_type AND r.res_id = k.target_id
  WHERE NOT r.deleted AND (r.patient_id IS NULL OR r.patient_id <> ?)
) u
ORDER BY CASE WHEN u.res_type = 'Patient' THEN 0 ELSE 1 END, u.res_type, u.res_id
"""
_UPSERT = (
    "INSERT INTO resources (res_type, res_id, version, last_updated, seq, deleted, "
    "patient_id, content) VALUES (?, ?, 1, ?, 0, false, NULL, {j}) "
    "ON CONFLICT (res_type, res_id) DO UPDATE SET version = resources.version + 1, "
    "last_updated = excluded.last_updated, content = excluded.content, deleted = false"
)
_DELETE = "DELETE FROM resources WHERE res_type = ? AND res_id = ?"


def _like_prefix(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return " ".join(escaped.lower().split()) + "%"


class SqliteDb:
    """One connection per worker process, used on the event loop thread."""

    content = "content"
    ref_content = "r.content"
    json_param = "?"

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=60)
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "busy_timeout=60000",
            "cache_size=-524288",
            "temp_store=MEMORY",
            "mmap_size=268435456",
        ):
            self.conn.execute(f"PRAGMA {pragma}")

    def sql(self, text: str) -> str:
        return text

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self.conn.close()

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()

    async def write(self, sql: str, params: Sequence[Any]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute(sql, params)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")


class PostgresDb:
    """An async psycopg pool (autocommit) per worker process."""

    content = "content::text"
    ref_content = "r.content::text"
    json_param = "?::jsonb"

    def __init__(self, url: str) -> None:
        from psycopg_pool import AsyncConnectionPool

        self.pool = AsyncConnectionPool(
            url, min_size=4, max_size=4, open=False, kwargs={"autocommit": True}
        )

    def sql(self, text: str) -> str:
        return text.replace("%", "%%").replace("?", "%s")

    async def open(self) -> None:
        await self.pool.open(wait=True)

    async def close(self) -> None:
        await self.pool.close()

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchall()

    async def write(self, sql: str, params: Sequence[Any]) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(sql, params)


def open_db(url: str) -> SqliteDb | PostgresDb:
    """The floor's database handle for a ``FELLESJOURNAL_DATABASE_URL``."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        return SqliteDb(path)
    scheme, rest = url.split("://", 1)
    return PostgresDb("postgresql://" + rest if scheme.startswith("postgres") else url)


def _bundle(base: str, rows: Sequence[tuple[Any, ...]], total: int) -> bytes:
    entries = b",".join(
        b'{"fullUrl":"%s/%s/%s","resource":%s,"search":{"mode":"match"}}'
        % (base.encode(), t.encode(), i.encode(), c.encode())
        for t, i, c in rows
    )
    return b'{"resourceType":"Bundle","type":"searchset","total":%d,"entry":[%s]}' % (
        total,
        entries,
    )


class Floor:
    """The raw ASGI application (lifespan opens and closes the database)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.db: SqliteDb | PostgresDb | None = None
        self.q: dict[str, str] = {}

    def _prepare(self, db: SqliteDb | PostgresDb) -> None:
        c, rc, j = db.content, db.ref_content, db.json_param
        self.q = {
            "read": db.sql(_READ.format(c=c)),
            "identifier": db.sql(_SEARCH.format(c=c, sub=_TOKEN_SUB)),
            "name": db.sql(_SEARCH.format(c=c, sub=_NAME_SUB)),
            "everything": db.sql(_EVERYTHING.format(c=c, rc=rc)),
            "upsert": db.sql(_UPSERT.format(j=j)),
            "delete": db.sql(_DELETE),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = b""
        if scope["method"] in ("POST", "PUT"):
            more = True
            chunks = []
            while more:
                message = await receive()
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            body = b"".join(chunks)
        status, headers, content = await self._answer(scope, body)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.db = open_db(self.url)
                await self.db.open()
                self._prepare(self.db)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.db is not None:
                    await self.db.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _answer(
        self, scope: Scope, body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        db = self.db
        assert db is not None
        method = scope["method"]
        parts = [p for p in scope["path"].split("/") if p]
        if parts == ["ready"]:
            return 200, [], b"ok"
        if len(parts) < 2 or parts[0] != "fhir":
            return 404, [], b""
        res_type = parts[1]
        host, port = scope["server"]
        base = f"http://{host}:{port}/fhir"
        if len(parts) == 2 and method == "GET":
            query = dict(parse_qsl(scope["query_string"].decode()))
            if "identifier" in query:
                system, _, code = query["identifier"].partition("|")
                params: tuple[Any, ...] = (res_type, res_type, system, code)
                rows = await db.fetch(self.q["identifier"], params)
            elif "name" in query:
                rows = await db.fetch(
                    self.q["name"], (res_type, res_type, _like_prefix(query["name"]))
                )
            else:
                return 400, [], b""
            return 200, JSON_HEADERS, _bundle(base, rows[:PAGE], len(rows[:PAGE]))
        if len(parts) == 2 and method == "POST":
            res_id = str(uuid.uuid4())
            await db.write(self.q["upsert"], (res_type, res_id, _now(), body.decode()))
            location = f"{base}/{res_type}/{res_id}/_history/1".encode()
            return 201, [*JSON_HEADERS, (b"location", location)], body
        if len(parts) == 3:
            res_id = parts[2]
            if method == "GET":
                rows = await db.fetch(self.q["read"], (res_type, res_id))
                if not rows:
                    return 404, [], b""
                return 200, JSON_HEADERS, rows[0][0].encode()
            if method == "PUT":
                await db.write(self.q["upsert"], (res_type, res_id, _now(), body.decode()))
                return 200, JSON_HEADERS, body
            if method == "DELETE":
                await db.write(self.q["delete"], (res_type, res_id))
                return 204, [], b""
        if len(parts) == 4 and parts[3] == "$everything" and method == "GET":
            rows = await db.fetch(self.q["everything"], (parts[2],) * 3)
            return 200, JSON_HEADERS, _bundle(base, rows, len(rows))
        return 404, [], b""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def create_app() -> Floor:
    """The uvicorn factory: the floor for ``FELLESJOURNAL_DATABASE_URL``."""
    return Floor(os.environ["FELLESJOURNAL_DATABASE_URL"])
