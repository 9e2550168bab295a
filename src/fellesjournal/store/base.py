"""The storage contract: what every backend offers the service layer.

The store knows nothing of HTTP, access control or audit. It keeps resources, their
history and their search index consistent inside one transaction, and sets
``meta.versionId`` and ``meta.lastUpdated`` itself: no caller can choose them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class StoredResource:
    """One version of a resource as stored. ``content`` is the JSON text (None when deleted)."""

    res_type: str
    res_id: str
    version: int
    last_updated: str
    deleted: bool
    content: str | None
    method: str = ""
    seq: int = 0
    #: The patient whose compartment holds this version (None: not patient data). The
    #: access policy judges reads by it.
    patient_id: str | None = None

    @property
    def etag(self) -> str:
        return f'W/"{self.version}"'


@dataclass(slots=True)
class WriteOp:
    """A create, update or delete to apply; the store fills in version and timestamps.

    ``expected_version`` (from ``If-Match``) makes the write fail with 412 unless the
    current version is exactly that. ``must_not_exist`` makes it fail with 409 when the
    resource exists (create with a server-assigned id never collides, but the check keeps
    the contract honest).
    """

    method: str  # "POST" | "PUT" | "PATCH" | "DELETE"
    res_type: str
    res_id: str
    resource: dict[str, Any] | None = None
    expected_version: int | None = None
    must_not_exist: bool = False


@dataclass(frozen=True, slots=True)
class WriteResult:
    stored: StoredResource
    created: bool
    """True when this write brought the resource into existence (HTTP 201)."""
    noop: bool = False
    """True for a delete of something already deleted or never there."""


class Transaction(Protocol):
    """Reads and writes inside one database transaction."""

    def read(self, res_type: str, res_id: str) -> StoredResource | None:
        """The current version (a tombstone if deleted), or None if never created."""

    def vread(self, res_type: str, res_id: str, version: int) -> StoredResource | None:
        """One version from history, or None."""

    def apply(self, op: WriteOp) -> WriteResult:
        """Apply one write; raises FhirError 409/412 on a version conflict."""

    def apply_many(self, ops: list[WriteOp]) -> list[WriteResult]:
        """Apply many independent writes at once (bulk insert of all rows)."""


class Store(Protocol):
    """A backend: SQLite or PostgreSQL."""

    dialect: str

    def transaction(self) -> AbstractContextManager[Transaction]:
        """A write transaction: commits on normal exit, rolls back on an exception.

        Acknowledged writes are durable (SQLite ``synchronous=FULL``, PostgreSQL commit).
        """

    def snapshot(self) -> AbstractContextManager[Transaction]:
        """A read-only transaction with a consistent view."""

    def iter_types(self) -> Iterator[str]:
        """Resource types that have at least one stored resource."""
