"""The option model: writing the region, and a municipality exercising its option.

Each municipality of Trøndelag and Møre og Romsdal is either a **member** of the shared
record or holds an **option** to join. What a municipality is, is stored on its
Organization (``active`` and the :data:`~fellesjournal.region.fhir.MEMBERSHIP_URL`
extension), so the database is the truth; :func:`build_region` only gives the seed's
starting point.

* :func:`seed_region` writes every resource of the region with PUT, in one transaction.
  It writes only what differs from what is stored, so a second run writes nothing, and
  it never undoes a join: a municipality stored as a member stays one.
* :func:`join` turns one option into membership: the municipality and its units become
  active members, their PractitionerRoles active, and each unit gets its Endpoint
  (message address). It writes only that municipality's resources, and only those that
  change, so joining twice changes nothing. Joining before the region is seeded is an
  error (:class:`NotSeeded`), not an implicit seed: seeding writes thousands of
  resources and should be asked for.
* :func:`list_memberships` reads every municipality's stored state.

Seed and join take the same lock (an advisory lock on PostgreSQL; SQLite has one writer
anyway), so two of them never interleave and a concurrent second join sees the first.
All access goes through :class:`~fellesjournal.service.repository.GuardedRepository`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from fellesjournal.fhir import jsonio
from fellesjournal.norway.identifiers import KOMMUNENUMMER_SYSTEM
from fellesjournal.norway.identifiers import check as check_identifier
from fellesjournal.region import fhir
from fellesjournal.region.model import Municipality, Region
from fellesjournal.region.seed import build_region
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.service.writes import check_body
from fellesjournal.store.base import WriteOp, WriteResult
from fellesjournal.store.sql import SqlTransaction

_LOCK: Final = "fellesjournal:region"
#: Ids per ``_id`` search when comparing with the stored state (within max_page_size).
_CHUNK: Final = 500


class RegionError(Exception):
    """A region operation that cannot be done; the message is one line for the user."""


class NotSeeded(RegionError):
    def __init__(self) -> None:
        super().__init__("the region is not in the database yet: run `fellesjournal org seed`")


class UnknownMunicipality(RegionError):
    pass


@dataclass(frozen=True, slots=True)
class JoinResult:
    number: str
    name: str
    already_member: bool
    written: int
    """Resources written (new versions or new resources); 0 when nothing changed."""
    units: int
    """The municipality's units (all active after the join)."""
    endpoints: int
    """Endpoints (message addresses) created by this join."""


@dataclass(frozen=True, slots=True)
class Membership:
    number: str
    name: str
    county: str
    trust_key: str
    member: bool
    units: int


# ------------------------------------------------------------------ stored state
def _parse(content: str | None) -> Any:
    """Stored JSON text as a resource without the server's meta (versionId, lastUpdated)."""
    assert content is not None
    resource = jsonio.loads(content)
    meta = resource.get("meta")
    if isinstance(meta, dict):
        meta.pop("versionId", None)
        meta.pop("lastUpdated", None)
        if not meta:
            del resource["meta"]
    return resource


def _current_many(
    repo: GuardedRepository, tx: SqlTransaction, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], Any]:
    """:func:`_current` for many resources: one ``_id`` search per type and chunk.

    One statement per few hundred resources instead of one per resource: on PostgreSQL
    the round trips, not the work, are what a re-seed costs.
    """
    by_type: dict[str, list[str]] = {}
    for res_type, res_id in keys:
        by_type.setdefault(res_type, []).append(res_id)
    found: dict[tuple[str, str], Any] = {}
    size = min(_CHUNK, repo.settings.max_page_size)  # a page must hold the whole chunk
    for res_type, ids in by_type.items():
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            items = [("_id", ",".join(chunk)), ("_count", str(len(chunk))), ("_total", "none")]
            for stored in repo.search(res_type, items, tx=tx).matches:
                found[(res_type, stored.res_id)] = _parse(stored.content)
    return found


