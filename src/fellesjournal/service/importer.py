"""Bulk import of Bundles and NDJSON files through the guarded repository.

Each file is one unit: a transaction or batch Bundle commits atomically (a batch's
entries are independent, so they can share one transaction safely), an NDJSON file
loads in one transaction, a single resource is created or updated. A file that fails
loads nothing of itself and is reported with the reason; the rest go on.
"""

from __future__ import annotations

import bz2
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError, bad_request
from fellesjournal.service.bundles import parse_entries, process_transaction
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.service.writes import check_body, content_issues, ensure_type, new_id
from fellesjournal.store.base import WriteOp
from fellesjournal.store.sql import SqlTransaction

SUFFIXES = (".json", ".json.bz2", ".ndjson", ".ndjson.bz2")
COMMIT_EVERY = 20_000
PREFETCH = 3


@dataclass
class FileResult:
    path: Path
    resources: int = 0
    error: str | None = None


@dataclass
class ImportSummary:
    files: list[FileResult] = field(default_factory=list)

    @property
    def resources(self) -> int:
        return sum(f.resources for f in self.files)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.error]


def discover(paths: list[Path]) -> list[Path]:
    """Files to import, in name order per folder (Synthea's ``0-*`` files come first)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.name.endswith(SUFFIXES)))
        else:
            out.append(p)
    return out


def _read(path: Path) -> bytes:
    if path.name.endswith(".bz2"):
        with bz2.open(path, "rb") as fh:
            return fh.read()
    return path.read_bytes()


@dataclass(frozen=True)
class Prepared:
    """A file read, decompressed and (for Bundles) validated, ready to load."""

    path: Path
    data: bytes | None
    valid: bool
    error: str | None = None
    floats_ok: bool | None = None
    """Whether every number in ``data`` survives a float (``jsonio.floats_suffice``)."""


def prepare(path: Path, allow_test_identities: bool) -> Prepared:
    """Read and validate one file; runs in a worker process beside the writer.

    ``valid`` is True only when every resource in a batch/transaction Bundle passed
    validation; otherwise the writer validates again and reports the precise error.
    """
    try:
        data = _read(path)
    except (OSError, EOFError, ValueError) as exc:
        return Prepared(path, None, False, f"cannot read: {exc}")
    if path.name.endswith((".ndjson", ".ndjson.bz2")):
        return Prepared(path, data, False)
    floats_ok = jsonio.floats_suffice(data)
    try:
        doc = jsonio.loads(data, floats_ok=floats_ok)
    except jsonio.JSONDecodeError:
        return Prepared(path, data, False)
    if not (
        isinstance(doc, dict)
        and doc.get("resourceType") == "Bundle"
        and isinstance(doc.get("entry"), list)
    ):
        return Prepared(path, data, False)
    for entry in doc["entry"]:
        res = entry.get("resource") if isinstance(entry, dict) else None
        if res is not None and (
            not isinstance(res, dict)
            or content_issues(res, allow_test_identities=allow_test_identities)
        ):
            return Prepared(path, data, False, floats_ok=floats_ok)
    return Prepared(path, data, True, floats_ok=floats_ok)


def import_file(
    repo: GuardedRepository,
    path: Path,
    tx: SqlTransaction | None = None,
    prepared: Prepared | None = None,
) -> FileResult:
    """Load one file atomically; never raises for bad content (the result says why).

    With ``tx`` the file loads in a savepoint of that transaction, so that one commit can
    cover several files (far fewer pages written per resource); a failing file rolls
    back to its savepoint and leaves the others alone.
    """
    result = FileResult(path)
    if prepared is not None and prepared.error:
        result.error = prepared.error
        return result
    try:
        data = prepared.data if prepared and prepared.data is not None else _read(path)
        if path.name.endswith((".ndjson", ".ndjson.bz2")):
            result.resources = _ndjson(repo, data, tx)
        else:
            result.resources = _document(
                repo,
                jsonio.loads(data, floats_ok=prepared.floats_ok if prepared else None),
                tx,
                prevalidated=bool(prepared and prepared.valid),
            )
    except FhirError as exc:
        result.error = str(exc)
    except jsonio.JSONDecodeError as exc:
        result.error = f"not valid JSON: {exc}"
    except (OSError, EOFError, ValueError) as exc:
        result.error = f"cannot read: {exc}"
    return result


def _document(
    repo: GuardedRepository, doc: Any, tx: SqlTransaction | None, *, prevalidated: bool = False
) -> int:
    if not isinstance(doc, dict) or "resourceType" not in doc:
        raise _bad("not a FHIR resource")
    if doc["resourceType"] == "Bundle" and doc.get("type") in ("transaction", "batch"):
        entries = parse_entries(doc)
        results = process_transaction(repo, entries, tx, prevalidated=prevalidated)
        return sum(1 for r in results if r.stored is not None)
    res_type = doc["resourceType"]
    with repo.savepoint(tx) as t:
        if doc.get("id"):
            repo.update(res_type, doc["id"], doc, tx=t)
        else:
            repo.create(res_type, doc, tx=t)
    return 1


def _ndjson(repo: GuardedRepository, data: bytes, tx: SqlTransaction | None) -> int:
    ops: list[WriteOp] = []
    for n, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            res = jsonio.loads(line)
        except jsonio.JSONDecodeError as exc:
            raise _bad(f"line {n}: not valid JSON: {exc}") from None
        if not isinstance(res, dict) or not isinstance(res.get("resourceType"), str):
            raise _bad(f"line {n}: not a FHIR resource")
        res_type = res["resourceType"]
        ensure_type(res_type)
        res_id = res.get("id")
        try:
            resource = check_body(
                res, res_type, res_id, allow_test_identities=repo.settings.allow_test_identities
            )
        except FhirError as exc:
            raise _bad(f"line {n}: {exc}") from None
        ops.append(WriteOp("PUT" if res_id else "POST", res_type, res_id or new_id(), resource))
    with repo.savepoint(tx) as t:
        repo.apply_many(t, ops)
    return len(ops)


def _bad(message: str) -> FhirError:
    return bad_request(message)


def run_import(
    repo: GuardedRepository,
    paths: list[Path],
    progress: Callable[[FileResult], None] | None = None,
    commit_every: int = COMMIT_EVERY,
) -> ImportSummary:
    """Import every file under ``paths``, committing about every ``commit_every`` resources.

    The summary is the acknowledgement: everything it counts has been committed. An
    import loads history: it starts no workflows (no work items for 2015's results).
    ``progress(result)`` is called after each file.
    """
    repo = repo.historical()  # loading history starts no workflows
    summary = ImportSummary()
    files = discover(paths)
    allow_test = repo.settings.allow_test_identities
    with ProcessPoolExecutor(max_workers=1) as pool:
        ahead: deque[Future[Prepared]] = deque(
            pool.submit(prepare, f, allow_test) for f in files[:PREFETCH]
        )
        i = 0
        while i < len(files):
            pending = 0
            with repo.writing() as tx:
                while i < len(files) and pending < commit_every:
                    prepared = ahead.popleft().result()
                    if i + PREFETCH < len(files):
                        ahead.append(pool.submit(prepare, files[i + PREFETCH], allow_test))
                    res = import_file(repo, files[i], tx, prepared)
                    pending += res.resources
                    summary.files.append(res)
                    i += 1
                    if progress:
                        progress(res)
    return summary
