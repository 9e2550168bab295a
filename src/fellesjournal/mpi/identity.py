"""One Patient per national identifier.

A fødselsnummer, D-nummer, FH-nummer or DUF-nummer names one person, so at most one
*standing* Patient may hold it: a Patient stands unless it was merged away (``active``
false with a ``replaced-by`` link). Identifiers count whatever their ``use``: after a
merge the survivor holds the merged record's numbers as ``old`` and a new registration
with one of them is still the same person. H-nummer are local help numbers and are not
checked here.

The check runs inside the writing transaction, after taking an advisory lock per
identifier (:meth:`SqlTransaction.lock_keys`), so two concurrent creates of the same
person serialise and the second sees the first: 409 on both databases, under any load.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError, Issue
from fellesjournal.norway.identifiers import (
    ALIASES,
    DNR_SYSTEM,
    DUF_SYSTEM,
    FHNR_SYSTEM,
    FNR_SYSTEM,
    canonical_system,
)
from fellesjournal.store.base import WriteOp
from fellesjournal.store.sql import SqlTransaction

#: Systems whose values name one person nationally, with their Norwegian names.
NATIONAL_SYSTEMS: Final = {
    FNR_SYSTEM: "fødselsnummer",
    DNR_SYSTEM: "D-nummer",
    FHNR_SYSTEM: "FH-nummer",
    DUF_SYSTEM: "DUF-nummer",
}
#: Every system URI that means one of :data:`NATIONAL_SYSTEMS`, aliases included.
SYSTEM_VARIANTS: Final = {
    canonical: [
        canonical,
        *(a for a, c in ALIASES.items() if c == canonical),
    ]
    for canonical in NATIONAL_SYSTEMS
}

Key = tuple[str, str]
"""(canonical system, value)."""

#: Finds the ids of Patients whose ``identifier`` matches any of the given tokens.
FindHolders = Callable[[SqlTransaction, list[str]], list[str]]


def national_identifiers(resource: dict[str, Any]) -> list[tuple[int, Key]]:
    """``(index in Patient.identifier, (canonical system, value))`` of national ids."""
    out = []
    for i, ident in enumerate(resource.get("identifier") or ()):
        if type(ident) is not dict:
            continue
        system, value = ident.get("system"), ident.get("value")
        if type(system) is not str or type(value) is not str:
            continue
        system = canonical_system(system)
        if system in NATIONAL_SYSTEMS and value:
            out.append((i, (system, value)))
    return out


def is_superseded(resource: dict[str, Any]) -> bool:
    """Was this Patient merged into another (inactive with a ``replaced-by`` link)?"""
    return replaced_by(resource) is not None


def replaced_by(resource: dict[str, Any]) -> str | None:
    """The id of the Patient that replaced this one, if it is inactive and says so."""
    if resource.get("active") is not False:
        return None
    for link in resource.get("link") or ():
        if type(link) is dict and link.get("type") == "replaced-by":
            ref = (link.get("other") or {}).get("reference")
            if type(ref) is str and ref.startswith("Patient/"):
                return ref[len("Patient/") :]
    return None


def _claims(resource: dict[str, Any] | None) -> set[Key]:
    if resource is None or is_superseded(resource):
        return set()
    return {key for _i, key in national_identifiers(resource)}


def _conflict(res_id: str, index: int, key: Key, holder: str) -> FhirError:
    system, _value = key
    return FhirError(
        409,
        [
            Issue(
                "error",
                "duplicate",
                f"Patient/{holder} already holds this {NATIONAL_SYSTEMS[system]} "
                f"({system}); one person has one record: update Patient/{holder} "
                "or merge the two",
                f"Patient.identifier[{index}]",
            )
        ],
    )


def check_unique(tx: SqlTransaction, ops: Sequence[WriteOp], find_holders: FindHolders) -> None:
    """Raise 409 unless the Patient writes in ``ops`` keep national ids unique.

    Takes the identifiers' locks first. ``find_holders`` searches the current Patients
    (through the guarded repository's searcher) for the identifiers in question.
    """
    batch: dict[str, dict[str, Any] | None] = {}
    wanted: dict[Key, tuple[str, int]] = {}
    for op in ops:
        if op.res_type != "Patient":
            continue
        res = op.resource if op.method != "DELETE" else None
        batch[op.res_id] = res
    for op in ops:
        res = batch.get(op.res_id) if op.res_type == "Patient" else None
        if res is None or _proven_superseded(tx, res, batch):
            continue
        for index, key in national_identifiers(res):
            other = wanted.get(key)
            if other is not None and other[0] != op.res_id:
                raise _conflict(op.res_id, index, key, other[0])
            wanted[key] = (op.res_id, index)
    if not wanted:
        return
    keys = sorted(wanted)
    tx.lock_keys([f"mpi|{system}|{value}" for system, value in keys])
    tokens = [f"{variant}|{value}" for system, value in keys for variant in SYSTEM_VARIANTS[system]]
    for holder in find_holders(tx, tokens):
        if holder in batch:
            continue  # judged by its new content above
        stored = tx.read("Patient", holder)
        if stored is None or stored.deleted or stored.content is None:
            continue
        for key in _claims(jsonio.loads(stored.content)) & wanted.keys():
            res_id, index = wanted[key]
            raise _conflict(res_id, index, key, holder)


def _proven_superseded(
    tx: SqlTransaction, resource: dict[str, Any], batch: dict[str, dict[str, Any] | None]
) -> bool:
    """A write that declares a Patient merged away is believed only when the record that
    replaced it stands and holds every national identifier it had (as ``$merge`` leaves
    them); otherwise it is checked like any standing Patient."""
    target_id = replaced_by(resource)
    if target_id is None:
        return False
    if target_id in batch:
        target = batch[target_id]
    else:
        stored = tx.read("Patient", target_id)
        target = (
            jsonio.loads(stored.content)
            if stored is not None and not stored.deleted and stored.content
            else None
        )
    if target is None or is_superseded(target):
        return False
    own = {key for _i, key in national_identifiers(resource)}
    return own <= {key for _i, key in national_identifiers(target)}


def holders_of(resources: Iterable[tuple[str, dict[str, Any]]]) -> dict[Key, list[str]]:
    """Which standing Patients hold each national identifier (for reports and tests)."""
    out: dict[Key, list[str]] = {}
    for res_id, res in resources:
        for key in _claims(res):
            out.setdefault(key, []).append(res_id)
    return out