def _memberships(
    repo: GuardedRepository, tx: SqlTransaction, municipalities: Iterable[Municipality]
) -> dict[str, str | None]:
    """Stored membership by kommunenummer: ``"member"``, ``"option"``, or ``None`` for an
    Organization without the marker. Municipalities not stored are left out."""
    numbers = {m.id: m.number for m in municipalities}
    found = _current_many(repo, tx, [("Organization", mid) for mid in numbers])
    return {numbers[mid]: fhir.membership_of(org) for (_, mid), org in found.items()}


def _put_changed(
    repo: GuardedRepository, tx: SqlTransaction, resources: Iterable[dict[str, Any]]
) -> list[WriteResult]:
    """PUT each resource that differs from its stored version; returns the writes.

    Each write is checked by the API's validator (structure, Norwegian identifiers)
    first: a resource the API would refuse is never written.
    """
    resources = list(resources)
    current = _current_many(repo, tx, [(r["resourceType"], r["id"]) for r in resources])
    ops = []
    for resource in resources:
        res_type, res_id = resource["resourceType"], resource["id"]
        if current.get((res_type, res_id)) == resource:
            continue
        body = check_body(
            resource,
            res_type,
            res_id,
            allow_test_identities=repo.settings.allow_test_identities,
        )
        ops.append(WriteOp("PUT", res_type, res_id, body))
    return repo.apply_many(tx, ops) if ops else []


# ------------------------------------------------------------------ operations
def seed_region(repo: GuardedRepository, region: Region | None = None) -> int:
    """Write the whole region (idempotent); returns the number of resources written.

    Municipalities stored as members stay members even when the seed holds an option
    for them (a join is never undone). One transaction: all or nothing.
    """
    region = region or build_region()
    with repo.writing() as tx:
        tx.lock_key(_LOCK)
        stored = _memberships(repo, tx, region.municipalities)
        members = {m.number for m in region.municipalities if m.member}
        members |= {number for number, state in stored.items() if state == "member"}
        return len(_put_changed(repo, tx, fhir.region_resources(region, members)))


def find_municipality(number: str, region: Region | None = None) -> Municipality:
    """The region's municipality with this kommunenummer, or :class:`UnknownMunicipality`."""
    region = region or build_region()
    number = number.strip()
    reason = check_identifier(KOMMUNENUMMER_SYSTEM, number)
    if reason is not None:
        raise UnknownMunicipality(f"{number!r} is not a valid kommunenummer: {reason}")
    municipality = region.municipality(number)
    if municipality is None:
        raise UnknownMunicipality(
            f"{number} is not a municipality of the region (Trøndelag, Møre og Romsdal)"
        )
    return municipality


def join(repo: GuardedRepository, kommunenummer: str) -> JoinResult:
    """Exercise a municipality's option: make it and its units members (idempotent).

    Raises :class:`UnknownMunicipality` for a number outside the region and
    :class:`NotSeeded` when the region has not been written yet. Writes only the
    municipality's own resources; a member is left as it is.
    """
    municipality = find_municipality(kommunenummer)
    with repo.writing() as tx:
        tx.lock_key(_LOCK)
        stored = _memberships(repo, tx, [municipality])
        if municipality.number not in stored:
            raise NotSeeded()
        units = len(municipality.units)
        if stored[municipality.number] == "member":
            return JoinResult(municipality.number, municipality.name, True, 0, units, 0)
        results = _put_changed(repo, tx, fhir.municipality_resources(municipality, member=True))
    endpoints = sum(1 for r in results if r.created and r.stored.res_type == "Endpoint")
    return JoinResult(municipality.number, municipality.name, False, len(results), units, endpoints)


def list_memberships(repo: GuardedRepository, region: Region | None = None) -> list[Membership]:
    """Every municipality of the region with its stored membership, by kommunenummer.

    Raises :class:`NotSeeded` when a municipality is missing from the database.
    """
    region = region or build_region()
    with repo.reading() as tx:
        stored = _memberships(repo, tx, region.municipalities)
    if len(stored) < len(region.municipalities):
        raise NotSeeded()
    return [
        Membership(
            m.number,
            m.name,
            m.county,
            m.trust_key,
            stored[m.number] == "member",
            len(m.units),
        )
        for m in region.municipalities
    ]
