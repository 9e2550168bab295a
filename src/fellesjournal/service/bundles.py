"""Transaction Bundles: all writes in one database transaction, all or nothing.

https://hl7.org/fhir/R4/http.html#transaction. Entries are processed in the spec's
order (DELETE, POST, PUT/PATCH, then GET), ``fullUrl`` identities (``urn:uuid:``,
absolute URLs) are replaced by the ids the server assigns, conditional references
(``Practitioner?identifier=...``) and ``ifNoneExist`` are resolved inside the same
transaction, and every resource is validated before anything is written. GET entries
are answered by the caller after the commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError, Issue, bad_request, error
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.service.writes import check_body, ensure_id, ensure_type, new_id
from fellesjournal.store.base import StoredResource, WriteOp
from fellesjournal.store.sql import SqlTransaction

_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


@dataclass
class Entry:
    """One bundle entry, parsed."""

    index: int
    method: str
    url: str
    res_type: str
    res_id: str | None = None
    query: str | None = None
    full_url: str | None = None
    resource: dict[str, Any] | None = None
    if_none_exist: str | None = None
    if_match: int | None = None


@dataclass
class EntryResult:
    index: int
    status: str
    stored: StoredResource | None = None
    location: bool = False
    outcome: dict[str, Any] | None = None
    get: Entry | None = None


@dataclass
class _Resolution:
    ids: dict[str, str] = field(default_factory=dict)
    """fullUrl -> "Type/id"."""
    conditional: dict[str, str] = field(default_factory=dict)
    """"Type?query" -> "Type/id"."""


def parse_entries(bundle: dict[str, Any]) -> list[Entry]:
    """Parse ``Bundle.entry`` of a batch or transaction; 400 naming the bad entry."""
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise bad_request("Bundle.entry must be an array", "Bundle.entry")
    out = []
    for i, raw in enumerate(entries):
        where = f"Bundle.entry[{i}]"
        if not isinstance(raw, dict):
            raise bad_request(f"{where} must be an object", where)
        req = raw.get("request")
        if not isinstance(req, dict) or "method" not in req or "url" not in req:
            raise bad_request(f"{where}.request needs a method and a url", f"{where}.request")
        method = str(req["method"]).upper()
        if method not in _ORDER:
            raise bad_request(
                f"{where}.request.method '{method}' is not supported", f"{where}.request.method"
            )
        url = str(req["url"]).lstrip("/")
        path, _, query = url.partition("?")
        parts = [unquote(p) for p in path.split("/") if p]
        if not parts:
            raise bad_request(f"{where}.request.url is empty", f"{where}.request.url")
        entry = Entry(
            i,
            method,
            url,
            parts[0],
            full_url=raw.get("fullUrl"),
            query=query or None,
            resource=raw.get("resource"),
        )
        if len(parts) >= 2:
            entry.res_id = parts[1]
        if method in ("POST", "PUT", "PATCH") and not isinstance(entry.resource, dict):
            raise bad_request(f"{where} needs a resource for {method}", f"{where}.resource")
        entry.if_none_exist = req.get("ifNoneExist")
        if req.get("ifMatch"):
            raw_match = str(req["ifMatch"]).removeprefix("W/").strip('"')
            if not raw_match.isdigit():
                raise bad_request(
                    f"{where}.request.ifMatch is not an ETag", f"{where}.request.ifMatch"
                )
            entry.if_match = int(raw_match)
        out.append(entry)
    return out


def process_transaction(
    repo: GuardedRepository,
    entries: list[Entry],
    tx: SqlTransaction | None = None,
    *,
    prevalidated: bool = False,
) -> list[EntryResult]:
    """Apply every write entry atomically; GET entries come back unanswered (``get``).

    With ``tx`` the bundle runs inside a savepoint of that transaction (bulk import
    groups several bundles per commit); otherwise in a transaction of its own.
    ``prevalidated`` skips structure validation of resources already validated by the
    caller (import validates in a worker process).
    """
    ordered = sorted(entries, key=lambda e: (_ORDER[e.method], e.index))
    results: dict[int, EntryResult] = {}
    with repo.savepoint(tx) as tx:
        res = _Resolution()
        ops: list[tuple[Entry, WriteOp]] = []
        for e in ordered:
            ensure_type(e.res_type)
            if e.method in ("GET", "HEAD"):
                results[e.index] = EntryResult(e.index, "", get=e)
                continue
            if e.method == "PATCH":
                raise bad_request(
                    f"Bundle.entry[{e.index}]: PATCH in a transaction is not supported; send PUT",
                    f"Bundle.entry[{e.index}].request",
                )
            op = _plan(repo, tx, e, res)
            if op is None:
                continue
            ops.append((e, op))
            if e.full_url:
                res.ids[e.full_url] = f"{op.res_type}/{op.res_id}"
        keys = [(op.res_type, op.res_id) for _e, op in ops]
        if len(set(keys)) != len(keys):
            raise bad_request("a transaction may change each resource only once")
        _rewrite_references(repo, tx, ops, res)
        for e, op in ops:
            if op.resource is not None:
                op.resource = _checked(repo, e, op, validate=not prevalidated)
        for e, op in ops:
            if e.if_none_exist is not None:
                existing = tx.read(op.res_type, op.res_id)
                if existing is not None and not existing.deleted:
                    shown = repo.disclose(existing)
                    results[e.index] = EntryResult(e.index, "200 OK", shown, location=True)
        write_ops = [(e, op) for e, op in ops if e.index not in results]
        stored = repo.apply_many(tx, [op for _e, op in write_ops])
        for (e, _op), result in zip(write_ops, stored, strict=True):
            if e.method == "DELETE":
                status = "204 No Content"
            else:
                status = "201 Created" if result.created else "200 OK"
            results[e.index] = EntryResult(
                e.index, status, result.stored, location=e.method != "DELETE"
            )
    return [results[e.index] for e in entries if e.index in results]


def _plan(
    repo: GuardedRepository, tx: SqlTransaction, e: Entry, res: _Resolution
) -> WriteOp | None:
    where = f"Bundle.entry[{e.index}]"
    if e.method == "DELETE":
        if e.res_id:
            return WriteOp("DELETE", e.res_type, e.res_id)
        ids = repo.find(tx, e.res_type, e.query or "")
        if len(ids) > 1:
            raise error(
                412, "multiple-matches", f"{where}: conditional delete matched {len(ids)} resources"
            )
        return WriteOp("DELETE", e.res_type, ids[0]) if ids else None
    if e.method == "POST":
        res_id = new_id()
        if e.if_none_exist:
            found = _conditional(repo, tx, f"{e.res_type}?{e.if_none_exist}", res, where)
            if found:
                res_id = found
        return WriteOp("POST", e.res_type, res_id, e.resource)
    # PUT
    if e.res_id:
        ensure_id(e.res_id)
        return WriteOp("PUT", e.res_type, e.res_id, e.resource, expected_version=e.if_match)
    ids = repo.find(tx, e.res_type, e.query or "")
    if len(ids) > 1:
        raise error(
            412, "multiple-matches", f"{where}: conditional update matched {len(ids)} resources"
        )
    res_id = ids[0] if ids else (e.resource or {}).get("id") or new_id()
    if e.resource is not None:
        if e.resource.get("id") not in (None, res_id):
            raise bad_request(
                f"{where}: id '{e.resource.get('id')}' does not match the "
                f"resource found ({res_id})",
                f"{where}.resource.id",
            )
        e.resource["id"] = res_id
    return WriteOp("PUT", e.res_type, res_id, e.resource, expected_version=e.if_match)


def _conditional(
    repo: GuardedRepository, tx: SqlTransaction, ref: str, res: _Resolution, where: str
) -> str | None:
    """Resolve ``Type?query`` to one id (cached per bundle); None when nothing matches."""
    if ref in res.conditional:
        return res.conditional[ref].split("/", 1)[1]
    res_type, _, query = ref.partition("?")
    ensure_type(res_type)
    tx.lock_key(ref)
    ids = repo.find(tx, res_type, query)
    if len(ids) > 1:
        raise error(412, "multiple-matches", f"{where}: '{ref}' matched {len(ids)} resources")
    if not ids:
        return None
    res.conditional[ref] = f"{res_type}/{ids[0]}"
    return ids[0]


_REFERENCE = re.compile(rb'"reference"\s*:\s*"([^"\\]*)"')


def _rewrite_references(
    repo: GuardedRepository, tx: SqlTransaction, ops: list[tuple[Entry, WriteOp]], res: _Resolution
) -> None:
    """Replace fullUrl and conditional references in every resource of the bundle.

    Works on the serialised JSON of all resources at once (one regular-expression pass
    and one parse in C) instead of walking every node in Python: bundles with thousands
    of entries spend most of their time here otherwise.
    """
    writes = [(e, op) for e, op in ops if op.resource is not None]
    if not writes:
        return
    text = jsonio.dumps([op.resource for _e, op in writes])

    def replace(match: re.Match[bytes]) -> bytes:
        ref = match.group(1).decode()
        if ref in res.ids:
            return b'"reference":"' + res.ids[ref].encode() + b'"'
        if "?" in ref and not ref.startswith(("http:", "https:", "#")):
            found = _conditional(repo, tx, ref, res, "Bundle.entry")
            if found is None:
                raise error(404, "not-found", f"conditional reference '{ref}' matched nothing")
            return b'"reference":"' + res.conditional[ref].encode() + b'"'
        if ref.startswith(("urn:uuid:", "urn:oid:")):
            raise error(404, "not-found", f"reference '{ref}' matches no entry's fullUrl")
        return match.group(0)

    rewritten = jsonio.loads(_REFERENCE.sub(replace, text))
    for (_e, op), resource in zip(writes, rewritten, strict=True):
        op.resource = resource


def _checked(repo: GuardedRepository, e: Entry, op: WriteOp, *, validate: bool) -> dict[str, Any]:
    try:
        return check_body(
            op.resource,
            e.res_type,
            op.res_id if e.method == "PUT" else None,
            allow_test_identities=repo.settings.allow_test_identities,
            validate=validate,
        )
    except FhirError as exc:
        prefix = f"Bundle.entry[{e.index}].resource"
        exc.issues = [
            Issue(
                i.severity,
                i.code,
                f"Bundle.entry[{e.index}]: {i.diagnostics}",
                f"{prefix}.{i.expression.split('.', 1)[1]}"
                if i.expression and "." in i.expression
                else prefix,
            )
            for i in exc.issues
        ]
        raise
