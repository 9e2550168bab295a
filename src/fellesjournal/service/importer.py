"""Bulk import of Bundles and NDJSON files through the guarded repository.

Each file is one unit: a transaction or batch Bundle commits atomically (a batch's
entries are independent, so they can share one transaction safely), an NDJSON file
loads in one transaction, a single resource is created or updated. A file that fails
loads nothing of itself and is reported with the reason; the rest go on.
"""

from __future__ import annotations

import bz2
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from fellesjournal.fhir.errors import FhirError, bad_request
from fellesjournal.service.bundles import parse_entries, process_transaction
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.service.writes import check_body, ensure_type, new_id
from fellesjournal.store.base import WriteOp

SUFFIXES = (".json", ".json.bz2", ".ndjson", ".ndjson.bz2")


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
            out.extend(sorted(f for f in p.rglob("*") if f.is_file()
                              and f.name.endswith(SUFFIXES)))
        else:
            out.append(p)
    return out


def _read(path: Path) -> bytes:
    if path.name.endswith(".bz2"):
        with bz2.open(path, "rb") as fh:
            return fh.read()
    return path.read_bytes()


def import_file(repo: GuardedRepository, path: Path) -> FileResult:
    """Load one file atomically; never raises for bad content (the result says why)."""
    result = FileResult(path)
    try:
        data = _read(path)
        if path.name.endswith((".ndjson", ".ndjson.bz2")):
            result.resources = _ndjson(repo, data)
        else:
            result.resources = _document(repo, orjson.loads(data))
    except FhirError as exc:
        result.error = str(exc)
    except orjson.JSONDecodeError as exc:
        result.error = f"not valid JSON: {exc}"
    except (OSError, EOFError, ValueError) as exc:
        result.error = f"cannot read: {exc}"
    return result


def _document(repo: GuardedRepository, doc: Any) -> int:
    if not isinstance(doc, dict) or "resourceType" not in doc:
        raise _bad("not a FHIR resource")
    if doc["resourceType"] == "Bundle" and doc.get("type") in ("transaction", "batch"):
        entries = parse_entries(doc)
        results = process_transaction(repo, entries)
        return sum(1 for r in results if r.stored is not None)
    res_type = doc["resourceType"]
    if doc.get("id"):
        repo.update(res_type, doc["id"], doc)
    else:
        repo.create(res_type, doc)
    return 1


def _ndjson(repo: GuardedRepository, data: bytes) -> int:
    ops: list[WriteOp] = []
    for n, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            res = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise _bad(f"line {n}: not valid JSON: {exc}") from None
        if not isinstance(res, dict) or not isinstance(res.get("resourceType"), str):
            raise _bad(f"line {n}: not a FHIR resource")
        res_type = res["resourceType"]
        ensure_type(res_type)
        res_id = res.get("id")
        try:
            resource = check_body(res, res_type, res_id,
                                  allow_test_identities=repo.settings.allow_test_identities)
        except FhirError as exc:
            raise _bad(f"line {n}: {exc}") from None
        ops.append(WriteOp("PUT" if res_id else "POST", res_type, res_id or new_id(),
                           resource))
    with repo.writing() as tx:
        repo.apply_many(tx, ops)
    return len(ops)


def _bad(message: str) -> FhirError:
    return bad_request(message)


def run_import(repo: GuardedRepository, paths: list[Path],
               progress: Callable[[FileResult, int], None] | None = None) -> ImportSummary:
    """Import every file under ``paths``; ``progress(result, size)`` after each file."""
    summary = ImportSummary()
    for path in discover(paths):
        res = import_file(repo, path)
        summary.files.append(res)
        if progress:
            progress(res, path.stat().st_size if path.exists() else 0)
    return summary


def iter_sizes(paths: list[Path]) -> Iterator[int]:
    for p in discover(paths):
        yield p.stat().st_size if p.exists() else 0
