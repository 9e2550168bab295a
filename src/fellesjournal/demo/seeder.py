"""Writing the demo population through the guarded repository, fast.

:func:`seed_population` generates the population (:mod:`fellesjournal.demo.population`),
validates every resource with the product's own write check
(:func:`~fellesjournal.service.writes.content_issues`), and writes them with PUT (the ids
are the generator's) through :meth:`GuardedRepository.apply_many`, one transaction per
batch of about :data:`BATCH` resources, whole persons per batch. A batch that fails
rolls back alone; the ones before it stay committed, and running the same seed again
rewrites the same ids (an idempotent restart). After the writes, the persons meant to be
merged are merged with :func:`fellesjournal.mpi.merge.merge_patients`.

The region (Organizations and staff the records point at) must be written first:
:func:`fellesjournal.region.options.seed_region`.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from fellesjournal.demo.population import generate
from fellesjournal.region.model import Municipality, Region
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.service.writes import content_issues
from fellesjournal.store.base import WriteOp

#: Resources per transaction: large enough that commits cost little, small enough that a
#: restart after a failure loses little.
BATCH: Final = 4000

#: Called after every committed batch with (persons written, resources written).
Progress = Callable[[int, int], None]


class DemoError(Exception):
    """The demo cannot be seeded; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class SeedSummary:
    patients: int
    """Persons generated (each one Patient, plus the rare duplicate record)."""
    resources: int
    """Resources written, duplicates and their records included."""
    merged: int
    """Duplicate records merged into their person after writing."""
    merge_skipped: int
    """Merges not done because the merge operation is not available."""
    seconds: float

    @property
    def rate(self) -> float:
        return self.resources / max(self.seconds, 1e-9)


def patients_exist(repo: GuardedRepository) -> bool:
    return bool(repo.search("Patient", [("_count", "1"), ("_total", "none")]).matches)


def with_members(region: Region, members: set[str]) -> Region:
    """The region with these municipalities (kommunenummer) as the members, the rest not."""
    munis = tuple(
        m if m.member == (m.number in members) else _replace_member(m, m.number in members)
        for m in region.municipalities
    )
    return Region(region.rhf_id, region.rhf_name, region.rhf_orgnr, region.trusts, munis)


def _replace_member(m: Municipality, member: bool) -> Municipality:
    return Municipality(
        m.number, m.name, m.county, m.orgnr, m.population, member, m.postcodes, m.trust_key, m.units
    )


def seed_population(
    repo: GuardedRepository,
    region: Region,
    *,
    patients: int,
    seed: int,
    today: datetime.date,
    progress: Progress | None = None,
    batch: int = BATCH,
) -> SeedSummary:
    """Generate, validate and write ``patients`` persons; then do the merges.

    Raises :class:`DemoError` when test identities are not allowed (the population uses
    synthetic Tenor numbers) or a generated resource does not validate (a bug).
    Database errors propagate; batches committed before them stay.
    """
    if patients < 0:
        raise DemoError("the number of patients must be 0 or more")
    repo = repo.historical()  # the population's past starts no workflows
    allow_test = repo.settings.allow_test_identities
    if not allow_test:
        raise DemoError(
            "the demo population uses synthetic test identities: "
            "set FELLESJOURNAL_ALLOW_TEST_IDENTITIES=true"
        )
    started = time.perf_counter()
    written = persons = 0
    ops: list[WriteOp] = []
    merges: list[tuple[str, str]] = []

    def flush() -> None:
        nonlocal written
        if not ops:
            return
        with repo.writing() as tx:
            repo.apply_many(tx, ops)
        written += len(ops)
        ops.clear()
        if progress is not None:
            progress(persons, written)

    for record in generate(region, seed, patients, today):
        for res in record.resources:
            issues = content_issues(res, allow_test_identities=allow_test)
            if issues:
                first = issues[0]
                raise DemoError(
                    f"generated {res['resourceType']}/{res['id']} is not valid: "
                    f"{first.diagnostics} ({first.expression})"
                )
            ops.append(WriteOp("PUT", res["resourceType"], res["id"], res))
        if record.merge is not None:
            merges.append(record.merge)
        persons += 1
        if len(ops) >= batch:
            flush()
    flush()
    merged, skipped = merge_duplicates(repo, merges)
    return SeedSummary(persons, written, merged, skipped, time.perf_counter() - started)


def merge_duplicates(repo: GuardedRepository, pairs: list[tuple[str, str]]) -> tuple[int, int]:
    """Merge each ``(source, target)``; ``(merged, skipped)``.

    Skips all when the MPI's merge operation is not installed, and a pair whose source
    is already merged (a second run of the same seed).
    """
    if not pairs:
        return 0, 0
    try:
        from fellesjournal.mpi.merge import merge_patients
    except ImportError:
        return 0, len(pairs)
    from fellesjournal.fhir.errors import FhirError

    merged = skipped = 0
    for source, target in pairs:
        try:
            merge_patients(repo, source, target)
        except FhirError as exc:
            if exc.status != 422:
                raise
            skipped += 1  # already merged by an earlier run
        else:
            merged += 1
    return merged, skipped
